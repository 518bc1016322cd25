// The transformer pieces of OpenAI's clip/model.py with its parameter names: QuickGELU, nn.MultiheadAttention's
// packed in_proj_weight/in_proj_bias + out_proj, ResidualAttentionBlock (ln_1, attn, ln_2, mlp.c_fc/c_proj) and
// Transformer (resblocks). Unlike OpenAI's sequence-first (L, N, D) layout, everything here runs batch-first
// (N, L, D): the numbers are the same, and a block's output is what vitReshapeTransform expects.
import type { Tensor } from '../../core/tensor';
import { Module } from '../../core/nn/module';
import { ModuleList } from '../../core/nn/containers';
import { LayerNorm, Linear } from '../../core/nn/layers';
import { normal } from '../../core/nn/init';
import { zeros } from '../../core/ops/creation';
import { add, mul, sigmoid } from '../../core/ops/elementwise';
import { linear } from '../../core/ops/matmul';
import { scaledDotProductAttention } from '../../core/ops/attention';
import { permute, reshape, select, transpose } from '../../core/ops/views';
import { fmtShape } from '../../core/shape';

/** x·sigmoid(1.702·x), CLIP's GELU approximation (its weights were trained with it). */
export class QuickGELU extends Module {
  forward(x: Tensor): Tensor {
    return mul(x, sigmoid(mul(x, 1.702)));
  }
}

/** torch.nn.MultiheadAttention(d, heads) for self-attention, batch-first, optionally causal. */
export class ClipMultiheadAttention extends Module {
  readonly inProjWeight: Tensor;
  readonly inProjBias: Tensor;
  readonly outProj: Linear;
  readonly headDim: number;
  constructor(readonly embedDim: number, readonly numHeads: number) {
    super();
    if (!Number.isInteger(numHeads) || numHeads < 1 || embedDim % numHeads !== 0) {
      throw new RangeError(`ClipMultiheadAttention: heads (${numHeads}) must be a positive integer dividing the width (${embedDim})`);
    }
    this.headDim = embedDim / numHeads;
    this.inProjWeight = this.addParameter('in_proj_weight', normal([3 * embedDim, embedDim], embedDim ** -0.5))!;
    this.inProjBias = this.addParameter('in_proj_bias', zeros([3 * embedDim]))!;
    this.outProj = this.addModule('out_proj', new Linear(embedDim, embedDim));
  }
  forward(x: Tensor, causal = false): Tensor {
    const [N, L, D] = x.shape;
    // [N, L, 3D] → [3, N, heads, L, hd]
    const qkv = permute(reshape(linear(x, this.inProjWeight, this.inProjBias), [N, L, 3, this.numHeads, this.headDim]), [2, 0, 3, 1, 4]);
    const out = scaledDotProductAttention(select(qkv, 0, 0), select(qkv, 0, 1), select(qkv, 0, 2), { isCausal: causal });
    return this.outProj.forward(reshape(transpose(out, 1, 2), [N, L, D]));
  }
}

export class ClipMlp extends Module {
  readonly cFc: Linear;
  readonly gelu: QuickGELU;
  readonly cProj: Linear;
  constructor(width: number) {
    super();
    this.cFc = this.addModule('c_fc', new Linear(width, width * 4));
    this.gelu = this.addModule('gelu', new QuickGELU());
    this.cProj = this.addModule('c_proj', new Linear(width * 4, width));
  }
  forward(x: Tensor): Tensor {
    return this.cProj.forward(this.gelu.forward(this.cFc.forward(x)));
  }
}

export class ResidualAttentionBlock extends Module {
  readonly attn: ClipMultiheadAttention;
  readonly ln1: LayerNorm;
  readonly mlp: ClipMlp;
  readonly ln2: LayerNorm;
  constructor(width: number, heads: number, readonly causal: boolean) {
    super();
    this.attn = this.addModule('attn', new ClipMultiheadAttention(width, heads));
    this.ln1 = this.addModule('ln_1', new LayerNorm(width));
    this.mlp = this.addModule('mlp', new ClipMlp(width));
    this.ln2 = this.addModule('ln_2', new LayerNorm(width));
  }
  forward(x: Tensor): Tensor {
    x = add(x, this.attn.forward(this.ln1.forward(x), this.causal));
    return add(x, this.mlp.forward(this.ln2.forward(x)));
  }
}

/** OpenAI's Transformer: `resblocks`, run in order on (N, L, width). `causal` is the text tower's attention mask. */
export class ClipTransformer extends Module {
  readonly resblocks: ModuleList;
  constructor(readonly width: number, readonly layers: number, readonly heads: number, causal = false) {
    super();
    this.resblocks = this.addModule('resblocks', new ModuleList(Array.from({ length: layers }, () => new ResidualAttentionBlock(width, heads, causal))));
  }
  forward(x: Tensor): Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.width) throw new Error(`ClipTransformer: expected (batch, tokens, ${this.width}), got ${fmtShape(x.shape)}`);
    for (const blk of this.resblocks) x = blk.forward(x);
    return x;
  }
}
