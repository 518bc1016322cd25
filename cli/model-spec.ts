// --model / --weights / --classifier → a model ready to explain, with its CAM settings (target layer,
// reshape transform, patch size) and the normalisation its classifier was trained with.
import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import * as F from '../index';
import { UsageError } from './args';

export interface LoadedModel {
  model: F.Module;
  kind: 'vit' | 'resnet';
  numClasses: number;
  targetLayer: string;
  reshapeTransform: F.ReshapeTransform | null;
  /** Sides of the input are rounded to multiples of this (ViT patch size; 1 for ResNets). */
  patchSize: number;
  /** The mean/std inputs are normalised with: stored with the classifier, else the model family's (cli/norm.ts). */
  norm: F.Normalization;
  /** Where `norm` comes from, for the log line and generate's sidecar. */
  normSource: string;
  describe: string;
  /** Class names stored with a trained classifier (train-probe writes them), if any. */
  classNames?: string[] | null;
  /** CLIP zero-shot models: images are preprocessed as CLIP's _transform at this size (cli/clip-model.ts). */
  clipInputSize?: number;
}

const VIT_PRESETS: Record<string, () => F.VisionTransformer> = {
  dinov2_vits14: () => F.dinov2Vits14(), dinov2_vitb14: () => F.dinov2Vitb14(), dinov2_vitl14: () => F.dinov2Vitl14(), dinov2_vitg14: () => F.dinov2Vitg14(),
  dinov2_vits14_reg: () => F.dinov2Vits14Reg(), dinov2_vitb14_reg: () => F.dinov2Vitb14Reg(), dinov2_vitl14_reg: () => F.dinov2Vitl14Reg(), dinov2_vitg14_reg: () => F.dinov2Vitg14Reg(),
  vit_tiny16: () => F.vitTiny16({ numClasses: 0 }), vit_small16: () => F.vitSmall16({ numClasses: 0 }), vit_base16: () => F.vitBase16({ numClasses: 0 }),
};
const RESNET_PRESETS: Record<string, F.ResNetOptions> = {
  resnet18: { block: 'basic', layers: [2, 2, 2, 2] }, resnet34: { block: 'basic', layers: [3, 4, 6, 3] },
  resnet50: { block: 'bottleneck', layers: [3, 4, 6, 3] }, resnet101: { block: 'bottleneck', layers: [3, 4, 23, 3] },
  resnet152: { block: 'bottleneck', layers: [3, 8, 36, 3] },
};
export const PRESET_NAMES = [...Object.keys(VIT_PRESETS), ...Object.keys(RESNET_PRESETS)];

async function readWeights(path: string, what: string, command: string): Promise<{ dict: F.StateDict; metadata: Record<string, string> }> {
  try {
    await stat(path);
  } catch {
    throw new UsageError(`${command}: ${what} file '${path}' does not exist`);
  }
  const bytes = new Uint8Array(await readFile(path));
  const ext = extname(path).toLowerCase();
  try {
    if (ext === '.safetensors') return { dict: await F.loadSafetensors(bytes), metadata: await F.loadSafetensorsMetadata(bytes) };
    return { dict: await F.loadTorchCheckpoint(bytes), metadata: {} };
  } catch (e) {
    throw new UsageError(`${command}: ${what} file '${path}' cannot be read: ${(e as Error).message}`);
  }
}

async function modelOptionsFromJson(path: string, command: string): Promise<{ kind: 'vit' | 'resnet'; options: Record<string, unknown> }> {
  let v: unknown;
  try {
    v = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`${command}: --model '${path}' is neither a preset (${PRESET_NAMES.join(', ')}) nor a readable JSON file: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new UsageError(`${command}: --model '${path}' must hold a JSON object of model options`);
  const o = v as Record<string, unknown>;
  if (o.kind === 'resnet' || 'block' in o) return { kind: 'resnet', options: o };
  return { kind: 'vit', options: o };
}

/** Builds the model named by --model and loads --weights (and --classifier). */
export async function loadModel(
  opts: { model: string; weights?: string; classifier?: string; targetLayer?: string; randomWeights?: boolean },
  command: string,
): Promise<LoadedModel> {
  let kind: 'vit' | 'resnet';
  let makeVit: (() => F.VisionTransformer) | null = null;
  let resnetOpts: F.ResNetOptions | null = null;
  if (Object.hasOwn(VIT_PRESETS, opts.model)) {
    kind = 'vit';
    makeVit = VIT_PRESETS[opts.model];
  } else if (Object.hasOwn(RESNET_PRESETS, opts.model)) {
    kind = 'resnet';
    resnetOpts = { ...RESNET_PRESETS[opts.model] };
  } else if (opts.model.endsWith('.json')) {
    const j = await modelOptionsFromJson(opts.model, command);
    kind = j.kind;
    if (kind === 'vit') {
      // built at once: bad options are the first thing to report
      let built: F.VisionTransformer;
      try {
        built = F.visionTransformer({ ...(j.options as F.VisionTransformerOptions), numClasses: 0 });
      } catch (e) {
        throw new UsageError(`${command}: --model '${opts.model}': ${(e as Error).message}`);
      }
      makeVit = () => built;
    } else resnetOpts = j.options as unknown as F.ResNetOptions;
  } else {
    throw new UsageError(`${command}: unknown --model '${opts.model}'; use a preset (${PRESET_NAMES.join(', ')}) or an options .json file`);
  }
  // randomWeights undefined: the caller warns itself (train-probe); false: random weights are refused
  if (!opts.weights && opts.randomWeights === false) {
    throw new UsageError(`${command}: --model '${opts.model}' needs --weights <file> (without them it would explain random weights; add --random-weights to do that on purpose)`);
  }
  const vit = makeVit ? makeVit() : null;
  const weights = opts.weights ? await readWeights(opts.weights, '--weights', command) : null;
  if (kind === 'resnet') {
    // the head's size, also under the wrapper prefixes loadStateDict unwraps (module., model., ...)
    const fcKey = weights ? Object.keys(weights.dict).find((k) => k === 'fc.weight' || /^(?:[a-z_]+\.)+fc\.weight$/.test(k) && !/layer\d/.test(k)) : undefined;
    const fc = fcKey ? weights!.dict[fcKey] : undefined;
    const numClasses = fc ? fc.shape[0] : resnetOpts!.numClasses ?? 1000;
    let model: F.ResNet;
    try {
      model = F.resnet({ ...resnetOpts!, numClasses });
    } catch (e) {
      throw new UsageError(`${command}: --model '${opts.model}': ${(e as Error).message}`);
    }
    if (weights) loadInto(model, weights.dict, '--weights', command);
    const stored = parseNorm(weights?.metadata);
    const layer = opts.targetLayer ?? 'layer4';
    checkLayer(model, layer, command);
    return {
      model: model.eval(), kind, numClasses, targetLayer: layer, reshapeTransform: null, patchSize: 1,
      norm: stored ?? F.NORMALIZATIONS.imagenet,
      normSource: stored ? "stored in --weights' metadata" : 'ResNet: torchvision models are trained with ImageNet\'s mean/std',
      describe: `${opts.model} (${numClasses} classes)`, classNames: parseClasses(weights?.metadata),
    };
  }
  if (weights) loadInto(vit!, weights.dict, '--weights', command);
  let model: F.Module = vit!;
  let numClasses = vit!.embedDim;
  let prefix = '';
  let storedClasses: string[] | null = null;
  let stored: F.Normalization | null = null;
  if (opts.classifier) {
    const cls = await readWeights(opts.classifier, '--classifier', command);
    const w = cls.dict['weight'] ?? cls.dict['classifier.weight'];
    const b = cls.dict['bias'] ?? cls.dict['classifier.bias'];
    if (!w || !b || w.rank !== 2) {
      throw new UsageError(`${command}: --classifier '${opts.classifier}' must hold 'weight' [classes, ${vit!.embedDim}] and 'bias' tensors (the seed's linear head)`);
    }
    if (w.shape[1] !== vit!.embedDim) {
      throw new UsageError(`${command}: --classifier weight is ${w.shape[0]}×${w.shape[1]} but the backbone's features have ${vit!.embedDim} dimensions`);
    }
    const probe = new F.LinearProbe(vit!, w.shape[0]);
    loadInto(probe.classifier, { weight: w, bias: b }, '--classifier', command);
    model = probe;
    numClasses = w.shape[0];
    prefix = 'backbone.';
    stored = parseNorm(cls.metadata);
    storedClasses = parseClasses(cls.metadata);
  }
  const layer = opts.targetLayer ?? `${prefix}blocks.-1.norm1`;
  checkLayer(model, layer, command);
  return {
    model: model.eval(), kind: 'vit', numClasses, targetLayer: layer, reshapeTransform: F.vitReshapeTransform({ prefixTokens: vit!.numPrefixTokens }),
    patchSize: vit!.patchSize,
    norm: stored ?? F.NORMALIZATIONS.clip,
    normSource: stored ? "stored with --classifier" : "ViT/DINOv2 without a stored one: CLIP's, as the seed's generate_cams.py",
    describe: `${opts.model}${opts.classifier ? ` + linear probe (${numClasses} classes)` : ' (no classifier: explains feature dimensions)'}`,
    classNames: storedClasses,
  };
}

function loadInto(m: F.Module, dict: F.StateDict, what: string, command: string): void {
  try {
    m.loadStateDict(dict);
  } catch (e) {
    throw new UsageError(`${command}: ${what} does not fit the model: ${(e as Error).message}`);
  }
}

function checkLayer(m: F.Module, layer: string, command: string): void {
  try {
    m.getSubmodule(layer);
  } catch (e) {
    throw new UsageError(`${command}: --target-layer ${(e as Error).message}`);
  }
}

/** The normalisation written by train-probe into the safetensors metadata ({"norm": "imagenet"} or mean/std). */
export function parseNorm(meta: Record<string, string> | undefined): F.Normalization | null {
  if (!meta) return null;
  if (meta.norm === 'clip' || meta.norm === 'imagenet') return F.NORMALIZATIONS[meta.norm];
  if (meta.norm_mean && meta.norm_std) {
    try {
      return F.resolveNorm({ mean: JSON.parse(meta.norm_mean), std: JSON.parse(meta.norm_std) });
    } catch {
      return null;
    }
  }
  return null;
}

/** Class names from safetensors metadata (`classes`: a JSON array of strings), if present and valid. */
export function parseClasses(meta: Record<string, string> | undefined): string[] | null {
  if (!meta?.classes) return null;
  try {
    const v = JSON.parse(meta.classes);
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : null;
  } catch {
    return null;
  }
}
