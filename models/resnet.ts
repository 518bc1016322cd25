// torchvision's ResNet (BasicBlock / Bottleneck) with identical parameter names, so torchvision
// state dicts load as they are. `widths` shrinks the four stages for small test models; torchvision's
// values are the default.
import { Tensor } from '../core/tensor';
import { Module } from '../core/nn/module';
import { Sequential } from '../core/nn/containers';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Linear, MaxPool2d, ReLU } from '../core/nn/layers';
import { kaimingNormalFanOut } from '../core/nn/init';
import { add } from '../core/ops/elementwise';
import { flatten } from '../core/ops/views';
import { noGrad } from '../core/grad-mode';
import { fmtShape } from '../core/shape';
import { convBatchNorm } from './fold-batchnorm';

/** A downsample branch: Sequential(conv1x1, BatchNorm2d) through convBatchNorm unless it is hooked or custom. */
function downsampleForward(ds: Module, x: Tensor): Tensor {
  if (ds.constructor === Sequential && !Object.prototype.hasOwnProperty.call(ds, 'forward')) {
    const seq = ds as Sequential;
    if (seq.length === 2 && seq.at(0) instanceof Conv2d && seq.at(1) instanceof BatchNorm2d) return convBatchNorm(seq.at(0) as Conv2d, seq.at(1) as BatchNorm2d, x);
  }
  return ds.forward(x);
}

function conv3x3(inPlanes: number, outPlanes: number, stride = 1, groups = 1, dilation = 1): Conv2d {
  return new Conv2d(inPlanes, outPlanes, 3, { stride, padding: dilation, groups, dilation, bias: false });
}

function conv1x1(inPlanes: number, outPlanes: number, stride = 1): Conv2d {
  return new Conv2d(inPlanes, outPlanes, 1, { stride, bias: false });
}

export class BasicBlock extends Module {
  static readonly expansion = 1;
  readonly conv1: Conv2d; readonly bn1: BatchNorm2d; readonly relu: ReLU;
  readonly conv2: Conv2d; readonly bn2: BatchNorm2d; readonly downsample: Module | null;
  constructor(inPlanes: number, planes: number, stride = 1, downsample: Module | null = null) {
    super();
    this.conv1 = this.addModule('conv1', conv3x3(inPlanes, planes, stride));
    this.bn1 = this.addModule('bn1', new BatchNorm2d(planes));
    this.relu = this.addModule('relu', new ReLU());
    this.conv2 = this.addModule('conv2', conv3x3(planes, planes));
    this.bn2 = this.addModule('bn2', new BatchNorm2d(planes));
    this.downsample = downsample ? this.addModule('downsample', downsample) : null;
  }
  forward(x: Tensor): Tensor {
    let out = convBatchNorm(this.conv1, this.bn1, x, this.relu);
    out = convBatchNorm(this.conv2, this.bn2, out);
    const identity = this.downsample ? downsampleForward(this.downsample, x) : x;
    return this.relu.forward(add(out, identity));
  }
}

export class Bottleneck extends Module {
  static readonly expansion = 4;
  readonly conv1: Conv2d; readonly bn1: BatchNorm2d; readonly conv2: Conv2d; readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d; readonly bn3: BatchNorm2d; readonly relu: ReLU; readonly downsample: Module | null;
  constructor(inPlanes: number, planes: number, stride = 1, downsample: Module | null = null, groups = 1, baseWidth = 64) {
    super();
    const width = Math.floor(planes * (baseWidth / 64)) * groups;
    this.conv1 = this.addModule('conv1', conv1x1(inPlanes, width));
    this.bn1 = this.addModule('bn1', new BatchNorm2d(width));
    this.conv2 = this.addModule('conv2', conv3x3(width, width, stride, groups));
    this.bn2 = this.addModule('bn2', new BatchNorm2d(width));
    this.conv3 = this.addModule('conv3', conv1x1(width, planes * Bottleneck.expansion));
    this.bn3 = this.addModule('bn3', new BatchNorm2d(planes * Bottleneck.expansion));
    this.relu = this.addModule('relu', new ReLU());
    this.downsample = downsample ? this.addModule('downsample', downsample) : null;
  }
  forward(x: Tensor): Tensor {
    let out = convBatchNorm(this.conv1, this.bn1, x, this.relu);
    out = convBatchNorm(this.conv2, this.bn2, out, this.relu);
    out = convBatchNorm(this.conv3, this.bn3, out);
    const identity = this.downsample ? downsampleForward(this.downsample, x) : x;
    return this.relu.forward(add(out, identity));
  }
}

export interface ResNetOptions {
  block: 'basic' | 'bottleneck';
  layers: [number, number, number, number];
  numClasses?: number;
  /** Planes of the four stages (torchvision: [64, 128, 256, 512]); the stem has widths[0] channels. */
  widths?: [number, number, number, number];
  inChannels?: number;
  groups?: number;
  widthPerGroup?: number;
}

export class ResNet extends Module {
  readonly conv1: Conv2d; readonly bn1: BatchNorm2d; readonly relu: ReLU; readonly maxpool: MaxPool2d;
  readonly layer1: Sequential; readonly layer2: Sequential; readonly layer3: Sequential; readonly layer4: Sequential;
  readonly avgpool: AdaptiveAvgPool2d; readonly fc: Linear;
  readonly inChannels: number;
  readonly numFeatures: number;
  private inPlanes: number;

  constructor(readonly options: ResNetOptions) {
    super();
    const { block, layers } = options;
    if (block !== 'basic' && block !== 'bottleneck') throw new TypeError(`resnet: block must be 'basic' or 'bottleneck', got ${JSON.stringify(block)}`);
    if (!Array.isArray(layers) || layers.length !== 4 || !layers.every((n) => Number.isInteger(n) && n >= 1)) {
      throw new TypeError(`resnet: layers must be four positive integers, got ${JSON.stringify(layers)}`);
    }
    const widths = options.widths ?? [64, 128, 256, 512];
    const numClasses = options.numClasses ?? 1000;
    const groups = options.groups ?? 1;
    const baseWidth = options.widthPerGroup ?? 64;
    this.inChannels = options.inChannels ?? 3;
    const expansion = block === 'basic' ? BasicBlock.expansion : Bottleneck.expansion;
    this.inPlanes = widths[0];
    this.conv1 = this.addModule('conv1', new Conv2d(this.inChannels, widths[0], 7, { stride: 2, padding: 3, bias: false }));
    this.bn1 = this.addModule('bn1', new BatchNorm2d(widths[0]));
    this.relu = this.addModule('relu', new ReLU());
    this.maxpool = this.addModule('maxpool', new MaxPool2d(3, { stride: 2, padding: 1 }));
    const make = (planes: number, blocks: number, stride: number): Sequential => {
      let downsample: Module | null = null;
      if (stride !== 1 || this.inPlanes !== planes * expansion) {
        downsample = new Sequential(conv1x1(this.inPlanes, planes * expansion, stride), new BatchNorm2d(planes * expansion));
      }
      const mods: Module[] = [];
      const mk = (inP: number, s: number, ds: Module | null): Module =>
        block === 'basic' ? new BasicBlock(inP, planes, s, ds) : new Bottleneck(inP, planes, s, ds, groups, baseWidth);
      mods.push(mk(this.inPlanes, stride, downsample));
      this.inPlanes = planes * expansion;
      for (let i = 1; i < blocks; i++) mods.push(mk(this.inPlanes, 1, null));
      return new Sequential(...mods);
    };
    this.layer1 = this.addModule('layer1', make(widths[0], layers[0], 1));
    this.layer2 = this.addModule('layer2', make(widths[1], layers[1], 2));
    this.layer3 = this.addModule('layer3', make(widths[2], layers[2], 2));
    this.layer4 = this.addModule('layer4', make(widths[3], layers[3], 2));
    this.avgpool = this.addModule('avgpool', new AdaptiveAvgPool2d(1));
    this.numFeatures = widths[3] * expansion;
    this.fc = this.addModule('fc', new Linear(this.numFeatures, numClasses));
    // torchvision's init: Kaiming-normal (fan_out, ReLU) convs; BatchNorm weight 1, bias 0 (the defaults).
    noGrad(() => {
      for (const m of this.modules()) {
        if (m instanceof Conv2d) {
          const [o, , kh, kw] = m.weight.shape;
          const w = kaimingNormalFanOut(m.weight.shape, o * kh * kw);
          m.weight.replaceStorage(w.storageRef);
          w.dispose();
        }
      }
    });
  }

  /** Everything up to layer4 (the usual CAM target). */
  forwardFeatures(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.inChannels) {
      throw new Error(`ResNet.forward: expected input [N, ${this.inChannels}, H, W], got ${fmtShape(x.shape)}`);
    }
    x = this.maxpool.forward(convBatchNorm(this.conv1, this.bn1, x, this.relu));
    x = this.layer1.forward(x);
    x = this.layer2.forward(x);
    x = this.layer3.forward(x);
    return this.layer4.forward(x);
  }

  forward(x: Tensor): Tensor {
    const f = this.forwardFeatures(x);
    return this.fc.forward(flatten(this.avgpool.forward(f), 1));
  }

  /**
   * The logits computed from the output of a stage ('layer1'…'layer4') or of one of its blocks
   * ('layer4.1'), running only the layers after it; null for any other layer. AblationCAM uses this
   * (the ForwardFrom interface of cam/methods/ablation.ts) to skip the unchanged first part of the network.
   */
  forwardFrom(layerName: string, activation: Tensor): Tensor | null {
    const m = /^layer([1-4])(?:\.(\d+))?$/.exec(layerName);
    if (!m) return null;
    const stages = [this.layer1, this.layer2, this.layer3, this.layer4];
    const s = Number(m[1]) - 1;
    let x = activation;
    if (m[2] !== undefined) {
      const b = Number(m[2]);
      if (b >= stages[s].length) return null;
      for (let i = b + 1; i < stages[s].length; i++) x = stages[s].at(i).forward(x);
    }
    for (let i = s + 1; i < stages.length; i++) x = stages[i].forward(x);
    return this.fc.forward(flatten(this.avgpool.forward(x), 1));
  }
}

export function resnet(options: ResNetOptions): ResNet {
  if (options === null || typeof options !== 'object') throw new TypeError('resnet: expected an options object {block, layers, numClasses}');
  return new ResNet(options);
}

type Preset = { numClasses?: number; inChannels?: number };
export const resnet18 = (o: Preset = {}): ResNet => resnet({ block: 'basic', layers: [2, 2, 2, 2], ...o });
export const resnet34 = (o: Preset = {}): ResNet => resnet({ block: 'basic', layers: [3, 4, 6, 3], ...o });
export const resnet50 = (o: Preset = {}): ResNet => resnet({ block: 'bottleneck', layers: [3, 4, 6, 3], ...o });
export const resnet101 = (o: Preset = {}): ResNet => resnet({ block: 'bottleneck', layers: [3, 4, 23, 3], ...o });
export const resnet152 = (o: Preset = {}): ResNet => resnet({ block: 'bottleneck', layers: [3, 8, 36, 3], ...o });
