// `trace: true` on CAM forward: the trace is the computation captured, so its numbers are checked against
// the returned maps (bit for bit) and against the relations between steps, recomputed here in plain
// JavaScript from the traced inputs of each step (the Grad-CAM weights are the spatial mean of the traced
// gradients, the map is Σ w·A, ReLU, min-max, the Finer target is Σp(z_n − αz_r)/(Σp + 1e-9)). FullGrad's
// own steps: test/cam/trace-fullgrad.test.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import * as F from '../../index';
import { loadDemoModel, imagesToTensor } from '../../cli/demo/model';
import { renderBird } from '../../cli/demo/birds';
import { TOL } from '../tolerances';

let model: F.Module;
let layer: string;
let x: F.Tensor;

beforeAll(async () => {
  const demo = await loadDemoModel();
  model = demo.loaded.model;
  layer = demo.loaded.targetLayer;
  x = imagesToTensor([renderBird(3, 7, { size: 96 }).image]);
});

function close(got: ArrayLike<number>, want: ArrayLike<number>, tol = TOL.crossBackend): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) - (tol.atol + tol.rtol * Math.abs(want[i])));
  expect(worst).toBeLessThanOrEqual(0);
}

function step(trace: F.CamTrace, key: F.TraceStepKey, set: number | null, layerIndex: number | null = 0): F.TraceStep {
  const s = trace.steps.find((t) => t.key === key && t.set === set && t.layer === layerIndex);
  if (!s) throw new Error(`no step ${key} set ${set} layer ${layerIndex}`);
  return s;
}

const MODES = [
  { alpha: 0, referenceCategoryRanks: [1, 2, 3] },
  { alpha: 1, referenceCategoryRanks: [1, 2, 3] },
  { alpha: 1, referenceCategoryRanks: [1] },
];

describe('FinerCAM trace', () => {
  it('holds every step of each mode, and its maps are the returned maps bit for bit', async () => {
    const cam = new F.FinerCAM({ model, targetLayers: [layer] });
    const r = await cam.forwardModes({ inputTensor: x, modes: MODES, targetSize: [96, 96], trace: true });
    const plain = await cam.forwardModes({ inputTensor: x, modes: MODES, targetSize: [96, 96] });
    cam.dispose();
    const t = r.trace!;
    expect(plain.trace).toBeUndefined();
    expect(t.method).toBe('GradCAM');
    expect(t.layers).toEqual([layer]);
    expect(t.steps.filter((s) => s.set === null).map((s) => s.key)).toEqual(['activations']);
    for (let m = 0; m < 3; m++) {
      expect(t.steps.filter((s) => s.set === m).map((s) => s.key)).toEqual(['gradients', 'channelWeights', 'weightedSum', 'relu', 'normalised', 'resized', 'combined', 'cam']);
      const mapData = await r.cams[m].data();
      expect(Array.from(step(t, 'cam', m, null).data)).toEqual(Array.from(mapData));
      // tracing changes nothing in the computation
      expect(Array.from(await plain.cams[m].data())).toEqual(Array.from(mapData));
      expect(step(t, 'resized', m).shape).toEqual([1, 96, 96]);
    }
    expect(Array.from(t.logits.data)).toEqual(Array.from(await r.outputs.data()));
    for (const c of [...r.cams, ...plain.cams, r.outputs, plain.outputs]) c.dispose();
  });

  it('Grad-CAM weights are the spatial mean of the traced gradients; the map is ReLU(Σ w·A) min-max normalised', async () => {
    const cam = new F.FinerCAM({ model, targetLayers: [layer] });
    const r = await cam.forwardModes({ inputTensor: x, modes: MODES, trace: true });
    cam.dispose();
    const t = r.trace!;
    const A = step(t, 'activations', null);
    const [, C, h, w] = A.shape;
    expect(C).toBe(64);
    for (let m = 0; m < 3; m++) {
      const G = step(t, 'gradients', m).data;
      expect(step(t, 'gradients', m).shape).toEqual(A.shape);
      const weights = Array.from({ length: C }, (_, c) => {
        let s = 0;
        for (let i = 0; i < h * w; i++) s += G[c * h * w + i];
        return s / (h * w);
      });
      const traced = step(t, 'channelWeights', m);
      expect(traced.shape).toEqual([1, C]);
      close(traced.data, weights);
      const M = Array.from({ length: h * w }, (_, i) => {
        let s = 0;
        for (let c = 0; c < C; c++) s += traced.data[c] * A.data[c * h * w + i];
        return s;
      });
      const ws = step(t, 'weightedSum', m).data;
      close(ws, M);
      const relu = step(t, 'relu', m).data;
      expect(Array.from(relu)).toEqual(Array.from(ws, (v) => Math.max(v, 0)));
      const lo = Math.min(...relu);
      const hi = Math.max(...relu.map((v) => v - lo));
      close(step(t, 'normalised', m).data, Array.from(relu, (v) => (v - lo) / (1e-7 + hi)));
      // no targetSize: FinerCAM keeps the grid, so there is no resize step
      expect(t.steps.some((s) => s.key === 'resized')).toBe(false);
    }
    for (const c of [...r.cams, r.outputs]) c.dispose();
  });

  it('the target is written out with its numbers: logits, softmax weights, α, and its value', async () => {
    const cam = new F.FinerCAM({ model, targetLayers: [layer] });
    const r = await cam.forwardModes({ inputTensor: x, modes: MODES, trace: true });
    cam.dispose();
    const t = r.trace!;
    const z = await r.outputs.data();
    const p = await F.softmax(r.outputs, 1).data();
    for (let m = 0; m < 3; m++) {
      const tg = t.targets[m][0];
      expect(tg.kind).toBe('finer');
      expect(tg.main).toBe(r.mainCategories[m][0]);
      expect(tg.references).toEqual(r.references[m][0]);
      expect(tg.alpha).toBe(MODES[m].alpha);
      expect(tg.mainLogit).toBe(z[tg.main!]);
      expect(tg.referenceLogits).toEqual(tg.references!.map((k) => z[k]));
      expect(tg.softmaxWeights).toEqual(tg.references!.map((k) => p[k]));
      const sp = tg.softmaxWeights!.reduce((a, b) => a + b, 0);
      const want = tg.softmaxWeights!.reduce((s, pr, i) => s + pr * (tg.mainLogit! - tg.alpha! * tg.referenceLogits![i]), 0) / (sp + 1e-9);
      expect(Math.abs(tg.value - want)).toBeLessThanOrEqual(TOL.crossBackend.atol + TOL.crossBackend.rtol * Math.abs(want));
      expect(tg.formula).toContain(`z[${tg.main}]`);
      expect(tg.formula).toContain(tg.value.toFixed(4));
    }
    // α = 0 explains the main logit itself
    expect(Math.abs(t.targets[0][0].value - z[r.mainCategories[0][0]])).toBeLessThan(1e-5 * Math.abs(z[r.mainCategories[0][0]]) + 1e-6);
    expect(r.references[2][0]).toEqual([r.references[1][0][0]]);
    for (const c of [...r.cams, r.outputs]) c.dispose();
  });
});

describe('BaseCAM trace', () => {
  it('GradCAM.forward returns the class target, and elementwise methods trace their map', async () => {
    const g = new F.GradCAM({ model, targetLayers: [layer] });
    const r = await g.forward({ inputTensor: x, targets: [new F.ClassifierOutputTarget(5)], trace: true });
    g.dispose();
    const z = await r.outputs.data();
    expect(r.trace!.targets[0][0]).toMatchObject({ kind: 'class', main: 5, value: z[5], formula: `z[5] = ${z[5].toFixed(4)}` });
    expect(r.trace!.steps.map((s) => s.key)).toEqual(['activations', 'gradients', 'channelWeights', 'weightedSum', 'relu', 'normalised', 'resized', 'combined', 'cam']);
    expect(Array.from(step(r.trace!, 'cam', 0, null).data)).toEqual(Array.from(await r.cam.data()));
    r.cam.dispose();
    r.outputs.dispose();

    const l = new F.LayerCAM({ model, targetLayers: [layer] });
    const rl = await l.forward({ inputTensor: x, trace: true });
    l.dispose();
    const t = rl.trace!;
    expect(t.steps.map((s) => s.key)).toEqual(['activations', 'gradients', 'weightedSum', 'relu', 'normalised', 'resized', 'combined', 'cam']);
    expect(step(t, 'weightedSum', 0).formula).toBe('M = Σ_c relu(G_c) ⊙ A_c');
    const A = step(t, 'activations', null);
    const G = step(t, 'gradients', 0).data;
    const [, C, h, w] = A.shape;
    const M = Array.from({ length: h * w }, (_, i) => {
      let s = 0;
      for (let c = 0; c < C; c++) s += Math.max(G[c * h * w + i], 0) * A.data[c * h * w + i];
      return s;
    });
    close(step(t, 'weightedSum', 0).data, M);
    rl.cam.dispose();
    rl.outputs.dispose();
  });

  it('gradient-free methods trace their target and map without a gradient step (EigenCAM)', async () => {
    const e = new F.EigenCAM({ model, targetLayers: [layer] });
    const r = await e.forward({ inputTensor: x, targets: [new F.ClassifierOutputTarget(2)], trace: true });
    e.dispose();
    const t = r.trace!;
    expect(t.steps.map((s) => s.key)).toEqual(['activations', 'weightedSum', 'relu', 'normalised', 'resized', 'combined', 'cam']);
    expect(step(t, 'weightedSum', 0).formula).toBe('M = first principal component of A');
    const z = await r.outputs.data();
    expect(t.targets[0][0]).toMatchObject({ kind: 'class', main: 2, value: z[2] });
    expect(Array.from(step(t, 'cam', 0, null).data)).toEqual(Array.from(await r.cam.data()));
    r.cam.dispose();
    r.outputs.dispose();
  });

  it('refuses what it cannot trace with a readable error', async () => {
    const g = new F.GradCAM({ model, targetLayers: [layer] });
    await expect(g.forward({ inputTensor: x, trace: true, augSmooth: true })).rejects.toThrow(/trace and augSmooth cannot be combined/);
    await expect(g.forward({ inputTensor: x, trace: 'yes' as unknown as boolean })).rejects.toThrow(/trace must be true or false/);
    g.dispose();
  });
});
