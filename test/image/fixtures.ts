/**
 * Loads test/fixtures/images/ (written by test/reference/make_image_fixtures.py from PIL / OpenCV / NumPy) and
 * compares our outputs with the expected bytes there.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'images');

export interface DecodeCase {
  file: string;
  width: number;
  height: number;
  pilMode: string;
  note: string;
  expected?: string;
  sha256?: string;
}
export interface ResizeCase {
  src: string;
  srcWidth: number;
  srcHeight: number;
  channels?: number;
  width: number;
  height: number;
  expected?: string;
  sha256?: string;
}
export interface ShowCamCase {
  image: string;
  width: number;
  height: number;
  mask: string;
  imageWeight: number;
  expected?: string;
  sha256?: string;
}
export interface LinearSweepCase {
  seed: number;
  dtype: 'f32' | 'u8';
  srcWidth: number;
  srcHeight: number;
  channels: number;
  width: number;
  height: number;
  sha256: string;
}
export interface BicubicSweepCase {
  seed: number;
  srcWidth: number;
  srcHeight: number;
  width: number;
  height: number;
  sha256: string;
}
export interface Manifest {
  sweeps: { generator: string; linear: LinearSweepCase[]; bicubic: BicubicSweepCase[] };
  decode: DecodeCase[];
  decodeErrors: { file: string; message: string }[];
  bicubic: ResizeCase[];
  linearF32: ResizeCase[];
  linearU8: ResizeCase[];
  colormap: { jetRgb: string };
  showCam: ShowCamCase[];
  showCamPipeline: {
    image: string;
    width: number;
    height: number;
    grid: string;
    gridWidth: number;
    gridHeight: number;
    maskSha256: string;
    imageWeight: number;
    sha256: string;
  };
}

export const manifest: Manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8'));

export function readBytes(rel: string): Uint8Array {
  const b = readFileSync(join(FIXTURES, rel));
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export function readF32(rel: string): Float32Array {
  const b = readBytes(rel);
  const copy = new Uint8Array(b); // aligned copy
  return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
}

export function sha256(data: ArrayBufferView): string {
  return createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex');
}

/** Number of differing bytes and the largest absolute difference between two byte arrays. */
export function byteDiff(a: Uint8Array, b: Uint8Array): { count: number; max: number; first: number } {
  if (a.length !== b.length) return { count: Math.max(a.length, b.length), max: 255, first: 0 };
  let count = 0;
  let max = 0;
  let first = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d) {
      count++;
      if (first < 0) first = i;
      if (d > max) max = d;
    }
  }
  return { count, max, first };
}

/**
 * Checks `actual` against a case's expected raw file or SHA-256. Returns a description of the mismatch, or '' when
 * the bytes are identical.
 */
export function compareBytes(actual: Uint8Array, c: { expected?: string; sha256?: string }): string {
  if (c.expected) {
    const d = byteDiff(actual, readBytes(c.expected));
    return d.count === 0 ? '' : `${d.count} bytes differ (max |diff| ${d.max}, first at byte ${d.first})`;
  }
  const h = sha256(actual);
  return h === c.sha256 ? '' : `sha256 ${h} != ${c.sha256}`;
}

/** Fast byte equality (vitest's deep equality walks typed arrays element by element, which is slow). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** The fixture script's gen_u32: deterministic pseudo-random 32-bit values (a multiply-xorshift hash of the index). */
export function genU32(n: number, seed: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let x = (Math.imul(i, 2654435761) + Math.imul(seed, 40503)) >>> 0;
    x = (x ^ (x >>> 15)) >>> 0;
    x = Math.imul(x, 2246822519) >>> 0;
    out[i] = (x ^ (x >>> 13)) >>> 0;
  }
  return out;
}
