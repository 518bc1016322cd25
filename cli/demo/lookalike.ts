// The look-alike demo (`finercam demo --lookalike`): Finer-CAM in the seed's own setting — a frozen
// backbone that never saw the 12 demo classes, and a linear probe trained on it with `finercam
// train-probe` (the seed's tutorials/dino_train.py recipe, the code path a user runs).
//
// `finercam demo --lookalike --train` reproduces every committed file, in three steps:
//  1. pre-train the backbone on the broad task (cli/demo/backbone.ts) → lookalike-vit.safetensors and the
//     --model options file lookalike-vit.json;
//  2. render the 12 demo classes into an image folder (train/ and val/, PNG) and run train-probe on it:
//     `--model lookalike-vit.json --weights lookalike-vit.safetensors --crop-size 96 --resize-size 96
//     --cache-features --backend wasm` with the seed's defaults (Adam 3e-4, batch 128, 20 epochs, seed 42)
//     → lookalike-probe.safetensors (+ .classes.json);
//  3. choose the target layer on the validation images (never the test images): the candidate layer where
//     the Baseline (plain Grad-CAM) localises the distinguishing part best (pointing game), so the choice
//     favours no Finer mode → lookalike.json, which also records the settings and training times.
import { mkdtemp, readFile, rm, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as F from '../../index';
import { loadModel, type LoadedModel } from '../model-spec';
import { writePng } from '../image-io';
import { writeFileAtomic } from '../util/atomic-write';
import { trainProbe } from '../commands/train-probe';
import { LOOKALIKE_CLASS_NAMES } from './lookalikeClasses';
import { makeLookalikeDataset } from './lookalikeData';
import { DEFAULT_BACKBONE_OPTIONS, LOOKALIKE_ARCH, saveBackbone, trainBackbone, type BackboneArch } from './backbone';
import { demoWeightsDir, demoWeightsPath } from './model';
import { hashInts } from './rng';

export const LOOKALIKE_FILES = {
  backbone: 'lookalike-vit.safetensors',
  options: 'lookalike-vit.json',
  probe: 'lookalike-probe.safetensors',
  classes: 'lookalike-probe.classes.json',
  meta: 'lookalike.json',
} as const;

/** Seeds of the generated 12-class splits (the broad pre-training data use their own, cli/demo/backbone.ts). */
export const LOOKALIKE_SEEDS = { train: 8_100_001, val: 8_200_001, test: 8_300_001 } as const;

/** The candidate target layers (LinearProbe names), compared on the validation split. */
export const CANDIDATE_LAYERS = ['backbone.blocks.0.norm1', 'backbone.blocks.1.norm1', 'backbone.blocks.2.norm1', 'backbone.norm'] as const;

export interface LookalikeMeta {
  format: 'finercam-lookalike-demo-v1';
  arch: BackboneArch;
  targetLayer: string;
  /** Validation scores of each candidate layer (Baseline pointing game and part share; val split). */
  layerChoice: { layer: string; pointing: number; partShare: number }[];
  valAccuracy: number;
  valLookalikeRate: number;
  seeds: { backbone: number; probe: number; train: number; val: number; test: number };
  backbone: Record<string, unknown> & { attributeAccuracy: number[] };
  probe: Record<string, unknown>;
  trainSeconds: { backbone: number; probe: number; layerChoice: number; total: number };
  command: string;
}

/** Class folder names: the id first, so that sorted order (train-probe's class order) is the id order. */
export function classFolder(id: number): string {
  return `${String(id).padStart(2, '0')}-${LOOKALIKE_CLASS_NAMES[id].toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
}

/** Renders a 12-class split into `<dir>/<split>/<class folder>/<index>.png`. */
export async function writeSplit(dir: string, split: string, perClass: number, seed: number, size: number): Promise<void> {
  const ds = makeLookalikeDataset({ perClass, seed, size });
  for (let c = 0; c < LOOKALIKE_CLASS_NAMES.length; c++) await mkdir(join(dir, split, classFolder(c)), { recursive: true });
  for (let i = 0; i < ds.images.length; i++) {
    await writePng(join(dir, split, classFolder(ds.labels[i]), `${String(Math.floor(i / LOOKALIKE_CLASS_NAMES.length)).padStart(4, '0')}.png`), ds.images[i]);
  }
}

export interface LookalikePaths {
  dir: string;
  backbone: string;
  options: string;
  probe: string;
  classes: string;
  meta: string;
}

export function lookalikePaths(dir?: string): LookalikePaths {
  let d = dir;
  if (!d) {
    try {
      d = demoWeightsDir();
    } catch {
      d = join(demoWeightsPath(), '..');
    }
  }
  return {
    dir: d,
    backbone: join(d, LOOKALIKE_FILES.backbone),
    options: join(d, LOOKALIKE_FILES.options),
    probe: join(d, LOOKALIKE_FILES.probe),
    classes: join(d, LOOKALIKE_FILES.classes),
    meta: join(d, LOOKALIKE_FILES.meta),
  };
}

export interface LookalikeModel {
  loaded: LoadedModel;
  probe: F.LinearProbe;
  meta: LookalikeMeta;
  paths: LookalikePaths;
}

/** Loads the backbone + probe as `finercam explain --model … --weights … --classifier …` would. */
export async function loadLookalike(dir?: string, targetLayer?: string): Promise<LookalikeModel> {
  const paths = lookalikePaths(dir);
  for (const f of [paths.backbone, paths.options, paths.probe, paths.meta]) {
    if (!existsSync(f)) throw new Error(`look-alike demo file '${f}' does not exist; create the files with 'finercam demo --lookalike --train'`);
  }
  const meta = JSON.parse(await readFile(paths.meta, 'utf8')) as LookalikeMeta;
  if (meta.format !== 'finercam-lookalike-demo-v1') throw new Error(`${paths.meta}: not a look-alike demo metadata file`);
  const loaded = await loadModel({ model: paths.options, weights: paths.backbone, classifier: paths.probe, targetLayer: targetLayer ?? meta.targetLayer }, 'demo');
  if (!(loaded.model instanceof F.LinearProbe)) throw new Error('look-alike demo: expected a linear probe');
  return { loaded, probe: loaded.model, meta, paths };
}

export interface LookalikeTrainOptions {
  seed: number;
  steps: number;
  trainPerClass: number;
  valPerClass: number;
  /** Where to write the files (default: the committed weights folder). */
  dir?: string;
  log: (line: string) => void;
  progress: boolean;
  /** Validation images per class for the layer choice. */
  choosePerClass: number;
  /** Held-out broad images for the backbone's attribute accuracy. */
  backboneValImages: number;
  /** The dense part heads' "not here" weight (cli/demo/backbone.ts). */
  absentWeight: number;
  /** The backbone's shape (input size, patch, widths). */
  arch: BackboneArch;
}

export const DEFAULT_LOOKALIKE_TRAIN: LookalikeTrainOptions = {
  seed: DEFAULT_BACKBONE_OPTIONS.seed,
  steps: DEFAULT_BACKBONE_OPTIONS.steps,
  trainPerClass: 400,
  valPerClass: 50,
  choosePerClass: 20,
  backboneValImages: 256,
  absentWeight: DEFAULT_BACKBONE_OPTIONS.absentWeight,
  arch: LOOKALIKE_ARCH,
  log: (line) => process.stderr.write(`${line}\n`),
  progress: true,
};

/**
 * Where every training step runs (backbone, the probe's feature extraction, the layer choice): the wasm
 * backend is ~10× the cpu backend's speed here and bit-identical on any number of threads, so the files
 * are reproducible byte for byte from the seed (on the cpu backend they would differ in the last bits:
 * another summation order).
 */
export const TRAIN_DEVICE: F.DeviceName = 'wasm';

export const PROBE_SEED = 42; // train-probe's default (the seed's dino_train.py)

export type LayerChooser = (m: LookalikeModel, perClass: number) => Promise<{ layer: string; pointing: number; partShare: number; accuracy: number; lookalikeRate: number }[]>;

/** Steps 1-3 above. `chooseLayer` is injected (cli/demo/evaluate-lookalike.ts) to keep the modules acyclic. */
export async function trainLookalike(options: Partial<LookalikeTrainOptions>, chooseLayer: LayerChooser): Promise<LookalikeModel> {
  const o = { ...DEFAULT_LOOKALIKE_TRAIN, ...options };
  const paths = lookalikePaths(o.dir);
  const arch = o.arch;
  const bb = await trainBackbone({ steps: o.steps, seed: o.seed, arch, absentWeight: o.absentWeight, log: o.log, progress: o.progress, valImages: o.backboneValImages });
  await saveBackbone(bb, arch, paths.backbone, paths.options);
  bb.vit.dispose();
  return trainProbeAndChooseLayer(o, chooseLayer, Math.round(bb.trainSeconds));
}

/**
 * Steps 2-3, on the backbone that step 1 wrote (its metadata says how it was trained). The weights files
 * hold no timings, so a rerun reproduces them byte for byte; the times go to lookalike.json.
 */
export async function trainProbeAndChooseLayer(options: Partial<LookalikeTrainOptions>, chooseLayer: LayerChooser, backboneSeconds: number): Promise<LookalikeModel> {
  const o = { ...DEFAULT_LOOKALIKE_TRAIN, ...options };
  const paths = lookalikePaths(o.dir);
  const bbMeta = await F.loadSafetensorsMetadata(new Uint8Array(await readFile(paths.backbone)));
  if (bbMeta.format !== 'finercam-lookalike-backbone-v1') throw new Error(`${paths.backbone}: not a look-alike backbone`);
  const arch = JSON.parse(bbMeta.arch) as BackboneArch; // the shape step 1 trained
  const bbSettings = JSON.parse(bbMeta.train) as Record<string, unknown>;
  const t1 = Date.now();
  const callerDevice = F.getDefaultBackend().name;
  const work = await mkdtemp(join(tmpdir(), 'finercam-lookalike-'));
  const trainSeed = hashInts(LOOKALIKE_SEEDS.train, Number(bbSettings.seed));
  try {
    o.log(`rendering the 12 demo classes: ${o.trainPerClass} train + ${o.valPerClass} val images per class (${work})`);
    await writeSplit(work, 'train', o.trainPerClass, trainSeed, arch.imgSize);
    await writeSplit(work, 'val', o.valPerClass, LOOKALIKE_SEEDS.val, arch.imgSize);
    const probeArgs = [
      '--dataset', work, '--model', paths.options, '--weights', paths.backbone, '--out', paths.probe,
      '--crop-size', String(arch.imgSize), '--resize-size', String(arch.imgSize), '--cache-features', '--cache-dir', join(work, 'features'), '--backend', TRAIN_DEVICE,
    ];
    o.log(`finercam train-probe ${probeArgs.join(' ')}`);
    const rc = await trainProbe(probeArgs);
    if (rc !== 0) throw new Error(`train-probe failed (exit code ${rc})`);
  } finally {
    // train-probe makes its --backend the default device: give the caller back its own
    await F.setDefaultDevice(callerDevice);
    await rm(work, { recursive: true, force: true });
  }
  const t2 = Date.now();
  // train-probe records --model as given (an absolute path here): keep only the file name, so that the
  // file does not depend on where the checkout lives (the tensors are train-probe's, untouched)
  const probeBytes = new Uint8Array(await readFile(paths.probe));
  const probeMeta = await F.loadSafetensorsMetadata(probeBytes);
  probeMeta.backbone = LOOKALIKE_FILES.options;
  await writeFileAtomic(paths.probe, await F.saveSafetensors(await F.loadSafetensors(probeBytes), probeMeta));
  // a provisional metadata file so that the model loads; the layer is chosen next, on validation images
  const meta: LookalikeMeta = {
    format: 'finercam-lookalike-demo-v1',
    arch,
    targetLayer: 'backbone.blocks.-1.norm1',
    layerChoice: [],
    valAccuracy: Number(probeMeta.val_accuracy),
    valLookalikeRate: NaN,
    seeds: { backbone: Number(bbSettings.seed), probe: PROBE_SEED, train: trainSeed, val: LOOKALIKE_SEEDS.val, test: LOOKALIKE_SEEDS.test },
    backbone: { ...bbSettings, attributeAccuracy: JSON.parse(bbMeta.attribute_accuracy) as number[] },
    probe: {
      recipe: "finercam train-probe defaults (the seed's dino_train.py): Adam 3e-4, batch 128, 20 epochs, seed 42; cached features, no augmentation",
      trainPerClass: o.trainPerClass, valPerClass: o.valPerClass, bestEpoch: Number(probeMeta.best_epoch),
    },
    trainSeconds: { backbone: backboneSeconds, probe: Math.round((t2 - t1) / 1000), layerChoice: 0, total: 0 },
    command: `finercam demo --lookalike --train${Number(bbSettings.seed) !== DEFAULT_LOOKALIKE_TRAIN.seed ? ` --seed ${String(bbSettings.seed)}` : ''}`,
  };
  await writeFileAtomic(paths.meta, `${JSON.stringify(meta, null, 1)}\n`);
  const m = await loadLookalike(paths.dir);
  const before = F.getDefaultBackend().name;
  await F.setDefaultDevice(TRAIN_DEVICE);
  let choice;
  try {
    await m.loaded.model.to(TRAIN_DEVICE);
    choice = await chooseLayer(m, o.choosePerClass);
  } finally {
    m.loaded.model.dispose();
    await F.setDefaultDevice(before);
  }
  let best = choice[0];
  for (const c of choice) if (c.pointing > best.pointing || (c.pointing === best.pointing && c.partShare > best.partShare)) best = c;
  meta.layerChoice = choice.map(({ layer, pointing, partShare }) => ({ layer, pointing, partShare }));
  meta.valLookalikeRate = best.lookalikeRate;
  meta.targetLayer = best.layer;
  const t3 = Date.now();
  meta.trainSeconds.layerChoice = Math.round((t3 - t2) / 1000);
  meta.trainSeconds.total = meta.trainSeconds.backbone + meta.trainSeconds.probe + meta.trainSeconds.layerChoice;
  await writeFileAtomic(paths.meta, `${JSON.stringify(meta, null, 1)}\n`);
  o.log(`target layer ${best.layer} (validation, Baseline: ${choice.map((c) => `${c.layer} pointing ${(100 * c.pointing).toFixed(1)}% share ${(100 * c.partShare).toFixed(1)}%`).join('; ')})`);
  return loadLookalike(paths.dir);
}
