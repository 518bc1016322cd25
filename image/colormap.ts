/**
 * OpenCV's JET colormap, byte-identical: `jetColormap` / `applyColormapJet` give `cv2.applyColorMap(x,
 * cv2.COLORMAP_JET)` in RGB order. Overlays built on it are in overlay.ts.
 */

const f32 = Math.fround;

/** OpenCV colormap.cpp linspace(x0, x1, n) in float32: x0 + i * ((x1 - x0) / (n - 1)). */
function linspaceF32(n: number): Float32Array {
  const step = f32(1 / (n - 1));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = f32(f32(i * step));
  return out;
}

/**
 * OpenCV colormap.cpp interp1_<float>: for each xi, binary-search the bracketing knots and interpolate linearly,
 * every operation in float32 and in OpenCV's order: y[lo] + ((xi - x[lo]) * (y[hi] - y[lo])) / (x[hi] - x[lo]).
 */
function interp1F32(x: Float32Array, y: Float32Array, xi: Float32Array): Float32Array {
  const out = new Float32Array(xi.length);
  const last = x.length - 1;
  for (let i = 0; i < xi.length; i++) {
    const v = xi[i];
    let low = 0;
    let high = last;
    if (v < x[low]) high = 1;
    if (v > x[high]) low = high - 1;
    while (high - low > 1) {
      const c = low + ((high - low) >> 1);
      if (v > x[c]) low = c;
      else high = c;
    }
    const t = f32(f32(f32(v - x[low]) * f32(y[high] - y[low])) / f32(x[high] - x[low]));
    out[i] = f32(y[low] + t);
  }
  return out;
}

/** round-half-to-even, as OpenCV's float -> uchar conversion (cvRound) does. */
function rint(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

let jetTable: Uint8Array | null = null;

/**
 * The 256-entry JET lookup table, RGB interleaved (768 bytes): entry i is the colour OpenCV gives to the uint8 value i.
 *
 * Derived as OpenCV 4.x builds it (colormap.cpp, class Jet): the GNU Octave jet formula sampled at i/255 gives 256
 * float32 knots per channel (OpenCV ships them as literals; the formula reproduces every one exactly); the knots are
 * re-interpolated at linspace(0, 1, 256) with interp1 (not an identity in float32), scaled by 255 and rounded half to
 * even. Several entries sit exactly on a .5 tie, which is why the float32 details matter.
 */
export function jetColormap(): Uint8Array {
  if (jetTable) return jetTable.slice();
  const n = 256;
  const r = new Float32Array(n);
  const g = new Float32Array(n);
  const b = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const x = i / 255;
    // Octave jet.m: piecewise-linear ramps of slope 4 between the breakpoints 1/8, 3/8, 5/8, 7/8.
    r[i] = f32(x >= 3 / 8 && x < 5 / 8 ? 4 * x - 1.5 : x >= 5 / 8 && x < 7 / 8 ? 1 : x >= 7 / 8 ? -4 * x + 4.5 : 0);
    g[i] = f32(x >= 1 / 8 && x < 3 / 8 ? 4 * x - 0.5 : x >= 3 / 8 && x < 5 / 8 ? 1 : x >= 5 / 8 && x < 7 / 8 ? -4 * x + 3.5 : 0);
    b[i] = f32(x < 1 / 8 ? 4 * x + 0.5 : x < 3 / 8 ? 1 : x < 5 / 8 ? -4 * x + 2.5 : 0);
  }
  const knots = linspaceF32(n);
  const xi = linspaceF32(n);
  const channels = [interp1F32(knots, r, xi), interp1F32(knots, g, xi), interp1F32(knots, b, xi)];
  const lut = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) lut[3 * i + c] = Math.min(255, Math.max(0, rint(f32(channels[c][i] * 255))));
  }
  jetTable = lut;
  return lut.slice();
}

/** Maps each uint8 value through JET: returns RGB interleaved, 3 bytes per input value. */
export function applyColormapJet(values: Uint8Array): Uint8Array {
  if (!(values instanceof Uint8Array)) throw new TypeError('values must be a Uint8Array');
  if (!jetTable) jetColormap();
  const lut = jetTable!;
  const out = new Uint8Array(values.length * 3);
  for (let i = 0, o = 0; i < values.length; i++, o += 3) {
    const k = values[i] * 3;
    out[o] = lut[k];
    out[o + 1] = lut[k + 1];
    out[o + 2] = lut[k + 2];
  }
  return out;
}
