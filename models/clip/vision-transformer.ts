// OpenAI's clip/model.py VisionTransformer: conv1 (no bias) patchify, class_embedding, positional_embedding, ln_pre,
// transformer, ln_post on the class token, projection `proj`. Batch-first, so
// `visual.transformer.resblocks.-1.ln_1` gives (N, 1 + grid², width) for vitReshapeTransform({ prefixTokens: 1 }).
import type { Tensor } from '../../core/tensor';
import { Module } from '../../core/nn/module';
import { Conv2d, LayerNorm } from '../../core/nn/layers';
import { normal } from '../../core/nn/init';
import { add, } from '../../core/ops/elementwise';
import { matmul } from '../../core/ops/matmul';
import { concat } from '../../core/ops/indexing';
import { expand, flatten, reshape, select, transpose } from '../../core/ops/views';
import { fmtShape } from '../../core/shape';
import { ClipTransformer } from './layers';

export class ClipVisionTransformer extends Module {
  readonly conv1: Conv2d;
  readonly classEmbedding: Tensor;
  readonly positionalEmbedding: Tensor;
  readonly lnPre: LayerNorm;
  readonly transformer: ClipTransformer;
  readonly lnPost: LayerNorm;
  readonly proj: Tensor;
  readonly grid: number;
  constructor(readonly inputResolution: number, readonly patchSize: number, readonly width: number, layers: number, heads: number, readonly outputDim: number) {
    super();
    if (inputResolution % patchSize !== 0) throw new RangeError(`clip: imageResolution (${inputResolution}) must be a multiple of visionPatchSize (${patchSize})`);
    this.grid = inputResolution / patchSize;
    const scale = width ** -0.5;
    this.conv1 = this.addModule('conv1', new Conv2d(3, width, patchSize, { stride: patchSize, bias: false }));
    this.classEmbedding = this.addParameter('class_embedding', normal([width], scale))!;
    this.positionalEmbedding = this.addParameter('positional_embedding', normal([this.grid ** 2 + 1, width], scale))!;
    this.lnPre = this.addModule('ln_pre', new LayerNorm(width));
    this.transformer = this.addModule('transformer', new ClipTransformer(width, layers, heads));
    this.lnPost = this.addModule('ln_post', new LayerNorm(width));
    this.proj = this.addParameter('proj', normal([width, outputDim], scale))!;
  }

  /** Tokens after the transformer, before ln_post: (N, 1 + grid², width). */
  forwardTokens(x: Tensor): Tensor {
    const r = this.inputResolution;
    if (x.rank !== 4 || x.shape[1] !== 3 || x.shape[2] !== r || x.shape[3] !== r) {
      throw new Error(`CLIP visual: expected images [N, 3, ${r}, ${r}] (the model's imageResolution), got ${fmtShape(x.shape)}`);
    }
    const N = x.shape[0];
    let t = transpose(flatten(this.conv1.forward(x), 2), 1, 2);
    t = concat([expand(reshape(this.classEmbedding, [1, 1, this.width]), [N, 1, this.width]), t], 1);
    t = this.lnPre.forward(add(t, this.positionalEmbedding));
    return this.transformer.forward(t);
  }

  /** Image features (N, outputDim): ln_post of the class token, times proj. */
  forward(x: Tensor): Tensor {
    return matmul(this.lnPost.forward(select(this.forwardTokens(x), 1, 0)), this.proj);
  }
}
