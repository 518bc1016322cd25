/**
 * A JPEG decoder whose output is pixel-identical to PIL's `Image.open(f).convert('RGB')` as shipped by Debian
 * (python3-pil 9.4 on libjpeg-turbo 2.1): the default accurate integer IDCT (jpeg-idct.ts), libjpeg-turbo's fancy
 * chroma upsampling and fixed-point YCbCr->RGB (jpeg-color.ts).
 *
 * Supported: baseline and extended sequential Huffman (SOF0/SOF1, 8-bit), progressive Huffman (SOF2: spectral
 * selection and successive approximation), interleaved and non-interleaved scans, restart intervals, any integer
 * sampling-factor ratio (4:4:4, 4:2:2, 4:2:0, 4:4:0, 4:1:1, ...), grayscale, YCbCr, RGB, CMYK and YCCK colour spaces
 * (chosen from the JFIF/Adobe markers and component ids exactly as libjpeg's default_decompress_parms does; four
 * components are converted as PIL does, see jpeg-color.ts), sequential files without Huffman tables (Motion-JPEG:
 * the Annex K tables, as libjpeg-turbo). Rejected with an ImageDecodeError: other component counts, 12-bit,
 * lossless, hierarchical and arithmetic-coded files, and whatever PIL refuses.
 *
 * Damaged files are handled as PIL 9.4 on libjpeg-turbo 2.1 handles them (ImageFile.LOAD_TRUNCATED_IMAGES off):
 * libjpeg's recoveries are reproduced bit for bit (jpeg-huffman.ts: zero bits after a segment ends early, grey for the
 * rest of it, bad Huffman codes, junk and wrong restart markers; progressive files with missing or cut scans get the
 * block smoothing libjpeg applies to them), while a file that stops without an EOI is refused exactly when libjpeg
 * would suspend on it (jpeg-fill-model.ts), and a second scan in a single-scan file is refused as libjpeg refuses it.
 *
 * Structure: markers are parsed in order; every scan's coefficients are Huffman-decoded into one Int16 buffer per
 * component (progressive scans refine the same buffers); at the end each block is dequantised and inverse
 * transformed into a sample plane, and the planes are upsampled and colour-converted.
 *
 * Progressive files whose scans leave some of the first AC coefficients unsent or unrefined get libjpeg's interblock
 * smoothing (jpeg-smooth.ts), as in PIL; complete files (everything libjpeg, PIL and OpenCV write) never need it.
 */
import { BitReader, buildHuffmanTable, END_OF_DATA, standardHuffmanTables, type HuffmanTable } from './jpeg-huffman';
import { LibjpegFillModel } from './jpeg-fill-model';
import { idctIslow, islowMultiplierTable } from './jpeg-idct';
import { planesToRgb, type ComponentPlane, type JpegColorSpace } from './jpeg-color';
import { makeBlockSmoother, SAVED_COEFS, smoothingApplies } from './jpeg-smooth';
import { DEFAULT_MAX_PIXELS, decodeFail, type RgbImage } from './types';

/**
 * Zigzag position -> natural (row-major) index, plus 16 extra entries pointing at 63: like libjpeg's
 * jpeg_natural_order, so a corrupt run length that overshoots the block writes coefficient 63, not out of bounds.
 */
const NATURAL_ORDER = new Uint8Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47,
  55, 62, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
]);

export interface JpegDecodeOptions {
  /** Refuse images with more pixels than this (checked before allocating); default as PIL's bomb limit. */
  maxPixels?: number;
}

export interface Component {
  id: number;
  index: number;
  h: number;
  v: number;
  tq: number;
  /** Quantisation table latched at the component's first scan (libjpeg latch_quant_tables), as short multipliers. */
  quant: Int32Array | null;
  /** The same latched table as raw 16-bit values (block smoothing uses these). */
  quantRaw: Uint16Array | null;
  /** Progressive: Al of the last scan that sent each of coefficients 0..9, -1 if none (libjpeg coef_bits). */
  coefBits: Int8Array;
  /** coefBits as they were before this component's latest scan (libjpeg-turbo's prev_coef_bits). */
  prevCoefBits: Int8Array;
  /** width_in_blocks / height_in_blocks: blocks holding real samples. */
  blocksW: number;
  blocksH: number;
  /** Coefficient buffer dimensions in blocks, padded to whole MCUs of an interleaved scan. */
  allocW: number;
  allocH: number;
  coefs: Int16Array;
  /** downsampled_width / downsampled_height. */
  width: number;
  height: number;
}

export interface Frame {
  progressive: boolean;
  width: number;
  height: number;
  components: Component[];
  hmax: number;
  vmax: number;
  mcusX: number;
  mcusY: number;
  /** Scans started so far (libjpeg's input_scan_number). */
  scans: number;
  /**
   * libjpeg-turbo's last_good_iMCU_row: the iMCU row of the last MCU the final scan began with data left. Block
   * smoothing treats the rows after it as if that scan had not happened.
   */
  lastGoodRow: number;
}

/** Decodes a JPEG file into RGB. Throws ImageDecodeError for anything it cannot decode exactly. */
export function decodeJpeg(bytes: Uint8Array, options: JpegDecodeOptions = {}): RgbImage {
  const { frame, colorSpace } = readJpegCoefficients(bytes, options);
  const planes = componentPlanes(frame);
  return { width: frame.width, height: frame.height, data: planesToRgb(planes, frame.width, frame.height, colorSpace) };
}

/**
 * Parses the file and entropy-decodes every scan, stopping before the IDCT: the quantised DCT coefficients of each
 * component (the same arrays libjpeg's jpeg_read_coefficients returns; tests compare them with libjpeg's).
 */
export function readJpegCoefficients(
  bytes: Uint8Array,
  options: JpegDecodeOptions = {},
): { frame: Frame; colorSpace: JpegColorSpace } {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const data = bytes;
  const len = data.length;
  if (len < 2 || data[0] !== 0xff || data[1] !== 0xd8) decodeFail('JPEG', 'missing SOI marker (not a JPEG file)');

  const quantTables: (Uint16Array | null)[] = [null, null, null, null];
  const dcTables: (HuffmanTable | null)[] = [null, null, null, null];
  const acTables: (HuffmanTable | null)[] = [null, null, null, null];
  let restartInterval = 0;
  let frame: Frame | null = null;
  let sawJfif = false;
  let adobeTransform = -1;
  let pos = 2;
  // Single-scan mode (a sequential file whose first scan holds every component): libjpeg hands PIL the rows while
  // it decodes that scan, so once it is done, the image is complete whatever follows it.
  let singleScan = false;
  let imageDone = false;
  const lastMarker = lastMarkerCode(data);

  /** Reads a marker segment's payload bounds, checking the length field. */
  const segment = (at: number, name: string): [number, number] | null => {
    if (at + 4 > len) return imageDone ? null : decodeFail('JPEG', `file is truncated (in ${name} segment header)`);
    const n = (data[at + 2] << 8) | data[at + 3];
    if (n < 2) decodeFail('JPEG', `corrupt ${name} segment length ${n}`);
    if (at + 2 + n > len) return imageDone ? null : decodeFail('JPEG', `file is truncated (in ${name} segment)`);
    return [at + 4, at + 2 + n];
  };

  for (;;) {
    // Find the next marker: 0xFF, any fill 0xFF bytes, then the code. libjpeg skips (and warns about) junk before it.
    while (pos < len && data[pos] !== 0xff) pos++;
    while (pos + 1 < len && data[pos + 1] === 0xff) pos++;
    if (pos + 1 >= len) {
      // End of data without EOI: libjpeg suspends, which PIL reports as a truncated file -- unless all rows of a
      // single-scan image were already out (PIL then ignores that jpeg_finish_decompress did not finish).
      if (imageDone) break;
      decodeFail('JPEG', 'file is truncated (no EOI marker)');
    }
    const marker = data[pos + 1];
    if (marker === 0xd9) break; // EOI
    if (marker === 0x00 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      pos += 2; // stray RSTn / TEM / stuffed byte outside a scan: ignored, as libjpeg does
      continue;
    }
    if (marker === 0xd8) decodeFail('JPEG', 'corrupt data: second SOI marker');
    // jdmarker.c read_markers refuses DHP, EXP, JPGn and RESn.
    if (marker < 0xc0 || marker === 0xc8 || marker === 0xde || marker === 0xdf || (marker >= 0xf0 && marker <= 0xfd)) {
      decodeFail('JPEG', `corrupt data: unknown marker 0x${marker.toString(16)}`);
    }
    const seg = segment(pos, `0x${marker.toString(16)}`);
    if (!seg) break;
    const [start, end] = seg;

    switch (marker) {
      case 0xc0: // SOF0 baseline
      case 0xc1: // SOF1 extended sequential, Huffman
      case 0xc2: // SOF2 progressive, Huffman
        if (frame) decodeFail('JPEG', 'corrupt data: more than one SOF marker');
        frame = parseFrame(data, start, end, marker === 0xc2, maxPixels);
        break;
      case 0xc3:
        decodeFail('JPEG', 'lossless JPEG (SOF3) is not supported');
      case 0xc5:
      case 0xc6:
      case 0xc7:
        decodeFail('JPEG', 'hierarchical JPEG is not supported');
      case 0xc9:
      case 0xca:
      case 0xcb:
      case 0xcd:
      case 0xce:
      case 0xcf:
      case 0xcc: // DAC
        decodeFail('JPEG', 'arithmetic-coded JPEG is not supported');
      case 0xc4:
        parseHuffmanTables(data, start, end, dcTables, acTables);
        break;
      case 0xdb:
        parseQuantTables(data, start, end, quantTables);
        break;
      case 0xdd:
        if (end - start < 2) decodeFail('JPEG', 'corrupt DRI segment');
        restartInterval = (data[start] << 8) | data[start + 1];
        break;
      case 0xdc: // DNL: ignored by libjpeg (a height of 0 in the SOF is refused there)
        break;
      case 0xe0: // APP0: JFIF implies YCbCr (libjpeg only counts a full 14-byte JFIF header)
        if (end - start >= 14 && data[start] === 0x4a && data[start + 1] === 0x46 && data[start + 2] === 0x49 &&
          data[start + 3] === 0x46 && data[start + 4] === 0) sawJfif = true;
        break;
      case 0xee: // APP14: Adobe, whose transform flag says RGB (0), YCbCr (1) or YCCK (2)
        if (end - start >= 12 && data[start] === 0x41 && data[start + 1] === 0x64 && data[start + 2] === 0x6f &&
          data[start + 3] === 0x62 && data[start + 4] === 0x65) adobeTransform = data[start + 11];
        break;
      case 0xda: {
        if (!frame) decodeFail('JPEG', 'corrupt data: SOS before SOF');
        if (frame.scans === 0) {
          singleScan = !frame.progressive && data[start] === frame.components.length;
          // libjpeg-turbo installs the Annex K tables in slots 0 and 1 left empty when the sequential decoder starts
          // (Motion-JPEG frames carry no DHT); the progressive decoder does not.
          if (!frame.progressive) {
            const std = standardHuffmanTables();
            for (let i = 0; i < 2; i++) {
              dcTables[i] ??= std.dc[i];
              acTables[i] ??= std.ac[i];
            }
          }
        } else if (singleScan) {
          decodeFail('JPEG', 'corrupt data: a second scan in a single-scan (sequential) image');
        }
        const reader = decodeScan(data, start, end, frame, dcTables, acTables, quantTables, restartInterval,
          singleScan ? lastMarker : -1);
        imageDone = singleScan;
        reader.findMarker();
        pos = reader.markerPos;
        if (reader.marker === END_OF_DATA) pos = len;
        continue;
      }
      default:
        // APPn, COM and anything else with a length: skipped.
        break;
    }
    pos = end;
  }

  if (!frame) decodeFail('JPEG', 'no SOF marker (no image)');
  if (frame.scans === 0) decodeFail('JPEG', 'no SOS marker (no image data)');
  return { frame, colorSpace: chooseColorSpace(frame, sawJfif, adobeTransform) };
}

/**
 * Offset of the code byte of the file's last marker (0xFF, any 0xFF fill bytes, then a byte other than 0x00), or -1.
 * A refill of libjpeg's bit buffer starting at `p` meets a marker before the end of the file iff this is > p.
 */
function lastMarkerCode(data: Uint8Array): number {
  for (let q = data.length - 1; q > 0; q--) {
    if (data[q] !== 0 && data[q] !== 0xff && data[q - 1] === 0xff) return q;
  }
  return -1;
}

function parseFrame(data: Uint8Array, start: number, end: number, progressive: boolean, maxPixels: number): Frame {
  if (end - start < 6) decodeFail('JPEG', 'corrupt SOF segment (too short)');
  const precision = data[start];
  const height = (data[start + 1] << 8) | data[start + 2];
  const width = (data[start + 3] << 8) | data[start + 4];
  const n = data[start + 5];
  if (precision !== 8) decodeFail('JPEG', `${precision}-bit samples are not supported (only 8-bit)`);
  if (height === 0) decodeFail('JPEG', 'image height 0 (defined by a DNL marker) is not supported');
  if (width === 0) decodeFail('JPEG', 'empty image (width 0)');
  if (width > 65500 || height > 65500) decodeFail('JPEG', `image too large (${width}x${height}, max 65500)`);
  if (width * height > maxPixels) {
    decodeFail('JPEG', `image has ${width}x${height} pixels, more than the limit of ${maxPixels}`);
  }
  // PIL opens 1 (L), 3 (RGB) and 4 (CMYK) components and refuses the rest ("cannot handle N-layer images").
  if (n !== 1 && n !== 3 && n !== 4) decodeFail('JPEG', `${n}-component JPEGs are not supported (only 1, 3 or 4)`);
  if (end - start < 6 + 3 * n) decodeFail('JPEG', 'corrupt SOF segment (too short for its components)');

  const comps: Component[] = [];
  let hmax = 1;
  let vmax = 1;
  for (let i = 0; i < n; i++) {
    const o = start + 6 + 3 * i;
    const h = data[o + 1] >> 4;
    const v = data[o + 1] & 15;
    if (h < 1 || h > 4 || v < 1 || v > 4) decodeFail('JPEG', `bad sampling factors ${h}x${v}`);
    if (data[o + 2] > 3) decodeFail('JPEG', `bad quantisation table index ${data[o + 2]}`);
    if (comps.some((c) => c.id === data[o])) decodeFail('JPEG', `duplicate component id ${data[o]}`);
    hmax = Math.max(hmax, h);
    vmax = Math.max(vmax, v);
    comps.push({
      id: data[o], index: i, h, v, tq: data[o + 2], quant: null, quantRaw: null,
      coefBits: new Int8Array(SAVED_COEFS).fill(-1), prevCoefBits: new Int8Array(SAVED_COEFS).fill(-1),
      blocksW: 0, blocksH: 0, allocW: 0, allocH: 0, coefs: new Int16Array(0), width: 0, height: 0,
    });
  }
  // jdinput.c initial_setup: sizes in MCUs, blocks and samples.
  const mcusX = Math.ceil(width / (8 * hmax));
  const mcusY = Math.ceil(height / (8 * vmax));
  for (const c of comps) {
    c.width = Math.ceil((width * c.h) / hmax);
    c.height = Math.ceil((height * c.v) / vmax);
    c.blocksW = Math.ceil(c.width / 8);
    c.blocksH = Math.ceil(c.height / 8);
    c.allocW = mcusX * c.h;
    c.allocH = mcusY * c.v;
    c.coefs = new Int16Array(c.allocW * c.allocH * 64);
  }
  return { progressive, width, height, components: comps, hmax, vmax, mcusX, mcusY, scans: 0, lastGoodRow: 0 };
}

function parseHuffmanTables(
  data: Uint8Array,
  start: number,
  end: number,
  dc: (HuffmanTable | null)[],
  ac: (HuffmanTable | null)[],
): void {
  let p = start;
  while (p < end) {
    if (p + 17 > end) decodeFail('JPEG', 'corrupt DHT segment (too short)');
    const tc = data[p] >> 4;
    const th = data[p] & 15;
    if (tc > 1 || th > 3) decodeFail('JPEG', `bad Huffman table class/index 0x${data[p].toString(16)}`);
    const counts = data.subarray(p + 1, p + 17);
    let total = 0;
    for (let i = 0; i < 16; i++) total += counts[i];
    if (total > 256 || p + 17 + total > end) decodeFail('JPEG', 'corrupt DHT segment (bad code counts)');
    const table = buildHuffmanTable(counts, data.slice(p + 17, p + 17 + total), tc === 0);
    (tc === 0 ? dc : ac)[th] = table;
    p += 17 + total;
  }
}

function parseQuantTables(data: Uint8Array, start: number, end: number, tables: (Uint16Array | null)[]): void {
  let p = start;
  while (p < end) {
    const pq = data[p] >> 4;
    const tq = data[p] & 15;
    if (pq > 1 || tq > 3) decodeFail('JPEG', `bad quantisation table precision/index 0x${data[p].toString(16)}`);
    const size = pq === 0 ? 64 : 128;
    if (p + 1 + size > end) decodeFail('JPEG', 'corrupt DQT segment (too short)');
    const t = new Uint16Array(64);
    for (let k = 0; k < 64; k++) {
      // Stored in zigzag order; we keep natural order (as libjpeg's get_dqt does).
      t[NATURAL_ORDER[k]] = pq === 0 ? data[p + 1 + k] : (data[p + 1 + 2 * k] << 8) | data[p + 2 + 2 * k];
    }
    tables[tq] = t;
    p += 1 + size;
  }
}

/** jdapimin.c default_decompress_parms, for the colour spaces we support. */
function chooseColorSpace(frame: Frame, sawJfif: boolean, adobeTransform: number): JpegColorSpace {
  if (frame.components.length === 1) return 'gray';
  // Four components: Adobe transform 0 is CMYK, 2 (and any other value) YCCK; no Adobe marker means CMYK.
  if (frame.components.length === 4) return adobeTransform < 0 || adobeTransform === 0 ? 'cmyk' : 'ycck';
  if (sawJfif) return 'ycbcr';
  if (adobeTransform >= 0) return adobeTransform === 0 ? 'rgb' : 'ycbcr'; // 2 (YCCK) cannot occur with 3 components
  const [a, b, c] = frame.components.map((x) => x.id);
  if (a === 82 && b === 71 && c === 66) return 'rgb'; // component ids 'R', 'G', 'B'
  return 'ycbcr';
}

/** The sample planes of all components (libjpeg's raw_data_out), after block smoothing where libjpeg applies it. */
export function componentPlanes(frame: Frame): ComponentPlane[] {
  // Progressive files whose scans left low-frequency coefficients unrefined get libjpeg's block smoothing.
  const smooth = frame.progressive && smoothingApplies(frame.components);
  return frame.components.map((c) => inverseTransform(c, smooth ? frame : null));
}

/**
 * Dequantises and inverse-transforms every block that holds real samples into a component plane; with `smooth`
 * (the frame) each block first goes through libjpeg's block smoothing.
 */
function inverseTransform(c: Component, smooth: Frame | null): ComponentPlane {
  const stride = c.blocksW * 8;
  const plane = new Uint8Array(stride * c.blocksH * 8);
  // A component that no scan ever mentioned has no latched table: libjpeg would leave its coefficients zero
  // (mid-grey); so do we, with a dummy all-ones table.
  const quant = c.quant ?? new Int32Array(64).fill(1);
  const ws = new Int32Array(72); // 64 workspace + 8 scratch (see idctIslow)
  const smoother = smooth ? makeBlockSmoother(c, smooth.mcusY, smooth.scans, smooth.lastGoodRow) : null;
  const block = new Int16Array(64);
  for (let by = 0; by < c.blocksH; by++) {
    for (let bx = 0; bx < c.blocksW; bx++) {
      if (smoother) {
        smoother(by, bx, block);
        idctIslow(block, 0, quant, ws, plane, by * 8 * stride + bx * 8, stride);
      } else {
        idctIslow(c.coefs, (by * c.allocW + bx) * 64, quant, ws, plane, by * 8 * stride + bx * 8, stride);
      }
    }
  }
  return { data: plane, stride, width: c.width, height: c.height, h: c.h, v: c.v };
}

type BlockDecoder = (c: Component, off: number) => void;

/**
 * Decodes one scan (the SOS header at [start, end), entropy-coded data after it) into the coefficient buffers.
 * Returns the bit reader, positioned at the marker that ended the scan.
 */
function decodeScan(
  data: Uint8Array,
  start: number,
  end: number,
  frame: Frame,
  dcTables: (HuffmanTable | null)[],
  acTables: (HuffmanTable | null)[],
  quantTables: (Uint16Array | null)[],
  restartInterval: number,
  /** For the scan of a single-scan image: the offset of the file's last marker code (lastMarkerCode); else -1. */
  lastMarker: number,
): BitReader {
  // --- SOS header ------------------------------------------------------------------------------------------------
  const ns = data[start];
  if (ns < 1 || ns > 4 || end - start !== 4 + 2 * ns) decodeFail('JPEG', 'corrupt SOS segment');
  const comps: Component[] = [];
  const dcT: (HuffmanTable | null)[] = [];
  const acT: (HuffmanTable | null)[] = [];
  for (let i = 0; i < ns; i++) {
    const id = data[start + 1 + 2 * i];
    const c = frame.components.find((x) => x.id === id);
    if (!c) decodeFail('JPEG', `scan refers to unknown component id ${id}`);
    if (comps.includes(c)) decodeFail('JPEG', `component id ${id} appears twice in one scan`);
    const td = data[start + 2 + 2 * i] >> 4;
    const ta = data[start + 2 + 2 * i] & 15;
    // libjpeg only checks the selectors of the tables a scan actually uses (need() below reports those).
    comps.push(c);
    dcT.push(td <= 3 ? dcTables[td] : null);
    acT.push(ta <= 3 ? acTables[ta] : null);
  }
  const p = start + 1 + 2 * ns;
  const ss = data[p];
  const se = data[p + 1];
  const ah = data[p + 2] >> 4;
  const al = data[p + 2] & 15;

  // Blocks per MCU (libjpeg limit D_MAX_BLOCKS_IN_MCU = 10).
  if (ns > 1) {
    let blocks = 0;
    for (const c of comps) blocks += c.h * c.v;
    if (blocks > 10) decodeFail('JPEG', `corrupt data: ${blocks} blocks per MCU (max 10)`);
  }

  // Latch each component's quantisation table at its first scan (jdinput.c latch_quant_tables).
  for (const c of comps) {
    if (c.quant) continue;
    const t = quantTables[c.tq];
    if (!t) decodeFail('JPEG', `quantisation table ${c.tq} is not defined`);
    c.quant = islowMultiplierTable(t);
    c.quantRaw = t.slice();
  }

  frame.scans++;
  const reader = new BitReader(data, end);
  const preds = new Int32Array(ns);
  let eobrun = 0;
  const need = (t: HuffmanTable | null, kind: string, i: number): HuffmanTable =>
    t ?? decodeFail('JPEG', `${kind} Huffman table for component ${comps[i].id} is not defined`);

  // --- choose the block decoder ----------------------------------------------------------------------------------
  let decodeBlock: (ci: number, off: number) => void;
  if (!frame.progressive) {
    // Sequential: DC difference, then run/size-coded AC coefficients up to an end-of-block code.
    const dcs = comps.map((_, i) => need(dcT[i], 'DC', i));
    const acs = comps.map((_, i) => need(acT[i], 'AC', i));
    decodeBlock = (ci, off) => {
      const coefs = comps[ci].coefs;
      const s = reader.decode(dcs[ci]);
      // libjpeg keeps the predictor as a (wrapping) int and stores the coefficient as a 16-bit JCOEF.
      preds[ci] = (preds[ci] + reader.receiveExtend(s)) | 0;
      coefs[off] = preds[ci];
      const ac = acs[ci];
      for (let k = 1; k < 64; k++) {
        const rs = reader.decode(ac);
        const r = rs >> 4;
        const size = rs & 15;
        if (size) {
          k += r;
          coefs[off + NATURAL_ORDER[k]] = reader.receiveExtend(size);
        } else {
          if (r !== 15) break; // EOB
          k += 15; // ZRL: sixteen zeros
        }
      }
    };
  } else {
    // Progressive: validate as jdphuff.c start_pass_phuff_decoder does.
    const dcScan = ss === 0;
    let bad = false;
    if (dcScan) bad = se !== 0;
    else bad = ss > se || se > 63 || ns !== 1;
    if (ah !== 0 && al !== ah - 1) bad = true;
    if (al > 13) bad = true;
    if (bad) decodeFail('JPEG', `corrupt progressive scan parameters Ss=${ss} Se=${se} Ah=${ah} Al=${al}`);
    // jdphuff.c start_pass_phuff_decoder: an out-of-order progression only warns; prev_coef_bits keeps the state
    // before this scan (0 for the first scan of the file).
    for (const c of comps) {
      if (frame.scans > 1) c.prevCoefBits.set(c.coefBits);
      else c.prevCoefBits.fill(0);
      for (let k = ss; k <= se && k < SAVED_COEFS; k++) c.coefBits[k] = al;
    }

    if (dcScan && ah === 0) {
      const dcs = comps.map((_, i) => need(dcT[i], 'DC', i));
      decodeBlock = (ci, off) => {
        const s = reader.decode(dcs[ci]);
        const d = reader.receiveExtend(s);
        const prev = preds[ci];
        // libjpeg-turbo rejects a predictor overflow here (JERR_BAD_DCT_COEF).
        if ((prev >= 0 && d > 0x7fffffff - prev) || (prev < 0 && d < -0x80000000 - prev)) {
          decodeFail('JPEG', 'corrupt data: DC coefficient overflow');
        }
        preds[ci] = prev + d;
        comps[ci].coefs[off] = preds[ci] * 2 ** al; // LEFT_SHIFT(s, Al) cast to JCOEF (Int16Array wraps)
      };
    } else if (dcScan) {
      // DC refinement: one more bit of every DC coefficient, no Huffman coding.
      const bit = 1 << al;
      decodeBlock = (ci, off) => {
        if (reader.getBit()) comps[ci].coefs[off] |= bit;
      };
    } else if (ah === 0) {
      // AC first pass over the band [Ss, Se], with end-of-band runs spanning blocks.
      const ac = need(acT[0], 'AC', 0);
      decodeBlock = (ci, off) => {
        if (eobrun > 0) {
          eobrun--;
          return;
        }
        const coefs = comps[ci].coefs;
        for (let k = ss; k <= se; k++) {
          const rs = reader.decode(ac);
          const r = rs >> 4;
          const size = rs & 15;
          if (size) {
            k += r;
            coefs[off + NATURAL_ORDER[k]] = reader.receiveExtend(size) * 2 ** al;
          } else if (r === 15) {
            k += 15;
          } else {
            // EOBr: this block and the next 2^r - 1 + (r appended bits) blocks end here.
            eobrun = (1 << r) + reader.getBits(r) - 1;
            break;
          }
        }
      };
    } else {
      // AC refinement (jdphuff.c decode_mcu_AC_refine): newly non-zero coefficients are +-1 << Al; every already
      // non-zero coefficient passed over gets one correction bit.
      const ac = need(acT[0], 'AC', 0);
      const p1 = 1 << al;
      const m1 = -1 * p1;
      decodeBlock = (ci, off) => {
        const coefs = comps[ci].coefs;
        let k = ss;
        if (eobrun === 0) {
          for (; k <= se; k++) {
            const rs = reader.decode(ac);
            let r = rs >> 4;
            const size = rs & 15;
            let value = 0;
            if (size) {
              // size should be 1 (libjpeg only warns otherwise)
              value = reader.getBit() ? p1 : m1;
            } else if (r !== 15) {
              eobrun = (1 << r) + reader.getBits(r);
              break;
            }
            // Skip r zero coefficients (refining the non-zero ones passed on the way), stop at the target zero.
            do {
              const z = off + NATURAL_ORDER[k];
              if (coefs[z] !== 0) {
                if (reader.getBit() && (coefs[z] & p1) === 0) coefs[z] += coefs[z] >= 0 ? p1 : m1;
              } else if (--r < 0) {
                break;
              }
              k++;
            } while (k <= se);
            if (value) coefs[off + NATURAL_ORDER[k]] = value;
          }
        }
        if (eobrun > 0) {
          // Rest of the band after the end-of-block: correction bits only.
          for (; k <= se; k++) {
            const z = off + NATURAL_ORDER[k];
            if (coefs[z] !== 0 && reader.getBit() && (coefs[z] & p1) === 0) coefs[z] += coefs[z] >= 0 ? p1 : m1;
          }
          eobrun--;
        }
      };
    }
  }

  // --- walk the MCUs ---------------------------------------------------------------------------------------------
  // Once a segment has run out of data (reader.insufficient), libjpeg leaves its remaining MCUs untouched; only DC
  // refinement keeps reading (zero bits change nothing).
  const alwaysDecode = frame.progressive && ss === 0 && ah !== 0;
  const blocksInMcu = ns === 1 ? 1 : comps.reduce((n, c) => n + c.h * c.v, 0);
  const ops = lastMarker >= 0 ? new Int32Array(blocksInMcu * 130) : null;
  let model: LibjpegFillModel | null = null;
  /** Starts a segment at `at` (-1: a marker is pending). Only a segment with no marker after it needs the model. */
  const segmentStart = (at: number): void => {
    model = ops && at >= 0 && lastMarker <= at ? new LibjpegFillModel(data, at, restartInterval, blocksInMcu) : null;
    reader.ops = model ? ops : null;
  };
  segmentStart(end);
  let restartsLeft = restartInterval;
  let nextRestart = 0;
  /** Bookkeeping before an MCU in iMCU row `row`; false when libjpeg would leave the MCU untouched. */
  const mcuBegin = (row: number): boolean => {
    if (!reader.insufficient) frame.lastGoodRow = row;
    if (restartInterval !== 0) {
      if (restartsLeft === 0) {
        reader.restart(nextRestart);
        nextRestart = (nextRestart + 1) & 7;
        restartsLeft = restartInterval;
        preds.fill(0);
        eobrun = 0;
        if (ops) segmentStart(reader.marker < 0 ? reader.pos : -1);
      }
      restartsLeft--;
    }
    reader.nOps = 0;
    return alwaysDecode || !reader.insufficient;
  };
  const mcuEnd = (): void => {
    if (model) model.mcu(ops!, reader.nOps);
  };

  if (ns === 1) {
    // Non-interleaved: an MCU is one block, and only blocks holding real samples are coded.
    const c = comps[0];
    for (let by = 0; by < c.blocksH; by++) {
      const row = Math.floor(by / c.v);
      for (let bx = 0; bx < c.blocksW; bx++) {
        if (!mcuBegin(row)) continue;
        decodeBlock(0, (by * c.allocW + bx) * 64);
        mcuEnd();
      }
    }
  } else {
    // Interleaved: each MCU holds h x v blocks of every component, including padding blocks at the edges.
    for (let my = 0; my < frame.mcusY; my++) {
      for (let mx = 0; mx < frame.mcusX; mx++) {
        if (!mcuBegin(my)) continue;
        for (let ci = 0; ci < ns; ci++) {
          const c = comps[ci];
          for (let y = 0; y < c.v; y++) {
            const row = (my * c.v + y) * c.allocW + mx * c.h;
            for (let x = 0; x < c.h; x++) decodeBlock(ci, (row + x) * 64);
          }
        }
        mcuEnd();
      }
    }
  }
  return reader;
}
