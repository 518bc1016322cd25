// FullGrad's trace (`trace: true`): its own steps, captured from its own computation (cam/methods/fullgrad.ts).
// Checked three ways: the traced map is the returned map bit for bit and equals the PyTorch reference
// fixture FullGrad is already tested against (test/reference/cam_metrics.py, cam-metrics/methods.json); the
// steps relate as the method says, recomputed here in plain JavaScript from the traced inputs of each step
// (contribution = |b ⊙ ∂target/∂z|, |x ⊙ ∂target/∂x|; part map = Σ_c min-max(channel); Σ parts; min-max);
// and tracing changes nothing in the computation.
import { describe, expect, test } from 'vitest';
import * as F from '../../index';
import { TOL } from '../tolerances';
import { expectClose } from '../helpers/compare';
import { loadFixture } from '../helpers/fixtures';
import { TinyBNCNN, TinyCNN, x2 } from '../helpers/tiny-cnn';

const fx = loadFixture<{ classes: number[]; FullGrad: number[]; FullGrad_bn: number[] }>('cam-metrics/methods.json');
const targets = () => fx.classes.map((c) => new F.ClassifierOutputTarget(c));

function step(t: F.CamTrace, key: F.TraceStepKey, set: number | null, layer: number | null): F.TraceStep {
  const s = t.steps.find((x) => x.key === key && x.set === set && x.layer === layer);
  if (!s) throw new Error(`no step ${key} set ${set} layer ${layer}`);
  return s;
}

/** Σ_c of each channel's (p − min) / (1e-7 + max(p − min)), per sample: a part map without resizing. */
function partMap(p: ArrayLike<number>, [N, C, h, w]: number[]): number[] {
  const out = new Array<number>(N * h * w).fill(0);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const ch = Array.from({ length: h * w }, (_, i) => p[((n * C + c) * h * w) + i]);
      const lo = Math.min(...ch);
      const hi = Math.max(...ch.map((v) => v - lo));
      ch.forEach((v, i) => (out[n * h * w + i] += (v - lo) / (1e-7 + hi)));
    }
  }
  return out;
}

describe('FullGrad trace', () => {
  for (const [name, make, want] of [['conv biases', () => new TinyCNN(), fx.FullGrad], ['a BatchNorm', () => new TinyBNCNN(), fx.FullGrad_bn]] as const) {
    test(`with ${name}: every part's steps, the map equal to the returned map and to the PyTorch reference`, async () => {
      const model = make();
      const cam = new F.FullGrad({ model });
      const x = x2();
      const r = await cam.forward({ inputTensor: x, targets: targets(), trace: true });
      const plain = await cam.forward({ inputTensor: x, targets: targets() });
      cam.dispose();
      const t = r.trace!;
      const L = cam.biasLayers.length;
      expect(t.method).toBe('FullGrad');
      expect(t.layers).toEqual(['input', ...(name === 'a BatchNorm' ? ['c1', 'bn1', 'c2'] : ['c1', 'c2'])]);
      expect(t.steps.filter((s) => s.set === null).map((s) => [s.key, s.layer])).toEqual(Array.from({ length: L }, (_, i) => ['bias', i + 1]));
      const perPart = (k: F.TraceStepKey) => t.steps.filter((s) => s.set === 0 && s.key === k).map((s) => s.layer);
      const parts = Array.from({ length: L + 1 }, (_, i) => i);
      expect(perPart('gradients')).toEqual(parts);
      expect(perPart('contribution')).toEqual(parts);
      expect(perPart('partMap')).toEqual(parts);
      const got = await r.cam.data();
      expect(Array.from(step(t, 'cam', 0, null).data)).toEqual(Array.from(got));
      expect(Array.from(await plain.cam.data())).toEqual(Array.from(got)); // tracing changes nothing
      expectClose(step(t, 'cam', 0, null).data, want, TOL.cam, `traced FullGrad (${name}) vs the reference`);
      const z = await r.outputs.data();
      expect(t.targets[0].map((tg) => [tg.kind, tg.main, tg.value])).toEqual(fx.classes.map((c, n) => ['class', c, z[n * 6 + c]]));

      // the input part: |x ⊙ ∂target/∂x| (float32 products, exactly), then its part map at the input size
      const xd = await x.data();
      const gx = step(t, 'gradients', 0, 0);
      expect(gx.shape).toEqual(x.shape);
      const c0 = step(t, 'contribution', 0, 0);
      expect(Array.from(c0.data)).toEqual(Array.from(gx.data, (g, i) => Math.abs(Math.fround(g * xd[i]))));
      expectClose(step(t, 'partMap', 0, 0).data, partMap(c0.data, c0.shape), TOL.crossBackend, 'input part map');
      // each bias layer: |b ⊙ ∂target/∂z| with b broadcast over the grid
      for (let i = 1; i <= L; i++) {
        const b = step(t, 'bias', null, i).data;
        const g = step(t, 'gradients', 0, i);
        const [, C, h, w] = g.shape;
        expect(b.length).toBe(C);
        expect(Array.from(step(t, 'contribution', 0, i).data)).toEqual(Array.from(g.data, (v, k) => Math.abs(Math.fround(b[Math.floor(k / (h * w)) % C] * v))));
        expect(step(t, 'partMap', 0, i).shape).toEqual([2, 12, 10]);
      }
      // the parts add up to the combined map, and the map is its per-image min-max
      const combined = step(t, 'combined', 0, null).data;
      const sum = Array.from(combined, (_, k) => parts.reduce((s, i) => s + step(t, 'partMap', 0, i).data[k], 0));
      expectClose(combined, sum, TOL.crossBackend, 'Σ parts');
      const mm = [0, 1].flatMap((n) => {
        const m = Array.from(combined.subarray(n * 120, (n + 1) * 120));
        const lo = Math.min(...m);
        const hi = Math.max(...m.map((v) => v - lo));
        return m.map((v) => (v - lo) / (1e-7 + hi));
      });
      expectClose(got, mm, TOL.crossBackend, 'final min-max');
      for (const c of [r.cam, r.outputs, plain.cam, plain.outputs]) c.dispose();
    });
  }

  test('as Finer-CAM\'s base method: one trace set per mode, each ending in that mode\'s returned map', async () => {
    const finer = new F.FinerCAM({ model: new TinyBNCNN(), targetLayers: [], baseMethod: F.FullGrad });
    const r = await finer.forwardModes({ inputTensor: x2(), modes: [{ alpha: 0 }, { alpha: 1 }, { alpha: 1, referenceCategoryRanks: [1] }], trace: true });
    finer.dispose();
    for (let m = 0; m < 3; m++) {
      expect(Array.from(step(r.trace!, 'cam', m, null).data)).toEqual(Array.from(await r.cams[m].data()));
      expect(r.trace!.targets[m][0]).toMatchObject({ kind: 'finer', alpha: m === 0 ? 0 : 1, references: r.references[m][0] });
    }
    for (const c of [...r.cams, r.outputs]) c.dispose();
  });
});
