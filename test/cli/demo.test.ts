// The built-in demo: the committed weights (their stated accuracy is true), a test-sized run of
// `finercam demo` (table numbers sane, strips written with the expected pixels), and the training code
// (a few steps reduce the loss; a run is reproducible from its seed).
import { readFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as F from '../../index';
import { main } from '../../cli/main';
import { BIRD_CLASSES, BIRD_CLASS_NAMES, makeDataset, renderBird, sampleSeed } from '../../cli/demo/birds';
import {
  DEMO_ARCH, DEMO_WEIGHTS_FILE, buildDemoModel, decodeDemoMeta, demoWeightsDir, encodeDemoMeta, imagesToTensor, loadDemoModel, type DemoMeta,
} from '../../cli/demo/model';
import { accuracyOn, learningRate, seededPermutation, trainDemoModel, trainStep, DEMO_TEST_SEED } from '../../cli/demo/train';
import type { DemoEvalResult } from '../../cli/demo/evaluate';
import { stripPick } from '../../cli/demo/measures';
import { resizeNearest } from '../../image/canvas';
import { capture, tempDir } from '../fixtures/cli-e2e/build';

describe('committed demo weights', () => {
  it('are found relative to the module, small, and carry complete metadata', async () => {
    const dir = demoWeightsDir();
    const file = join(dir, DEMO_WEIGHTS_FILE);
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).size).toBeLessThan(5 * 1024 * 1024);
    const dm = await loadDemoModel();
    expect(dm.path).toBe(file);
    expect(dm.classNames).toEqual([...BIRD_CLASS_NAMES]);
    expect(dm.meta.arch).toEqual(DEMO_ARCH);
    expect(dm.meta.testSeed).toBe(DEMO_TEST_SEED);
    expect(dm.loaded.kind).toBe('resnet');
    expect(dm.loaded.numClasses).toBe(12);
    expect(dm.loaded.targetLayer).toBe(DEMO_ARCH.targetLayer);
    expect(dm.loaded.norm).toEqual(F.NORMALIZATIONS.imagenet);
    expect(dm.meta.testAccuracy).toBeGreaterThan(0.8);
    expect(dm.loaded.model.training).toBe(false);
  });

  it("reach the accuracy stated in their metadata on the metadata's own test set", async () => {
    const dm = await loadDemoModel();
    const test = makeDataset({ perClass: dm.meta.testPerClass, seed: dm.meta.testSeed, size: dm.meta.arch.inputSize });
    const acc = await accuracyOn(dm.loaded.model, test.images, test.labels);
    // the same images and weights: equal up to a prediction or two flipped by float summation order
    expect(Math.abs(acc - dm.meta.testAccuracy)).toBeLessThanOrEqual(2 / test.labels.length + 1e-12);
  });

  it('fail with a clear message when the file is missing or is not demo weights', async () => {
    await expect(loadDemoModel('/nonexistent/demo.safetensors')).rejects.toThrow(/do not exist; create them with 'finercam demo --train'/);
    expect(() => decodeDemoMeta({ format: 'something-else' }, 'x.safetensors')).toThrow(/not a finercam demo weights file/);
    const meta: DemoMeta = {
      classNames: ['a', 'b'], arch: DEMO_ARCH, norm: 'imagenet', seed: 3, testAccuracy: 0.5, testSeed: 7, testPerClass: 2, train: { epochs: 1 }, trainSeconds: 9,
    };
    expect(decodeDemoMeta(encodeDemoMeta(meta), 'x')).toEqual(meta);
    const partial = encodeDemoMeta(meta);
    delete partial.test_accuracy;
    expect(() => decodeDemoMeta(partial, 'x.safetensors')).toThrow(/no 'test_accuracy'/);
  });
});

describe('finercam demo (test-sized run)', () => {
  it('prints the table, writes results.json and the strips', async () => {
    const out = tempDir('demo');
    const n = 24;
    const r = await capture(() => main(['demo', '--eval-size', String(n), '--count', '2', '--out', out, '--backend', 'cpu']));
    if (r.code !== 0) throw new Error(`demo failed (${r.code}): ${r.err}`);
    console.log(r.out);
    for (const label of ['Baseline', 'Finer-Default', 'Finer-Compare', 'RD@5%', 'test accuracy', 'Reading']) expect(r.out).toContain(label);

    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as DemoEvalResult;
    expect(res.n).toBe(n);
    expect(res.percent).toBe(5);
    expect(res.maskedPixels).toBe(Math.round(0.05 * DEMO_ARCH.inputSize ** 2));
    const dm = await loadDemoModel();
    // the stated accuracy holds on this subset too (24 images: a generous margin for sampling noise)
    expect(res.accuracy).toBeGreaterThanOrEqual(dm.meta.testAccuracy - 0.15);
    expect(res.accuracy).toBeLessThanOrEqual(1);
    expect(res.partArea).toBeGreaterThan(0);
    expect(res.partArea).toBeLessThan(0.05); // the parts are small
    expect(res.rank1IsNeighbour).toBeGreaterThanOrEqual(0);
    expect(res.rank1IsNeighbour).toBeLessThanOrEqual(1);
    expect(res.rows.map((x) => x.mode)).toEqual(['baseline', 'finer-default', 'finer-compare']);
    for (const row of res.rows) {
      for (const v of [row.mainDrop, row.refDrop]) {
        expect(v).toBeGreaterThanOrEqual(-1);
        expect(v).toBeLessThanOrEqual(1);
      }
      expect(row.rd).toBeCloseTo(row.mainDrop - row.refDrop, 10);
      for (const v of [row.partShare, row.peakInPart]) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
      expect(Number.isInteger(row.emptyMaps) && row.emptyMaps >= 0 && row.emptyMaps <= n).toBe(true);
    }
    expect(res.rows[0].rdVsBaseline).toEqual({ mean: 0, se: 0 });
    // the committed model's Grad-CAM is informative: masking its top 5% hurts the class more than its
    // look-alike (measured 0.52 on these 24 images), and it puts more mass on the part than a uniform map
    // would (measured 2.1% vs 0.7%)
    expect(res.rows[0].rd).toBeGreaterThan(0.1);
    expect(res.rows[0].partShare).toBeGreaterThan(1.5 * res.partArea);
    const split = res.rows[2].byReference;
    expect(split.neighbour.n + split.other.n).toBe(n);
    expect(split.neighbour.n).toBe(Math.round(res.rank1IsNeighbour * n));

    // strips: original | nearest class | true part | Baseline | Finer-Default | Finer-Compare, tiles 3× upscaled
    expect(res.strips.map((f) => f.split('/').pop())).toEqual(['01-orange-billed-finch.png', '02-spectacled-warbler.png']);
    const S = 3 * DEMO_ARCH.inputSize;
    for (let k = 0; k < 2; k++) {
      const img = F.decodeImage(new Uint8Array(readFileSync(res.strips[k])));
      expect(img.width).toBe(10 + 6 * (S + 10));
      expect(img.height).toBeGreaterThan(S + 20);
      // the first tile is the test image, nearest-upscaled, at the bottom margin
      const { classId, index } = stripPick(k, 12);
      const big = resizeNearest(renderBird(classId, sampleSeed(DEMO_TEST_SEED, classId, index), { size: DEMO_ARCH.inputSize }).image, S, S);
      const top = img.height - 10 - S;
      for (const [x, y] of [[0, 0], [S - 1, S - 1], [S >> 1, S >> 2]]) {
        const o = ((top + y) * img.width + 10 + x) * 3;
        expect(Array.from(img.data.subarray(o, o + 3))).toEqual(Array.from(big.data.subarray((y * S + x) * 3, (y * S + x) * 3 + 3)));
      }
    }
  });

  it('rejects bad options with a usage error', async () => {
    expect((await capture(() => main(['demo', '--count', '-1']))).code).toBe(2);
    expect((await capture(() => main(['demo', '--eval-size', '0']))).code).toBe(2);
    expect((await capture(() => main(['demo', 'extra']))).code).toBe(2);
  });

  it('draws the classes that show their part first, one per pair', () => {
    expect(Array.from({ length: 13 }, (_, k) => stripPick(k, 12))).toEqual([
      ...[1, 3, 5, 7, 9, 11, 0, 2, 4, 6, 8, 10].map((classId) => ({ classId, index: 0 })),
      { classId: 1, index: 1 },
    ]);
    // the first six have their distinguishing part drawn (one per pair, each part once), the next six lack it
    const first = Array.from({ length: 6 }, (_, k) => BIRD_CLASSES[stripPick(k, 12).classId]);
    expect(first.every((c) => c.traits[c.part])).toBe(true);
    expect(new Set(first.map((c) => c.part)).size).toBe(6);
    const next = Array.from({ length: 6 }, (_, k) => BIRD_CLASSES[stripPick(k + 6, 12).classId]);
    expect(next.every((c) => !c.traits[c.part])).toBe(true);
  });
});

describe('demo training', () => {
  it('a few Adam steps on a tiny batch reduce the loss', async () => {
    F.manualSeed(5);
    const model = buildDemoModel();
    model.train();
    const opt = new F.Adam(model.parameters(), { lr: 2e-3 });
    const data = makeDataset({ perClass: 1, classes: 8, seed: 11, size: DEMO_ARCH.inputSize });
    const losses: number[] = [];
    for (let s = 0; s < 6; s++) losses.push((await trainStep(model, opt, data.images, data.labels)).loss);
    opt.dispose();
    expect(losses[0]).toBeGreaterThan(1.5); // ~ln 12 at init: not already fitted
    expect(losses[5]).toBeLessThan(0.5 * losses[0]); // measured: 2.37 → 0.18
    // the model's output on the batch, in eval mode, is finite
    model.eval();
    const z = await F.noGrad(() => model.forward(imagesToTensor(data.images))).data();
    expect(Array.from(z).every(Number.isFinite)).toBe(true);
  });

  it('is reproducible from the seed and records its settings', async () => {
    const run = () => trainDemoModel({ epochs: 1, perClass: 1, batchSize: 12, testPerClass: 1, seed: 42, log: null, progress: false });
    const a = await run();
    const b = await run();
    expect(a.meta.seed).toBe(42);
    expect(a.meta.train).toMatchObject({ epochs: 1, perClass: 1, batchSize: 12 });
    expect(a.history).toHaveLength(1);
    expect(a.history[0].trainLoss).toBe(b.history[0].trainLoss);
    const da = a.model.stateDict();
    const db = b.model.stateDict();
    for (const k of ['conv1.weight', 'layer3.0.bn1.running_mean', 'fc.bias']) {
      expect(Array.from(await da[k].data())).toEqual(Array.from(await db[k].data()));
    }
    // and training moved the weights away from the seeded initialisation
    F.manualSeed(42);
    const init = buildDemoModel();
    const w0 = await init.stateDict()['fc.weight'].data();
    const w1 = await da['fc.weight'].data();
    expect(Array.from(w0)).not.toEqual(Array.from(w1));
  });

  it('schedules the learning rate with warm-up and cosine decay, and shuffles deterministically', () => {
    expect(learningRate(1, 0, 100)).toBeCloseTo(1 / 3, 12);
    expect(learningRate(1, 3, 100)).toBeCloseTo(1, 12);
    expect(learningRate(1, 99, 100)).toBeGreaterThan(0.02);
    expect(learningRate(1, 99, 100)).toBeLessThan(0.03);
    expect(learningRate(1, 50, 100)).toBeLessThan(learningRate(1, 20, 100));
    const p = seededPermutation(50, 3);
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(seededPermutation(50, 3)).toEqual(p);
    expect(seededPermutation(50, 4)).not.toEqual(p);
    expect(BIRD_CLASSES.length).toBe(12);
  });
});
