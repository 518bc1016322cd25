// torchvision's semantic segmentation models — DeepLabV3 and FCN on dilated ResNets — with torchvision's
// parameter names, so its state dicts (`backbone.layer4.0.conv2.weight`, `classifier.0.convs.4.1.weight`,
// `aux_classifier.0.weight`, ...) load as they are.
//
// torchvision's forward returns a dict {out, aux}; pytorch-grad-cam's segmentation tutorial wraps the model
// so that it returns ['out'], because a CAM needs one tensor. Here `forward(x)` is that tensor (N×classes×H×W,
// upsampled to the input size) and `forwardAll(x)` returns the dict.
//
// The backbone is torchvision's ResNet with replace_stride_with_dilation = [false, true, true]: layer3 and
// layer4 keep stride 1 and dilate their 3×3 convolutions instead (output stride 8). As torchvision's
// _make_layer, the first block of a dilated stage uses the previous dilation and the rest the new one.
import { Tensor } from '../core/tensor';
import { Module } from '../core/nn/module';
import { ModuleList, Sequential } from '../core/nn/containers';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Dropout, MaxPool2d, ReLU } from '../core/nn/layers';
import { kaimingNormalFanOut } from '../core/nn/init';
import { add } from '../core/ops/elementwise';
import { concat } from '../core/ops/indexing';
import { interpolate } from '../core/ops/interpolate';
import { noGrad } from '../core/grad-mode';
import { fmtShape } from '../core/shape';

/** torchvision's Bottleneck with a dilation (padding = dilation in the 3×3 conv). */
export class DilatedBottleneck extends Module {
  readonly conv1: Conv2d; readonly bn1: BatchNorm2d; readonly conv2: Conv2d; readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d; readonly bn3: BatchNorm2d; readonly relu: ReLU; readonly downsample: Module | null;
  constructor(inPlanes: number, planes: number, stride: number, dilation: number, downsample: Module | null) {
    super();
    this.conv1 = this.addModule('conv1', new Conv2d(inPlanes, planes, 1, { bias: false }));
    this.bn1 = this.addModule('bn1', new BatchNorm2d(planes));
    this.conv2 = this.addModule('conv2', new Conv2d(planes, planes, 3, { stride, padding: dilation, dilation, bias: false }));
    this.bn2 = this.addModule('bn2', new BatchNorm2d(planes));
    this.conv3 = this.addModule('conv3', new Conv2d(planes, planes * 4, 1, { bias: false }));
    this.bn3 = this.addModule('bn3', new BatchNorm2d(planes * 4));
    this.relu = this.addModule('relu', new ReLU());
    this.downsample = downsample ? this.addModule('downsample', downsample) : null;
  }
  forward(x: Tensor): Tensor {
    let out = this.relu.forward(this.bn1.forward(this.conv1.forward(x)));
    out = this.relu.forward(this.bn2.forward(this.conv2.forward(out)));
    out = this.bn3.forward(this.conv3.forward(out));
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return this.relu.forward(add(out, identity));
  }
}

/** The ResNet body torchvision's IntermediateLayerGetter keeps (no avgpool, no fc): layer3 → aux, layer4 → out. */
export class DilatedResNetBackbone extends Module {
  readonly conv1: Conv2d; readonly bn1: BatchNorm2d; readonly relu: ReLU; readonly maxpool: MaxPool2d;
  readonly layer1: Sequential; readonly layer2: Sequential; readonly layer3: Sequential; readonly layer4: Sequential;
  /** Channels of layer3's and layer4's outputs. */
  readonly auxChannels: number;
  readonly outChannels: number;

  constructor(layers: readonly number[], widths: readonly number[]) {
    super();
    let inPlanes = widths[0];
    let dilation = 1;
    this.conv1 = this.addModule('conv1', new Conv2d(3, widths[0], 7, { stride: 2, padding: 3, bias: false }));
    this.bn1 = this.addModule('bn1', new BatchNorm2d(widths[0]));
    this.relu = this.addModule('relu', new ReLU());
    this.maxpool = this.addModule('maxpool', new MaxPool2d(3, { stride: 2, padding: 1 }));
    const make = (planes: number, blocks: number, stride: number, dilate: boolean): Sequential => {
      const previousDilation = dilation;
      if (dilate) {
        dilation *= stride;
        stride = 1;
      }
      let downsample: Module | null = null;
      if (stride !== 1 || inPlanes !== planes * 4) {
        downsample = new Sequential(new Conv2d(inPlanes, planes * 4, 1, { stride, bias: false }), new BatchNorm2d(planes * 4));
      }
      const mods: Module[] = [new DilatedBottleneck(inPlanes, planes, stride, previousDilation, downsample)];
      inPlanes = planes * 4;
      for (let i = 1; i < blocks; i++) mods.push(new DilatedBottleneck(inPlanes, planes, 1, dilation, null));
      return new Sequential(...mods);
    };
    this.layer1 = this.addModule('layer1', make(widths[0], layers[0], 1, false));
    this.layer2 = this.addModule('layer2', make(widths[1], layers[1], 2, false));
    this.layer3 = this.addModule('layer3', make(widths[2], layers[2], 2, true));
    this.auxChannels = inPlanes;
    this.layer4 = this.addModule('layer4', make(widths[3], layers[3], 2, true));
    this.outChannels = inPlanes;
  }

  /** {out: layer4's output, aux: layer3's output}. */
  features(x: Tensor): { out: Tensor; aux: Tensor } {
    x = this.maxpool.forward(this.relu.forward(this.bn1.forward(this.conv1.forward(x))));
    x = this.layer2.forward(this.layer1.forward(x));
    const aux = this.layer3.forward(x);
    return { out: this.layer4.forward(aux), aux };
  }

  forward(x: Tensor): Tensor {
    return this.features(x).out;
  }
}

function convBnRelu(inC: number, outC: number, k: number, dilation = 1): Sequential {
  return new Sequential(new Conv2d(inC, outC, k, { padding: k === 3 ? dilation : 0, dilation, bias: false }), new BatchNorm2d(outC), new ReLU());
}

/** ASPP's image-pooling branch: global average → 1×1 conv → BN → ReLU → bilinear back to h×w. */
export class ASPPPooling extends Sequential {
  constructor(inC: number, outC: number) {
    super(new AdaptiveAvgPool2d(1), new Conv2d(inC, outC, 1, { bias: false }), new BatchNorm2d(outC), new ReLU());
  }
  override forward(x: Tensor): Tensor {
    const size: [number, number] = [x.shape[2], x.shape[3]];
    return interpolate(super.forward(x), { size, mode: 'bilinear', alignCorners: false });
  }
}

/** Atrous spatial pyramid pooling: a 1×1 branch, one 3×3 branch per rate, the pooling branch; concat → project. */
export class ASPP extends Module {
  readonly convs: ModuleList;
  readonly project: Sequential;
  constructor(inC: number, rates: readonly number[], outC = 256) {
    super();
    const branches: Module[] = [convBnRelu(inC, outC, 1)];
    for (const r of rates) branches.push(convBnRelu(inC, outC, 3, r));
    branches.push(new ASPPPooling(inC, outC));
    this.convs = this.addModule('convs', new ModuleList(branches));
    this.project = this.addModule('project', new Sequential(
      new Conv2d(branches.length * outC, outC, 1, { bias: false }), new BatchNorm2d(outC), new ReLU(), new Dropout(0.5)));
  }
  forward(x: Tensor): Tensor {
    return this.project.forward(concat([...this.convs].map((b) => b.forward(x)), 1));
  }
}

/** torchvision's DeepLabHead: ASPP → 3×3 conv → BN → ReLU → 1×1 conv to the classes. */
export function deepLabHead(inC: number, numClasses: number, rates: readonly number[] = [12, 24, 36], channels = 256): Sequential {
  return new Sequential(new ASPP(inC, rates, channels), new Conv2d(channels, channels, 3, { padding: 1, bias: false }),
    new BatchNorm2d(channels), new ReLU(), new Conv2d(channels, numClasses, 1));
}

/** torchvision's FCNHead: 3×3 conv to in/4 channels → BN → ReLU → Dropout(0.1) → 1×1 conv. */
export function fcnHead(inC: number, channels: number): Sequential {
  const inter = Math.floor(inC / 4);
  return new Sequential(new Conv2d(inC, inter, 3, { padding: 1, bias: false }), new BatchNorm2d(inter), new ReLU(), new Dropout(0.1), new Conv2d(inter, channels, 1));
}

export interface SegmentationOutputs {
  out: Tensor;
  /** The auxiliary head's map (only when the model has one). */
  aux?: Tensor;
}

export interface SegmentationOptions {
  numClasses?: number;
  /** Add the auxiliary FCN head on layer3 (torchvision's aux_loss). Default false. */
  auxLoss?: boolean;
  /** Blocks per stage; default ResNet-50's [3, 4, 6, 3] (ResNet-101: [3, 4, 23, 3]). */
  layers?: [number, number, number, number];
  /** Planes of the four stages (torchvision: [64, 128, 256, 512]); smaller for test models. */
  widths?: [number, number, number, number];
  /** DeepLabV3 only: the ASPP dilation rates (default [12, 24, 36]) and its width (default 256). */
  atrousRates?: number[];
  asppChannels?: number;
}

/**
 * torchvision's _SimpleSegmentationModel: backbone → classifier (and aux_classifier) → bilinear upsampling
 * (align_corners = false) to the input size.
 */
export class SegmentationModel extends Module {
  readonly backbone: DilatedResNetBackbone;
  readonly classifier: Sequential;
  readonly aux_classifier: Sequential | null;
  readonly numClasses: number;

  constructor(readonly kind: 'deeplabv3' | 'fcn', options: SegmentationOptions = {}) {
    super();
    const who = kind === 'deeplabv3' ? 'deeplabv3' : 'fcn';
    if (options === null || typeof options !== 'object') throw new TypeError(`${who}: options must be an object {numClasses, auxLoss, ...}`);
    const numClasses = options.numClasses ?? 21;
    checkPositiveInts([numClasses], `${who}: numClasses`, 1);
    const layers = options.layers ?? [3, 4, 6, 3];
    const widths = options.widths ?? [64, 128, 256, 512];
    checkPositiveInts(layers, `${who}: layers`, 4);
    checkPositiveInts(widths, `${who}: widths`, 4);
    const rates = options.atrousRates ?? [12, 24, 36];
    if (kind === 'deeplabv3') checkPositiveInts(rates, `${who}: atrousRates`);
    const asppChannels = options.asppChannels ?? 256;
    checkPositiveInts([asppChannels], `${who}: asppChannels`, 1);
    this.numClasses = numClasses;
    this.backbone = this.addModule('backbone', new DilatedResNetBackbone(layers, widths));
    const c4 = this.backbone.outChannels;
    this.classifier = this.addModule('classifier', kind === 'deeplabv3' ? deepLabHead(c4, numClasses, rates, asppChannels) : fcnHead(c4, numClasses));
    this.aux_classifier = options.auxLoss ? this.addModule('aux_classifier', fcnHead(this.backbone.auxChannels, numClasses)) : null;
    // torchvision's ResNet init for the backbone's convs (the heads keep PyTorch's default init)
    noGrad(() => {
      for (const m of this.backbone.modules()) {
        if (m instanceof Conv2d) {
          const [o, , kh, kw] = m.weight.shape;
          const w = kaimingNormalFanOut(m.weight.shape, o * kh * kw);
          m.weight.replaceStorage(w.storageRef);
          w.dispose();
        }
      }
    });
  }

  /** torchvision's dict: {out, aux} (aux only with auxLoss), each N×classes×H×W at the input size. */
  forwardAll(x: Tensor): SegmentationOutputs {
    if (!(x instanceof Tensor) || x.rank !== 4 || x.shape[1] !== 3) {
      throw new Error(`${this.kind}.forward: expected an input [N, 3, H, W], got ${x instanceof Tensor ? fmtShape(x.shape) : typeof x}`);
    }
    const size: [number, number] = [x.shape[2], x.shape[3]];
    const f = this.backbone.features(x);
    const up = (t: Tensor): Tensor => interpolate(t, { size, mode: 'bilinear', alignCorners: false });
    const out = up(this.classifier.forward(f.out));
    return this.aux_classifier ? { out, aux: up(this.aux_classifier.forward(f.aux)) } : { out };
  }

  /** The `out` map N×classes×H×W (what pytorch-grad-cam's tutorial wrapper returns). */
  forward(x: Tensor): Tensor {
    return this.forwardAll(x).out;
  }
}

function checkPositiveInts(v: unknown, what: string, length?: number): void {
  if (!Array.isArray(v) || (length !== undefined && v.length !== length) || v.length === 0 || !v.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new TypeError(`${what} must be ${length === 1 ? 'a positive integer' : `${length ?? 'one or more'} positive integers`}, got ${JSON.stringify(length === 1 && Array.isArray(v) ? v[0] : v)}`);
  }
}

type Preset = Omit<SegmentationOptions, 'layers'>;
const R50: [number, number, number, number] = [3, 4, 6, 3];
const R101: [number, number, number, number] = [3, 4, 23, 3];
export const deeplabv3Resnet50 = (o: Preset = {}): SegmentationModel => new SegmentationModel('deeplabv3', { ...o, layers: R50 });
export const deeplabv3Resnet101 = (o: Preset = {}): SegmentationModel => new SegmentationModel('deeplabv3', { ...o, layers: R101 });
export const fcnResnet50 = (o: Preset = {}): SegmentationModel => new SegmentationModel('fcn', { ...o, layers: R50 });
export const fcnResnet101 = (o: Preset = {}): SegmentationModel => new SegmentationModel('fcn', { ...o, layers: R101 });
