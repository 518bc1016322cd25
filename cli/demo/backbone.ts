// Pre-training the look-alike demo's backbone (`finercam demo --lookalike --train`, step 1 of 2): a small
// ViT trained from scratch, in this framework, on the broader procedural task of cli/demo/broad.ts —
// 10,368 bird species (part colours × plumage) on 8 backgrounds, never one of the 12 demo classes —
// supervised by the seven attribute labels (one softmax head each on the mean of the normalised patch
// tokens, the features the seed's linear probe reads) and by dense part labels (for each token, which
// colour of each part it shows, or none: broad.ts tokenLabels). The dense task is what makes this
// trainable on a CPU: with the image-level heads alone the loss had not left chance level after 100 steps
// (3,200 images); a label per token teaches the patch embedding what colours and shapes matter at once.
// The heads are thrown away; the backbone is frozen and saved with an options file that `finercam
// train-probe --model` reads.
//
// Why this shape and recipe (measured on the 2 shared CPU cores of the development machine; each set-up
// chosen on the 12-class validation split by its look-alike rate, never on the test images). The figures
// below were measured with the ResNet demo's class table (classes of different pairs two parts apart);
// with the look-alike table of cli/demo/lookalikeClasses.ts the same recipe reaches 95.0% (600 images):
//  - 96×96 inputs, patch 8 → a 12×12 token grid (one cell = 0.7% of the image, the size of the beak, so a
//    part covers 1-4 cells and the map can place it to within half a cell). Patch 4 at 72 px (16×16
//    tokens) made a step 4-8× slower (attention grows with the square of the tokens); 96/8 costs about what
//    72/6 costs (same tokens) but gives each part ~1.8× the pixels: validation look-alike rate 55.3% (1,200
//    steps) vs 47.8% at 72/6 (1,300 steps); 2,000 steps at 96/8 gave 50.2%, within the noise of 600 images.
//    With the look-alike table, 128/8 (16×16 tokens, 2× the time per step) saw the small parts better (held-
//    out beak / eye-ring accuracy 67% / 64% vs 41% / 41%) but its probe, 100% right on validation, put the
//    look-alike's logit far: look-alike rate 82.9% (vs 95.0%), Baseline pointing 23.8% (vs 30.4%).
//  - embed 48, depth 3, 4 heads, MLP ratio 2: 69k parameters (0.3 MB).
//  - the dense heads' "part not here" label weighted 0.1 (absentWeight): a part covers 1-4 of 144 tokens,
//    so unweighted the dense loss is almost all about where a part is not. With it, 1,300 steps at 72/6
//    reached 93.2% validation accuracy (63.8% for the earlier 800 unweighted steps on the cpu backend).
//    Tried and dropped: regressing the pooled feature onto a fixed ±1 attribute code (to give every
//    attribute the same distance in feature space): the small parts were learned worse (validation
//    look-alike rate 52.3% and 40.8% for code weights 2 and 10, accuracy 88.0% and 76.2%).
//  - trained on the wasm backend (~0.5-1.2 s per step of 32 images here, depending on the load): ~10× the
//    cpu backend's speed, and bit-identical on any number of threads.
// Data are fresh renders every step (no image is seen twice), model init and data are seeded, so a run is
// reproducible from its seed (bit for bit on the same build: the wasm kernels' summation order is fixed).
import * as F from '../../index';
import { Progress, fmtTime } from '../progress';
import { BROAD_CARDINALITIES, renderBroad, tokenLabels } from './broad';
import { imagesToTensor } from './model';
import { hashInts } from './rng';
import { learningRate } from './train';

export interface BackboneArch {
  imgSize: number;
  patchSize: number;
  embedDim: number;
  depth: number;
  numHeads: number;
  mlpRatio: number;
}

export const LOOKALIKE_ARCH: BackboneArch = { imgSize: 96, patchSize: 8, embedDim: 48, depth: 3, numHeads: 4, mlpRatio: 2 };

/** The VisionTransformer options (what the --model JSON holds): a plain ViT, no LayerScale, no head. */
export function vitOptions(a: BackboneArch): F.VisionTransformerOptions {
  return { ...a, initValues: null, interpolateOffset: 0, numClasses: 0 };
}

export interface BackboneTrainOptions {
  steps: number;
  batchSize: number;
  lr: number;
  seed: number;
  arch: BackboneArch;
  log: ((line: string) => void) | null;
  progress: boolean;
  /** Held-out broad images for the attribute accuracy reported after training. */
  valImages: number;
  /**
   * Weight of the dense heads' "part not here" label relative to a part's value (weighted mean). A part
   * covers 1-4 of the 144 tokens, so with equal weights the dense loss is almost all about where a part is
   * not, and the colour of a small part (beak, eye ring, tail tip) barely counts.
   */
  absentWeight: number;
  /** Backend of the training: 'wasm' (default; bit-identical on any number of threads, ~10× the cpu's speed). */
  device: F.DeviceName;
}

export const DEFAULT_BACKBONE_OPTIONS: BackboneTrainOptions = {
  steps: 1200,
  batchSize: 32,
  lr: 2e-3,
  seed: 1,
  arch: LOOKALIKE_ARCH,
  log: (line) => process.stderr.write(`${line}\n`),
  progress: true,
  valImages: 256,
  absentWeight: 0.1,
  device: 'wasm',
};

/** Held-out broad images for the attribute accuracy printed after training (never trained on). */
export const BROAD_VAL_SEED = 7_000_003;

export interface BackboneResult {
  vit: F.VisionTransformer;
  /** Per-attribute accuracy on the held-out broad images. */
  attributeAccuracy: number[];
  trainSeconds: number;
  cpuSeconds: number;
  settings: Record<string, unknown>;
}

/** Sum of the per-attribute cross-entropies of N×ΣK logits. */
function attributeLoss(logits: F.Tensor, labels: Int32Array[], n: number): F.Tensor {
  let off = 0;
  let total: F.Tensor | null = null;
  BROAD_CARDINALITIES.forEach((k, a) => {
    const l = F.crossEntropy(F.slice(logits, 1, off, off + k), F.tensor(labels[a].subarray(0, n), [n], { dtype: 'int32' }));
    total = total ? F.add(total, l) : l;
    off += k;
  });
  return total!;
}

/** Sum over the six parts of the mean per-token cross-entropy of the dense part labels. */
function tokenLoss(logits: F.Tensor, labels: Int32Array[], absentWeight: number): F.Tensor {
  let off = 0;
  let total: F.Tensor | null = null;
  labels.forEach((lab, a) => {
    const k = BROAD_CARDINALITIES[a] + 1;
    const w = new Float32Array(k).fill(1);
    w[k - 1] = absentWeight;
    const l = F.crossEntropy(F.slice(logits, 1, off, off + k), F.tensor(lab, [lab.length], { dtype: 'int32' }), { weight: F.tensor(w, [k]) });
    total = total ? F.add(total, l) : l;
    off += k;
  });
  return total!;
}

/** Logits of the dense part heads: one group of (values + 1) per part. */
const TOKEN_OUTPUTS = BROAD_CARDINALITIES.slice(0, 6).reduce((a, b) => a + b + 1, 0);

function batchOf(seed: number, start: number, n: number, size: number, grid: number) {
  const images = [];
  const labels = BROAD_CARDINALITIES.map(() => new Int32Array(n));
  const tokens = BROAD_CARDINALITIES.slice(0, 6).map(() => new Int32Array(n * grid * grid));
  for (let i = 0; i < n; i++) {
    const { species, render } = renderBroad(seed, start + i, size);
    images.push(render.image);
    species.forEach((v, a) => (labels[a][i] = v));
    tokenLabels(render, species, size, grid).forEach((t, a) => tokens[a].set(t, i * grid * grid));
  }
  return { images, labels, tokens };
}

export async function trainBackbone(options: Partial<BackboneTrainOptions> = {}): Promise<BackboneResult> {
  const o: BackboneTrainOptions = { ...DEFAULT_BACKBONE_OPTIONS, ...options };
  for (const k of ['steps', 'batchSize'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new RangeError(`backbone: ${k} must be a positive integer, got ${o[k]}`);
  }
  if (!(o.absentWeight > 0 && o.absentWeight <= 1)) throw new RangeError(`backbone: absentWeight must be in (0, 1], got ${o.absentWeight}`);
  const log = o.log ?? (() => {});
  // the whole run on one backend, restored afterwards (the caller may evaluate on another)
  const before = F.getDefaultBackend().name;
  const device = await F.setDefaultDevice(o.device);
  try {
    return await train(o, log, device);
  } finally {
    await F.setDefaultDevice(before);
  }
}

async function train(o: BackboneTrainOptions, log: (line: string) => void, device: F.DeviceName): Promise<BackboneResult> {
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  F.manualSeed(o.seed);
  const vit = F.visionTransformer(vitOptions(o.arch));
  const head = new F.Linear(o.arch.embedDim, BROAD_CARDINALITIES.reduce((a, b) => a + b, 0));
  const tokenHead = new F.Linear(o.arch.embedDim, TOKEN_OUTPUTS);
  const grid = o.arch.imgSize / o.arch.patchSize;
  vit.train();
  const params = [...vit.parameters(), ...head.parameters(), ...tokenHead.parameters()];
  const opt = new F.AdamW(params, { lr: o.lr, weightDecay: 0.05 });
  const nParams = vit.parameters().reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
  const size = o.arch.imgSize;
  const dataSeed = hashInts(o.seed, 0xb0ad);
  log(
    `pre-training the look-alike backbone (ViT ${size}×${size}, patch ${o.arch.patchSize}, dim ${o.arch.embedDim}, depth ${o.arch.depth}, ${nParams} parameters) ` +
      `on the broad bird task (7 attribute heads + 6 dense part heads): ${o.steps} steps × ${o.batchSize} fresh images, AdamW lr ${o.lr} (cosine), absent-label weight ${o.absentWeight}, seed ${o.seed}, backend ${device}`,
  );
  const bar = o.progress ? new Progress(o.steps, 'backbone') : null;
  let recent = 0;
  for (let step = 0; step < o.steps; step++) {
    const { images, labels, tokens } = batchOf(dataSeed, step * o.batchSize, o.batchSize, size, grid);
    opt.lr = learningRate(o.lr, step, o.steps);
    const loss = F.tidy(() => {
      opt.zeroGrad();
      const t = vit.forwardFeatures(imagesToTensor(images, F.NORMALIZATIONS.imagenet)).xNormPatchtokens;
      const f = F.mean(t, 1);
      const dense = tokenHead.forward(F.reshape(t, [o.batchSize * grid * grid, o.arch.embedDim]));
      const l = F.add(attributeLoss(head.forward(f), labels, o.batchSize), tokenLoss(dense, tokens, o.absentWeight));
      l.backward();
      opt.step();
      return l;
    });
    const v = await loss.item();
    loss.dispose();
    if (!Number.isFinite(v)) throw new Error(`backbone: the loss became ${v} at step ${step + 1}; try a smaller lr`);
    recent = step === 0 ? v : 0.95 * recent + 0.05 * v;
    bar?.tick(true, `loss ${recent.toFixed(3)}`);
    if ((step + 1) % 50 === 0) log(`step ${step + 1}/${o.steps}  loss (running mean) ${recent.toFixed(4)}  (${fmtTime((Date.now() - t0) / 1000)})`);
  }
  opt.zeroGrad();
  opt.dispose();
  vit.eval();
  const trainSeconds = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  // held-out attribute accuracy
  const nVal = o.valImages;
  const val = batchOf(BROAD_VAL_SEED, 0, nVal, size, grid);
  const correct = BROAD_CARDINALITIES.map(() => 0);
  for (let s = 0; s < nVal; s += 64) {
    const z = F.noGrad(() => F.tidy(() => head.forward(F.mean(vit.forwardFeatures(imagesToTensor(val.images.slice(s, s + 64), F.NORMALIZATIONS.imagenet)).xNormPatchtokens, 1))));
    const d = await z.data();
    z.dispose();
    const K = z.shape[1];
    for (let i = 0; i < z.shape[0]; i++) {
      let off = 0;
      BROAD_CARDINALITIES.forEach((k, a) => {
        let b = 0;
        for (let j = 1; j < k; j++) if (d[i * K + off + j] > d[i * K + off + b]) b = j;
        if (b === val.labels[a][s + i]) correct[a]++;
        off += k;
      });
    }
  }
  const attributeAccuracy = correct.map((c) => c / nVal);
  log(`pre-trained in ${trainSeconds.toFixed(0)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(0)} s CPU; held-out attribute accuracy ${attributeAccuracy.map((a) => (100 * a).toFixed(0) + '%').join(' ')}`);
  head.dispose();
  tokenHead.dispose();
  return {
    vit, attributeAccuracy, trainSeconds, cpuSeconds: (cpu.user + cpu.system) / 1e6,
    settings: { steps: o.steps, batchSize: o.batchSize, lr: o.lr, seed: o.seed, optimizer: 'AdamW wd 0.05', schedule: 'warmup 3% + cosine to 2%', task: 'broad birds: 7 image-level attribute heads + 6 dense per-token part heads', absentWeight: o.absentWeight, norm: 'imagenet', backend: device },
  };
}

/** Writes the frozen backbone (safetensors, settings in the metadata) and its --model options JSON. */
export async function saveBackbone(r: BackboneResult, arch: BackboneArch, weightsPath: string, optionsPath: string): Promise<void> {
  const { writeFilesAtomic } = await import('../util/atomic-write');
  const { mkdir } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  const meta: Record<string, string> = {
    format: 'finercam-lookalike-backbone-v1',
    arch: JSON.stringify(arch),
    train: JSON.stringify(r.settings),
    attribute_accuracy: JSON.stringify(r.attributeAccuracy),
  };
  const bytes = await F.saveSafetensors(r.vit.stateDict(), meta);
  await mkdir(dirname(weightsPath), { recursive: true });
  await writeFilesAtomic([
    { path: optionsPath, data: `${JSON.stringify(vitOptions(arch), null, 1)}\n` },
    { path: weightsPath, data: bytes },
  ]);
}
