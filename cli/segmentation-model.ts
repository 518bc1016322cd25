// --model for torchvision's segmentation models in explain and generate: the presets deeplabv3_resnet50/101 and
// fcn_resnet50/101, or an options .json with "kind": "deeplabv3" | "fcn" (SegmentationOptions: layers,
// widths, numClasses, asppChannels, atrousRates, auxLoss). The class count and the auxiliary head come from
// --weights (classifier.4.weight, aux_classifier.* keys), as torchvision's checkpoints differ in both.
// A segmentation model explains a region: --mask (an image of the input's size; pixels that are not black
// form the region) and --target-class (the class explained there). generate takes --mask (one region for
// every image) or --mask-dir (one mask per image, maskPathFor).
import { readFile } from 'node:fs/promises';
import { extname, isAbsolute, join } from 'node:path';
import * as F from '../index';
import { UsageError } from './args';
import type { LoadedModel } from './model-spec';
import { readImage } from './image-io';

const PRESETS: Record<string, (o: Omit<F.SegmentationOptions, 'layers'>) => F.SegmentationModel> = {
  deeplabv3_resnet50: F.deeplabv3Resnet50, deeplabv3_resnet101: F.deeplabv3Resnet101,
  fcn_resnet50: F.fcnResnet50, fcn_resnet101: F.fcnResnet101,
};
export const SEGMENTATION_MODEL_NAMES = Object.keys(PRESETS);

/** The JSON options when `name` is a segmentation model's .json, else null. */
async function jsonOptions(name: string): Promise<(F.SegmentationOptions & { kind: 'deeplabv3' | 'fcn' }) | null> {
  if (!name.endsWith('.json')) return null;
  try {
    const v = JSON.parse(await readFile(name, 'utf8'));
    return v && (v.kind === 'deeplabv3' || v.kind === 'fcn') ? v : null;
  } catch {
    return null; // model-spec reports unreadable files
  }
}

export async function isSegmentationModel(name: string | undefined): Promise<boolean> {
  return name !== undefined && (Object.hasOwn(PRESETS, name) || (await jsonOptions(name)) !== null);
}

export async function loadSegmentationModel(opts: { model: string; weights?: string; targetLayer?: string; randomWeights?: boolean }, command: string): Promise<LoadedModel> {
  if (!opts.weights && !opts.randomWeights) {
    throw new UsageError(`${command}: --model '${opts.model}' needs --weights <file> (without them it would explain random weights; add --random-weights to do that on purpose)`);
  }
  let dict: F.StateDict | null = null;
  if (opts.weights) {
    try {
      const bytes = new Uint8Array(await readFile(opts.weights));
      dict = opts.weights.toLowerCase().endsWith('.safetensors') ? await F.loadSafetensors(bytes) : await F.loadTorchCheckpoint(bytes);
    } catch (e) {
      throw new UsageError(`${command}: --weights file '${opts.weights}' cannot be read: ${(e as Error).message}`);
    }
  }
  const head = dict?.['classifier.4.weight'];
  const fromWeights: Omit<F.SegmentationOptions, 'layers'> = dict ? { numClasses: head ? head.shape[0] : undefined, auxLoss: Object.keys(dict).some((k) => k.startsWith('aux_classifier.')) } : {};
  let model: F.SegmentationModel;
  try {
    const j = await jsonOptions(opts.model);
    if (j) {
      const { kind, ...o } = j;
      model = new F.SegmentationModel(kind, { ...o, ...Object.fromEntries(Object.entries(fromWeights).filter(([, v]) => v !== undefined)) });
    } else model = PRESETS[opts.model]({ numClasses: 21, ...Object.fromEntries(Object.entries(fromWeights).filter(([, v]) => v !== undefined)) });
  } catch (e) {
    throw new UsageError(`${command}: --model '${opts.model}': ${(e as Error).message}`);
  }
  if (dict) {
    try {
      model.loadStateDict(dict);
    } catch (e) {
      throw new UsageError(`${command}: --weights does not fit the model: ${(e as Error).message}`);
    }
  }
  const layer = opts.targetLayer ?? 'backbone.layer4';
  try {
    model.getSubmodule(layer);
  } catch (e) {
    throw new UsageError(`${command}: --target-layer ${(e as Error).message}`);
  }
  return {
    model: model.eval(), kind: 'resnet', numClasses: model.numClasses, targetLayer: layer, reshapeTransform: null, patchSize: 1,
    norm: F.NORMALIZATIONS.imagenet, normSource: "segmentation: torchvision's models are trained with ImageNet's mean/std",
    describe: `${opts.model} (segmentation, ${model.numClasses} classes)`,
  };
}

/** A mask image as H·W values: 1 where the pixel is not black, else 0. */
export function maskValues(img: F.RgbImage): Float32Array {
  const m = new Float32Array(img.width * img.height);
  for (let p = 0; p < m.length; p++) m[p] = img.data[3 * p] || img.data[3 * p + 1] || img.data[3 * p + 2] ? 1 : 0;
  return m;
}

/** --mask as H·W values (1 where the pixel is not black), checked against the image's size. */
export async function readMask(path: string, width: number, height: number, command: string): Promise<Float32Array> {
  let img: F.RgbImage;
  try {
    img = await readImage(path);
  } catch (e) {
    throw new UsageError(`${command}: cannot read --mask '${path}': ${(e as Error).message}`);
  }
  if (img.width !== width || img.height !== height) {
    throw new UsageError(`${command}: --mask '${path}' is ${img.width}×${img.height} but the image is ${width}×${height}; give a mask of the image's size`);
  }
  const m = maskValues(img);
  if (!m.some((v) => v)) throw new UsageError(`${command}: --mask '${path}' is all black: the region to explain is empty`);
  return m;
}

/**
 * generate --mask-dir: the mask of the image at `source` (its '/'-separated path under the dataset root)
 * is <maskDir>/<source with its extension replaced by .png>. A source outside the root (a list file's
 * '../' path) has no place in the mask folder: an error for that image.
 */
export function maskPathFor(maskDir: string, source: string): string {
  const parts = source.split('/');
  if (isAbsolute(source) || parts.some((s) => s === '..' || s === '')) {
    throw new Error(`--mask-dir: the image's path '${source}' is not under the dataset's folder, so it has no place in --mask-dir; list images under the list file's folder, or use --mask`);
  }
  const last = parts[parts.length - 1];
  parts[parts.length - 1] = `${last.slice(0, last.length - extname(last).length)}.png`;
  return join(maskDir, ...parts);
}

/**
 * A segmentation model seen as a classifier of one region: forward(x) = Σ_{h,w} out[:, :, h, w]·mask
 * (N×classes), every class's SemanticSegmentationTarget score. Guided Backprop (--method guided-gradcam)
 * runs on it: pytorch-grad-cam's GuidedBackpropReLUModel backpropagates output[0, category], which needs one
 * score per class, as its segmentation tutorial's wrappers give. `mask` is at the model input's size (h×w).
 */
export class RegionScores extends F.Module {
  constructor(readonly model: F.Module, private readonly mask: Float32Array, private readonly h: number, private readonly w: number) {
    super();
    if (mask.length !== h * w) throw new Error(`RegionScores: the mask has ${mask.length} values, expected ${h}×${w}`);
    this.addModule('model', model);
  }
  forward(x: F.Tensor): F.Tensor {
    const out = this.model.forward(x);
    if (out.rank !== 4 || out.shape[2] !== this.h || out.shape[3] !== this.w) {
      throw new Error(`RegionScores: the model must return N×classes×${this.h}×${this.w} maps, got ${out.shape.join('×')}`);
    }
    return F.sum(F.mul(out, F.tensor(this.mask, [1, 1, this.h, this.w], { device: out.device })), [2, 3]);
  }
}

/** The mask at the model input's size (nearest neighbour, as cv2.INTER_NEAREST: src = floor(dst · in/out)). */
export function resizeMask(mask: Float32Array, w: number, h: number, W: number, H: number): Float32Array {
  if (w === W && h === H) return mask;
  const out = new Float32Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out[y * W + x] = mask[Math.min(h - 1, Math.floor((y * h) / H)) * w + Math.min(w - 1, Math.floor((x * w) / W))];
  return out;
}
