// Training the tiny CLIP from scratch, contrastively, on procedural birds and captions naming their parts
// (`finercam demo --clip --train`).
//
// Data: every step renders a fresh batch of birds whose six part attributes are drawn independently at random (all
// 64 combinations, not only the 12 demo classes: with the classes alone the attributes are correlated — every red
// crown comes with a brown beak — and a model could name the crown by looking at the eye ring), each with one random
// caption naming 1-3 of its parts (captions.ts). The 12 demo classes are what the validation and test images show.
// Loss: CLIP's symmetric cross-entropy over the batch's image-caption logits, except that the target of an image is
// spread evenly over every caption in the batch that fits it (and a caption's over every image that fits it):
// a caption such as "a bird with a red crown" fits about half of the batch, and calling those pairs negatives
// would teach the model to contradict itself. A second contrastive term, per part, sets each image against the two
// prompts of that part ("a bird with an orange beak" / "a bird with a grey beak"; the true one is the target): with
// the batch captions alone the first 200 steps stayed on the image-blind plateau; with it the loss left the plateau
// by step 100 (3 × 300-step runs here). A third term is text against text: each caption against a paraphrase of
// every caption of the batch (same claims, parts reordered, another template), positives where the claims are the
// same. Without it the text tower never learnt to read the attribute word: after 900 steps the prompts of the two
// states of a part had cosine 1.0000 for every part whose two phrases have the same length (only "a white wing bar"
// vs "a plain wing" was told apart, by its end position), so the image tower had nothing to align the other parts
// with and learnt only the wing bar (62.5% zero-shot). Optimiser: AdamW, cosine decay after a warm-up (../train.ts).
// Everything random is seeded (model init by F.manualSeed, data by the seed's hashes), and the wasm backend's
// kernels give the same bits whatever the thread count, so the weights are reproducible bit for bit.
import * as F from '../../../index';
import { Progress, fmtTime } from '../../progress';
import { renderBirdTraits } from '../birds';
import { BIRD_PARTS, type BirdTraits } from '../birdClasses';
import { imagesToTensor } from '../model';
import type { RgbImage } from '../../../image/canvas';
import { hashInts, mulberry32 } from '../rng';
import { learningRate } from '../train';
import { ATTRIBUTE_PROMPTS, fits, makeCaption, rephrase, sameClaims, type Caption } from './captions';
import { candidateLayers, tinyClipConfig, type ClipDemoMeta } from './model';
import { chooseLayerOnValidation } from './layer-choice';
import { demoTokenizerFiles, tokenizerFromFiles } from './vocab';
import { partAccuracy, VALIDATION_SEED } from './zero-shot';

export interface ClipTrainOptions {
  steps: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** Validation images per demo class, for the accuracy stored in clip-tiny.json (0: none). */
  valPerClass: number;
  /** Weight of the per-part prompt term (see the module comment); 0 for the batch captions alone. */
  promptWeight: number;
  /** Weight of the caption–paraphrase term (see the module comment); 0 for none. */
  paraphraseWeight: number;
  /** Changes to the tiny CLIP's size (tinyClipConfig), for experiments. */
  config?: Partial<F.ClipConfig>;
  log: ((line: string) => void) | null;
  progress: boolean;
}

export const DEFAULT_CLIP_TRAIN: ClipTrainOptions = {
  steps: 1200,
  batchSize: 32,
  lr: 2e-3,
  seed: 1,
  valPerClass: 4,
  promptWeight: 1,
  paraphraseWeight: 1,
  log: (line) => process.stderr.write(`${line}\n`),
  progress: true,
};

export interface ClipTrainResult {
  clip: F.CLIP;
  tokenizer: F.ClipTokenizer;
  meta: ClipDemoMeta;
  seconds: number;
}

/** A batch of random-trait birds and their captions (deterministic in seed and step). */
export function trainingBatch(seed: number, step: number, n: number, size: number): { images: RgbImage[]; traits: BirdTraits[]; captions: Caption[] } {
  const rng = mulberry32(hashInts(seed, 0xc11b, step));
  const images: RgbImage[] = [];
  const traits: BirdTraits[] = [];
  const captions: Caption[] = [];
  for (let i = 0; i < n; i++) {
    const t = Object.fromEntries(BIRD_PARTS.map((p) => [p, rng() < 0.5])) as BirdTraits;
    images.push(renderBirdTraits(t, hashInts(seed, 0x1a6e, step, i), { size }).image);
    traits.push(t);
    captions.push(makeCaption(t, rng));
  }
  return { images, traits, captions };
}

/** Row-normalised fit matrices: image i's target over captions, and caption j's over images. */
export function contrastiveTargets(traits: readonly BirdTraits[], captions: readonly Caption[]): { perImage: Float32Array; perText: Float32Array } {
  const n = traits.length;
  const fit = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) fit[i * n + j] = fits(traits[i], captions[j]) ? 1 : 0;
  const perImage = new Float32Array(n * n);
  const perText = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    let c = 0;
    for (let j = 0; j < n; j++) {
      r += fit[i * n + j];
      c += fit[j * n + i];
    }
    for (let j = 0; j < n; j++) {
      perImage[i * n + j] = fit[i * n + j] / r;
      perText[i * n + j] = fit[j * n + i] / c;
    }
  }
  return { perImage, perText };
}

/** Per image and part (ATTRIBUTE_PROMPTS order: set, then unset): 0 when the part's attribute is set, else 1. */
export function promptTargets(traits: readonly BirdTraits[]): Int32Array {
  return Int32Array.from(traits.flatMap((t) => BIRD_PARTS.map((p) => (t[p] ? 0 : 1))));
}

/** Row-normalised same-claims matrix of captions (rows) against paraphrases (columns). */
export function paraphraseTargets(captions: readonly Caption[], paraphrases: readonly Caption[]): { perCaption: Float32Array; perParaphrase: Float32Array } {
  const n = captions.length;
  const same = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) same[i * n + j] = sameClaims(captions[i], paraphrases[j]) ? 1 : 0;
  const perCaption = new Float32Array(n * n);
  const perParaphrase = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    let c = 0;
    for (let j = 0; j < n; j++) {
      r += same[i * n + j];
      c += same[j * n + i];
    }
    for (let j = 0; j < n; j++) {
      perCaption[i * n + j] = same[i * n + j] / r;
      perParaphrase[i * n + j] = same[j * n + i] / c;
    }
  }
  return { perCaption, perParaphrase };
}

export async function trainTinyClip(options: Partial<ClipTrainOptions> = {}): Promise<ClipTrainResult> {
  const o: ClipTrainOptions = { ...DEFAULT_CLIP_TRAIN, ...options };
  for (const k of ['steps', 'batchSize'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new RangeError(`demo --clip --train: ${k} must be a positive integer, got ${o[k]}`);
  }
  if (!Number.isInteger(o.valPerClass) || o.valPerClass < 0) throw new RangeError(`demo --clip --train: valPerClass must be a non-negative integer, got ${o.valPerClass}`);
  if (!Number.isInteger(o.seed)) throw new RangeError(`demo --clip --train: seed must be an integer, got ${o.seed}`);
  const log = o.log ?? (() => {});
  const t0 = Date.now();
  const tokenizer = tokenizerFromFiles(demoTokenizerFiles());
  const config = { ...tinyClipConfig(tokenizer.vocabSize), ...o.config };
  const promptIds = tokenizer.tokenize(ATTRIBUTE_PROMPTS.map((p) => p.text), { contextLength: config.contextLength });
  F.manualSeed(o.seed);
  const clip = F.clip(config);
  clip.train();
  const opt = new F.AdamW(clip.parameters(), { lr: o.lr, weightDecay: 0.05 });
  const size = config.imageResolution;
  const nParams = clip.parameters().reduce((s, p) => s + p.size, 0);
  log(
    `training the tiny CLIP (${Array.isArray(config.visionLayers) ? `ModifiedResNet ${config.visionLayers.join('-')}` : `ViT patch ${config.visionPatchSize}, ${config.visionLayers} blocks`}, width ${config.visionWidth}, ${size}×${size}; text ${config.transformerLayers} blocks, ` +
      `${nParams} parameters, vocabulary ${config.vocabSize}) contrastively: ${o.steps} steps × ${o.batchSize} fresh birds with captions, AdamW lr ${o.lr} (cosine), seed ${o.seed}`,
  );
  const bar = o.progress ? new Progress(o.steps, 'tiny CLIP') : null;
  let recent = 0;
  for (let step = 0; step < o.steps; step++) {
    const { images, traits, captions } = trainingBatch(o.seed, step, o.batchSize, size);
    const { perImage, perText } = contrastiveTargets(traits, captions);
    // paraphrases from their own random stream, so the batch itself does not depend on this term
    const prng = mulberry32(hashInts(o.seed, 0x7e47, step));
    const paraphrases = captions.map((c) => rephrase(c, prng));
    const { perCaption, perParaphrase } = paraphraseTargets(captions, paraphrases);
    opt.lr = learningRate(o.lr, step, o.steps);
    const loss = F.tidy(() => {
      opt.zeroGrad();
      const x = imagesToTensor(images, F.NORMALIZATIONS.clip);
      const ids = tokenizer.tokenize(captions.map((c) => c.text), { contextLength: config.contextLength });
      // CLIP's forward (model.ts logits), with the image features computed once for both terms
      const img = F.l2Normalize(clip.encodeImage(x));
      const scale = F.exp(clip.logitScale);
      const txt = F.l2Normalize(clip.encodeText(ids));
      const logits = F.mul(scale, F.matmul(img, F.transpose(txt, 0, 1)));
      const n = o.batchSize;
      const li = F.crossEntropy(logits, F.tensor(perImage, [n, n]));
      const lt = F.crossEntropy(F.transpose(logits, 0, 1), F.tensor(perText, [n, n]));
      let l = F.mul(F.add(li, lt), 0.5);
      if (o.promptWeight > 0) {
        // each image against the two prompts of each part: (n, 12) logits → (6n, 2), target = the true state
        const zp = F.mul(scale, F.matmul(img, F.transpose(F.l2Normalize(clip.encodeText(promptIds)), 0, 1)));
        const lp = F.crossEntropy(F.reshape(zp, [n * BIRD_PARTS.length, 2]), F.tensor(promptTargets(traits), [n * BIRD_PARTS.length], { dtype: 'int32' }));
        l = F.add(l, F.mul(lp, o.promptWeight));
      }
      if (o.paraphraseWeight > 0) {
        const para = F.l2Normalize(clip.encodeText(tokenizer.tokenize(paraphrases.map((c) => c.text), { contextLength: config.contextLength })));
        const zt = F.mul(scale, F.matmul(txt, F.transpose(para, 0, 1)));
        const lc = F.crossEntropy(zt, F.tensor(perCaption, [n, n]));
        const lq = F.crossEntropy(F.transpose(zt, 0, 1), F.tensor(perParaphrase, [n, n]));
        l = F.add(l, F.mul(F.add(lc, lq), 0.5 * o.paraphraseWeight));
      }
      l.backward();
      opt.step();
      return l.detach();
    });
    const v = await loss.item();
    loss.dispose();
    recent = step === 0 ? v : 0.95 * recent + 0.05 * v;
    bar?.tick(true, `loss ${recent.toFixed(3)}`);
    if ((step + 1) % 50 === 0) log(`step ${step + 1}/${o.steps}: loss ${recent.toFixed(3)}`);
  }
  opt.zeroGrad();
  promptIds.dispose();
  clip.eval();
  const validation = { images: o.valPerClass * 12, seed: VALIDATION_SEED, partAccuracy: {} as Record<string, number> };
  const base = { seed: o.seed, steps: o.steps, batchSize: o.batchSize, lr: o.lr, promptWeight: o.promptWeight, paraphraseWeight: o.paraphraseWeight, validation, config };
  let choice = { targetLayer: candidateLayers(clip)[0], layerChoice: {} as Record<string, number> };
  if (o.valPerClass > 0) {
    validation.partAccuracy = (await partAccuracy(clip, tokenizer, VALIDATION_SEED, o.valPerClass)).byPart;
    choice = await chooseLayerOnValidation(clip, tokenizer, base, o.valPerClass * 12);
  }
  const seconds = (Date.now() - t0) / 1000;
  log(`trained in ${fmtTime(seconds)}; validation zero-shot part accuracy ${JSON.stringify(validation.partAccuracy)}; CAM layer ${choice.targetLayer} (Baseline part share on validation: ${JSON.stringify(choice.layerChoice)})`);
  const meta: ClipDemoMeta = { ...base, ...choice };
  return { clip, tokenizer, meta, seconds };
}
