// CLIP as a classifier whose classes are text prompts: forward(images) = exp(logit_scale) · normalise(image features) ·
// normalise(class text features)ᵀ, so every CAM method and FinerCAM explains it like any N×K classifier. With templates,
// a class's text feature is the mean of its normalised template embeddings, normalised again (CLIP's
// prompt-engineering notebook, zeroshot_classifier).
import { Tensor } from '../../core/tensor';
import { Module } from '../../core/nn/module';
import { noGrad } from '../../core/grad-mode';
import { tidy } from '../../core/scope';
import { exp, mul } from '../../core/ops/elementwise';
import { matmul } from '../../core/ops/matmul';
import { mean } from '../../core/ops/reduce';
import { stack } from '../../core/ops/indexing';
import { transpose } from '../../core/ops/views';
import { fmtShape } from '../../core/shape';
import { CLIP, l2Normalize } from './model';
import type { ClipTokenizer } from './tokenizer';

export interface ZeroShotPrompts {
  tokenizer: ClipTokenizer;
  /** One entry per class: the prompt itself, or with `templates` the class name put into each template. */
  prompts: readonly string[];
  /** E.g. ['a photo of a {}.', 'a drawing of a {}.']: '{}' is replaced by each class name. */
  templates?: readonly string[];
  /** Cut over-long prompts instead of throwing (clip.tokenize's truncate). */
  truncate?: boolean;
}

/** Normalised class text features (K, embedDim) from prompts, computed without gradients. */
export function zeroShotTextFeatures(model: CLIP, p: ZeroShotPrompts): Tensor {
  const who = 'ZeroShotClassifier';
  if (!p.tokenizer || typeof p.tokenizer.tokenize !== 'function') throw new TypeError(`${who}: tokenizer must be a ClipTokenizer (ClipTokenizer.fromBpe / fromHuggingFace)`);
  if (!Array.isArray(p.prompts) || p.prompts.length === 0) throw new Error(`${who}: prompts must be a non-empty array of class prompts, got ${Array.isArray(p.prompts) ? 'an empty array' : typeof p.prompts}`);
  p.prompts.forEach((s, i) => {
    if (typeof s !== 'string' || s.trim() === '') throw new TypeError(`${who}: prompts[${i}] must be a non-empty string, got ${JSON.stringify(s)}`);
  });
  const templates = p.templates ?? null;
  if (templates !== null) {
    if (!Array.isArray(templates) || templates.length === 0) throw new Error(`${who}: templates must be a non-empty array of strings with '{}', e.g. ['a photo of a {}.']`);
    templates.forEach((t, i) => {
      if (typeof t !== 'string' || !t.includes('{}')) throw new TypeError(`${who}: templates[${i}] must be a string containing '{}' (where the class name goes), got ${JSON.stringify(t)}`);
    });
  }
  const opts = { contextLength: model.contextLength, truncate: p.truncate ?? false, device: model.textProjection.device };
  // tidy: the ids and per-template features are freed at once (GPU memory), only the class features stay
  return tidy(() => noGrad(() => {
    if (templates === null) return l2Normalize(model.encodeText(p.tokenizer.tokenize(p.prompts, opts)));
    const perClass = p.prompts.map((name) => {
      const ids = p.tokenizer.tokenize(templates.map((t) => t.replaceAll('{}', name)), opts);
      return l2Normalize(mean(l2Normalize(model.encodeText(ids)), 0));
    });
    return stack(perClass, 0);
  }));
}

export class ZeroShotClassifier extends Module {
  readonly clip: CLIP;
  /** (K, embedDim), normalised; a buffer, so it moves with .to(device) and is saved with the state dict. */
  readonly textFeatures: Tensor;

  constructor(model: CLIP, text: Tensor | ZeroShotPrompts) {
    super();
    if (!(model instanceof CLIP)) throw new TypeError('ZeroShotClassifier: model must be a CLIP (clip(), clipFromStateDict or a preset)');
    this.clip = this.addModule('clip', model);
    let feats: Tensor;
    if (text instanceof Tensor) {
      if (text.rank !== 2 || text.shape[0] === 0 || text.shape[1] !== model.embedDim) {
        throw new Error(`ZeroShotClassifier: textFeatures must be (classes ≥ 1, ${model.embedDim}) — the image tower's embedDim — got ${fmtShape(text.shape)}`);
      }
      feats = noGrad(() => l2Normalize(text.detach()));
    } else if (text && typeof text === 'object') {
      feats = zeroShotTextFeatures(model, text);
    } else {
      throw new TypeError('ZeroShotClassifier: expected text features (a Tensor) or {tokenizer, prompts, templates?}');
    }
    this.textFeatures = this.addBuffer('text_features', feats)!;
  }

  get numClasses(): number {
    return this.textFeatures.shape[0];
  }

  /** Logits (N, classes): CLIP's logits_per_image against the class text features. */
  forward(images: Tensor): Tensor {
    const img = l2Normalize(this.clip.encodeImage(images));
    return mul(exp(this.clip.logitScale), matmul(img, transpose(this.textFeatures, 0, 1)));
  }
}
