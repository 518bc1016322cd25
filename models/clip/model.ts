// OpenAI's CLIP (clip/model.py) with its state-dict names: `visual` (ViT or ModifiedResNet), the causal text
// `transformer`, token_embedding, positional_embedding, ln_final, text_projection, logit_scale. forward(images, ids)
// returns logits_per_image (a Tensor, so hooks and CAMs see it); logits() returns both directions as OpenAI's forward.
import type { Tensor } from '../../core/tensor';
import { Module, STATE_DICT_VERSIONS, type LoadOptions } from '../../core/nn/module';
import { LayerNorm } from '../../core/nn/layers';
import { normal } from '../../core/nn/init';
import { full } from '../../core/ops/creation';
import { add, div, exp, mul, sqrt, square } from '../../core/ops/elementwise';
import { matmul } from '../../core/ops/matmul';
import { embedding, gather } from '../../core/ops/indexing';
import { argmax, sum } from '../../core/ops/reduce';
import { expand, reshape, transpose } from '../../core/ops/views';
import { fmtShape } from '../../core/shape';
import { ClipTransformer } from './layers';
import { ClipVisionTransformer } from './vision-transformer';
import { ModifiedResNet } from './modified-resnet';
import { checkClipConfig, CLIP_PRESETS, inferClipConfig, type ClipConfig, type ClipPresetName } from './config';
import { fromHfClip, isHfClipStateDict } from './hf-names';

class TokenEmbedding extends Module {
  readonly weight: Tensor;
  constructor(num: number, dim: number) {
    super();
    this.weight = this.addParameter('weight', normal([num, dim], 0.02))!;
  }
  forward(ids: Tensor): Tensor {
    return embedding(ids, this.weight);
  }
}

/** x / ‖x‖ along the last dimension. */
export function l2Normalize(x: Tensor): Tensor {
  return div(x, sqrt(sum(square(x), -1, true)));
}

// OpenAI's TorchScript-era checkpoints carry these as plain numbers; build_model drops them.
const NON_WEIGHT_KEYS = ['input_resolution', 'context_length', 'vocab_size'];

export class CLIP extends Module {
  readonly visual: ClipVisionTransformer | ModifiedResNet;
  readonly transformer: ClipTransformer;
  readonly tokenEmbedding: TokenEmbedding;
  readonly positionalEmbedding: Tensor;
  readonly lnFinal: LayerNorm;
  readonly textProjection: Tensor;
  readonly logitScale: Tensor;
  readonly config: Readonly<ClipConfig>;

  constructor(config: ClipConfig) {
    super();
    const { resnet, visionHeads } = checkClipConfig(config);
    this.config = Object.freeze({ ...config, visionLayers: Array.isArray(config.visionLayers) ? [...config.visionLayers] : config.visionLayers });
    const c = config;
    this.visual = this.addModule('visual', resnet
      ? new ModifiedResNet(c.visionLayers as number[], c.embedDim, visionHeads, c.imageResolution, c.visionWidth)
      : new ClipVisionTransformer(c.imageResolution, c.visionPatchSize as number, c.visionWidth, c.visionLayers as number, visionHeads, c.embedDim));
    this.transformer = this.addModule('transformer', new ClipTransformer(c.transformerWidth, c.transformerLayers, c.transformerHeads, true));
    this.tokenEmbedding = this.addModule('token_embedding', new TokenEmbedding(c.vocabSize, c.transformerWidth));
    this.positionalEmbedding = this.addParameter('positional_embedding', normal([c.contextLength, c.transformerWidth], 0.01))!;
    this.lnFinal = this.addModule('ln_final', new LayerNorm(c.transformerWidth));
    this.textProjection = this.addParameter('text_projection', normal([c.transformerWidth, c.embedDim], c.transformerWidth ** -0.5))!;
    this.logitScale = this.addParameter('logit_scale', full([], Math.log(1 / 0.07)))!;
  }

  get embedDim(): number {
    return this.config.embedDim;
  }
  get imageResolution(): number {
    return this.config.imageResolution;
  }
  get contextLength(): number {
    return this.config.contextLength;
  }

  /** Image features (N, embedDim), not normalised. */
  encodeImage(images: Tensor): Tensor {
    return this.visual.forward(images);
  }

  /** Text features (N, embedDim) at each row's end token (the largest id, as OpenAI takes it), not normalised. */
  encodeText(ids: Tensor): Tensor {
    const n = this.config.contextLength;
    if (ids.dtype !== 'int32' || ids.rank !== 2 || ids.shape[1] !== n) {
      throw new Error(`CLIP.encodeText: ids must be int32 token ids [N, ${n}] (ClipTokenizer.tokenize with contextLength ${n}), got ${ids.dtype} ${fmtShape(ids.shape)}`);
    }
    const W = this.config.transformerWidth;
    let x = add(this.tokenEmbedding.forward(ids), this.positionalEmbedding);
    x = this.lnFinal.forward(this.transformer.forward(x));
    const N = ids.shape[0];
    const at = expand(reshape(argmax(ids, -1), [N, 1, 1]), [N, 1, W]);
    return matmul(reshape(gather(x, 1, at), [N, W]), this.textProjection);
  }

  /** OpenAI's forward: exp(logit_scale) · cosine similarities, per image (N, T) and per text (T, N). */
  logits(images: Tensor, ids: Tensor): { logitsPerImage: Tensor; logitsPerText: Tensor } {
    const img = l2Normalize(this.encodeImage(images));
    const txt = l2Normalize(this.encodeText(ids));
    const logitsPerImage = mul(exp(this.logitScale), matmul(img, transpose(txt, 0, 1)));
    return { logitsPerImage, logitsPerText: transpose(logitsPerImage, 0, 1) };
  }

  /** logits_per_image (N images, T texts). */
  forward(images: Tensor, ids: Tensor): Tensor {
    return this.logits(images, ids).logitsPerImage;
  }

  /** OpenAI names; Hugging Face CLIPModel names are mapped (hf-names.ts); TorchScript-era extra numbers are dropped. */
  override loadStateDict(dict: Record<string, Tensor>, opts: LoadOptions = {}): { missingKeys: string[]; unexpectedKeys: string[] } {
    return super.loadStateDict(prepareClipStateDict(dict), opts);
  }
}

export function prepareClipStateDict(dict: Record<string, Tensor>): Record<string, Tensor> {
  if (dict === null || typeof dict !== 'object') throw new TypeError('CLIP: the state dict must be an object of tensors');
  const named = isHfClipStateDict(dict) ? fromHfClip(dict) : dict;
  const out: Record<string, Tensor> = Object.create(null);
  for (const k of Object.keys(named)) {
    if (!NON_WEIGHT_KEYS.includes(k)) out[k] = Object.getOwnPropertyDescriptor(named, k)!.value;
  }
  // the module versions a .pth recorded (BatchNorm's num_batches_tracked rule) travel with the dict
  const versions = (dict as Record<PropertyKey, unknown>)[STATE_DICT_VERSIONS];
  if (versions !== undefined) Object.defineProperty(out, STATE_DICT_VERSIONS, { value: versions, enumerable: true, writable: true, configurable: true });
  return out;
}

export function clip(config: ClipConfig): CLIP {
  return new CLIP(config);
}

/** OpenAI's build_model: the config inferred from the shapes, then the weights loaded (strictly). Eval mode. */
export function clipFromStateDict(dict: Record<string, Tensor>, opts: { visionHeads?: number; transformerHeads?: number } = {}): CLIP {
  const sd = prepareClipStateDict(dict);
  const model = new CLIP(inferClipConfig(sd, opts));
  model.loadStateDict(sd);
  return model.eval();
}

const preset = (name: ClipPresetName) => (): CLIP => new CLIP(CLIP_PRESETS[name]);
export const clipVitB32 = preset('ViT-B/32');
export const clipVitB16 = preset('ViT-B/16');
export const clipVitL14 = preset('ViT-L/14');
export const clipVitL14At336 = preset('ViT-L/14@336px');
export const clipRN50 = preset('RN50');
export const clipRN101 = preset('RN101');
