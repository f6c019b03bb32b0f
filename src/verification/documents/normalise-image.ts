import sharp from 'sharp';
import type { NormalisedImage } from '../../kernel/evidence.ts';

export type { NormalisedImage } from '../../kernel/evidence.ts';

/**
 * Every image idflow keeps (a photo uploaded to a hosted step, a vendor's media) passes
 * through here once, when it arrives, and only what comes out is stored: a baseline JPEG,
 * turned upright, with no metadata (EXIF, GPS position, camera serial, ICC profile,
 * comments). Reads then hand out the stored bytes as they are, so no request ever decodes
 * an image again.
 *
 * An image is judged by its bytes, never by a file name or a declared type. Decoding is
 * libvips's (through sharp), on libuv's worker threads, not on the event loop, and the
 * pixel count is checked from the header before any pixel is decoded: a small file that
 * declares a huge picture (a decompression bomb) is refused at no cost.
 */

export interface ImageLimits {
  /** Largest file accepted, in bytes. */
  maxBytes: number;
  /** Largest width × height accepted. */
  maxPixels: number;
  /** Largest width or height accepted (JPEG itself stops at 65,535). */
  maxSide: number;
}


export type ImageRefusal =
  /** Not a whole, readable JPEG or PNG (text, another format, cut short, corrupt). */
  | 'not_an_image'
  /** More bytes than `maxBytes`. */
  | 'too_many_bytes'
  /** Wider, taller or with more pixels than the limits allow. */
  | 'too_many_pixels';

export type NormaliseOutcome = { ok: true; image: NormalisedImage; width: number; height: number } | { ok: false; reason: ImageRefusal };

// libvips keeps recently decoded images in a process-wide cache: here they would be
// people's faces and documents, held in memory for nothing, as none is decoded twice.
sharp.cache(false);

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG_SIGNATURE = Buffer.from([0xff, 0xd8, 0xff]);
/** Quality of the stored JPEG: documents stay legible (small print, the MRZ) at a fraction of a PNG's size. */
const JPEG_QUALITY = 90;
/** A picture within the limits takes well under a second; this bounds anything pathological. */
const TIMEOUT_SECONDS = 20;

export async function normaliseImage(bytes: Uint8Array, limits: ImageLimits): Promise<NormaliseOutcome> {
  if (bytes.length > limits.maxBytes) return { ok: false, reason: 'too_many_bytes' };
  // Only the two formats cameras and browsers produce: libvips would otherwise pick a
  // loader for SVG, TIFF, HEIF, PDF… from the bytes, each a parser to trust.
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 8));
  const format = head.equals(PNG_SIGNATURE) ? 'png' : head.subarray(0, 3).equals(JPEG_SIGNATURE) ? 'jpeg' : undefined;
  if (!format) return { ok: false, reason: 'not_an_image' };

  // 'error' refuses truncated and corrupt pixel data but not the harmless warnings some cameras cause.
  const options = { failOn: 'error', limitInputPixels: limits.maxPixels, sequentialRead: true, autoOrient: true } as const;
  try {
    // The header alone: what the file claims to be, before a pixel is decoded.
    const header = await sharp(bytes, { ...options, limitInputPixels: false }).metadata();
    if (header.format !== format) return { ok: false, reason: 'not_an_image' };
    const { width, height } = header;
    if (!width || !height) return { ok: false, reason: 'not_an_image' };
    if (width > limits.maxSide || height > limits.maxSide || width * height > limits.maxPixels) return { ok: false, reason: 'too_many_pixels' };

    const { data, info } = await sharp(bytes, options)
      // JPEG has no transparency: what was transparent becomes white, as on paper.
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: JPEG_QUALITY })
      .timeout({ seconds: TIMEOUT_SECONDS })
      .toBuffer({ resolveWithObject: true });
    return { ok: true, image: data as NormalisedImage, width: info.width, height: info.height };
  } catch {
    // libvips's messages describe the file (and may quote it): the reason is all that leaves.
    return { ok: false, reason: 'not_an_image' };
  }
}
