import { crc32 } from 'node:zlib';

/**
 * What an uploaded image really is, from its bytes: never from a file name or a declared
 * content type, which the uploader chooses. A file passes only if it has the format's
 * signature and its structure holds together from the first byte to the last, so a
 * renamed text file, a truncated upload or a polyglot with trailing data is refused.
 */

/** Uploaded document and face images are refused above this size. */
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;

export type ImageType = 'image/jpeg' | 'image/png';

export interface ImageInfo {
  type: ImageType;
  width: number;
  height: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The image type, or undefined when the bytes are not a whole, sane JPEG or PNG within the size limit. */
export function sniffImage(bytes: Uint8Array): ImageType | undefined {
  return inspectImage(bytes)?.type;
}

export function inspectImage(bytes: Uint8Array): ImageInfo | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.length > MAX_IMAGE_BYTES) return undefined;
  if (PNG_SIGNATURE.every((byte, index) => bytes[index] === byte)) return inspectPng(bytes);
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return inspectJpeg(bytes);
  return undefined;
}

const uint32 = (bytes: Uint8Array, at: number) =>
  ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
const uint16 = (bytes: Uint8Array, at: number) => (bytes[at]! << 8) | bytes[at + 1]!;

/** Bit depths allowed for each PNG colour type (PNG specification, IHDR). */
const PNG_DEPTHS: Record<number, readonly number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

/**
 * Walks every chunk: length within the file, a four-letter type, a CRC that matches;
 * IHDR first and sane, at least one IDAT, IEND last with nothing after it.
 */
function inspectPng(bytes: Uint8Array): ImageInfo | undefined {
  let at = PNG_SIGNATURE.length;
  let header: { width: number; height: number } | undefined;
  let sawData = false;
  while (at + 12 <= bytes.length) {
    const length = uint32(bytes, at);
    const typeAt = at + 4;
    const dataAt = at + 8;
    const end = dataAt + length + 4;
    if (length > 0x7fffffff || end > bytes.length) return undefined;
    const type = String.fromCharCode(...bytes.subarray(typeAt, dataAt));
    if (!/^[A-Za-z]{4}$/.test(type)) return undefined;
    if (crc32(bytes.subarray(typeAt, dataAt + length)) !== uint32(bytes, dataAt + length)) return undefined;

    if (!header) {
      if (type !== 'IHDR' || length !== 13) return undefined;
      const width = uint32(bytes, dataAt);
      const height = uint32(bytes, dataAt + 4);
      const [depth, colour, compression, filter, interlace] = bytes.subarray(dataAt + 8, dataAt + 13);
      const saneSize = width > 0 && height > 0 && width <= 0x7fffffff && height <= 0x7fffffff;
      const saneFormat = PNG_DEPTHS[colour!]?.includes(depth!) && compression === 0 && filter === 0 && interlace! <= 1;
      if (!saneSize || !saneFormat) return undefined;
      header = { width, height };
    } else if (type === 'IHDR') {
      return undefined;
    } else if (type === 'IDAT') {
      sawData = true;
    } else if (type === 'IEND') {
      return length === 0 && sawData && end === bytes.length ? { type: 'image/png', ...header } : undefined;
    }
    at = end;
  }
  return undefined;
}

/** Start-of-frame markers (baseline, progressive, lossless…); C4, C8 and CC are not frames. */
const isFrameMarker = (marker: number) =>
  marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;

/**
 * Walks the marker segments from SOI to the first start of scan, requiring every length to
 * stay inside the file and a frame header with real dimensions before the scan; the
 * compressed data (at least one byte) then runs to an EOI that must be the last two bytes.
 */
function inspectJpeg(bytes: Uint8Array): ImageInfo | undefined {
  let at = 2;
  let frame: { width: number; height: number } | undefined;
  while (at < bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    // Any number of 0xFF fill bytes may precede a marker.
    while (bytes[at] === 0xff && at < bytes.length) at += 1;
    if (at >= bytes.length) return undefined;
    const marker = bytes[at]!;
    at += 1;
    // Markers without a length: TEM and the restart markers (only valid inside scans).
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd8 || marker === 0xd9 || marker === 0x00) return undefined;
    if (at + 2 > bytes.length) return undefined;
    const length = uint16(bytes, at);
    if (length < 2 || at + length > bytes.length) return undefined;
    if (isFrameMarker(marker)) {
      if (frame || length < 8) return undefined;
      const precision = bytes[at + 2]!;
      const height = uint16(bytes, at + 3);
      const width = uint16(bytes, at + 5);
      const components = bytes[at + 7]!;
      if (![8, 12, 16].includes(precision) || width === 0 || height === 0) return undefined;
      if (components < 1 || components > 4 || length !== 8 + components * 3) return undefined;
      frame = { width, height };
    }
    if (marker === 0xda) {
      const scanEnd = at + length;
      const ends = bytes.length > scanEnd + 2 && bytes.at(-2) === 0xff && bytes.at(-1) === 0xd9;
      return frame && ends ? { type: 'image/jpeg', ...frame } : undefined;
    }
    at += length;
  }
  return undefined;
}
