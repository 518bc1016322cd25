/**
 * PNG decoding to RGB exactly as PIL 9.4's `Image.open(f).convert('RGB')`, and a simple RGB PNG encoder.
 *
 * Decoding handles every standard colour type and bit depth and both interlace methods. Damage is judged as PIL
 * judges it (with ImageFile.LOAD_TRUNCATED_IMAGES off): CRCs are checked for the chunks before the image data only
 * (PIL streams IDAT contents without looking at their CRCs, and after the image data reads whatever chunks it can),
 * so a bad IDAT CRC (PngSuite's xcsn0g01) or a missing or cut-off IEND after complete image data still decodes;
 * image data that ends before the last row, or a zlib stream whose Adler-32 is wrong, is an error.
 * The conversion to RGB follows PIL, whose rules are not always "scale to 8 bits":
 *   - grey 1/2/4-bit: scaled to 0..255 (x255, x85, x17); grey 8-bit as is;
 *   - grey 16-bit: PIL opens it as mode 'I' (32-bit integers) and convert('RGB') *clips* to 0..255, so every value
 *     above 255 becomes white; it does not take the high byte;
 *   - grey+alpha / RGB / RGBA 16-bit: the high byte of each sample;
 *   - alpha (and tRNS transparency) is dropped, not composited;
 *   - palette: indices past the end of PLTE read PIL's default palette, a grey ramp (index i -> (i, i, i)).
 */
import { crc32 } from '../core/codec/checksum';
import { zlibCompress } from '../core/codec/deflate';
import { inflateZlib } from './inflate';
import { DEFAULT_MAX_PIXELS, assertRgbImage, decodeFail, type RgbImage } from './types';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Samples per pixel for each colour type (0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA), and allowed depths. */
const COLOR_TYPES: Record<number, { channels: number; depths: number[] }> = {
  0: { channels: 1, depths: [1, 2, 4, 8, 16] },
  2: { channels: 3, depths: [8, 16] },
  3: { channels: 1, depths: [1, 2, 4, 8] },
  4: { channels: 2, depths: [8, 16] },
  6: { channels: 4, depths: [8, 16] },
};

/** Adam7 passes: [x0, y0, dx, dy]. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

export interface PngDecodeOptions {
  /** Refuse images with more pixels than this (checked before allocating); default as PIL's bomb limit. */
  maxPixels?: number;
}

interface Header {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  channels: number;
  interlaced: boolean;
}

const isType = (d: Uint8Array, p: number, t: string): boolean =>
  d[p] === t.charCodeAt(0) && d[p + 1] === t.charCodeAt(1) && d[p + 2] === t.charCodeAt(2) && d[p + 3] === t.charCodeAt(3);
const u32 = (d: Uint8Array, p: number): number => ((d[p] << 24) | (d[p + 1] << 16) | (d[p + 2] << 8) | d[p + 3]) >>> 0;

/** Decodes a PNG file into RGB. Throws ImageDecodeError for truncated, corrupt or unsupported files. */
export function decodePng(bytes: Uint8Array, options: PngDecodeOptions = {}): RgbImage {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  for (let i = 0; i < 8; i++) {
    if (bytes[i] !== SIGNATURE[i]) decodeFail('PNG', 'bad signature (not a PNG file)');
  }
  let header: Header | null = null;
  let palette: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  let idatBytes = 0;
  let sawIend = false;

  let pos = 8;
  while (pos < bytes.length) {
    // After the image data PIL only reads on as far as it can: the image is complete, nothing there matters.
    if (idat.length > 0 && (pos + 8 > bytes.length || !isType(bytes, pos + 4, 'IDAT'))) break;
    if (pos + 8 > bytes.length) decodeFail('PNG', 'file is truncated (in a chunk header)');
    const length = u32(bytes, pos);
    const type = String.fromCharCode(bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]);
    const start = pos + 8;
    const end = start + length;
    if (type === 'IDAT') {
      // PIL reads IDAT contents as a stream and never checks their CRCs; a file cut inside them keeps what is there.
      if (length > 0x7fffffff) decodeFail('PNG', 'file is truncated (in chunk IDAT)');
      if (header === null) decodeFail('PNG', 'first chunk is not IHDR');
      const chunk = bytes.subarray(start, Math.min(end, bytes.length));
      idat.push(chunk);
      idatBytes += chunk.length;
      pos = end + 4;
      continue;
    }
    if (length > 0x7fffffff || end + 4 > bytes.length) decodeFail('PNG', `file is truncated (in chunk ${type})`);
    if (crc32(bytes, pos + 4, end) !== u32(bytes, end)) decodeFail('PNG', `CRC mismatch in chunk ${type} (corrupt)`);
    if (header === null && type !== 'IHDR') decodeFail('PNG', 'first chunk is not IHDR');

    if (type === 'IHDR') {
      if (header) decodeFail('PNG', 'more than one IHDR chunk');
      header = parseHeader(bytes, start, length, maxPixels);
    } else if (type === 'PLTE') {
      if (length % 3 !== 0 || length === 0 || length > 768) decodeFail('PNG', `bad PLTE length ${length}`);
      palette = bytes.slice(start, end);
    } else if (type === 'IEND') {
      sawIend = true;
      break;
    }
    // Ancillary chunks (tRNS, gAMA, iCCP, text, APNG frames, ...) do not change PIL's convert('RGB') result.
    pos = end + 4;
  }
  if (!header) decodeFail('PNG', 'file is truncated (no IHDR)');
  if (idat.length === 0) decodeFail('PNG', sawIend ? 'no IDAT chunk (no image data)' : 'file is truncated (no IDAT)');
  if (header.colorType === 3 && !palette) decodeFail('PNG', 'palette image without PLTE chunk');

  const zdata = new Uint8Array(idatBytes);
  for (let i = 0, o = 0; i < idat.length; o += idat[i].length, i++) zdata.set(idat[i], o);
  const { width, height, depth, channels } = header;
  const bitsPerPixel = depth * channels;
  const passes = header.interlaced ? ADAM7 : [[0, 0, 1, 1]];
  // Each pass is a small image of its own: rows of (1 filter byte + packed samples).
  let rawSize = 0;
  const dims = passes.map(([x0, y0, dx, dy]) => {
    const pw = Math.ceil((width - x0) / dx);
    const ph = Math.ceil((height - y0) / dy);
    const rowBytes = pw > 0 && ph > 0 ? Math.ceil((pw * bitsPerPixel) / 8) : 0;
    rawSize += pw > 0 && ph > 0 ? ph * (rowBytes + 1) : 0;
    return { pw, ph, rowBytes };
  });
  const raw = inflateZlib(zdata, rawSize, 'image data');

  const out = new Uint8Array(width * height * 3);
  const lut = sampleToRgbLut(header, palette);
  const bpp = Math.max(1, bitsPerPixel >> 3); // filter byte distance: bytes per complete pixel (at least 1)
  let off = 0;
  for (let pi = 0; pi < passes.length; pi++) {
    const [x0, y0, dx, dy] = passes[pi];
    const { pw, ph, rowBytes } = dims[pi];
    if (pw <= 0 || ph <= 0) continue;
    let prev = -1;
    for (let r = 0; r < ph; r++) {
      unfilterRow(raw, off, rowBytes, prev, bpp);
      writeRow(raw, off + 1, header, lut, out, (y0 + r * dy) * width + x0, dx, pw);
      prev = off + 1;
      off += rowBytes + 1;
    }
  }
  return { width, height, data: out };
}

function parseHeader(d: Uint8Array, start: number, length: number, maxPixels: number): Header {
  if (length !== 13) decodeFail('PNG', `bad IHDR length ${length}`);
  const width = u32(d, start);
  const height = u32(d, start + 4);
  const depth = d[start + 8];
  const colorType = d[start + 9];
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) {
    decodeFail('PNG', `bad image size ${width}x${height}`);
  }
  const ct = COLOR_TYPES[colorType];
  if (!ct) decodeFail('PNG', `bad colour type ${colorType}`);
  if (!ct.depths.includes(depth)) decodeFail('PNG', `bad bit depth ${depth} for colour type ${colorType}`);
  if (d[start + 10] !== 0 || d[start + 11] !== 0) decodeFail('PNG', 'unknown compression or filter method');
  if (d[start + 12] > 1) decodeFail('PNG', `unknown interlace method ${d[start + 12]}`);
  if (width * height > maxPixels) decodeFail('PNG', `image has ${width}x${height} pixels, more than the limit of ${maxPixels}`);
  return { width, height, depth, colorType, channels: ct.channels, interlaced: d[start + 12] === 1 };
}

/**
 * Reverses the row filter in place (PNG spec 9.2). `off` is the filter-type byte; `prev` the start of the previous
 * row's (already unfiltered) bytes, or -1 for the first row of a pass, whose "previous row" is all zeros.
 */
function unfilterRow(raw: Uint8Array, off: number, n: number, prev: number, bpp: number): void {
  const type = raw[off];
  const s = off + 1;
  switch (type) {
    case 0:
      return;
    case 1: // Sub: + left
      for (let i = bpp; i < n; i++) raw[s + i] = (raw[s + i] + raw[s + i - bpp]) & 0xff;
      return;
    case 2: // Up: + above
      if (prev >= 0) for (let i = 0; i < n; i++) raw[s + i] = (raw[s + i] + raw[prev + i]) & 0xff;
      return;
    case 3: // Average: + floor((left + above) / 2)
      for (let i = 0; i < n; i++) {
        const a = i >= bpp ? raw[s + i - bpp] : 0;
        const b = prev >= 0 ? raw[prev + i] : 0;
        raw[s + i] = (raw[s + i] + ((a + b) >> 1)) & 0xff;
      }
      return;
    case 4: // Paeth: + whichever of left, above, upper-left is closest to left + above - upper-left
      for (let i = 0; i < n; i++) {
        const a = i >= bpp ? raw[s + i - bpp] : 0;
        const b = prev >= 0 ? raw[prev + i] : 0;
        const c = i >= bpp && prev >= 0 ? raw[prev + i - bpp] : 0;
        const pa = Math.abs(b - c);
        const pb = Math.abs(a - c);
        const pc = Math.abs(a + b - 2 * c);
        const pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        raw[s + i] = (raw[s + i] + pred) & 0xff;
      }
      return;
    default:
      decodeFail('PNG', `bad filter type ${type} (corrupt image data)`);
  }
}

/**
 * For 1/2/4/8-bit grey and palette images: a 256-entry table from sample value to RGB (768 bytes), applying PIL's
 * scaling of low bit depths and its palette padding. Null for the other types.
 */
function sampleToRgbLut(h: Header, palette: Uint8Array | null): Uint8Array | null {
  if (h.colorType === 3) {
    const lut = new Uint8Array(768);
    for (let i = 0; i < 256; i++) lut.fill(i, 3 * i, 3 * i + 3); // PIL's default palette: a grey ramp
    lut.set(palette!.subarray(0, Math.min(palette!.length, 768)));
    return lut;
  }
  if (h.colorType === 0 && h.depth <= 8) {
    const scale = 255 / ((1 << h.depth) - 1);
    const lut = new Uint8Array(768);
    for (let i = 0; i < 1 << h.depth; i++) lut.fill(Math.round(i * scale), 3 * i, 3 * i + 3);
    return lut;
  }
  return null;
}

/** Converts `count` pixels of one unfiltered row to RGB, writing every `dx`-th pixel from `outPixel` on. */
function writeRow(
  raw: Uint8Array,
  s: number,
  h: Header,
  lut: Uint8Array | null,
  out: Uint8Array,
  outPixel: number,
  dx: number,
  count: number,
): void {
  let o = outPixel * 3;
  const step = dx * 3;
  if (lut) {
    const depth = h.depth;
    const mask = (1 << depth) - 1;
    for (let x = 0; x < count; x++, o += step) {
      let v: number;
      if (depth === 8) v = raw[s + x];
      else {
        const bit = x * depth;
        v = (raw[s + (bit >> 3)] >> (8 - depth - (bit & 7))) & mask;
      }
      out[o] = lut[3 * v];
      out[o + 1] = lut[3 * v + 1];
      out[o + 2] = lut[3 * v + 2];
    }
    return;
  }
  const bytesPerSample = h.depth >> 3;
  const stride = h.channels * bytesPerSample;
  if (h.colorType === 0) {
    // 16-bit grey: PIL mode 'I', clipped to 0..255 by convert('RGB').
    for (let x = 0, p = s; x < count; x++, o += step, p += 2) {
      const v = Math.min((raw[p] << 8) | raw[p + 1], 255);
      out[o] = v;
      out[o + 1] = v;
      out[o + 2] = v;
    }
    return;
  }
  // Grey+alpha, RGB, RGBA at 8 or 16 bits: the first (most significant) byte of each sample; alpha ignored.
  const gOff = h.colorType === 4 ? 0 : bytesPerSample;
  const bOff = h.colorType === 4 ? 0 : 2 * bytesPerSample;
  for (let x = 0, p = s; x < count; x++, o += step, p += stride) {
    out[o] = raw[p];
    out[o + 1] = raw[p + gOff];
    out[o + 2] = raw[p + bOff];
  }
}

/**
 * Encodes an RGB image as an 8-bit, non-interlaced PNG. Each row gets the filter with the smallest sum of absolute
 * (signed) filtered bytes, the usual heuristic; the data is compressed by deflate.ts.
 */
export function encodePng(img: RgbImage): Uint8Array {
  assertRgbImage(img, 'img');
  const { width, height, data } = img;
  const rowBytes = width * 3;
  const filtered = new Uint8Array(height * (rowBytes + 1));
  const candidate = new Uint8Array(rowBytes);
  for (let y = 0; y < height; y++) {
    const cur = y * rowBytes;
    const up = (y - 1) * rowBytes;
    let bestCost = Infinity;
    for (let type = 0; type <= 4; type++) {
      let cost = 0;
      for (let i = 0; i < rowBytes; i++) {
        const x = data[cur + i];
        const a = i >= 3 ? data[cur + i - 3] : 0;
        const b = y > 0 ? data[up + i] : 0;
        const c = i >= 3 && y > 0 ? data[up + i - 3] : 0;
        let pred = 0;
        if (type === 1) pred = a;
        else if (type === 2) pred = b;
        else if (type === 3) pred = (a + b) >> 1;
        else if (type === 4) {
          const pa = Math.abs(b - c);
          const pb = Math.abs(a - c);
          const pc = Math.abs(a + b - 2 * c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        }
        const f = (x - pred) & 0xff;
        candidate[i] = f;
        cost += f < 128 ? f : 256 - f;
        if (cost >= bestCost) break;
      }
      if (cost < bestCost) {
        bestCost = cost;
        filtered[y * (rowBytes + 1)] = type;
        filtered.set(candidate, y * (rowBytes + 1) + 1);
      }
    }
  }

  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const chunks = [chunk('IHDR', ihdr), chunk('IDAT', zlibCompress(filtered)), chunk('IEND', new Uint8Array(0))];
  const total = 8 + chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(total);
  out.set(SIGNATURE, 0);
  let o = 8;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** length, type, data, CRC-32 of type + data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const c = new Uint8Array(12 + data.length);
  const dv = new DataView(c.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) c[4 + i] = type.charCodeAt(i);
  c.set(data, 8);
  dv.setUint32(8 + data.length, crc32(c, 4, 8 + data.length));
  return c;
}
