import { inflateSync } from 'node:zlib';

/**
 * Authenteq's `croppedDocs` are base64 JPEGs. A camera capture already is one and passes
 * through untouched; a PNG (an upload, the sandbox's test images) is decoded and encoded
 * as a baseline JPEG here (ITU-T T.81, JFIF, 4:4:4, the standard Annex K tables), so the
 * operator always receives what the contract promises. Anything else (an interlaced or
 * oversized PNG) is returned as it is.
 */
export function asJpeg(image: Buffer): Buffer {
  if (image[0] === 0xff && image[1] === 0xd8 && image[2] === 0xff) return image;
  const decoded = decodePng(image);
  return decoded ? encodeJpeg(decoded, 90) : image;
}

interface Rgb {
  width: number;
  height: number;
  /** width × height × 3 bytes. */
  pixels: Uint8Array;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const MAX_PIXELS = 40_000_000;

/** Non-interlaced PNGs of every colour type, bit depths 1-16; transparency over white. */
export function decodePng(png: Buffer): Rgb | undefined {
  if (png.length < 33 || !png.subarray(0, 8).equals(PNG_SIGNATURE)) return undefined;
  let offset = 8;
  let header: { width: number; height: number; depth: number; colour: number; interlace: number } | undefined;
  let palette: Buffer | undefined;
  let alphaTable: Buffer | undefined;
  const data: Buffer[] = [];
  while (offset + 8 <= png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const body = png.subarray(offset + 8, offset + 8 + length);
    offset += 12 + length;
    if (type === 'IHDR') header = { width: body.readUInt32BE(0), height: body.readUInt32BE(4), depth: body[8]!, colour: body[9]!, interlace: body[12]! };
    else if (type === 'PLTE') palette = body;
    else if (type === 'tRNS') alphaTable = body;
    else if (type === 'IDAT') data.push(body);
    else if (type === 'IEND') break;
  }
  if (!header || header.interlace !== 0 || header.width === 0 || header.height === 0 || header.width * header.height > MAX_PIXELS) return undefined;
  const { width, height, depth, colour } = header;
  const channels = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[colour];
  if (!channels || ![1, 2, 4, 8, 16].includes(depth) || (colour === 3 && !palette)) return undefined;

  let raw: Buffer;
  try {
    raw = inflateSync(Buffer.concat(data));
  } catch {
    return undefined;
  }
  const bitsPerPixel = channels * depth;
  const stride = Math.ceil((width * bitsPerPixel) / 8);
  const bpp = Math.max(1, bitsPerPixel >> 3);
  if (raw.length < (stride + 1) * height) return undefined;

  const lines = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? lines[out + x - bpp]! : 0;
      const b = y > 0 ? lines[out - stride + x]! : 0;
      const c = x >= bpp && y > 0 ? lines[out - stride + x - bpp]! : 0;
      let value = line[x]!;
      if (filter === 1) value += a;
      else if (filter === 2) value += b;
      else if (filter === 3) value += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        value += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter !== 0) return undefined;
      lines[out + x] = value & 0xff;
    }
  }

  // One sample, scaled to 8 bits.
  const sample = (y: number, index: number): number => {
    if (depth === 8) return lines[y * stride + index]!;
    if (depth === 16) return lines[y * stride + index * 2]!;
    const bit = index * depth;
    const value = (lines[y * stride + (bit >> 3)]! >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
    return colour === 3 ? value : Math.round((value * 255) / ((1 << depth) - 1));
  };
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r: number, g: number, b: number, alpha = 255;
      if (colour === 3) {
        const i = sample(y, x);
        r = palette![i * 3] ?? 0;
        g = palette![i * 3 + 1] ?? 0;
        b = palette![i * 3 + 2] ?? 0;
        alpha = alphaTable?.[i] ?? 255;
      } else if (colour === 0 || colour === 4) {
        r = g = b = sample(y, x * channels);
        if (colour === 4) alpha = sample(y, x * channels + 1);
      } else {
        r = sample(y, x * channels);
        g = sample(y, x * channels + 1);
        b = sample(y, x * channels + 2);
        if (colour === 6) alpha = sample(y, x * channels + 3);
      }
      const o = (y * width + x) * 3;
      // JPEG has no transparency: composite over white.
      pixels[o] = r + (((255 - r) * (255 - alpha)) / 255);
      pixels[o + 1] = g + (((255 - g) * (255 - alpha)) / 255);
      pixels[o + 2] = b + (((255 - b) * (255 - alpha)) / 255);
    }
  }
  return { width, height, pixels };
}

const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30,
  37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

// ITU-T T.81 Annex K.1: the example quantization tables, in natural order.
const LUMA_Q = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35,
  55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_Q = [
  17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99, ...new Array<number>(32).fill(99),
];

// Annex K.3: the typical Huffman tables (code lengths, then symbols).
const DC_LUMA = { bits: [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0], values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] };
const DC_CHROMA = { bits: [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0], values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] };
const AC_LUMA = {
  bits: [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
  values: [
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1,
    0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39,
    0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75,
    0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
    0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8,
    0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
  ],
};
const AC_CHROMA = {
  bits: [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
  values: [
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09,
    0x23, 0x33, 0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38,
    0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74,
    0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
    0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6,
    0xd7, 0xd8, 0xd9, 0xda, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
  ],
};

type HuffmanSpec = { bits: number[]; values: number[] };
/** symbol → [code, length] (Annex C). */
function huffmanCodes(spec: HuffmanSpec): [number, number][] {
  const codes: [number, number][] = [];
  let code = 0;
  let k = 0;
  for (let length = 1; length <= 16; length++) {
    for (let i = 0; i < spec.bits[length - 1]!; i++) codes[spec.values[k++]!] = [code++, length];
    code <<= 1;
  }
  return codes;
}

const AAN = [1.0, 1.387039845, 1.306562965, 1.175875602, 1.0, 0.785694958, 0.5411961, 0.275899379];

function scaledTable(base: number[], quality: number): number[] {
  const scale = quality < 50 ? 5000 / quality : 200 - quality * 2;
  return base.map((q) => Math.min(255, Math.max(1, Math.floor((q * scale + 50) / 100))));
}

/** Divisors that fold the AAN DCT's output scaling into the quantization. */
function divisors(table: number[]): Float64Array {
  const out = new Float64Array(64);
  for (let row = 0; row < 8; row++) for (let col = 0; col < 8; col++) out[row * 8 + col] = table[row * 8 + col]! * AAN[row]! * AAN[col]! * 8;
  return out;
}

/** The float AAN forward DCT (as in libjpeg's jfdctflt.c), in place on rows then columns. */
function fdct(d: Float64Array): void {
  for (let pass = 0; pass < 2; pass++) {
    const step = pass === 0 ? 1 : 8;
    const next = pass === 0 ? 8 : 1;
    for (let i = 0; i < 8; i++) {
      const o = i * next;
      const p = (k: number) => o + k * step;
      const tmp0 = d[p(0)]! + d[p(7)]!;
      const tmp7 = d[p(0)]! - d[p(7)]!;
      const tmp1 = d[p(1)]! + d[p(6)]!;
      const tmp6 = d[p(1)]! - d[p(6)]!;
      const tmp2 = d[p(2)]! + d[p(5)]!;
      const tmp5 = d[p(2)]! - d[p(5)]!;
      const tmp3 = d[p(3)]! + d[p(4)]!;
      const tmp4 = d[p(3)]! - d[p(4)]!;
      let tmp10 = tmp0 + tmp3;
      const tmp13 = tmp0 - tmp3;
      let tmp11 = tmp1 + tmp2;
      let tmp12 = tmp1 - tmp2;
      d[p(0)] = tmp10 + tmp11;
      d[p(4)] = tmp10 - tmp11;
      const z1 = (tmp12 + tmp13) * 0.707106781;
      d[p(2)] = tmp13 + z1;
      d[p(6)] = tmp13 - z1;
      tmp10 = tmp4 + tmp5;
      tmp11 = tmp5 + tmp6;
      tmp12 = tmp6 + tmp7;
      const z5 = (tmp10 - tmp12) * 0.382683433;
      const z2 = 0.5411961 * tmp10 + z5;
      const z4 = 1.306562965 * tmp12 + z5;
      const z3 = tmp11 * 0.707106781;
      const z11 = tmp7 + z3;
      const z13 = tmp7 - z3;
      d[p(5)] = z13 + z2;
      d[p(3)] = z13 - z2;
      d[p(1)] = z11 + z4;
      d[p(7)] = z11 - z4;
    }
  }
}

class BitWriter {
  #buffer = new Uint8Array(1 << 16);
  #length = 0;
  #byte = 0;
  #count = 0;
  write(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.#byte = (this.#byte << 1) | ((value >> i) & 1);
      if (++this.#count === 8) {
        this.#push(this.#byte);
        // A 0xFF in entropy-coded data is followed by a stuffed zero (T.81 §B.1.1.5).
        if (this.#byte === 0xff) this.#push(0);
        this.#byte = 0;
        this.#count = 0;
      }
    }
  }
  /** Pads the last byte with 1-bits and returns everything written. */
  finish(): Uint8Array {
    if (this.#count > 0) this.write((1 << (8 - this.#count)) - 1, 8 - this.#count);
    return this.#buffer.subarray(0, this.#length);
  }
  #push(byte: number): void {
    if (this.#length === this.#buffer.length) {
      const bigger = new Uint8Array(this.#buffer.length * 2);
      bigger.set(this.#buffer);
      this.#buffer = bigger;
    }
    this.#buffer[this.#length++] = byte;
  }
}

/** The size category of a coefficient and its bits (T.81 §F.1.2.1). */
function category(value: number): [number, number] {
  const magnitude = Math.abs(value);
  let size = 0;
  while (magnitude >> size) size++;
  return [size, value < 0 ? value + (1 << size) - 1 : value];
}

export function encodeJpeg(image: Rgb, quality: number): Buffer {
  const { width, height, pixels } = image;
  const lumaTable = scaledTable(LUMA_Q, quality);
  const chromaTable = scaledTable(CHROMA_Q, quality);
  const lumaDiv = divisors(lumaTable);
  const chromaDiv = divisors(chromaTable);
  const dcCodes = [huffmanCodes(DC_LUMA), huffmanCodes(DC_CHROMA)];
  const acCodes = [huffmanCodes(AC_LUMA), huffmanCodes(AC_CHROMA)];

  const out: number[] = [0xff, 0xd8];
  const segment = (marker: number, body: number[]) => out.push(0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body);
  segment(0xe0, [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
  segment(0xdb, [0, ...ZIGZAG.map((i) => lumaTable[i]!), 1, ...ZIGZAG.map((i) => chromaTable[i]!)]);
  segment(0xc0, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1]);
  const table = (id: number, spec: HuffmanSpec) => [id, ...spec.bits, ...spec.values];
  segment(0xc4, [...table(0x00, DC_LUMA), ...table(0x10, AC_LUMA), ...table(0x01, DC_CHROMA), ...table(0x11, AC_CHROMA)]);
  segment(0xda, [3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);

  const bits = new BitWriter();
  const previous = [0, 0, 0];
  const block = new Float64Array(64);
  const encodeBlock = (component: number, div: Float64Array) => {
    fdct(block);
    const kind = component === 0 ? 0 : 1;
    const coefficients = ZIGZAG.map((i) => Math.round(block[i]! / div[i]!));
    const [dcSize, dcBits] = category(coefficients[0]! - previous[component]!);
    previous[component] = coefficients[0]!;
    bits.write(...dcCodes[kind]![dcSize]!);
    if (dcSize) bits.write(dcBits, dcSize);
    let run = 0;
    for (let k = 1; k < 64; k++) {
      const c = coefficients[k]!;
      if (c === 0) {
        run++;
        continue;
      }
      for (; run > 15; run -= 16) bits.write(...acCodes[kind]![0xf0]!);
      const [size, value] = category(c);
      bits.write(...acCodes[kind]![(run << 4) | size]!);
      bits.write(value, size);
      run = 0;
    }
    if (run > 0) bits.write(...acCodes[kind]![0x00]!);
  };

  for (let by = 0; by < height; by += 8) {
    for (let bx = 0; bx < width; bx += 8) {
      for (let component = 0; component < 3; component++) {
        for (let y = 0; y < 8; y++) {
          for (let x = 0; x < 8; x++) {
            // Edge blocks repeat the last row and column.
            const o = (Math.min(by + y, height - 1) * width + Math.min(bx + x, width - 1)) * 3;
            const r = pixels[o]!;
            const g = pixels[o + 1]!;
            const b = pixels[o + 2]!;
            block[y * 8 + x] =
              component === 0
                ? 0.299 * r + 0.587 * g + 0.114 * b - 128
                : component === 1
                  ? -0.168736 * r - 0.331264 * g + 0.5 * b
                  : 0.5 * r - 0.418688 * g - 0.081312 * b;
          }
        }
        encodeBlock(component, component === 0 ? lumaDiv : chromaDiv);
      }
    }
  }
  return Buffer.concat([Buffer.from(out), bits.finish(), Buffer.from([0xff, 0xd9])]);
}
