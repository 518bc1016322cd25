// OpenAI's clip/model.py ModifiedResNet (CLIP RN50, RN101, …): a 3-convolution stem with an average pool, Bottlenecks
// that downsample by average pooling (after conv2, and before the 1×1 shortcut convolution), and an attention pool:
// the mean token, with position embeddings, attends over all spatial tokens through q/k/v_proj and c_proj.
import type { Tensor } from '../../core/tensor';
import { Module } from '../../core/nn/module';
import { Sequential } from '../../core/nn/containers';
import { BatchNorm2d, Conv2d, Linear } from '../../core/nn/layers';
import { normal } from '../../core/nn/init';
import { add, relu } from '../../core/ops/elementwise';
import { scaledDotProductAttention } from '../../core/ops/attention';
import { avgPool2d } from '../../core/ops/pool';
import { mean } from '../../core/ops/reduce';
import { concat } from '../../core/ops/indexing';
import { flatten, reshape, slice, transpose } from '../../core/ops/views';
import { fmtShape } from '../../core/shape';

const pool = (x: Tensor, s: number): Tensor => (s > 1 ? avgPool2d(x, { kernelSize: s }) : x);

/** OpenAI's downsample Sequential('-1': AvgPool2d(stride), '0': conv 1×1, '1': BatchNorm): the pool has no weights. */
export class ClipDownsample extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(inplanes: number, outplanes: number, readonly stride: number) {
    super();
    this.conv = this.addModule('0', new Conv2d(inplanes, outplanes, 1, { bias: false }));
    this.bn = this.addModule('1', new BatchNorm2d(outplanes));
  }
  forward(x: Tensor): Tensor {
    return this.bn.forward(this.conv.forward(pool(x, this.stride)));
  }
}

export class ClipBottleneck extends Module {
  static readonly expansion = 4;
  readonly conv1: Conv2d; readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d; readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d; readonly bn3: BatchNorm2d;
  readonly downsample: ClipDownsample | null;
  constructor(inplanes: number, planes: number, readonly stride = 1) {
    super();
    const out = planes * ClipBottleneck.expansion;
    this.conv1 = this.addModule('conv1', new Conv2d(inplanes, planes, 1, { bias: false }));
    this.bn1 = this.addModule('bn1', new BatchNorm2d(planes));
    this.conv2 = this.addModule('conv2', new Conv2d(planes, planes, 3, { padding: 1, bias: false }));
    this.bn2 = this.addModule('bn2', new BatchNorm2d(planes));
    this.conv3 = this.addModule('conv3', new Conv2d(planes, out, 1, { bias: false }));
    this.bn3 = this.addModule('bn3', new BatchNorm2d(out));
    this.downsample = stride > 1 || inplanes !== out ? this.addModule('downsample', new ClipDownsample(inplanes, out, stride)) : null;
  }
  forward(x: Tensor): Tensor {
    let y = relu(this.bn1.forward(this.conv1.forward(x)));
    y = pool(relu(this.bn2.forward(this.conv2.forward(y))), this.stride);
    y = this.bn3.forward(this.conv3.forward(y));
    return relu(add(y, this.downsample ? this.downsample.forward(x) : x));
  }
}

export class AttentionPool2d extends Module {
  readonly positionalEmbedding: Tensor;
  readonly kProj: Linear;
  readonly qProj: Linear;
  readonly vProj: Linear;
  readonly cProj: Linear;
  constructor(readonly spacialDim: number, readonly embedDim: number, readonly numHeads: number, outputDim: number) {
    super();
    if (!Number.isInteger(numHeads) || numHeads < 1 || embedDim % numHeads !== 0) {
      throw new RangeError(`AttentionPool2d: heads (${numHeads}) must be a positive integer dividing the width ${embedDim}`);
    }
    this.positionalEmbedding = this.addParameter('positional_embedding', normal([spacialDim ** 2 + 1, embedDim], embedDim ** -0.5))!;
    this.kProj = this.addModule('k_proj', new Linear(embedDim, embedDim));
    this.qProj = this.addModule('q_proj', new Linear(embedDim, embedDim));
    this.vProj = this.addModule('v_proj', new Linear(embedDim, embedDim));
    this.cProj = this.addModule('c_proj', new Linear(embedDim, outputDim));
  }
  forward(x: Tensor): Tensor {
    const [N, C] = x.shape;
    let t = transpose(flatten(x, 2), 1, 2); // (N, HW, C)
    t = concat([mean(t, 1, true), t], 1);
    if (t.shape[1] !== this.positionalEmbedding.shape[0]) {
      throw new Error(`AttentionPool2d: a ${x.shape[2]}×${x.shape[3]} feature map has ${t.shape[1]} tokens, the positional embedding ${this.positionalEmbedding.shape[0]} (a ${this.spacialDim}×${this.spacialDim} map): use the model's imageResolution`);
    }
    t = add(t, this.positionalEmbedding);
    const S = t.shape[1];
    const hd = C / this.numHeads;
    const heads = (y: Tensor, L: number): Tensor => transpose(reshape(y, [N, L, this.numHeads, hd]), 1, 2);
    const q = heads(this.qProj.forward(slice(t, 1, 0, 1)), 1);
    const out = scaledDotProductAttention(q, heads(this.kProj.forward(t), S), heads(this.vProj.forward(t), S));
    return this.cProj.forward(reshape(transpose(out, 1, 2), [N, C]));
  }
}

export class ModifiedResNet extends Module {
  readonly conv1: Conv2d; readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d; readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d; readonly bn3: BatchNorm2d;
  readonly layer1: Sequential; readonly layer2: Sequential; readonly layer3: Sequential; readonly layer4: Sequential;
  readonly attnpool: AttentionPool2d;
  constructor(layers: readonly number[], readonly outputDim: number, heads: number, readonly inputResolution: number, readonly width: number) {
    super();
    if (inputResolution % 32 !== 0) throw new RangeError(`clip: a ModifiedResNet's imageResolution must be a multiple of 32, got ${inputResolution}`);
    if (width % 2 !== 0) throw new RangeError(`clip: a ModifiedResNet's visionWidth must be even, got ${width}`);
    const h = width / 2;
    this.conv1 = this.addModule('conv1', new Conv2d(3, h, 3, { stride: 2, padding: 1, bias: false }));
    this.bn1 = this.addModule('bn1', new BatchNorm2d(h));
    this.conv2 = this.addModule('conv2', new Conv2d(h, h, 3, { padding: 1, bias: false }));
    this.bn2 = this.addModule('bn2', new BatchNorm2d(h));
    this.conv3 = this.addModule('conv3', new Conv2d(h, width, 3, { padding: 1, bias: false }));
    this.bn3 = this.addModule('bn3', new BatchNorm2d(width));
    let inplanes = width;
    const make = (planes: number, blocks: number, stride: number): Sequential => {
      const list = [new ClipBottleneck(inplanes, planes, stride)];
      inplanes = planes * ClipBottleneck.expansion;
      for (let i = 1; i < blocks; i++) list.push(new ClipBottleneck(inplanes, planes));
      return new Sequential(...list);
    };
    this.layer1 = this.addModule('layer1', make(width, layers[0], 1));
    this.layer2 = this.addModule('layer2', make(width * 2, layers[1], 2));
    this.layer3 = this.addModule('layer3', make(width * 4, layers[2], 2));
    this.layer4 = this.addModule('layer4', make(width * 8, layers[3], 2));
    this.attnpool = this.addModule('attnpool', new AttentionPool2d(inputResolution / 32, width * 32, heads, outputDim));
  }
  forward(x: Tensor): Tensor {
    const r = this.inputResolution;
    if (x.rank !== 4 || x.shape[1] !== 3 || x.shape[2] !== r || x.shape[3] !== r) {
      throw new Error(`CLIP visual: expected images [N, 3, ${r}, ${r}] (the model's imageResolution), got ${fmtShape(x.shape)}`);
    }
    x = relu(this.bn1.forward(this.conv1.forward(x)));
    x = relu(this.bn2.forward(this.conv2.forward(x)));
    x = avgPool2d(relu(this.bn3.forward(this.conv3.forward(x))), { kernelSize: 2 });
    x = this.layer4.forward(this.layer3.forward(this.layer2.forward(this.layer1.forward(x))));
    return this.attnpool.forward(x);
  }
}
