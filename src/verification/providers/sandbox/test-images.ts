import { createHash } from 'node:crypto';
import sharp from 'sharp';

/**
 * The sandbox's ready-made test images: small real PNGs drawn here (encoded by sharp), so
 * nothing binary is kept in the repository and every test and every person gets the same
 * bytes. The sandbox recognises them by their SHA-256 (never by a name), and each one drives
 * one documented outcome; any other real photo behaves like the "pass" images.
 */

export type TestImageName = 'selfie' | 'selfie-liveness-fail' | 'selfie-someone-else' | 'document-front' | 'document-back' | 'document-unreadable';

export interface TestImage {
  name: TestImageName;
  label: string;
  /** What the sandbox does when it sees this image. */
  effect: 'pass' | 'liveness_failed' | 'face_mismatch' | 'document_unreadable';
  use: 'face' | 'document';
}

export const TEST_IMAGES: readonly TestImage[] = [
  { name: 'selfie', label: 'A live face (passes)', effect: 'pass', use: 'face' },
  { name: 'selfie-liveness-fail', label: 'A photo of a photo (liveness fails)', effect: 'liveness_failed', use: 'face' },
  { name: 'selfie-someone-else', label: 'Someone else (face match fails)', effect: 'face_mismatch', use: 'face' },
  { name: 'document-front', label: 'Passport, front (readable)', effect: 'pass', use: 'document' },
  { name: 'document-back', label: 'Passport, back (readable)', effect: 'pass', use: 'document' },
  { name: 'document-unreadable', label: 'A blurred document (unreadable)', effect: 'document_unreadable', use: 'document' },
];

type Rgb = readonly [number, number, number];
type Painter = (x: number, y: number) => Rgb;

const W = 120;
const H = 80;

/** A PNG (8-bit RGB) of the painted pixels. */
export function encodePng(width: number, height: number, paint: Painter): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) pixels.set(paint(x, y), (y * width + x) * 3);
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

const inEllipse = (x: number, y: number, cx: number, cy: number, rx: number, ry: number) => ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1;

function face(skin: Rgb, hair: Rgb, background: Rgb, frame?: Rgb): Painter {
  return (x, y) => {
    if (frame && (x < 6 || x >= W - 6 || y < 6 || y >= H - 6)) return frame;
    if (inEllipse(x, y, 60, 24, 20, 12) && y < 26) return hair;
    if (inEllipse(x, y, 52, 38, 3, 3) || inEllipse(x, y, 68, 38, 3, 3)) return [30, 30, 40];
    if (y >= 50 && y <= 52 && x >= 52 && x <= 68) return [150, 60, 60];
    if (inEllipse(x, y, 60, 42, 18, 24)) return skin;
    if (inEllipse(x, y, 60, 92, 36, 22)) return [60, 80, 140];
    return background;
  };
}

function documentFront(): Painter {
  return (x, y) => {
    if (x < 4 || x >= W - 4 || y < 4 || y >= H - 4) return [244, 246, 251];
    if (x >= 10 && x < 38 && y >= 14 && y < 50) return inEllipse(x, y, 24, 30, 9, 12) ? [224, 180, 150] : [200, 210, 225];
    if (x >= 46 && x < 110 && [16, 24, 32, 40].some((l) => y >= l && y < l + 3)) return [90, 100, 130];
    if (y >= 58 && y < 72 && x >= 10 && x < 110 && (x + y) % 4 !== 0) return [40, 40, 50];
    return [176, 196, 222];
  };
}

function documentBack(): Painter {
  return (x, y) => {
    if (x < 4 || x >= W - 4 || y < 4 || y >= H - 4) return [244, 246, 251];
    if (y >= 14 && y < 30 && x >= 10 && x < 110) return [(x * 7) % 255, 120, 160];
    if (x >= 10 && x < 110 && [40, 48, 56].some((l) => y >= l && y < l + 2)) return [90, 100, 130];
    return [196, 206, 230];
  };
}

function blurred(): Painter {
  return (x, y) => {
    const v = 170 + Math.round(8 * Math.sin(x / 9) + 8 * Math.cos(y / 7));
    return [v, v, v + 4];
  };
}

const PAINTERS: Record<TestImageName, Painter> = {
  selfie: face([226, 185, 152], [70, 45, 30], [214, 228, 245]),
  // A screen or print held up to the camera: framed, flat and grey.
  'selfie-liveness-fail': face([190, 190, 190], [90, 90, 90], [160, 160, 160], [20, 20, 20]),
  'selfie-someone-else': face([150, 105, 75], [20, 20, 20], [240, 220, 200]),
  'document-front': documentFront(),
  'document-back': documentBack(),
  'document-unreadable': blurred(),
};

// Drawn once, when the module loads: the bytes served and the hashes recognised are the
// same ones for the life of the process (sharp's PNG output depends only on the pixels and
// the libvips build).
const bytesByName = new Map<TestImageName, Buffer>();
const nameByHash = new Map<string, TestImageName>();
for (const image of TEST_IMAGES) {
  const bytes = await encodePng(W, H, PAINTERS[image.name]);
  bytesByName.set(image.name, bytes);
  nameByHash.set(createHash('sha256').update(bytes).digest('hex'), image.name);
}

export function testImage(name: TestImageName): Buffer {
  return bytesByName.get(name)!;
}

export function isTestImageName(name: string): name is TestImageName {
  return bytesByName.has(name as TestImageName);
}

/** The test image these bytes are, if they are one. */
export function recogniseTestImage(bytes: Buffer): TestImage | undefined {
  const name = nameByHash.get(createHash('sha256').update(bytes).digest('hex'));
  return name ? TEST_IMAGES.find((i) => i.name === name) : undefined;
}
