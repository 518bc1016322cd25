// Training the demo ResNet from scratch on the procedural birds (`finercam demo --train`).
//
// Data: every epoch renders a fresh set of `perClass` birds per class from the seed (birds.ts makeDataset
// with seed hashInts(seed, epoch)), so the model never sees an image twice and the held-out test set
// (a fixed, different seed) measures generalisation. No augmentation: the generator already draws the
// pose (position, scale, rotation, facing left or right), lighting, background clutter and noise at
// random, so a horizontal flip would add nothing (and the part masks stay exact).
// Optimiser: Adam, batch 32, cosine learning-rate decay after a short warm-up; model init and batch order
// are seeded, so a run is reproducible from the seed (bit for bit on the same build and machine; a change
// of the CPU kernels' summation order changes the low bits).
import * as F from '../../index';
import { Progress, fmtTime } from '../progress';
import { makeDataset } from './birds';
import { hashInts, mulberry32 } from './rng';
import { DEMO_ARCH, DEMO_NORM, argmaxRows, buildDemoModel, imagesToTensor, predictLogits, type DemoArch, type DemoMeta } from './model';
import type { RgbImage } from '../../image/canvas';

/** The generated test set's seed (the training sets use hashInts(seed, epoch), never this). */
export const DEMO_TEST_SEED = 9_000_001;

export interface DemoTrainOptions {
  epochs: number;
  /** Fresh images per class rendered for each epoch. */
  perClass: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** Test images per class for the accuracy stored in the metadata. */
  testPerClass: number;
  arch: DemoArch;
  /** Progress lines (stderr by default); null for silence. */
  log: ((line: string) => void) | null;
  /** Show a per-step progress bar (stderr). */
  progress: boolean;
}

export const DEFAULT_TRAIN_OPTIONS: DemoTrainOptions = {
  epochs: 8,
  perClass: 100,
  batchSize: 32,
  lr: 2e-3,
  seed: 1,
  testPerClass: 25,
  arch: DEMO_ARCH,
  log: (line) => process.stderr.write(`${line}\n`),
  progress: true,
};

export interface EpochStats {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testAccuracy: number;
  seconds: number;
}

export interface DemoTrainResult {
  model: F.ResNet;
  meta: DemoMeta;
  history: EpochStats[];
}

/** Deterministic Fisher-Yates permutation of 0..n-1. */
export function seededPermutation(n: number, seed: number): number[] {
  const rng = mulberry32(seed);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** One optimisation step on a batch; returns the batch's mean loss and number of correct predictions. */
export async function trainStep(model: F.Module, opt: F.Optimizer<object>, images: readonly RgbImage[], labels: readonly number[]): Promise<{ loss: number; correct: number }> {
  let correct = 0;
  const [loss, logits] = F.tidy(() => {
    opt.zeroGrad();
    const x = imagesToTensor(images, DEMO_NORM);
    const y = F.tensor(Int32Array.from(labels), [labels.length], { dtype: 'int32' });
    const out = model.forward(x);
    const l = F.crossEntropy(out, y);
    l.backward();
    opt.step();
    return [l, out.detach()] as const;
  });
  const z = await logits.data();
  argmaxRows(z, logits.shape[1]).forEach((p, i) => (correct += p === labels[i] ? 1 : 0));
  const v = await loss.item();
  loss.dispose();
  logits.dispose();
  opt.zeroGrad();
  return { loss: v, correct };
}

/** lr at step t of T: linear warm-up over the first 3% of steps, then cosine decay to 2% of the peak. */
export function learningRate(peak: number, t: number, T: number): number {
  const warm = Math.max(1, Math.round(0.03 * T));
  if (t < warm) return (peak * (t + 1)) / warm;
  const p = (t - warm) / Math.max(1, T - warm);
  return peak * (0.02 + 0.98 * 0.5 * (1 + Math.cos(Math.PI * p)));
}

export async function accuracyOn(model: F.Module, images: readonly RgbImage[], labels: readonly number[]): Promise<number> {
  const { logits, numClasses } = await predictLogits(model, images);
  const pred = argmaxRows(logits, numClasses);
  return pred.filter((p, i) => p === labels[i]).length / labels.length;
}

export async function trainDemoModel(options: Partial<DemoTrainOptions> = {}): Promise<DemoTrainResult> {
  const o: DemoTrainOptions = { ...DEFAULT_TRAIN_OPTIONS, ...options };
  for (const k of ['epochs', 'perClass', 'batchSize', 'testPerClass'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new RangeError(`demo --train: ${k} must be a positive integer, got ${o[k]}`);
  }
  if (!(o.lr > 0)) throw new RangeError(`demo --train: lr must be positive, got ${o.lr}`);
  if (!Number.isInteger(o.seed)) throw new RangeError(`demo --train: seed must be an integer, got ${o.seed}`);
  const log = o.log ?? (() => {});
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  const size = o.arch.inputSize;
  F.manualSeed(o.seed);
  const model = buildDemoModel(o.arch);
  model.train();
  const opt = new F.Adam(model.parameters(), { lr: o.lr });
  const test = makeDataset({ perClass: o.testPerClass, seed: DEMO_TEST_SEED, size });
  const nClasses = test.classNames.length;
  const perEpoch = o.perClass * nClasses;
  const stepsPerEpoch = Math.ceil(perEpoch / o.batchSize);
  const totalSteps = o.epochs * stepsPerEpoch;
  const nParams = model.parameters().reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
  log(
    `training the demo ResNet (${o.arch.block}, layers ${o.arch.layers.join('-')}, widths ${o.arch.widths.join('-')}, ${nParams} parameters) on ` +
      `${size}×${size} birds: ${o.epochs} epochs × ${perEpoch} fresh images, batch ${o.batchSize}, Adam lr ${o.lr} (cosine), seed ${o.seed}; ` +
      `test set: ${test.labels.length} images (seed ${DEMO_TEST_SEED})`,
  );
  const history: EpochStats[] = [];
  let step = 0;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const te = Date.now();
    const data = makeDataset({ perClass: o.perClass, seed: hashInts(o.seed, 0x7a1, epoch), size });
    const order = seededPermutation(data.labels.length, hashInts(o.seed, 0x0bd, epoch));
    const bar = o.progress ? new Progress(stepsPerEpoch, `epoch ${epoch}/${o.epochs}`) : null;
    let lossSum = 0;
    let correct = 0;
    for (let b = 0; b < stepsPerEpoch; b++) {
      const idx = order.slice(b * o.batchSize, (b + 1) * o.batchSize);
      opt.lr = learningRate(o.lr, step, totalSteps);
      const r = await trainStep(model, opt, idx.map((i) => data.images[i]), idx.map((i) => data.labels[i]));
      if (!Number.isFinite(r.loss)) throw new Error(`demo --train: the loss became ${r.loss} at epoch ${epoch}, step ${b + 1}; try a smaller --lr`);
      lossSum += r.loss * idx.length;
      correct += r.correct;
      step++;
      bar?.tick(true, `loss ${r.loss.toFixed(3)}`);
    }
    model.eval();
    const testAccuracy = await accuracyOn(model, test.images, test.labels);
    model.train();
    const s: EpochStats = { epoch, trainLoss: lossSum / perEpoch, trainAccuracy: correct / perEpoch, testAccuracy, seconds: (Date.now() - te) / 1000 };
    history.push(s);
    const elapsed = (Date.now() - t0) / 1000;
    log(
      `epoch ${String(epoch).padStart(2)}/${o.epochs}  train loss ${s.trainLoss.toFixed(4)}  train acc ${(100 * s.trainAccuracy).toFixed(1)}%  ` +
        `test acc ${(100 * testAccuracy).toFixed(1)}%  (${s.seconds.toFixed(1)} s; ETA ${fmtTime((elapsed / epoch) * (o.epochs - epoch))})`,
    );
  }
  opt.dispose();
  model.eval();
  const trainSeconds = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  log(`trained in ${trainSeconds.toFixed(0)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(0)} s CPU (all threads); final test accuracy ${(100 * history[history.length - 1].testAccuracy).toFixed(1)}%`);
  const meta: DemoMeta = {
    classNames: [...test.classNames],
    arch: o.arch,
    norm: 'imagenet',
    seed: o.seed,
    testAccuracy: history[history.length - 1].testAccuracy,
    testSeed: DEMO_TEST_SEED,
    testPerClass: o.testPerClass,
    train: { epochs: o.epochs, perClass: o.perClass, batchSize: o.batchSize, lr: o.lr, schedule: 'warmup 3% + cosine to 2%', optimizer: 'Adam', augmentation: 'none (fresh renders per epoch)' },
    trainSeconds: Math.round(trainSeconds),
  };
  return { model, meta, history };
}
