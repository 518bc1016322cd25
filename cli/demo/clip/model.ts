// The tiny CLIP of the multi-modal demo: its size, where its files live (cli/demo/weights/clip-*), and loading them
// the way a user loads any CLIP (clipFromStateDict on the safetensors, ClipTokenizer.fromHuggingFace on the folder),
// so the demo exercises the same code paths as `finercam explain --model clip --weights … --tokenizer …`.
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as F from '../../../index';
import { demoTokenizerFiles } from './vocab';

/**
 * OpenAI's constructor arguments: a ModifiedResNet image tower (OpenAI's RN50 design: 3-conv stem, avg-pool
 * Bottlenecks, attention pooling) at the smallest size, and a 2-block causal text transformer. Why this shape
 * (measured here, wasm backend, 2 shared CPU cores, batch 32):
 *  - a ViT image tower (64×64, patch 8, width 64, 3-4 blocks) did not leave the image-blind loss plateau in 300
 *    steps (loss 3.43 for chance 3.47, lr 2e-3 and 5e-3), nor did the ResNet tower by step 150; the ResNet left it
 *    at about step 200 (3.38 at 200, 3.33 at 250). Training may take about 15 minutes here, so the faster learner
 *    is the one that can be trained.
 *  - visionWidth 8: the attention pool works on 8·32 = 256 channels with OpenAI's 256 / 64 = 4 heads, so
 *    clipFromStateDict infers every size from the weights alone, as for a released checkpoint; width 16 would make
 *    the weights 5.6 MB, over the demo's 5 MB. (Width 12 learned no faster: the bottleneck was the text tower, see
 *    train.ts.)
 *  - 64×64 images (the demo birds' native size): layer2 is an 8×8 grid, layer3 4×4, layer4 2×2.
 *  - text width 64 (OpenAI's heads = width / 64 → 1 head); context 24 tokens: the longest caption ("a photo of a
 *    bird with a, b and c.") is 20 tokens + start and end; vocabSize: 512 byte symbols + the learnt merges + 2.
 */
export function tinyClipConfig(vocabSize: number): F.ClipConfig {
  return {
    embedDim: 64,
    imageResolution: 64,
    visionLayers: [1, 1, 1, 1],
    visionWidth: 8,
    visionPatchSize: null,
    contextLength: 24,
    vocabSize,
    transformerWidth: 64,
    transformerHeads: 1,
    transformerLayers: 2,
  };
}

/**
 * Where the CAMs may look, from fine to coarse. The choice among them is made on validation images after
 * training (layer-choice.ts: the largest Baseline part share; never on test images) and stored in clip-tiny.json.
 * layer4 is what the CLI uses by default for a ResNet CLIP, but at 64×64 it is a 2×2 grid, too coarse to tell a
 * beak from a crown; layer2 (8×8) and layer3 (4×4) see less of the model's decision but can place a part.
 * (A ViT tower would use visual.transformer.resblocks.-1.ln_1 with vitReshapeTransform({prefixTokens: 1}): after the
 * last block only the class token reaches the output (ln_post takes token 0), so the patch tokens' gradients vanish.)
 */
export function candidateLayers(clip: F.CLIP): string[] {
  return clip.visual instanceof F.ClipVisionTransformer
    ? ['clip.visual.transformer.resblocks.-1.ln_1', 'clip.visual.transformer.resblocks.-2.ln_1']
    : ['clip.visual.layer2', 'clip.visual.layer3', 'clip.visual.layer4'];
}

/** A ViT's tokens become a grid (prefix: the class token); a ResNet's layers already are one. */
export function camReshape(clip: F.CLIP): F.ReshapeTransform | null {
  return clip.visual instanceof F.ClipVisionTransformer ? F.vitReshapeTransform({ prefixTokens: 1 }) : null;
}

function weightsDir(): string {
  // dist/cli.js → ../cli/demo/weights; cli/demo/clip/*.ts (tests) → ../weights
  const here = dirname(fileURLToPath(import.meta.url));
  return here.endsWith('clip') ? resolve(here, '..', 'weights') : resolve(here, '..', 'cli', 'demo', 'weights');
}

export interface ClipDemoPaths {
  dir: string;
  weights: string;
  meta: string;
  tokenizer: string;
}

export function clipDemoPaths(dir = weightsDir()): ClipDemoPaths {
  return { dir, weights: join(dir, 'clip-tiny.safetensors'), meta: join(dir, 'clip-tiny.json'), tokenizer: join(dir, 'clip-tokenizer') };
}

/** What training records next to the weights (clip-tiny.json): nothing time- or machine-dependent, so it is reproducible too. */
export interface ClipDemoMeta {
  seed: number;
  steps: number;
  batchSize: number;
  lr: number;
  /** Per-part zero-shot accuracy (true state's prompt beats the other state's) on the validation images. */
  validation: { images: number; seed: number; partAccuracy: Record<string, number> };
  /** The CAM layer chosen on the validation images, with each candidate's Baseline part share there. */
  targetLayer: string;
  layerChoice: Record<string, number>;
  /** Weights of the per-part prompt term and of the caption–paraphrase term of the loss (train.ts). */
  promptWeight: number;
  paraphraseWeight: number;
  config: F.ClipConfig;
}

export interface LoadedClipDemo {
  clip: F.CLIP;
  tokenizer: F.ClipTokenizer;
  meta: ClipDemoMeta;
  paths: ClipDemoPaths;
}

export async function loadClipDemo(paths = clipDemoPaths()): Promise<LoadedClipDemo> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(paths.weights));
  } catch {
    throw new Error(`the tiny CLIP's weights '${paths.weights}' are missing; run 'finercam demo --clip --train' to make them`);
  }
  const clip = F.clipFromStateDict(await F.loadSafetensors(bytes));
  const tokenizer = F.ClipTokenizer.fromHuggingFace(
    new Uint8Array(await readFile(join(paths.tokenizer, 'vocab.json'))),
    new Uint8Array(await readFile(join(paths.tokenizer, 'merges.txt'))),
  );
  const meta = JSON.parse(await readFile(paths.meta, 'utf8')) as ClipDemoMeta;
  return { clip, tokenizer, meta, paths };
}

/** The committed tokenizer files must be the ones vocab.ts learns (they are written by --train). */
export function expectedTokenizerFiles(): { 'vocab.json': string; 'merges.txt': string } {
  const f = demoTokenizerFiles();
  return { 'vocab.json': f.vocabJson, 'merges.txt': f.mergesTxt };
}
