import assert from 'node:assert/strict';
import { crc32, deflateSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { loadConfig } from '../src/config/index.ts';
import { normaliseImage, type ImageLimits } from '../src/verification/documents/index.ts';
import { imageLimits } from '../src/verification/registry.ts';
import { testImage } from '../src/verification/providers/sandbox/test-images.ts';
import { healthWhile } from './support/http.ts';
import { backends, startPlatform, type TestPlatform } from './support/platform.ts';

/**
 * Every image is checked and normalised once, when it arrives: a JPEG or PNG by its bytes,
 * within the pixel limits (read from the header, before decoding), stored as a JPEG without
 * metadata. A decompression bomb is refused at upload without stalling the server.
 */

const LIMITS: ImageLimits = imageLimits(loadConfig({}).verification);
const JPEG = Buffer.from([0xff, 0xd8, 0xff]);

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A PNG that declares `width`×`height` RGB pixels but carries only a few hundred bytes of data. */
function declaredPng(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(Buffer.alloc(4096))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A real JPEG whose frame header is rewritten to declare `width`×`height`. */
async function declaredJpeg(width: number, height: number): Promise<Buffer> {
  const jpeg = Buffer.from(await sharp({ create: { width: 16, height: 16, channels: 3, background: '#777' } }).jpeg().toBuffer());
  for (let at = 2; at + 4 < jpeg.length; at += 2 + jpeg.readUInt16BE(at + 2)) {
    if (jpeg[at + 1] === 0xc0 || jpeg[at + 1] === 0xc2) {
      jpeg.writeUInt16BE(height, at + 5);
      jpeg.writeUInt16BE(width, at + 7);
      return jpeg;
    }
  }
  throw new Error('no frame header');
}

/** A highly compressible PNG of a huge picture: a few hundred kilobytes that inflate to `width`×`height`×3 bytes. */
const compressibleBomb = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: '#ffffff' } }).png({ compressionLevel: 9 }).toBuffer();

describe('normaliseImage', () => {
  it('turns a PNG or a JPEG into a JPEG of the same picture', async () => {
    for (const input of [testImage('document-front'), await sharp(testImage('selfie')).jpeg().toBuffer()]) {
      const outcome = await normaliseImage(input, LIMITS);
      assert.ok(outcome.ok);
      assert.ok(outcome.image.subarray(0, 3).equals(JPEG));
      assert.deepEqual([outcome.width, outcome.height], [120, 80]);
      const metadata = await sharp(outcome.image).metadata();
      assert.deepEqual([metadata.format, metadata.width, metadata.height], ['jpeg', 120, 80]);
    }
  });

  it('puts what was transparent on white', async () => {
    const transparent = await sharp({ create: { width: 8, height: 8, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
    const outcome = await normaliseImage(transparent, LIMITS);
    assert.ok(outcome.ok);
    const { data } = await sharp(outcome.image).raw().toBuffer({ resolveWithObject: true });
    assert.ok(data.every((v) => v >= 250), 'white');
  });

  it('removes EXIF (camera, GPS position) and turns the picture upright', async () => {
    const photo = await sharp({ create: { width: 60, height: 40, channels: 3, background: '#4a6' } })
      .jpeg()
      .withExif({ IFD0: { Make: 'PhoneCo' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '59/1 26/1 1200/100', GPSLongitudeRef: 'E', GPSLongitude: '24/1 44/1 3000/100' } })
      .withMetadata({ orientation: 8 })
      .toBuffer();
    assert.ok((await sharp(photo).metadata()).exif);
    const outcome = await normaliseImage(photo, LIMITS);
    assert.ok(outcome.ok);
    const metadata = await sharp(outcome.image).metadata();
    assert.equal(metadata.exif, undefined);
    assert.equal(metadata.orientation, undefined);
    assert.deepEqual([metadata.width, metadata.height], [40, 60]);
    assert.ok(!outcome.image.includes('PhoneCo') && !outcome.image.includes('Exif'));
  });

  it('judges by the bytes: text, GIF, SVG and an empty file are not images', async () => {
    const gif = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#000' } }).gif().toBuffer();
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    for (const bytes of [Buffer.from('<html>not a photo.jpg</html>'), gif, svg, Buffer.alloc(0), Buffer.from([0xff, 0xd8, 0xff, 0xd9])]) {
      assert.deepEqual(await normaliseImage(bytes, LIMITS), { ok: false, reason: 'not_an_image' });
    }
  });

  it('refuses a PNG or JPEG cut short or corrupted', async () => {
    const png = testImage('document-back');
    const jpeg = await sharp(png).jpeg().toBuffer();
    const corrupted = Buffer.from(png);
    corrupted[60] = corrupted[60]! ^ 0xff; // inside the image data: its CRC no longer matches
    for (const bytes of [png.subarray(0, 8), png.subarray(0, 400), jpeg.subarray(0, 300), corrupted]) {
      assert.deepEqual(await normaliseImage(bytes, LIMITS), { ok: false, reason: 'not_an_image' });
    }
  });

  it('keeps nothing of a file but its picture (bytes after the end are gone)', async () => {
    const polyglot = Buffer.concat([testImage('document-back'), Buffer.from('<?php echo 1; ?>')]);
    const outcome = await normaliseImage(polyglot, LIMITS);
    assert.ok(outcome.ok);
    assert.ok(!outcome.image.includes('<?php'));
  });

  it('refuses more bytes than the limit', async () => {
    const png = testImage('selfie');
    assert.deepEqual(await normaliseImage(png, { ...LIMITS, maxBytes: png.length - 1 }), { ok: false, reason: 'too_many_bytes' });
    assert.equal((await normaliseImage(png, { ...LIMITS, maxBytes: png.length })).ok, true);
  });

  it('refuses, from the header alone, a picture above the pixel or side limits', async () => {
    assert.deepEqual(LIMITS, { maxBytes: 5 * 1024 * 1024, maxPixels: 40_000_000, maxSide: 10_000 }, 'the documented defaults');
    const bombs = [declaredPng(100_000, 100_000), declaredPng(7000, 7000), declaredPng(20_000, 10), await declaredJpeg(65_000, 65_000), await declaredJpeg(9000, 9000)];
    for (const bomb of bombs) {
      const started = performance.now();
      assert.deepEqual(await normaliseImage(bomb, LIMITS), { ok: false, reason: 'too_many_pixels' });
      assert.ok(performance.now() - started < 1000, 'refused before decoding');
    }
    const bomb = await compressibleBomb(8000, 8000);
    assert.ok(bomb.length < 1024 * 1024, `${bomb.length} bytes for 64 megapixels`);
    assert.deepEqual(await normaliseImage(bomb, LIMITS), { ok: false, reason: 'too_many_pixels' });
    const small = await sharp({ create: { width: 1200, height: 1000, channels: 3, background: '#fff' } }).png().toBuffer();
    assert.deepEqual(await normaliseImage(small, { ...LIMITS, maxPixels: 1_000_000 }), { ok: false, reason: 'too_many_pixels' });
    assert.deepEqual(await normaliseImage(small, { ...LIMITS, maxSide: 1100 }), { ok: false, reason: 'too_many_pixels' });
    assert.equal((await normaliseImage(small, { ...LIMITS, maxPixels: 1_200_000, maxSide: 1200 })).ok, true);
  });
});

for (const backend of await backends()) {
  describe(`image uploads (${backend})`, () => {
    let platform: TestPlatform;

    before(async () => {
      platform = await startPlatform(backend, { listen: true });
    });
    after(() => platform?.close());

    const csrfOf = (body: string) => /name="csrf" value="([^"]+)"/.exec(body)![1]!;
    const upload = (url: string, csrf: string, face: Buffer) => {
      const form = new FormData();
      form.set('csrf', csrf);
      form.set('face', new Blob([new Uint8Array(face)], { type: 'image/png' }), 'face.png');
      return fetch(url, { method: 'POST', body: form, redirect: 'manual' });
    };

    it('refuses a decompression bomb at upload with the page’s own error, while /healthz answers in under 100 ms', async () => {
      const bombs = [await compressibleBomb(12_000, 12_000), declaredPng(100_000, 100_000), await declaredJpeg(65_000, 65_000)];
      assert.ok(bombs[0]!.length < LIMITS.maxBytes, 'the bomb passes the byte limit');
      const { verification } = await platform.services.verification.start({ provider: 'sandbox', returnTo: '/done' });
      const url = `${platform.url}/verification/sandbox/${verification.id}/liveness`;
      const csrf = csrfOf(await (await fetch(url)).text());
      for (const bomb of bombs) {
        const { result, slowestMs, checks } = await healthWhile(platform.url, async () => {
          const answer = await upload(url, csrf, bomb);
          return { status: answer.status, type: answer.headers.get('content-type'), body: await answer.text() };
        });
        assert.equal(result.status, 422);
        assert.match(result.type ?? '', /^text\/html/);
        assert.match(result.body, /role="alert"[^>]*>[^<]*The photo of your face is too large: at most 10000 pixels wide or high, and 40 megapixels/);
        assert.ok(slowestMs < 100, `/healthz took ${slowestMs.toFixed(1)} ms (${checks} checks)`);
      }
      const [{ n }] = (await platform.services.db.query<{ n: number }>('select count(*)::int as n from verification_images where verification_id = $1', [verification.id])) as [{ n: number }];
      assert.equal(n, 0, 'nothing stored');
      assert.equal((await platform.services.verification.get(verification.id))!.state, 'created');
    });

    it('normalises a large photo off the event loop: /healthz answers in under 100 ms meanwhile', async () => {
      // 12 megapixels, a phone camera's usual size: every pixel is decoded and encoded again.
      // Smooth, so that the stored JPEG stays small and the test measures the image work alone.
      const detail = { width: 40, height: 30, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } as const;
      const photo = await sharp({ create: detail }).resize(4000, 3000).jpeg({ quality: 85 }).toBuffer();
      assert.ok(photo.length < LIMITS.maxBytes);
      const { verification } = await platform.services.verification.start({ provider: 'sandbox', returnTo: '/done' });
      const url = `${platform.url}/verification/sandbox/${verification.id}/liveness`;
      const csrf = csrfOf(await (await fetch(url)).text());
      const { result, slowestMs, checks } = await healthWhile(platform.url, () => upload(url, csrf, photo));
      assert.equal(result.status, 303);
      assert.ok(slowestMs < 100, `/healthz took ${slowestMs.toFixed(1)} ms (${checks} checks)`);
      const face = (await platform.services.verification.images(verification.id))!.face!;
      const stored = await sharp(face).metadata();
      assert.deepEqual([stored.format, stored.width, stored.height], ['jpeg', 4000, 3000]);
    });
  });
}
