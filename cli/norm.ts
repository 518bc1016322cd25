// Which mean/std an image is normalised with. A wrong choice changes every score without an error (a
// torchvision resnet50 scores p = 0.889 with CLIP's stats where torch gives 0.935 with ImageNet's), so it
// comes from the model, is printed, and is stored in generate's sidecars:
//   --norm                         → as given (imagenet, clip, or m,m,m/s,s,s)
//   a classifier's metadata        → as stored (train-probe writes it)
//   ResNets                        → ImageNet's (torchvision's weights are trained with it)
//   ViTs / DINOv2 without metadata → CLIP's: the seed's generate_cams.py normalises that way, although its
//                                    dino_train.py trains heads with ImageNet's (kept so generate matches it)
import * as F from '../index';
import { UsageError } from './args';

export interface NormChoice {
  norm: F.Normalization;
  /** 'imagenet' or 'clip' when the numbers are one of those, else 'custom'. */
  name: 'imagenet' | 'clip' | 'custom';
  /** Why this one: '--norm', "the classifier's metadata", ... */
  source: string;
}

export const NORM_HELP =
  "input normalisation: imagenet, clip or mean,mean,mean/std,std,std (default: a classifier's stored one; " +
  "else imagenet for ResNets, clip for ViTs/DINOv2 as the seed's generate_cams.py)";

export function normName(n: F.Normalization): NormChoice['name'] {
  for (const k of ['imagenet', 'clip'] as const) {
    const r = F.NORMALIZATIONS[k];
    if (r.mean.every((v, i) => v === n.mean[i]) && r.std.every((v, i) => v === n.std[i])) return k;
  }
  return 'custom';
}

/** --norm's value, checked before anything is loaded; null when absent. */
export function parseNormOption(value: string | undefined, command: string): NormChoice | null {
  if (value === undefined) return null;
  const bad = () =>
    new UsageError(`${command}: --norm must be imagenet, clip or mean,mean,mean/std,std,std (3 numbers each, std > 0), got '${value}'`);
  if (value === 'imagenet' || value === 'clip') return { norm: F.NORMALIZATIONS[value], name: value, source: '--norm' };
  const halves = value.split('/');
  if (halves.length !== 2) throw bad();
  const [mean, std] = halves.map((h) => h.split(',').map((t) => (t.trim() === '' ? NaN : Number(t))));
  let norm: F.Normalization;
  try {
    norm = F.resolveNorm({ mean, std });
  } catch {
    throw bad();
  }
  return { norm, name: normName(norm), source: '--norm' };
}

/** --norm when given, else what the model says (see the rules above; loadModel fills norm and normSource). */
export function chooseNorm(override: NormChoice | null, model: { norm: F.Normalization; normSource: string }): NormChoice {
  return override ?? { norm: model.norm, name: normName(model.norm), source: model.normSource };
}

const fmt = (xs: readonly number[]) => xs.map((v) => String(v)).join(',');

/** "imagenet (mean 0.485,0.456,0.406 std 0.229,0.224,0.225; torchvision ResNet default)" */
export function describeNorm(c: NormChoice): string {
  return `${c.name} (mean ${fmt(c.norm.mean)} std ${fmt(c.norm.std)}; ${c.source})`;
}

/** The record stored in generate's JSON sidecar. */
export function normRecord(c: NormChoice): { name: string; mean: number[]; std: number[]; source: string } {
  return { name: c.name, mean: [...c.norm.mean], std: [...c.norm.std], source: c.source };
}
