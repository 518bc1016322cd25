// The built-in demo model: a small torchvision-style ResNet (BasicBlock, one block per stage, reduced
// widths) that this project trains itself on the procedural birds (`finercam demo --train`), and the
// loader of the committed weights (cli/demo/weights/demo-resnet.safetensors).
//
// Why this shape (measured on 2 CPU cores, see cli/demo/train.ts and the demo's report):
//  - 96×96 inputs: the birds' discriminative parts (beak, eye ring, crown, throat, wing bar, tail tip) are
//    about 5-12 px across, large enough to be learnt, and a training step on 32 images takes about a second.
//  - target layer `layer3` (stride 16 → a 6×6 grid): layer4 (stride 32) gives a 3×3 grid, one cell per
//    third of the image, too coarse to tell a beak from an eye ring.
//  - widths [16, 32, 64, 128], layers [1, 1, 1, 1]: ~0.3 M parameters (1.2 MB of float32 weights).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as F from '../../index';
import type { LoadedModel } from '../model-spec';
import type { RgbImage } from '../../image/canvas';
import { BIRD_CLASS_NAMES } from './birds';

export interface DemoArch {
  block: 'basic' | 'bottleneck';
  layers: [number, number, number, number];
  widths: [number, number, number, number];
  inputSize: number;
  targetLayer: string;
}

export const DEMO_ARCH: DemoArch = {
  block: 'basic',
  layers: [1, 1, 1, 1],
  widths: [16, 32, 64, 128],
  inputSize: 96,
  targetLayer: 'layer3',
};

/** The normalisation the demo model is trained with (stored in the weights' metadata as norm=imagenet). */
export const DEMO_NORM: F.Normalization = F.NORMALIZATIONS.imagenet;

export const DEMO_WEIGHTS_FILE = 'demo-resnet.safetensors';
const WEIGHTS_SUBDIR = join('cli', 'demo', 'weights');

/** What `finercam demo --train` stores next to the weights (safetensors metadata, all strings). */
export interface DemoMeta {
  classNames: string[];
  arch: DemoArch;
  norm: 'imagenet';
  seed: number;
  /** Held-out test accuracy measured right after training, and on which generated test set. */
  testAccuracy: number;
  testSeed: number;
  testPerClass: number;
  /** The training settings, for reproduction (epochs, perClass, batch, lr, ...). */
  train: Record<string, unknown>;
  trainSeconds: number;
}

export function buildDemoModel(arch: DemoArch = DEMO_ARCH, numClasses = BIRD_CLASS_NAMES.length): F.ResNet {
  return F.resnet({ block: arch.block, layers: arch.layers, widths: arch.widths, numClasses });
}

/**
 * The directory that holds (or will hold) the demo weights. The code runs from the sources (vitest:
 * cli/demo/model.ts) and from the bundle (dist/cli.js, also inside an installed package whose `files`
 * include cli/demo/weights), so it walks up from this module's directory until it finds cli/demo/weights.
 */
export function demoWeightsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const tried: string[] = [];
  for (let dir = here; ; dir = dirname(dir)) {
    const candidate = join(dir, WEIGHTS_SUBDIR);
    tried.push(candidate);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) break;
  }
  throw new Error(`demo weights directory not found (looked for ${WEIGHTS_SUBDIR} above ${here})`);
}

/** Where the committed weights are: the directory found above, or (for --train in a fresh tree) the repo's. */
export function demoWeightsPath(): string {
  try {
    return join(demoWeightsDir(), DEMO_WEIGHTS_FILE);
  } catch {
    // no weights directory yet: next to the sources' cli/demo/ (when running from sources) or ./cli/demo/weights
    const here = dirname(fileURLToPath(import.meta.url));
    const fromSources = here.endsWith(join('cli', 'demo')) ? join(here, 'weights') : resolve(WEIGHTS_SUBDIR);
    return join(fromSources, DEMO_WEIGHTS_FILE);
  }
}

export function encodeDemoMeta(m: DemoMeta): Record<string, string> {
  return {
    format: 'finercam-demo-v1',
    class_names: JSON.stringify(m.classNames),
    arch: JSON.stringify(m.arch),
    input_size: String(m.arch.inputSize),
    target_layer: m.arch.targetLayer,
    norm: m.norm,
    seed: String(m.seed),
    test_accuracy: String(m.testAccuracy),
    test_seed: String(m.testSeed),
    test_per_class: String(m.testPerClass),
    train: JSON.stringify(m.train),
    train_seconds: String(m.trainSeconds),
  };
}

export function decodeDemoMeta(meta: Record<string, string>, where: string): DemoMeta {
  const need = (k: string): string => {
    const v = meta[k];
    if (v === undefined) throw new Error(`${where}: the demo weights' metadata has no '${k}' (re-create them with 'finercam demo --train')`);
    return v;
  };
  if (meta.format !== 'finercam-demo-v1') throw new Error(`${where}: not a finercam demo weights file (metadata format '${meta.format ?? ''}')`);
  const num = (k: string): number => {
    const n = Number(need(k));
    if (!Number.isFinite(n)) throw new Error(`${where}: metadata '${k}' is not a number: '${meta[k]}'`);
    return n;
  };
  return {
    classNames: JSON.parse(need('class_names')) as string[],
    arch: JSON.parse(need('arch')) as DemoArch,
    norm: need('norm') as 'imagenet',
    seed: num('seed'),
    testAccuracy: num('test_accuracy'),
    testSeed: num('test_seed'),
    testPerClass: num('test_per_class'),
    train: JSON.parse(need('train')) as Record<string, unknown>,
    trainSeconds: num('train_seconds'),
  };
}

export async function saveDemoWeights(model: F.Module, meta: DemoMeta, path: string): Promise<number> {
  const { mkdir } = await import('node:fs/promises');
  const { writeFileAtomic } = await import('../util/atomic-write');
  const bytes = await F.saveSafetensors(model.stateDict(), encodeDemoMeta(meta));
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, bytes);
  return bytes.length;
}

export interface DemoModel {
  loaded: LoadedModel;
  classNames: string[];
  meta: DemoMeta;
  path: string;
}

/** Loads the committed demo weights (or `path`) into the demo ResNet, in eval mode. */
export async function loadDemoModel(path?: string): Promise<DemoModel> {
  let file = path;
  if (!file) {
    try {
      file = join(demoWeightsDir(), DEMO_WEIGHTS_FILE);
    } catch (e) {
      throw new Error(`${(e as Error).message}; create the weights with 'finercam demo --train'`);
    }
  }
  if (!existsSync(file)) throw new Error(`demo weights '${file}' do not exist; create them with 'finercam demo --train'`);
  const bytes = new Uint8Array(await readFile(file));
  const meta = decodeDemoMeta(await F.loadSafetensorsMetadata(bytes), file);
  const dict = await F.loadSafetensors(bytes);
  const model = buildDemoModel(meta.arch, meta.classNames.length);
  try {
    model.loadStateDict(dict);
  } catch (e) {
    throw new Error(`demo weights '${file}' do not fit the demo ResNet: ${(e as Error).message}`);
  }
  model.eval();
  const loaded: LoadedModel = {
    model,
    kind: 'resnet',
    numClasses: meta.classNames.length,
    targetLayer: meta.arch.targetLayer,
    reshapeTransform: null,
    patchSize: 1,
    norm: DEMO_NORM,
    normSource: "stored in the demo weights' metadata",
    describe: `demo ResNet (${meta.arch.block}, layers ${meta.arch.layers.join('-')}, widths ${meta.arch.widths.join('-')}, ${meta.arch.inputSize}×${meta.arch.inputSize}, ${meta.classNames.length} bird classes)`,
  };
  return { loaded, classNames: meta.classNames, meta, path: file };
}

/**
 * Images (all `size`×`size`) → N×3×size×size, (v/255 − mean)/std per channel with the same float32 steps
 * as F.imageToTensor (so a batch equals the concatenation of single-image tensors).
 */
export function imagesToTensor(images: readonly RgbImage[], norm: F.Normalization = DEMO_NORM, device?: F.DeviceName): F.Tensor {
  if (images.length === 0) throw new Error('imagesToTensor: no images');
  const { width: W, height: H } = images[0];
  const plane = H * W;
  const out = new Float32Array(images.length * 3 * plane);
  images.forEach((img, n) => {
    if (img.width !== W || img.height !== H) throw new Error(`imagesToTensor: image ${n} is ${img.width}×${img.height}, expected ${W}×${H}`);
    for (let c = 0; c < 3; c++) {
      const m = Math.fround(norm.mean[c]);
      const s = Math.fround(norm.std[c]);
      const base = (n * 3 + c) * plane;
      for (let i = 0; i < plane; i++) out[base + i] = Math.fround(Math.fround(img.data[i * 3 + c] / 255) - m) / s;
    }
  });
  return F.tensor(out, [images.length, 3, H, W], { device });
}

/** Logits of `images` in batches, without autograd; returns N×K floats (row-major). */
export async function predictLogits(model: F.Module, images: readonly RgbImage[], batchSize = 64, device?: F.DeviceName): Promise<{ logits: Float32Array; numClasses: number }> {
  const parts: Float32Array[] = [];
  let K = 0;
  for (let i = 0; i < images.length; i += batchSize) {
    const out = F.noGrad(() => F.tidy(() => model.forward(imagesToTensor(images.slice(i, i + batchSize), DEMO_NORM, device))));
    K = out.shape[1];
    parts.push(Float32Array.from(await out.data()));
    out.dispose();
  }
  const logits = new Float32Array(images.length * K);
  let o = 0;
  for (const p of parts) {
    logits.set(p, o);
    o += p.length;
  }
  return { logits, numClasses: K };
}

export function argmaxRows(logits: ArrayLike<number>, K: number): number[] {
  const n = logits.length / K;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let b = 0;
    for (let k = 1; k < K; k++) if (logits[i * K + k] > logits[i * K + b]) b = k;
    out.push(b);
  }
  return out;
}
