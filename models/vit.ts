// Vision Transformer with facebookresearch/dinov2's DinoVisionTransformer semantics and parameter names
// (shared by timm's ViT): patch embedding, class token, optional register tokens, position embeddings
// interpolated exactly as DINOv2's interpolate_pos_encoding, pre-norm blocks with LayerScale, and the
// Mlp or SwiGLU feed-forward.
import { Tensor } from '../core/tensor';
import { Module } from '../core/nn/module';
import { ModuleList } from '../core/nn/containers';
import { Conv2d, GELU, Identity, LayerNorm, LayerScale, Linear } from '../core/nn/layers';
import { vitNormal } from '../core/nn/init';
import { zeros } from '../core/ops/creation';
import { add, mul, silu } from '../core/ops/elementwise';
import { matmul } from '../core/ops/matmul';
import { mean } from '../core/ops/reduce';
import { expand, flatten, permute, reshape, select, slice, transpose } from '../core/ops/views';
import { softmax } from '../core/ops/softmax';
import { concat } from '../core/ops/indexing';
import { interpolate } from '../core/ops/interpolate';
import { fmtShape } from '../core/shape';
import type { LoadOptions } from '../core/nn/module';
import { fromHfDinov2, isHfDinov2StateDict } from './hf-names';

export class PatchEmbed extends Module {
  readonly proj: Conv2d;
  readonly norm: Identity;
  constructor(readonly patchSize: number, inChans: number, embedDim: number) {
    super();
    this.proj = this.addModule('proj', new Conv2d(inChans, embedDim, patchSize, { stride: patchSize }));
    this.norm = this.addModule('norm', new Identity());
  }
  /** [B, C, H, W] → [B, (H/p)·(W/p), D] */
  forward(x: Tensor): Tensor {
    const y = this.proj.forward(x);
    return this.norm.forward(transpose(flatten(y, 2), 1, 2));
  }
}

/** Multi-head self-attention with a packed qkv projection (DINOv2/timm `attn.qkv`, `attn.proj`). */
export class Attention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly headDim: number;
  readonly scale: number;
  constructor(readonly dim: number, readonly numHeads: number, opts: { qkvBias?: boolean; projBias?: boolean } = {}) {
    super();
    if (dim % numHeads !== 0) throw new RangeError(`Attention: dim (${dim}) must be divisible by numHeads (${numHeads})`);
    this.headDim = dim / numHeads;
    this.scale = this.headDim ** -0.5;
    this.qkv = this.addModule('qkv', new Linear(dim, dim * 3, { bias: opts.qkvBias ?? true }));
    this.proj = this.addModule('proj', new Linear(dim, dim, { bias: opts.projBias ?? true }));
  }
  forward(x: Tensor): Tensor {
    const [B, N, C] = x.shape;
    // [B, N, 3, heads, hd] → [3, B, heads, N, hd]
    const qkv = permute(reshape(this.qkv.forward(x), [B, N, 3, this.numHeads, this.headDim]), [2, 0, 3, 1, 4]);
    const q = mul(select(qkv, 0, 0), this.scale);
    const k = select(qkv, 0, 1);
    const v = select(qkv, 0, 2);
    const attn = softmax(matmul(q, transpose(k, -2, -1)), -1);
    const out = reshape(transpose(matmul(attn, v), 1, 2), [B, N, C]);
    return this.proj.forward(out);
  }
}

export class Mlp extends Module {
  readonly fc1: Linear;
  readonly act: GELU;
  readonly fc2: Linear;
  constructor(inFeatures: number, hiddenFeatures: number, bias = true) {
    super();
    this.fc1 = this.addModule('fc1', new Linear(inFeatures, hiddenFeatures, { bias }));
    this.act = this.addModule('act', new GELU());
    this.fc2 = this.addModule('fc2', new Linear(hiddenFeatures, inFeatures, { bias }));
  }
  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.act.forward(this.fc1.forward(x)));
  }
}

/** DINOv2's SwiGLUFFNFused (ViT-g/14): hidden rounded to (int(h·2/3) + 7) // 8 · 8; w3(silu(x1) · x2). */
export class SwiGLUFFN extends Module {
  readonly w12: Linear;
  readonly w3: Linear;
  readonly hidden: number;
  constructor(inFeatures: number, hiddenFeatures: number, bias = true) {
    super();
    this.hidden = Math.floor((Math.floor((hiddenFeatures * 2) / 3) + 7) / 8) * 8;
    this.w12 = this.addModule('w12', new Linear(inFeatures, 2 * this.hidden, { bias }));
    this.w3 = this.addModule('w3', new Linear(this.hidden, inFeatures, { bias }));
  }
  forward(x: Tensor): Tensor {
    const x12 = this.w12.forward(x);
    const x1 = slice(x12, -1, 0, this.hidden);
    const x2 = slice(x12, -1, this.hidden, 2 * this.hidden);
    return this.w3.forward(mul(silu(x1), x2));
  }
}

export class Block extends Module {
  readonly norm1: LayerNorm; readonly attn: Attention; readonly ls1: Module;
  readonly norm2: LayerNorm; readonly mlp: Module; readonly ls2: Module;
  constructor(dim: number, numHeads: number, o: { mlpRatio: number; qkvBias: boolean; projBias: boolean; ffnBias: boolean; initValues: number | null; ffnLayer: 'mlp' | 'swiglufused' }) {
    super();
    this.norm1 = this.addModule('norm1', new LayerNorm(dim, { eps: 1e-6 }));
    this.attn = this.addModule('attn', new Attention(dim, numHeads, { qkvBias: o.qkvBias, projBias: o.projBias }));
    this.ls1 = this.addModule('ls1', o.initValues ? new LayerScale(dim, o.initValues) : new Identity());
    this.norm2 = this.addModule('norm2', new LayerNorm(dim, { eps: 1e-6 }));
    const hidden = Math.floor(dim * o.mlpRatio);
    this.mlp = this.addModule('mlp', o.ffnLayer === 'mlp' ? new Mlp(dim, hidden, o.ffnBias) : new SwiGLUFFN(dim, hidden, o.ffnBias));
    this.ls2 = this.addModule('ls2', o.initValues ? new LayerScale(dim, o.initValues) : new Identity());
  }
  forward(x: Tensor): Tensor {
    x = add(x, this.ls1.forward(this.attn.forward(this.norm1.forward(x))));
    return add(x, this.ls2.forward(this.mlp.forward(this.norm2.forward(x))));
  }
}

export interface VisionTransformerOptions {
  imgSize?: number;
  patchSize?: number;
  inChans?: number;
  embedDim?: number;
  depth?: number;
  numHeads?: number;
  mlpRatio?: number;
  qkvBias?: boolean;
  projBias?: boolean;
  ffnBias?: boolean;
  /** LayerScale init; null or 0 → no LayerScale (timm's plain ViT). */
  initValues?: number | null;
  ffnLayer?: 'mlp' | 'swiglufused';
  numRegisterTokens?: number;
  /** DINOv2's offset added to the grid size when computing the interpolation scale (0.1; 0 → use size). */
  interpolateOffset?: number;
  interpolateAntialias?: boolean;
  /** Classification head size; 0 (DINOv2 backbones) → forward returns the normalised class token. */
  numClasses?: number;
}

export interface ViTFeatures {
  xNormClstoken: Tensor;
  xNormRegtokens: Tensor;
  xNormPatchtokens: Tensor;
  xPrenorm: Tensor;
}

export class VisionTransformer extends Module {
  readonly patchEmbed: PatchEmbed;
  readonly clsToken: Tensor;
  readonly posEmbed: Tensor;
  readonly registerTokens: Tensor | null;
  readonly maskToken: Tensor;
  readonly blocks: ModuleList;
  readonly norm: LayerNorm;
  readonly head: Module;
  readonly patchSize: number;
  readonly embedDim: number;
  readonly numRegisterTokens: number;
  readonly interpolateOffset: number;
  readonly interpolateAntialias: boolean;
  readonly inChans: number;

  constructor(o: VisionTransformerOptions = {}) {
    super();
    const imgSize = o.imgSize ?? 224;
    this.patchSize = o.patchSize ?? 16;
    this.inChans = o.inChans ?? 3;
    const D = (this.embedDim = o.embedDim ?? 768);
    const depth = o.depth ?? 12;
    const heads = o.numHeads ?? 12;
    this.numRegisterTokens = o.numRegisterTokens ?? 0;
    this.interpolateOffset = o.interpolateOffset ?? 0.1;
    this.interpolateAntialias = o.interpolateAntialias ?? false;
    for (const [k, v] of Object.entries({ imgSize, patchSize: this.patchSize, embedDim: D, depth, numHeads: heads })) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`visionTransformer: ${k} must be a positive integer, got ${v}`);
    }
    if (imgSize % this.patchSize !== 0) throw new RangeError(`visionTransformer: imgSize (${imgSize}) must be a multiple of patchSize (${this.patchSize})`);
    const numPatches = (imgSize / this.patchSize) ** 2;
    this.patchEmbed = this.addModule('patch_embed', new PatchEmbed(this.patchSize, this.inChans, D));
    this.clsToken = this.addParameter('cls_token', vitNormal([1, 1, D], 1e-6))!;
    this.posEmbed = this.addParameter('pos_embed', vitNormal([1, numPatches + 1, D]))!;
    this.registerTokens = this.numRegisterTokens > 0 ? this.addParameter('register_tokens', vitNormal([1, this.numRegisterTokens, D], 1e-6)) : null;
    this.maskToken = this.addParameter('mask_token', zeros([1, D]))!;
    const blockOpts = {
      mlpRatio: o.mlpRatio ?? 4,
      qkvBias: o.qkvBias ?? true,
      projBias: o.projBias ?? true,
      ffnBias: o.ffnBias ?? true,
      initValues: o.initValues ?? null,
      ffnLayer: o.ffnLayer ?? 'mlp',
    };
    this.blocks = this.addModule('blocks', new ModuleList(Array.from({ length: depth }, () => new Block(D, heads, blockOpts))));
    this.norm = this.addModule('norm', new LayerNorm(D, { eps: 1e-6 }));
    const nc = o.numClasses ?? 0;
    this.head = this.addModule('head', nc > 0 ? new Linear(D, nc) : new Identity());
  }

  /** DINOv2's interpolate_pos_encoding: bicubic resize of the patch position grid to the input's grid. */
  interpolatePosEncoding(numTokens: number, h: number, w: number): Tensor {
    const npatch = numTokens - 1;
    const N = this.posEmbed.shape[1] - 1;
    if (npatch === N && h === w) return this.posEmbed;
    const D = this.embedDim;
    const classPos = slice(this.posEmbed, 1, 0, 1);
    const patchPos = slice(this.posEmbed, 1, 1, null);
    const h0 = h / this.patchSize;
    const w0 = w / this.patchSize;
    const M = Math.round(Math.sqrt(N));
    if (M * M !== N) throw new Error(`VisionTransformer: pos_embed has ${N} patch positions, not a square grid`);
    const grid = permute(reshape(patchPos, [1, M, M, D]), [0, 3, 1, 2]);
    const resized = this.interpolateOffset
      ? interpolate(grid, { scaleFactor: [(h0 + this.interpolateOffset) / M, (w0 + this.interpolateOffset) / M], mode: 'bicubic', antialias: this.interpolateAntialias })
      : interpolate(grid, { size: [h0, w0], mode: 'bicubic', antialias: this.interpolateAntialias });
    if (resized.shape[2] !== h0 || resized.shape[3] !== w0) {
      throw new Error(`VisionTransformer: interpolated position grid is ${resized.shape[2]}×${resized.shape[3]}, expected ${h0}×${w0}`);
    }
    const flat = reshape(permute(resized, [0, 2, 3, 1]), [1, h0 * w0, D]);
    return concat([classPos, flat], 1);
  }

  /** Patch tokens with class token (and registers), position embeddings added: [B, 1 + R + N, D]. */
  prepareTokens(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.inChans) {
      throw new Error(`VisionTransformer: expected input [B, ${this.inChans}, H, W], got ${fmtShape(x.shape)}`);
    }
    const [B, , H, W] = x.shape;
    if (H % this.patchSize !== 0 || W % this.patchSize !== 0) {
      throw new Error(`VisionTransformer: input height and width (${H}×${W}) must be multiples of the patch size ${this.patchSize}`);
    }
    let t = this.patchEmbed.forward(x);
    t = concat([expand(this.clsToken, [B, -1, -1]), t], 1);
    t = add(t, this.interpolatePosEncoding(t.shape[1], H, W));
    if (this.registerTokens) {
      t = concat([slice(t, 1, 0, 1), expand(this.registerTokens, [B, -1, -1]), slice(t, 1, 1, null)], 1);
    }
    return t;
  }

  forwardFeatures(x: Tensor): ViTFeatures {
    let t = this.prepareTokens(x);
    for (const blk of this.blocks) t = blk.forward(t);
    const xn = this.norm.forward(t);
    const R = this.numRegisterTokens;
    return {
      xNormClstoken: select(xn, 1, 0),
      xNormRegtokens: slice(xn, 1, 1, R + 1),
      xNormPatchtokens: slice(xn, 1, R + 1, null),
      xPrenorm: t,
    };
  }

  forward(x: Tensor): Tensor {
    return this.head.forward(this.forwardFeatures(x).xNormClstoken);
  }

  /** Accepts DINOv2/timm names, and Hugging Face Dinov2Model names through the mapping in hf-names.ts. */
  override loadStateDict(dict: Record<string, Tensor>, opts: LoadOptions = {}): { missingKeys: string[]; unexpectedKeys: string[] } {
    return super.loadStateDict(isHfDinov2StateDict(dict) ? fromHfDinov2(dict) : dict, opts);
  }

  /** Number of tokens before the patch tokens (class token + registers), for CAM reshape transforms. */
  get numPrefixTokens(): number {
    return 1 + this.numRegisterTokens;
  }
}

export function visionTransformer(o: VisionTransformerOptions = {}): VisionTransformer {
  return new VisionTransformer(o);
}

type PresetOptions = Partial<VisionTransformerOptions>;

// DINOv2 hub models: img 518, patch 14, LayerScale 1.0; registers variants use antialias and offset 0.
function dinov2(base: VisionTransformerOptions, reg: boolean, o: PresetOptions): VisionTransformer {
  return visionTransformer({
    imgSize: 518, patchSize: 14, mlpRatio: 4, initValues: 1.0, ffnLayer: 'mlp',
    numRegisterTokens: reg ? 4 : 0, interpolateAntialias: reg, interpolateOffset: reg ? 0.0 : 0.1,
    ...base, ...o,
  });
}
const S = { embedDim: 384, depth: 12, numHeads: 6 };
const B_ = { embedDim: 768, depth: 12, numHeads: 12 };
const L = { embedDim: 1024, depth: 24, numHeads: 16 };
const G = { embedDim: 1536, depth: 40, numHeads: 24, ffnLayer: 'swiglufused' as const };
export const dinov2Vits14 = (o: PresetOptions = {}): VisionTransformer => dinov2(S, false, o);
export const dinov2Vitb14 = (o: PresetOptions = {}): VisionTransformer => dinov2(B_, false, o);
export const dinov2Vitl14 = (o: PresetOptions = {}): VisionTransformer => dinov2(L, false, o);
export const dinov2Vitg14 = (o: PresetOptions = {}): VisionTransformer => dinov2(G, false, o);
export const dinov2Vits14Reg = (o: PresetOptions = {}): VisionTransformer => dinov2(S, true, o);
export const dinov2Vitb14Reg = (o: PresetOptions = {}): VisionTransformer => dinov2(B_, true, o);
export const dinov2Vitl14Reg = (o: PresetOptions = {}): VisionTransformer => dinov2(L, true, o);
export const dinov2Vitg14Reg = (o: PresetOptions = {}): VisionTransformer => dinov2(G, true, o);

// timm-style plain ViTs (no LayerScale, classification head, size-based position interpolation).
function plainVit(base: VisionTransformerOptions, o: PresetOptions): VisionTransformer {
  return visionTransformer({ imgSize: 224, patchSize: 16, mlpRatio: 4, initValues: null, interpolateOffset: 0, numClasses: 1000, ...base, ...o });
}
export const vitTiny16 = (o: PresetOptions = {}): VisionTransformer => plainVit({ embedDim: 192, depth: 12, numHeads: 3 }, o);
export const vitSmall16 = (o: PresetOptions = {}): VisionTransformer => plainVit({ embedDim: 384, depth: 12, numHeads: 6 }, o);
export const vitBase16 = (o: PresetOptions = {}): VisionTransformer => plainVit({ embedDim: 768, depth: 12, numHeads: 12 }, o);

/**
 * The seed's linear probe (generate_cams.py's ModifiedDINO): a Linear on the mean of the normalised
 * patch tokens ('patch-mean'), or on the class token ('cls'). Submodules: `backbone`, `classifier`.
 */
export class LinearProbe extends Module {
  readonly backbone: VisionTransformer;
  readonly classifier: Linear;
  readonly pool: 'patch-mean' | 'cls';
  constructor(backbone: VisionTransformer, numClasses: number, opts: { pool?: 'patch-mean' | 'cls' } = {}) {
    super();
    if (!(backbone instanceof VisionTransformer)) throw new TypeError('LinearProbe: backbone must be a VisionTransformer');
    this.pool = opts.pool ?? 'patch-mean';
    if (this.pool !== 'patch-mean' && this.pool !== 'cls') throw new TypeError(`LinearProbe: pool must be 'patch-mean' or 'cls', got ${JSON.stringify(opts.pool)}`);
    this.backbone = this.addModule('backbone', backbone);
    this.classifier = this.addModule('classifier', new Linear(backbone.embedDim, numClasses));
  }
  features(x: Tensor): Tensor {
    const f = this.backbone.forwardFeatures(x);
    return this.pool === 'cls' ? f.xNormClstoken : mean(f.xNormPatchtokens, 1);
  }
  forward(x: Tensor): Tensor {
    return this.classifier.forward(this.features(x));
  }
}

