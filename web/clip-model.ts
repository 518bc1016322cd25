// A visitor's CLIP as a zero-shot classifier (models/clip/zero-shot.ts), as the command line's --model clip…
// (cli/clip-model.ts, which reads from disk): options JSON {"model": "clip" | a preset, "targetLayer"?,
// "visionHeads"?, "transformerHeads"?}, weights (OpenAI state dict or Hugging Face CLIPModel, .safetensors
// or .pth), the tokenizer (OpenAI's bpe_simple_vocab_16e6.txt(.gz), or Hugging Face's vocab.json + merges.txt)
// and the classes as prompts typed on the page, optionally put into a template ("a photo of a {}.").
import * as F from '../index';
import type { WebModel } from './engine';

export const CLIP_PRESETS: Record<string, F.ClipPresetName> = {
  'clip-vit-b32': 'ViT-B/32', 'clip-vit-b16': 'ViT-B/16', 'clip-vit-l14': 'ViT-L/14',
  'clip-vit-l14-336': 'ViT-L/14@336px', 'clip-rn50': 'RN50', 'clip-rn101': 'RN101',
};

export function isClipModelName(name: unknown): boolean {
  return name === 'clip' || (typeof name === 'string' && Object.hasOwn(CLIP_PRESETS, name));
}

export interface ClipOptions {
  model: string;
  targetLayer?: string;
  /** Heads of a CLIP not trained with OpenAI's width / 64 (tiny models); read from the weights otherwise. */
  visionHeads?: number;
  transformerHeads?: number;
}

export interface ClipFiles {
  weights: File | null;
  /** OpenAI's BPE file, or Hugging Face's pair. */
  bpe: File | null;
  vocab: File | null;
  merges: File | null;
}

/** Prompts typed one per line or separated by '|'; at least two (Finer-CAM compares classes). */
export function parsePrompts(text: string): string[] {
  const prompts = text.split(/\r?\n|\|/).map((s) => s.trim()).filter((s) => s !== '');
  if (prompts.length < 2) throw new Error(`a CLIP classifier needs at least two prompts (one per line or separated by '|'), got ${prompts.length}`);
  return prompts;
}

async function bytes(f: File): Promise<Uint8Array> {
  return new Uint8Array(await f.arrayBuffer());
}

async function readTokenizer(files: ClipFiles): Promise<F.ClipTokenizer> {
  try {
    if (files.bpe) return F.ClipTokenizer.fromBpe(await bytes(files.bpe));
    if (files.vocab && files.merges) return F.ClipTokenizer.fromHuggingFace(await bytes(files.vocab), await bytes(files.merges));
  } catch (e) {
    throw new Error(`the CLIP tokenizer cannot be read: ${(e as Error).message}`);
  }
  throw new Error("CLIP needs its tokenizer: OpenAI's bpe_simple_vocab_16e6.txt.gz, or Hugging Face's vocab.json and merges.txt");
}

export async function loadClipModel(opts: ClipOptions, files: ClipFiles, text: { prompts: string; template: string }, device: F.DeviceName): Promise<WebModel> {
  const prompts = parsePrompts(text.prompts);
  const template = text.template.trim();
  if (template !== '' && !template.includes('{}')) throw new Error(`the template must contain '{}' where each prompt goes, got '${template}'`);
  if (!files.weights) throw new Error(`'${opts.model}' needs its weights (.safetensors or .pth): without them it would explain random numbers`);
  const tokenizer = await readTokenizer(files);
  let dict: F.StateDict;
  try {
    const b = await bytes(files.weights);
    dict = /\.safetensors$/i.test(files.weights.name) ? await F.loadSafetensors(b) : await F.loadTorchCheckpoint(b);
  } catch (e) {
    throw new Error(`'${files.weights.name}' cannot be read as weights: ${(e as Error).message}`);
  }
  let clip: F.CLIP;
  try {
    if (opts.model === 'clip') clip = F.clipFromStateDict(dict, { visionHeads: opts.visionHeads, transformerHeads: opts.transformerHeads });
    else {
      clip = F.clip(F.CLIP_PRESETS[CLIP_PRESETS[opts.model]]);
      clip.loadStateDict(dict);
    }
  } catch (e) {
    throw new Error(`'${files.weights.name}' does not fit ${opts.model}: ${(e as Error).message}`);
  }
  if (device !== 'cpu') await clip.to(device);
  let zs: F.ZeroShotClassifier;
  try {
    zs = new F.ZeroShotClassifier(clip, { tokenizer, prompts, templates: template ? [template] : undefined });
  } catch (e) {
    clip.dispose();
    throw new Error(`the prompts: ${(e as Error).message}`);
  }
  const vit = clip.visual instanceof F.ClipVisionTransformer;
  const patch = vit ? (clip.visual as F.ClipVisionTransformer).patchSize : 32;
  return {
    model: zs.eval(), targetLayer: opts.targetLayer ?? (vit ? 'clip.visual.transformer.resblocks.-1.ln_1' : 'clip.visual.layer4'),
    classNames: prompts, norm: F.NORMALIZATIONS.clip, patchSize: patch,
    reshapeTransform: vit ? F.vitReshapeTransform({ prefixTokens: 1 }) : null, isVit: vit,
    clipSize: clip.imageResolution,
    describe: `${opts.model} zero-shot (${prompts.length} prompts${template ? `, template '${template}'` : ''})`,
  };
}
