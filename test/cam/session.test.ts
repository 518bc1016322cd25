// CamSession (cam/session.ts): one forward pass, then explanations from backward passes only. Its results
// are checked against the one-shot calls (FinerCAM.forwardModes / <Method>.forward, which the fixture tests
// check against pytorch-grad-cam and the official Finer-CAM) bit for bit on the CPU backend; a forward hook
// on the model counts the forward passes; the session outlives a caller's tidy scope and frees everything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as F from '../../index';
const { CamSession, SessionMethodError } = F;
import { loadDemoModel, imagesToTensor } from '../../cli/demo/model';
import { renderBird } from '../../cli/demo/birds';

let model: F.Module;
let layer: string;
let x: F.Tensor;
let forwards = 0;
let hook: { remove(): void };

beforeAll(async () => {
  const demo = await loadDemoModel();
  model = demo.loaded.model;
  layer = demo.loaded.targetLayer;
  // two birds: the session is batched like the one-shot calls
  x = imagesToTensor([renderBird(3, 7, { size: 64 }).image, renderBird(6, 2, { size: 64 }).image]);
  hook = model.registerForwardHook(() => {
    forwards++;
  });
});

afterAll(() => hook.remove());

const MODES = [
  { alpha: 0, referenceCategoryRanks: [1, 2, 3] },
  { alpha: 1, referenceCategoryRanks: [1, 2, 3] },
  { alpha: 0.5, referenceCategoryRanks: [1] },
];
const GRAD_METHODS: F.CAMClass[] = [F.GradCAM, F.GradCAMPlusPlus, F.XGradCAM, F.HiResCAM, F.GradCAMElementWise, F.LayerCAM, F.EigenGradCAM];

async function bits(t: F.Tensor): Promise<number[]> {
  const d = Array.from(await t.data());
  t.dispose();
  return d;
}

/** The one-shot Finer-CAM call the session must reproduce, and how many forward passes it ran. */
async function freshFiner(method: F.CAMClass, opts: Partial<F.FinerForwardOptions> & { modes: F.FinerMode[] }): Promise<{ maps: number[][]; r: F.FinerModesResult; passes: number }> {
  const before = forwards;
  const cam = new F.FinerCAM({ model, targetLayers: [layer], baseMethod: method });
  const r = await cam.forwardModes({ inputTensor: x, ...opts });
  cam.dispose();
  r.outputs.dispose();
  return { maps: await Promise.all(r.cams.map(bits)), r, passes: forwards - before };
}

describe('CamSession', () => {
  it('runs one forward pass, and its Finer-CAM maps of every mode and Grad-CAM-family method equal a fresh FinerCAM bit for bit', async () => {
    const before = forwards;
    const s = await CamSession.create({ model, targetLayers: [layer], inputTensor: x });
    expect(forwards - before).toBe(1);
    try {
      let oneShotPasses = 0;
      for (const method of GRAD_METHODS) {
        for (const extra of [{}, { targetIdx: 4 }, { targetIdx: [2, 9], targetSize: [80, 72] as [number, number] }]) {
          const want = await freshFiner(method, { modes: MODES, ...extra });
          oneShotPasses += want.passes;
          const during = forwards;
          const got = await s.finer({ method, modes: MODES, ...extra });
          expect(forwards, `${method.name}: the session ran a forward pass`).toBe(during);
          expect(got.mainCategories).toEqual(want.r.mainCategories);
          expect(got.references).toEqual(want.r.references);
          const maps = await Promise.all(got.cams.map(bits));
          for (let m = 0; m < MODES.length; m++) expect(maps[m], `${method.name} ${JSON.stringify(extra)} mode ${m}`).toEqual(want.maps[m]);
        }
      }
      // each one-shot call ran its own forward; the session's one pass stayed the only one it ran
      expect(oneShotPasses).toBe(GRAD_METHODS.length * 3);
      expect(forwards - before).toBe(1 + oneShotPasses);
      expect(s.explanations).toBe(GRAD_METHODS.length * 3);
      // FinerCAM.forward's single-mode options
      const one = await s.finer({ alpha: 0.7, referenceCategoryRanks: [2, 3] });
      const cam = new F.FinerCAM({ model, targetLayers: [layer] });
      const fresh = await cam.forward({ inputTensor: x, alpha: 0.7, referenceCategoryRanks: [2, 3] });
      cam.dispose();
      fresh.outputs.dispose();
      expect(await bits(one.cams[0])).toEqual(await bits(fresh.cam));
      expect(one.references[0]).toEqual(fresh.references);
    } finally {
      s.dispose();
    }
  }, 300_000);

  it('answers plain CAMs (<Method>.forward with targets) bit for bit, EigenCAM included', async () => {
    const s = await CamSession.create({ model, targetLayers: [layer], inputTensor: x });
    const start = forwards;
    try {
      for (const method of [...GRAD_METHODS, F.EigenCAM]) {
        for (const targets of [null, [new F.ClassifierOutputTarget(1), new F.ClassifierOutputTarget(7)]]) {
          const c = new method({ model, targetLayers: [layer] });
          const want = await c.forward({ inputTensor: x, targets });
          c.dispose();
          want.outputs.dispose();
          const during = forwards;
          const got = await s.cam({ method, targets });
          expect(forwards).toBe(during);
          expect(await bits(got.cam), `${method.name} targets ${targets ? 'given' : 'top class'}`).toEqual(await bits(want.cam));
        }
      }
      expect(forwards - start).toBe((GRAD_METHODS.length + 1) * 2); // the one-shot calls' passes only
    } finally {
      s.dispose();
    }
  }, 300_000);

  it('traces like the one-shot call: the same steps with the same numbers', async () => {
    const s = await CamSession.create({ model, targetLayers: [layer], inputTensor: x });
    try {
      const got = await s.finer({ method: F.LayerCAM, modes: MODES, targetIdx: 3, targetSize: [64, 64], trace: true });
      const want = (await freshFiner(F.LayerCAM, { modes: MODES, targetIdx: 3, targetSize: [64, 64], trace: true })).r.trace!;
      const t = got.trace!;
      expect(t.method).toBe('LayerCAM');
      expect(t.steps.map((st) => [st.key, st.set, st.layer, st.formula, st.shape])).toEqual(want.steps.map((st) => [st.key, st.set, st.layer, st.formula, st.shape]));
      t.steps.forEach((st, i) => expect(Array.from(st.data), `${st.key} ${st.set}`).toEqual(Array.from(want.steps[i].data)));
      expect(t.targets).toEqual(want.targets);
      expect(Array.from(t.logits.data)).toEqual(Array.from(want.logits.data));
      for (const c of got.cams) c.dispose();
      // a plain CAM's trace too (Grad-CAM++: channel weights from G², G³ and ΣA)
      const plain = await s.cam({ method: F.GradCAMPlusPlus, targets: [new F.ClassifierOutputTarget(0), new F.ClassifierOutputTarget(5)], trace: true });
      const g = new F.GradCAMPlusPlus({ model, targetLayers: [layer] });
      const one = await g.forward({ inputTensor: x, targets: [new F.ClassifierOutputTarget(0), new F.ClassifierOutputTarget(5)], trace: true });
      g.dispose();
      expect(plain.trace!.steps.map((st) => [st.key, st.formula, Array.from(st.data)])).toEqual(one.trace!.steps.map((st) => [st.key, st.formula, Array.from(st.data)]));
      expect(plain.trace!.targets).toEqual(one.trace!.targets);
      for (const c of [plain.cam, one.cam, one.outputs]) c.dispose();
    } finally {
      s.dispose();
    }
  }, 120_000);

  it('outlives a tidy scope around create(), and its output is the model\'s', async () => {
    const s = await F.tidyAsync(async () => CamSession.create({ model, targetLayers: [layer], inputTensor: x }));
    try {
      const z = model.forward(x);
      expect(Array.from(await s.outputs.data())).toEqual(Array.from(await z.data()));
      z.dispose();
      const r = await s.finer({ modes: MODES });
      expect(r.cams).toHaveLength(3);
      for (const c of r.cams) c.dispose();
    } finally {
      s.dispose();
    }
  });

  it('refuses methods that need more forward passes, augSmooth, and use after dispose, with named errors', async () => {
    const s = await CamSession.create({ model, targetLayers: [layer], inputTensor: x });
    for (const M of [F.ScoreCAM, F.AblationCAM, F.FullGrad, F.RandomCAM] as unknown as F.CAMClass[]) {
      const err = await s.finer({ method: M }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SessionMethodError);
      expect((err as Error).name).toBe('SessionMethodError');
      expect((err as Error).message).toMatch(new RegExp(`^CamSession.finer: ${M.name} .*, so the session cannot answer it from its one forward pass; run new ${M.name}`));
    }
    await expect(s.cam({ augSmooth: true })).rejects.toThrow(SessionMethodError);
    await expect(s.finer({ modes: MODES, alpha: 1 })).rejects.toThrow(/either modes or alpha/);
    await expect(s.finer({ referenceCategoryRanks: [0] })).rejects.toThrow(/referenceCategoryRanks\[0\] is 0/);
    await expect(s.cam({ method: 3 as unknown as F.CAMClass })).rejects.toThrow(/method must be a CAM class/);
    s.dispose();
    await expect(s.finer()).rejects.toThrow('CamSession.finer: the session was disposed; create a new one');
    await expect(CamSession.create({ model, targetLayers: [layer], inputTensor: F.zeros([3, 8, 8]) })).rejects.toThrow(/inputTensor must be N×C×H×W/);
  });
});
