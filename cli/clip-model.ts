// --model clip-… → a ZeroShotClassifier whose classes are text prompts (--prompts "a|b|…", or --classes with an
// optional --template "a photo of a {}."), with CLIP's tokenizer from --tokenizer (OpenAI's bpe_simple_vocab_16e6.txt.gz,
// or a Hugging Face folder with vocab.json + merges.txt). Everything is checked before weights are read.
import { readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import * as F from '../index';
import { UsageError } from './args';
import type { LoadedModel } from './model-spec';

const PRESETS: Record<string, F.ClipPresetName> = {
  'clip-vit-b32': 'ViT-B/32', 'clip-vit-b16': 'ViT-B/16', 'clip-vit-l14': 'ViT-L/14',
  'clip-vit-l14-336': 'ViT-L/14@336px', 'clip-rn50': 'RN50', 'clip-rn101': 'RN101',
};

/** Weights of another CLIP size are named before a preset's hundreds of MB are allocated. */
function checkPresetFits(name: string, dict: F.StateDict, command: string): void {
  const want = F.CLIP_PRESETS[PRESETS[name]];
  let got: F.ClipConfig;
  try {
    got = F.inferClipConfig(F.isHfClipStateDict(dict) ? F.fromHfClip(dict) : dict);
  } catch (e) {
    throw new UsageError(`${command}: --weights do not fit --model ${name}: ${(e as Error).message}`);
  }
  const diff = (Object.keys(want) as (keyof typeof want)[]).filter((k) => JSON.stringify(got[k]) !== JSON.stringify(want[k]));
  if (diff.length) {
    throw new UsageError(`${command}: --weights do not fit --model ${name} (${PRESETS[name]}): ${diff.map((k) => `${k} ${JSON.stringify(got[k])} instead of ${JSON.stringify(want[k])}`).join(', ')}`);
  }
}
export const CLIP_MODEL_NAMES = ['clip', ...Object.keys(PRESETS)];

export function isClipModelName(name: string | undefined): boolean {
  return name !== undefined && CLIP_MODEL_NAMES.includes(name);
}

export interface ClipModelOptions {
  model: string;
  weights?: string;
  randomWeights?: boolean;
  tokenizer?: string;
  /** '|'-separated prompts, one per class. */
  prompts?: string;
  /** Class names (from --classes) to put into --template. */
  classes?: string[] | null;
  template?: string;
  targetLayer?: string;
}

/** The prompt list and class names, checked without touching any file. */
export function clipClasses(o: ClipModelOptions, command: string): { prompts: string[]; templates: string[] | undefined } {
  if (o.prompts !== undefined && o.classes) throw new UsageError(`${command}: give either --prompts or --classes (with --template), not both`);
  if (o.template !== undefined && !o.template.includes('{}')) throw new UsageError(`${command}: --template must contain '{}' where the class name goes, got '${o.template}'`);
  if (o.prompts !== undefined) {
    if (o.template !== undefined) throw new UsageError(`${command}: --template applies to --classes names; --prompts are used as written`);
    const prompts = o.prompts.split('|').map((s) => s.trim());
    if (prompts.length < 2 || prompts.some((s) => s === '')) throw new UsageError(`${command}: --prompts must hold at least two non-empty prompts separated by '|', got '${o.prompts}'`);
    return { prompts, templates: undefined };
  }
  if (o.classes) return { prompts: o.classes, templates: o.template !== undefined ? [o.template] : undefined };
  throw new UsageError(`${command}: --model ${o.model} needs its classes as text: --prompts "a red crown|a brown crown" or --classes <file> [--template "a photo of a {}."]`);
}

async function exists(path: string): Promise<'file' | 'dir' | null> {
  try {
    return (await stat(path)).isDirectory() ? 'dir' : 'file';
  } catch {
    return null;
  }
}

export async function loadTokenizer(path: string | undefined, command: string): Promise<F.ClipTokenizer> {
  if (!path) throw new UsageError(`${command}: CLIP needs --tokenizer: OpenAI's bpe_simple_vocab_16e6.txt.gz, or a folder with Hugging Face's vocab.json and merges.txt`);
  const kind = await exists(path);
  if (kind === null) throw new UsageError(`${command}: --tokenizer '${path}' does not exist`);
  try {
    if (kind === 'dir') {
      for (const f of ['vocab.json', 'merges.txt']) {
        if ((await exists(join(path, f))) !== 'file') throw new UsageError(`${command}: --tokenizer folder '${path}' has no ${f} (a Hugging Face CLIP tokenizer has vocab.json and merges.txt)`);
      }
      return F.ClipTokenizer.fromHuggingFace(new Uint8Array(await readFile(join(path, 'vocab.json'))), new Uint8Array(await readFile(join(path, 'merges.txt'))));
    }
    return F.ClipTokenizer.fromBpe(new Uint8Array(await readFile(path)));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${command}: --tokenizer '${path}' cannot be read: ${(e as Error).message}`);
  }
}

async function readWeights(path: string, command: string): Promise<F.StateDict> {
  if ((await exists(path)) !== 'file') throw new UsageError(`${command}: --weights file '${path}' does not exist`);
  const bytes = new Uint8Array(await readFile(path));
  try {
    return extname(path).toLowerCase() === '.safetensors' ? await F.loadSafetensors(bytes) : await F.loadTorchCheckpoint(bytes);
  } catch (e) {
    throw new UsageError(`${command}: --weights file '${path}' cannot be read: ${(e as Error).message}`);
  }
}

export async function loadClipModel(o: ClipModelOptions, command: string): Promise<LoadedModel> {
  const { prompts, templates } = clipClasses(o, command);
  if (!o.weights && !o.randomWeights) {
    throw new UsageError(`${command}: --model ${o.model} needs --weights <OpenAI .pt state dict or Hugging Face CLIPModel .safetensors> (or --random-weights to try it out)`);
  }
  if (o.model === 'clip' && !o.weights) throw new UsageError(`${command}: --model clip takes its size from --weights; give them, or name a preset (${Object.keys(PRESETS).join(', ')})`);
  const tokenizer = await loadTokenizer(o.tokenizer, command);
  const dict = o.weights ? await readWeights(o.weights, command) : null;
  let model: F.CLIP;
  try {
    if (o.model === 'clip') model = F.clipFromStateDict(dict!);
    else {
      if (dict) checkPresetFits(o.model, dict, command);
      model = F.clip(F.CLIP_PRESETS[PRESETS[o.model]]);
      if (dict) model.loadStateDict(dict);
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${command}: --weights do not fit --model ${o.model}: ${(e as Error).message}`);
  }
  model.eval();
  let zs: F.ZeroShotClassifier;
  try {
    zs = new F.ZeroShotClassifier(model, { tokenizer, prompts, templates });
  } catch (e) {
    throw new UsageError(`${command}: ${(e as Error).message}`);
  }
  const vit = model.visual instanceof F.ClipVisionTransformer;
  const layer = o.targetLayer ?? (vit ? 'clip.visual.transformer.resblocks.-1.ln_1' : 'clip.visual.layer4');
  try {
    zs.getSubmodule(layer);
  } catch (e) {
    throw new UsageError(`${command}: --target-layer ${(e as Error).message}`);
  }
  return {
    model: zs.eval(), kind: vit ? 'vit' : 'resnet', numClasses: prompts.length, targetLayer: layer,
    reshapeTransform: vit ? F.vitReshapeTransform({ prefixTokens: 1 }) : null,
    patchSize: vit ? (model.visual as F.ClipVisionTransformer).patchSize : 32,
    norm: F.NORMALIZATIONS.clip, normSource: "CLIP: OpenAI's preprocessing",
    describe: `${o.model} zero-shot (${prompts.length} text classes${templates ? `, template '${templates[0]}'` : ''})`,
    classNames: prompts,
    clipInputSize: model.imageResolution,
  };
}

export const CLIP_CLI_OPTIONS = {
  tokenizer: { kind: 'string', help: "CLIP: OpenAI's bpe_simple_vocab_16e6.txt.gz, or a folder with Hugging Face's vocab.json + merges.txt" },
  prompts: { kind: 'string', help: 'CLIP: the classes as prompts separated by |, e.g. "a red crown|a brown crown"' },
  template: { kind: 'string', help: 'CLIP with --classes: prompt template with {} for the class name, e.g. "a photo of a {}."' },
} as const;

/**
 * A CAM of CLIP's centre crop (h×w over the size×size crop) in the original image's frame: the crop's place in the
 * resized image is filled, the cut-off borders are 0 (CLIP never saw them), then the whole is scaled to width×height.
 */
export function uncropCam(cam: Float32Array, h: number, w: number, cp: F.ClipPreprocessed, width: number, height: number): Float32Array {
  const n = cp.image.width;
  const crop = n === w && n === h ? cam : F.resizeBilinearCv(cam, w, h, 1, n, n);
  const { width: rw, height: rh } = cp.resized;
  const canvas = new Float32Array(rw * rh);
  for (let y = 0; y < n; y++) canvas.set(crop.subarray(y * n, (y + 1) * n), (y + cp.crop.top) * rw + cp.crop.left);
  return rw === width && rh === height ? canvas : F.resizeBilinearCv(canvas, rw, rh, 1, width, height);
}
