// Measures and picture helpers the demo evaluations share (the ResNet demo, evaluate.ts; the look-alike demo,
// evaluate-lookalike.ts; the CLIP demo, clip/evaluate.ts): part share, pointing game, paired differences,
// strip choice and drawing. score-maps.ts applies the measures to a batch of maps.
import type { RgbImage } from '../../image/canvas';

export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/** Mean and standard error of a[i] − b[i]. */
export function pairedDiff(a: readonly number[], b: readonly number[]): { mean: number; se: number } {
  const d = a.map((v, i) => v - b[i]);
  const m = mean(d);
  if (d.length < 2) return { mean: m, se: NaN };
  const v = d.reduce((s, x) => s + (x - m) ** 2, 0) / (d.length - 1);
  return { mean: m, se: Math.sqrt(v / d.length) };
}

export function partShare(cam: Float32Array, mask: Uint8Array): number {
  let s = 0;
  let m = 0;
  for (let i = 0; i < cam.length; i++) {
    s += cam[i];
    if (mask[i]) m += cam[i];
  }
  return s > 0 ? m / s : 0;
}

/**
 * The pointing game: does the map's maximum lie within `tol` pixels (Chebyshev distance) of the part?
 * The tolerance is half a cell of the target layer's grid: an upsampled grid map peaks at cell centres.
 */
export function peakNearPart(cam: Float32Array, mask: Uint8Array, size: number, tol: number): boolean {
  let b = 0;
  for (let i = 1; i < cam.length; i++) if (cam[i] > cam[b]) b = i;
  if (!(cam[b] > 0)) return false;
  const px = b % size;
  const py = Math.floor(b / size);
  for (let y = Math.max(0, py - tol); y <= Math.min(size - 1, py + tol); y++) {
    for (let x = Math.max(0, px - tol); x <= Math.min(size - 1, px + tol); x++) if (mask[y * size + x]) return true;
  }
  return false;
}

/** A copy of `img` with the part mask's boundary drawn in `color`. */
export function outlineMask(img: RgbImage, mask: Uint8Array, color: readonly [number, number, number]): RgbImage {
  const { width: W, height: H } = img;
  const out = { width: W, height: H, data: Uint8Array.from(img.data) };
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (!mask[y * W + x]) continue;
      const edge = x === 0 || y === 0 || x === W - 1 || y === H - 1 || !mask[y * W + x - 1] || !mask[y * W + x + 1] || !mask[(y - 1) * W + x] || !mask[(y + 1) * W + x];
      if (edge) out.data.set(color, (y * W + x) * 3);
    }
  }
  return out;
}

export function upscaleMask(mask: Uint8Array, size: number, f: number): Uint8Array {
  const S = size * f;
  const out = new Uint8Array(S * S);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) out[y * S + x] = mask[Math.floor(y / f) * size + Math.floor(x / f)];
  return out;
}

export function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

/**
 * The k-th strip's test image. In each pair the odd class has the attribute (orange beak, eye ring, red
 * cap, yellow throat, wing bar, white tail tip) and the even class lacks it, so the first six strips show
 * one class per pair with its distinguishing part visible (classes 1, 3, …, 11), the next six their
 * partners (0, 2, …, 10), then the next test image of each.
 */
export function stripPick(k: number, nClasses: number): { classId: number; index: number } {
  const j = k % nClasses;
  const half = Math.floor(nClasses / 2);
  return { classId: j < half ? 2 * j + 1 : 2 * (j - half), index: Math.floor(k / nClasses) };
}
