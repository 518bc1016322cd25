// Targets turn one sample's model output (a 1-D tensor of logits) into the scalar whose gradient a CAM
// explains. Built-in targets keep pytorch-grad-cam's positional constructors; a plain function
// (output) => scalar tensor works too.
import { Tensor } from '../core/tensor';
import { tensor } from '../core/ops/creation';
import { add, div, mul, sub, neg } from '../core/ops/elementwise';
import { sum, mean, logsumexp } from '../core/ops/reduce';
import { select } from '../core/ops/views';
import { gather } from '../core/ops/indexing';
import { softmax } from '../core/ops/softmax';
import { fmtShape } from '../core/shape';
import { keep } from '../core/scope';

export interface TargetObject {
  call(output: Tensor): Tensor;
}
export type Target = TargetObject | ((output: Tensor) => Tensor);

export function applyTarget(t: Target, output: Tensor, where: string): Tensor {
  const v = typeof t === 'function' ? t(output) : t.call(output);
  if (!(v instanceof Tensor) || v.size !== 1) {
    throw new TypeError(`${where}: a target must return a one-element Tensor, got ${v instanceof Tensor ? fmtShape(v.shape) : typeof v}`);
  }
  return v.rank === 0 ? v : v.reshape([]);
}

function checkVector(output: Tensor, who: string): number {
  if (output.rank !== 1) throw new Error(`${who}: expects one sample's output (a 1-D tensor of logits), got shape ${fmtShape(output.shape)}`);
  return output.shape[0];
}

export function checkCategory(c: unknown, numClasses: number, who: string, arg: string): number {
  if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c >= numClasses) {
    throw new RangeError(`${who}: ${arg} must be a class index in 0..${numClasses - 1}, got ${String(c)}`);
  }
  return c;
}

function checkIndex(c: unknown, who: string, arg: string): number {
  if (typeof c !== 'number' || !Number.isInteger(c) || c < 0) throw new RangeError(`${who}: ${arg} must be a non-negative integer, got ${String(c)}`);
  return c;
}

/** z[category]. */
export class ClassifierOutputTarget implements TargetObject {
  constructor(readonly category: number) {
    checkIndex(category, 'ClassifierOutputTarget', 'category');
  }
  call(output: Tensor): Tensor {
    const K = checkVector(output, 'ClassifierOutputTarget');
    return select(output, 0, checkCategory(this.category, K, 'ClassifierOutputTarget', 'category'));
  }
}

/** softmax(z)[category]. */
export class ClassifierOutputSoftmaxTarget implements TargetObject {
  constructor(readonly category: number) {
    checkIndex(category, 'ClassifierOutputSoftmaxTarget', 'category');
  }
  call(output: Tensor): Tensor {
    const K = checkVector(output, 'ClassifierOutputSoftmaxTarget');
    return select(softmax(output, 0), 0, checkCategory(this.category, K, 'ClassifierOutputSoftmaxTarget', 'category'));
  }
}

/** z[c] − CrossEntropy(z, c) = 2·z[c] − logsumexp(z) (ShapleyCAM's ReST target). */
export class ClassifierOutputReST implements TargetObject {
  constructor(readonly category: number) {
    checkIndex(category, 'ClassifierOutputReST', 'category');
  }
  call(output: Tensor): Tensor {
    const K = checkVector(output, 'ClassifierOutputReST');
    const zc = select(output, 0, checkCategory(this.category, K, 'ClassifierOutputReST', 'category'));
    return sub(mul(zc, 2), logsumexp(output, 0));
  }
}

/** z for category 1, −z for category 0 (a single-logit binary classifier). */
export class BinaryClassifierOutputTarget implements TargetObject {
  constructor(readonly category: number) {
    if (category !== 0 && category !== 1) throw new RangeError(`BinaryClassifierOutputTarget: category must be 0 or 1, got ${category}`);
  }
  call(output: Tensor): Tensor {
    const z = output.size === 1 ? output.reshape([]) : output;
    if (z.rank !== 0) throw new Error(`BinaryClassifierOutputTarget: expects a single logit, got shape ${fmtShape(output.shape)}`);
    return this.category === 1 ? z : neg(z);
  }
}

export type FinerObjective = 'weighted' | 'mean';

/**
 * Finer-CAM's objective for main class n and reference classes R (indices ≥ the class count are ignored;
 * with none left it falls back to z[n]):
 *   'weighted' (official code): Σᵣ pᵣ(zₙ − α·zᵣ) / (Σᵣ pᵣ + 1e-9), p = softmax(z) — not detached, so the
 *              gradient also flows through p, exactly as the official implementation;
 *   'mean'     (the paper's Eq. 8): zₙ − α·meanᵣ zᵣ (the paper used α = 0.6 with it).
 */
export class FinerWeightedTarget implements TargetObject {
  readonly objective: FinerObjective;
  constructor(readonly mainCategory: number, readonly referenceCategories: readonly number[], readonly alpha = 1, opts: { objective?: FinerObjective } = {}) {
    checkIndex(mainCategory, 'FinerWeightedTarget', 'mainCategory');
    if (!Array.isArray(referenceCategories)) throw new TypeError('FinerWeightedTarget: referenceCategories must be an array of class indices');
    referenceCategories.forEach((r, i) => checkIndex(r, 'FinerWeightedTarget', `referenceCategories[${i}]`));
    if (typeof alpha !== 'number' || !Number.isFinite(alpha)) throw new TypeError(`FinerWeightedTarget: alpha must be a finite number, got ${String(alpha)}`);
    this.objective = opts.objective ?? 'weighted';
    if (this.objective !== 'weighted' && this.objective !== 'mean') {
      throw new TypeError(`FinerWeightedTarget: objective must be 'weighted' or 'mean', got ${JSON.stringify(opts.objective)}`);
    }
  }
  call(output: Tensor): Tensor {
    const K = checkVector(output, 'FinerWeightedTarget');
    const n = checkCategory(this.mainCategory, K, 'FinerWeightedTarget', 'mainCategory');
    const refs = this.referenceCategories.filter((r) => r < K);
    const zn = select(output, 0, n);
    if (refs.length === 0) return zn;
    const idx = tensor(Int32Array.from(refs), [refs.length], { dtype: 'int32', device: output.device });
    const zr = gather(output, 0, idx);
    if (this.objective === 'mean') return sub(zn, mul(mean(zr), this.alpha));
    const pr = gather(softmax(output, 0), 0, idx);
    const num = sum(mul(pr, sub(zn, mul(zr, this.alpha))));
    return div(num, add(sum(pr), 1e-9));
  }
}

function checkSegOutput(output: Tensor, who: string): void {
  if (output.rank !== 3) throw new Error(`${who}: expects one sample's segmentation output (classes × H × W), got shape ${fmtShape(output.shape)}`);
}

/** softmax(z) over the last axis — the whole vector, for metrics and gradient-free uses (not a CAM's scalar). */
export class SoftmaxOutputTarget implements TargetObject {
  call(output: Tensor): Tensor {
    if (output.rank < 1) throw new Error(`SoftmaxOutputTarget: expects an output with a class axis, got shape ${fmtShape(output.shape)}`);
    return softmax(output, -1);
  }
}

/** The output itself (all raw scores), for metrics and gradient-free uses (not a CAM's scalar). */
export class RawScoresOutputTarget implements TargetObject {
  call(output: Tensor): Tensor {
    return output;
  }
}

/**
 * Σ_{h,w} out[category, h, w] · mask[h, w] for one sample's segmentation output (classes × H × W), as
 * pytorch-grad-cam's SemanticSegmentationTarget. `mask` is an H×W tensor on the output's device, or the
 * H·W values row-major (a Float32Array or number array; moved to the output's device on first use). The
 * mask may be binary or soft.
 */
export class SemanticSegmentationTarget implements TargetObject {
  private readonly host: Float32Array | null;
  private readonly onDevice = new Map<string, Tensor>();
  constructor(readonly category: number, readonly mask: Tensor | Float32Array | readonly number[]) {
    checkIndex(category, 'SemanticSegmentationTarget', 'category');
    if (mask instanceof Tensor) {
      if (mask.rank !== 2) throw new Error(`SemanticSegmentationTarget: mask must be an H×W tensor, got shape ${fmtShape(mask.shape)}`);
      this.host = null;
    } else if (mask instanceof Float32Array || Array.isArray(mask)) {
      const bad = Array.prototype.findIndex.call(mask, (v: unknown) => typeof v !== 'number' || !Number.isFinite(v));
      if (bad >= 0) throw new TypeError(`SemanticSegmentationTarget: mask values must be finite numbers, mask[${bad}] is ${String(mask[bad])}`);
      this.host = Float32Array.from(mask);
    } else {
      throw new TypeError('SemanticSegmentationTarget: mask must be an H×W Tensor, or a Float32Array / number[] of H·W values');
    }
  }

  /** The mask as an H×W tensor on `device`, checked against the output's H×W. */
  private maskFor(H: number, W: number, device: Tensor['device']): Tensor {
    const who = 'SemanticSegmentationTarget';
    if (this.mask instanceof Tensor) {
      if (this.mask.shape[0] !== H || this.mask.shape[1] !== W) {
        throw new Error(`${who}: mask is ${this.mask.shape[0]}×${this.mask.shape[1]} but the output's maps are ${H}×${W}`);
      }
      if (this.mask.device !== device) throw new Error(`${who}: mask is on '${this.mask.device}' but the output is on '${device}'; move it with await mask.toDevice('${device}')`);
      return this.mask;
    }
    if (this.host!.length !== H * W) throw new Error(`${who}: mask has ${this.host!.length} values but the output's maps are ${H}×${W} = ${H * W} pixels`);
    let t = this.onDevice.get(device);
    if (!t || t.isDisposed) {
      t = keep(tensor(this.host!, [H, W], { device }));
      this.onDevice.set(device, t);
    }
    return t;
  }

  call(output: Tensor): Tensor {
    const who = 'SemanticSegmentationTarget';
    checkSegOutput(output, who);
    const [K, H, W] = output.shape;
    const c = checkCategory(this.category, K, who, 'category');
    return sum(mul(select(output, 0, c), this.maskFor(H, W, output.device)));
  }

  /**
   * Every class's mask-weighted mean logit: the K-vector Σ_{h,w} out[:, h, w]·mask / Σ mask (Finer-CAM's
   * logits for segmentation, cam/finer-segmentation.ts).
   */
  scores(output: Tensor): Tensor {
    checkSegOutput(output, 'SemanticSegmentationTarget');
    const [, H, W] = output.shape;
    const m = this.maskFor(H, W, output.device);
    if (this.host && !(this.host.reduce((a, b) => a + b, 0) > 0)) {
      throw new Error('SemanticSegmentationTarget: the mask is empty (its values sum to 0); a region mean needs at least one pixel in the mask');
    }
    return div(sum(mul(output, m), [1, 2]), sum(m));
  }

  /** Frees the device copies of a host mask. */
  dispose(): void {
    for (const t of this.onDevice.values()) t.dispose();
    this.onDevice.clear();
  }
}
