// finercam train-probe: the seed's tutorials/dino_train.py. A linear classifier on the mean of the
// normalised patch tokens of a frozen ViT (LinearProbe 'patch-mean', the features generate_cams.py
// classifies), trained with cross-entropy and Adam. The backbone runs under noGrad; only the head learns.
//   default:          every epoch, each training image passes RandomResizedCrop + flip and the backbone
//   --cache-features: every image passes the backbone once at the validation transform; the head then
//                     trains on the cached features (no augmentation; the practical choice on a CPU)
// Validation images use Resize(shorter side) + CenterCrop; being deterministic, their features are computed
// once. The classifier with the best validation accuracy is saved (safetensors: weight [classes, dim],
// bias [classes]) with metadata that generate/explain read back (norm, classes, ...); the class list also
// goes to <out without .safetensors>.classes.json. Both files are written together at the end, atomically,
// so an interrupted run leaves the previous pair as it was; every option is checked before anything is
// loaded. With --cache-features the features also go to a cache on disk (cli/train/feature-cache.ts),
// so a rerun after an interruption passes only the images it had not reached through the backbone.
import { mkdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import * as F from '../../index';
import { flag, num, parseArgs, required, str, UsageError, type OptionSpec } from '../args';
import { loadModel } from '../model-spec';
import { readImage } from '../image-io';
import { Progress } from '../progress';
import { chooseBackend } from '../backend-choice';
import { findSplits, permutation, type Sample } from '../train/image-folder';
import { FeatureCache } from '../train/feature-cache';
import { peekBackbone } from '../train/model-peek';
import { writeFilesAtomic } from '../util/atomic-write';
import { checkOutputDir, checkOutputFile } from '../util/output-path';
import { evalTransform, trainTransform, writeNormalized, type Rng } from '../train/transforms';
import type { RgbImage } from '../../image/canvas';

export const TRAIN_PROBE_OPTIONS: Record<string, OptionSpec> = {
  dataset: { kind: 'string', help: 'root with train/<class>/<image> and val/ (or valid/ or test/); else split 80/20' },
  model: { kind: 'string', help: 'ViT preset (dinov2_vitb14, ...) or an options .json' },
  weights: { kind: 'string', help: 'backbone state dict (.safetensors or .pth)' },
  out: { kind: 'string', help: 'classifier file to write (.safetensors)' },
  epochs: { kind: 'number', help: 'training epochs', default: 20 },
  lr: { kind: 'number', help: 'Adam learning rate', default: 3e-4 },
  'batch-size': { kind: 'number', help: 'images per training step', default: 128 },
  seed: { kind: 'number', help: 'seed of the head init, shuffles, augmentation and 80/20 split', default: 42 },
  norm: { kind: 'string', help: 'input normalisation (saved with the classifier)', default: 'imagenet', choices: ['imagenet', 'clip'] },
  'cache-features': { kind: 'boolean', help: 'no augmentation: one backbone pass per image (kept on disk, reused by reruns), then train the head on cached features' },
  'cache-dir': { kind: 'string', help: 'folder of the --cache-features cache (default: <out without .safetensors>.features next to --out)' },
  'crop-size': { kind: 'number', help: 'input side (RandomResizedCrop / CenterCrop)', default: 224 },
  'resize-size': { kind: 'number', help: 'shorter side before the validation centre crop', default: 256 },
  'backbone-batch': { kind: 'number', help: 'images per backbone pass (memory and progress granularity only)', default: 8 },
  backend: { kind: 'string', help: 'compute backend (default: WebGPU on a hardware adapter, else wasm, else CPU)', choices: ['cpu', 'wasm', 'webgpu'] },
};

const CMD = 'train-probe';

function positiveInt(p: ReturnType<typeof parseArgs>, name: string): number {
  const v = num(p, name)!;
  if (!Number.isInteger(v) || v < 1) throw new UsageError(`${CMD}: --${name} must be a positive integer, got ${v}`);
  return v;
}

/** Features of a set of images: one row of `dim` floats per image that could be read. */
interface FeatureSet {
  features: Float32Array;
  labels: Int32Array;
  count: number;
}

export async function trainProbe(argv: string[]): Promise<number> {
  const p = parseArgs(argv, TRAIN_PROBE_OPTIONS, CMD);
  if (p.positionals.length) throw new UsageError(`${CMD}: unexpected argument '${p.positionals[0]}'`);
  const dataset = required(p, 'dataset', CMD);
  const modelName = required(p, 'model', CMD);
  const out = required(p, 'out', CMD);
  if (!out.toLowerCase().endsWith('.safetensors')) throw new UsageError(`${CMD}: --out must be a .safetensors file, got '${out}'`);
  const epochs = positiveInt(p, 'epochs');
  const batchSize = positiveInt(p, 'batch-size');
  const cropSize = positiveInt(p, 'crop-size');
  const resizeSize = positiveInt(p, 'resize-size');
  const backboneBatch = positiveInt(p, 'backbone-batch');
  const seed = num(p, 'seed')!;
  if (!Number.isInteger(seed)) throw new UsageError(`${CMD}: --seed must be an integer, got ${seed}`);
  const lr = num(p, 'lr')!;
  if (!(lr > 0)) throw new UsageError(`${CMD}: --lr must be positive, got ${lr}`);
  const normName = str(p, 'norm') as F.NormName;
  const norm = F.resolveNorm(normName);
  const cache = flag(p, 'cache-features');
  const stem = out.slice(0, -'.safetensors'.length);
  const classesPath = `${stem}.classes.json`;
  const cacheDir = str(p, 'cache-dir') ?? `${stem}.features`;
  if (str(p, 'cache-dir') && !cache) throw new UsageError(`${CMD}: --cache-dir is only used with --cache-features`);
  await checkOutputFile(out, 'out', CMD);
  if (cache) await checkOutputDir(cacheDir, 'cache-dir', CMD);
  const notViT = (kind: string) => new UsageError(`${CMD}: --model must be a ViT backbone (the probe classifies the mean patch token); '${modelName}' is a ${kind}`);
  const badCrop = (patch: number) => {
    const below = Math.floor(cropSize / patch) * patch;
    const near = below > 0 ? `${below} or ${below + patch}` : `${patch}`;
    return new UsageError(`${CMD}: --crop-size must be a multiple of the patch size ${patch} of '${modelName}', got ${cropSize} (e.g. ${near})`);
  };
  const peek = await peekBackbone(modelName);
  if (peek?.kind === 'resnet') throw notViT('resnet');
  if (peek?.patchSize && cropSize % peek.patchSize !== 0) throw badCrop(peek.patchSize);

  // The splits first: a wrong --dataset should not wait for a large backbone to load.
  const splits = await findSplits(dataset, F.makeRng(seed), CMD);
  const device = await chooseBackend(str(p, 'backend') as 'cpu' | 'webgpu' | undefined);
  const weights = str(p, 'weights');
  const lm = await loadModel({ model: modelName, weights }, CMD);
  if (lm.kind !== 'vit' || !(lm.model instanceof F.VisionTransformer)) throw notViT(lm.kind);
  if (cropSize % lm.model.patchSize !== 0) throw badCrop(lm.model.patchSize);
  if (!weights) console.error(`${CMD}: warning: no --weights, the backbone keeps its random initialisation`);
  const vit = lm.model;
  F.manualSeed(seed); // the head's initialisation (nn.Linear's default uniform init)
  const probe = new F.LinearProbe(vit, splits.classes.length).eval();
  if (device !== 'cpu') await probe.to(device);
  const dim = vit.embedDim;
  const C = splits.classes.length;

  const featureCache = cache ? await FeatureCache.open(cacheDir, { model: modelName, weights, mean: norm.mean, std: norm.std, cropSize, resizeSize, dim }) : null;
  for (const u of splits.unknownClassImages.slice(0, 5)) console.error(`${CMD}: warning: skipping '${u}' (its class folder is not in train/)`);
  if (splits.unknownClassImages.length > 5) console.error(`${CMD}: warning: ... ${splits.unknownClassImages.length - 5} more images of unknown classes skipped`);
  console.error(
    `${CMD}: ${splits.train.length} train / ${splits.val.length} val images, ${C} classes (${splits.describe}); backbone ${modelName}${weights ? ` + ${basename(weights)}` : ''}, ` +
    `${dim}-dim mean patch token; norm ${normName}; ${cache ? 'cached features (no augmentation)' : 'RandomResizedCrop + flip each epoch'}; backend ${device}`,
  );

  const failures = new Map<string, string>();
  const fail = (s: Sample, e: unknown, progress: Progress): void => {
    if (failures.has(s.path)) return;
    const msg = (e as Error).message ?? String(e);
    failures.set(s.path, msg);
    progress.note(`error: ${s.path}: ${msg} (skipped)`);
  };

  /**
   * Decode + transform + backbone for `samples`, in chunks of backboneBatch; unreadable images are
   * skipped. With a feature cache, cached images skip the backbone and computed ones are stored.
   */
  const extract = async (samples: readonly Sample[], transform: (img: RgbImage) => RgbImage, progress: Progress, fc: FeatureCache | null = null): Promise<FeatureSet> => {
    const features = new Float32Array(samples.length * dim);
    const labels = new Int32Array(samples.length);
    let count = 0;
    const S = cropSize;
    for (let start = 0; start < samples.length; start += backboneBatch) {
      const chunk = samples.slice(start, start + backboneBatch);
      const buf = new Float32Array(chunk.length * 3 * S * S);
      // In chunk order: cached features, or the slot of the image in this chunk's backbone batch.
      const rows: { s: Sample; cached: Float32Array | null; slot: number; file: string }[] = [];
      let computed = 0;
      for (const s of chunk) {
        if (failures.has(s.path)) {
          progress.tick(false, s.path); // reported in an earlier epoch
          continue;
        }
        try {
          const file = fc ? await fc.fileFor(s.path) : '';
          const cached = fc ? await fc.get(file) : null;
          if (cached) {
            rows.push({ s, cached, slot: -1, file });
            continue;
          }
          const img = transform(await readImage(s.path));
          writeNormalized(img, norm, buf, computed);
          rows.push({ s, cached: null, slot: computed++, file });
        } catch (e) {
          fail(s, e, progress);
          progress.tick(false, s.path);
        }
      }
      let data: Float32Array | null = null;
      if (computed > 0) {
        const f = F.tidy(() => F.noGrad(() => probe.features(F.tensor(buf.subarray(0, computed * 3 * S * S), [computed, 3, S, S], { device }))));
        data = (await f.data()) as Float32Array;
        f.dispose();
      }
      for (const r of rows) {
        const row = r.cached ?? data!.subarray(r.slot * dim, (r.slot + 1) * dim);
        if (fc && !r.cached) await fc.put(r.file, row);
        features.set(row, count * dim);
        labels[count++] = r.s.label;
        progress.tick(true, r.s.path);
      }
    }
    return { features, labels, count };
  };

  const evalTf = (img: RgbImage) => evalTransform(img, cropSize, resizeSize);
  const featProgress = new Progress(splits.val.length + (cache ? splits.train.length : 0), `${CMD} features`);
  const trainCached = cache ? await extract(splits.train, evalTf, featProgress, featureCache) : null;
  const val = await extract(splits.val, evalTf, featProgress, featureCache);
  if (featureCache) console.error(`${CMD}: features of ${featureCache.hits} image(s) read from the cache ${featureCache.dir}, ${featureCache.misses} computed`);
  const giveUp = (what: string): number => {
    console.error(`${CMD}: no ${what} image could be read; nothing was trained`);
    for (const [path, msg] of failures) console.error(`  failed: ${path}: ${msg}`);
    return 1;
  };
  if (val.count === 0) return giveUp('validation');
  if (trainCached && trainCached.count === 0) return giveUp('training');

  const head = probe.classifier;
  const opt = new F.Adam(head.parameters(), { lr });
  const shuffleRng = F.makeRng(seed + 1);
  const augRng: Rng = F.makeRng(seed + 2);
  let best = -1;
  let bestEpoch = 0;
  /** The best head so far, kept in memory: the files are written once, at the end. */
  let bestHead: { weight: Float32Array; bias: Float32Array; metadata: Record<string, string> } | null = null;
  const saveBest = async (): Promise<void> => {
    const h = bestHead!;
    const bytes = await F.saveSafetensors({ weight: F.tensor(h.weight, [C, dim]), bias: F.tensor(h.bias, [C]) }, h.metadata);
    await mkdir(dirname(out) || '.', { recursive: true });
    // classes.json first, the classifier last: they are renamed into place one after the other.
    await writeFilesAtomic([{ path: classesPath, data: JSON.stringify(splits.classes, null, 1) + '\n' }, { path: out, data: bytes }]);
  };

  /** One Adam step on a batch of features; returns the summed loss and the correct count. */
  const step = async (x: Float32Array, y: Int32Array, n: number): Promise<{ loss: number; correct: number }> => {
    opt.zeroGrad();
    const { loss, logits } = F.tidy(() => {
      const logits = head.forward(F.tensor(x, [n, dim], { device }));
      const loss = F.crossEntropy(logits, F.tensor(y, [n], { dtype: 'int32', device }));
      loss.backward();
      opt.step();
      return { loss, logits };
    });
    const l = (await loss.data())[0];
    const correct = countCorrect((await logits.data()) as Float32Array, y, n, C);
    loss.dispose();
    logits.dispose();
    return { loss: l * n, correct };
  };

  for (let epoch = 1; epoch <= epochs; epoch++) {
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    if (trainCached) {
      const order = permutation(trainCached.count, shuffleRng);
      for (let b = 0; b < order.length; b += batchSize) {
        const idx = order.slice(b, b + batchSize);
        const x = new Float32Array(idx.length * dim);
        const y = new Int32Array(idx.length);
        idx.forEach((k, i) => {
          x.set(trainCached.features.subarray(k * dim, (k + 1) * dim), i * dim);
          y[i] = trainCached.labels[k];
        });
        const r = await step(x, y, idx.length);
        lossSum += r.loss;
        correct += r.correct;
        seen += idx.length;
      }
    } else {
      const order = permutation(splits.train.length, shuffleRng).map((k) => splits.train[k]);
      const progress = new Progress(order.length, `${CMD} epoch ${epoch}/${epochs}`);
      for (let b = 0; b < order.length; b += batchSize) {
        const batch = await extract(order.slice(b, b + batchSize), (img) => trainTransform(img, cropSize, augRng), progress);
        if (batch.count === 0) continue;
        const r = await step(batch.features.subarray(0, batch.count * dim), batch.labels.subarray(0, batch.count), batch.count);
        lossSum += r.loss;
        correct += r.correct;
        seen += batch.count;
      }
      if (seen === 0) return giveUp('training');
    }
    const v = await evaluate(head, val, dim, C, device);
    if (!Number.isFinite(lossSum) || !Number.isFinite(v.loss)) {
      const [which, value] = Number.isFinite(lossSum) ? ['validation', v.loss] : ['training', lossSum];
      if (bestHead) await saveBest();
      console.error(`${CMD}: the ${which} loss became ${value} in epoch ${epoch}; stopping (try a smaller --lr)` +
        (bestHead ? `; ${out} holds the head of epoch ${bestEpoch}` : '; no classifier was saved'));
      opt.dispose();
      return 1;
    }
    const improved = v.accuracy > best;
    let note = '';
    if (improved) {
      best = v.accuracy;
      bestEpoch = epoch;
      const metadata: Record<string, string> = {
        norm: normName,
        classes: JSON.stringify(splits.classes),
        epochs: String(epochs),
        best_epoch: String(epoch),
        val_accuracy: String(v.accuracy),
        val_loss: String(v.loss),
        backbone: modelName,
        ...(weights ? { backbone_weights: basename(weights) } : {}),
        pool: 'patch-mean',
        augmentation: cache ? 'none (cached features, validation transform)' : 'RandomResizedCrop+RandomHorizontalFlip',
        crop_size: String(cropSize),
        resize_size: String(resizeSize),
        lr: String(lr),
        batch_size: String(batchSize),
        seed: String(seed),
        train_images: String(cache ? trainCached!.count : seen),
        val_images: String(val.count),
        format: 'finercam linear probe: logits = features @ weight.T + bias',
      };
      bestHead = { weight: Float32Array.from(await head.weight.data()), bias: Float32Array.from(await head.bias!.data()), metadata };
      note = '  (best so far)'; // kept in memory; written with classes.json when the run ends
    }
    console.log(
      `epoch ${String(epoch).padStart(String(epochs).length)}/${epochs}  train loss ${(lossSum / seen).toFixed(4)} acc ${pct(correct / seen)}` +
      `  val loss ${v.loss.toFixed(4)} acc ${pct(v.accuracy)}${note}`,
    );
  }
  opt.dispose();
  await saveBest();
  console.log(`best val accuracy ${pct(best)} (epoch ${bestEpoch}); classifier ${out}, classes ${classesPath}`);
  if (failures.size) {
    console.error(`${CMD}: ${failures.size} image(s) could not be read and were skipped:`);
    for (const [path, msg] of failures) console.error(`  failed: ${path}: ${msg}`);
    return 1;
  }
  return 0;
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

/** Rows whose first maximal logit is the label (torch's max(1) picks the first maximum). */
export function countCorrect(logits: Float32Array, labels: ArrayLike<number>, n: number, C: number): number {
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let arg = 0;
    for (let c = 1; c < C; c++) if (logits[i * C + c] > logits[i * C + arg]) arg = c;
    if (arg === labels[i]) correct++;
  }
  return correct;
}

/** Mean cross-entropy and accuracy of the head on a feature set (no autograd). */
async function evaluate(head: F.Linear, set: FeatureSet, dim: number, C: number, device: F.DeviceName): Promise<{ loss: number; accuracy: number }> {
  let lossSum = 0;
  let correct = 0;
  const chunk = 1024;
  for (let s = 0; s < set.count; s += chunk) {
    const n = Math.min(chunk, set.count - s);
    const { loss, logits } = F.tidy(() => F.noGrad(() => {
      const logits = head.forward(F.tensor(set.features.subarray(s * dim, (s + n) * dim), [n, dim], { device }));
      return { loss: F.crossEntropy(logits, F.tensor(set.labels.subarray(s, s + n), [n], { dtype: 'int32', device }), { reduction: 'sum' }), logits };
    }));
    lossSum += (await loss.data())[0];
    correct += countCorrect((await logits.data()) as Float32Array, set.labels.subarray(s, s + n), n, C);
    loss.dispose();
    logits.dispose();
  }
  return { loss: lossSum / set.count, accuracy: correct / set.count };
}
