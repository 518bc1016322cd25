// The layers models are built from. Each forward is one functional op (core/ops) so the gradient rules
// live in one place; the layers only own parameters under PyTorch's names.
import { Tensor } from '../tensor';
import { Module } from './module';
import { defaultWeight, ones, zeros } from './init';
import { full } from '../ops/creation';
import { add, gelu, mul, relu } from '../ops/elementwise';
import { linear } from '../ops/matmul';
import { conv2d } from '../ops/conv';
import { adaptiveAvgPool2d, maxPool2d } from '../ops/pool';
import { batchNorm, layerNorm } from '../ops/norm';
import { fmtShape, pair } from '../shape';
import { noGrad } from '../grad-mode';

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') {
    super();
  }
  forward(x: Tensor): Tensor {
    return gelu(x, { approximate: this.approximate });
  }
}

/** Identity in eval mode (the only mode CAM uses); training-mode dropout is not implemented. */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout: p must be in [0, 1], got ${p}`);
  }
  forward(x: Tensor): Tensor {
    if (this.training && this.p > 0) {
      throw new Error('Dropout: training-mode dropout is not implemented; call model.eval() or use p = 0');
    }
    return x;
  }
}

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean } = {}) {
    super();
    checkPositiveInt(inFeatures, 'Linear: inFeatures');
    checkPositiveInt(outFeatures, 'Linear: outFeatures');
    this.weight = this.addParameter('weight', defaultWeight([outFeatures, inFeatures], inFeatures))!;
    this.bias = opts.bias === false ? null : this.addParameter('bias', defaultWeight([outFeatures], inFeatures));
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
  bias?: boolean;
}

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: number | [number, number], opts: Conv2dOptions = {}) {
    super();
    checkPositiveInt(inChannels, 'Conv2d: inChannels');
    checkPositiveInt(outChannels, 'Conv2d: outChannels');
    const [kh, kw] = pair(kernelSize, 'Conv2d: kernelSize', 1);
    this.stride = pair(opts.stride ?? 1, 'Conv2d: stride', 1);
    this.padding = pair(opts.padding ?? 0, 'Conv2d: padding', 0);
    this.dilation = pair(opts.dilation ?? 1, 'Conv2d: dilation', 1);
    this.groups = opts.groups ?? 1;
    if (!Number.isInteger(this.groups) || this.groups < 1 || inChannels % this.groups || outChannels % this.groups) {
      throw new RangeError(`Conv2d: groups (${opts.groups}) must divide inChannels (${inChannels}) and outChannels (${outChannels})`);
    }
    const fanIn = (inChannels / this.groups) * kh * kw;
    this.weight = this.addParameter('weight', defaultWeight([outChannels, inChannels / this.groups, kh, kw], fanIn))!;
    this.bias = opts.bias === false ? null : this.addParameter('bias', defaultWeight([outChannels], fanIn));
  }
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }
}

export class BatchNorm2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly numBatchesTracked: Tensor;
  constructor(readonly numFeatures: number, readonly opts: { eps?: number; momentum?: number } = {}) {
    super();
    checkPositiveInt(numFeatures, 'BatchNorm2d: numFeatures');
    this.weight = this.addParameter('weight', ones([numFeatures]))!;
    this.bias = this.addParameter('bias', zeros([numFeatures]))!;
    this.runningMean = this.addBuffer('running_mean', zeros([numFeatures]))!;
    this.runningVar = this.addBuffer('running_var', ones([numFeatures]))!;
    // torch keeps an int64 counter; int32 here (it only counts batches)
    this.numBatchesTracked = this.addBuffer('num_batches_tracked', full([], 0, { dtype: 'int32' }))!;
  }
  forward(x: Tensor): Tensor {
    if (x.rank !== 4) throw new Error(`BatchNorm2d: expected a 4-D input [N, C, H, W], got ${fmtShape(x.shape)}`);
    if (this.training) {
      // torch counts training batches (only used when momentum is None, which we do not support)
      const next = noGrad(() => add(this.numBatchesTracked, 1));
      this.numBatchesTracked.replaceStorage(next.storageRef);
      next.dispose();
    }
    return batchNorm(x, this.runningMean, this.runningVar, this.weight, this.bias, {
      training: this.training,
      momentum: this.opts.momentum ?? 0.1,
      eps: this.opts.eps ?? 1e-5,
    });
  }
}

export class LayerNorm extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly normalizedShape: number[];
  constructor(normalizedShape: number | number[], readonly opts: { eps?: number; elementwiseAffine?: boolean } = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    const affine = opts.elementwiseAffine ?? true;
    this.weight = affine ? this.addParameter('weight', ones(this.normalizedShape)) : null;
    this.bias = affine ? this.addParameter('bias', zeros(this.normalizedShape)) : null;
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.opts.eps ?? 1e-5);
  }
}

export class MaxPool2d extends Module {
  constructor(readonly kernelSize: number | [number, number], readonly opts: { stride?: number | [number, number]; padding?: number | [number, number]; dilation?: number | [number, number]; ceilMode?: boolean } = {}) {
    super();
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, { kernelSize: this.kernelSize, ...this.opts }) as Tensor;
  }
}

export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: number | [number, number]) {
    super();
  }
  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
}

/** y = gamma * x, DINOv2's LayerScale (parameter name `gamma`). */
export class LayerScale extends Module {
  readonly gamma: Tensor;
  constructor(dim: number, initValues = 1e-5) {
    super();
    this.gamma = this.addParameter('gamma', full([dim], initValues))!;
  }
  forward(x: Tensor): Tensor {
    return mul(x, this.gamma);
  }
}

export function checkPositiveInt(v: unknown, arg: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new RangeError(`${arg} must be a positive integer, got ${String(v)}`);
}

