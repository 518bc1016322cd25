// Classification losses with torch's exact semantics, composed from ops (so their gradients follow from the ops' rules):
// nllLoss picks −w[t]·input[t] per sample; crossEntropy is nllLoss of logSoftmax, plus torch's label
// smoothing term, or the soft-label form when the target holds class probabilities.
import { Tensor } from '../tensor';
import { fmtShape, shapesEqual } from '../shape';
import { backendOf, checkFinite, checkTensor } from './util';
import { add, cast, div, mul, ne, neg, where } from './elementwise';
import { sum } from './reduce';
import { reshape, squeeze, unsqueeze } from './views';
import { logSoftmax } from './softmax';
import { checkIndexBounds, gather, indexSelect } from './indexing';

export type Reduction = 'mean' | 'sum' | 'none';

export interface NllLossOptions {
  /** Per-class weights [C]. */
  weight?: Tensor | null;
  /** Targets equal to this contribute nothing (and don't count in the mean). Default -100. */
  ignoreIndex?: number;
  reduction?: Reduction;
}

export interface CrossEntropyOptions extends NllLossOptions {
  /** Mixes the target with the uniform distribution: (1 − ε)·target + ε/C. Default 0. */
  labelSmoothing?: number;
}

function checkReduction(r: unknown, op: string): Reduction {
  if (r === 'mean' || r === 'sum' || r === 'none') return r;
  throw new TypeError(`${op}: reduction must be 'mean', 'sum' or 'none', got ${JSON.stringify(r)}`);
}

function checkInputRank(input: Tensor, op: string): number {
  if (input.rank < 1) throw new Error(`${op}: input must be [C], [N, C] or [N, C, d1, ...], got a scalar`);
  if (input.dtype === 'int32') throw new TypeError(`${op}: input must be a floating-point tensor, got int32`);
  return input.rank === 1 ? 0 : 1;
}

function checkWeight(weight: Tensor | null | undefined, input: Tensor, C: number, op: string): Tensor | null {
  if (weight === null || weight === undefined) return null;
  checkTensor(weight, op, 'weight');
  if (weight.rank !== 1 || weight.shape[0] !== C) {
    throw new Error(`${op}: weight must be [C] = [${C}] (one per class of input ${fmtShape(input.shape)}), got ${fmtShape(weight.shape)}`);
  }
  if (weight.dtype !== input.dtype) throw new TypeError(`${op}: weight has dtype ${weight.dtype} but input has ${input.dtype}`);
  return weight;
}

/** The input's shape without its class dim: what an index target must look like. */
function targetShapeFor(input: Tensor, classDim: number): number[] {
  return input.shape.filter((_, i) => i !== classDim);
}

function checkClassTarget(target: Tensor, input: Tensor, classDim: number, ignoreIndex: number, op: string): void {
  if (target.dtype !== 'int32') {
    throw new TypeError(`${op}: target must hold int32 class indices of shape ${fmtShape(targetShapeFor(input, classDim))}, got ${target.dtype} ${fmtShape(target.shape)}`);
  }
  const want = targetShapeFor(input, classDim);
  if (!shapesEqual(target.shape, want)) {
    throw new Error(`${op}: target must have shape ${fmtShape(want)} for input ${fmtShape(input.shape)}, got ${fmtShape(target.shape)}`);
  }
  const C = input.shape[classDim];
  checkIndexBounds(target, C, (v) => `${op}: target ${v} is out of bounds for ${C} classes (ignoreIndex is ${ignoreIndex})`, ignoreIndex);
}

/**
 * Per-sample −w[t]·input[t] (0 where ignored), and the per-sample weights w[t]·(t ≠ ignoreIndex). The
 * ignored samples are zeroed with where(), not a multiply, so their gradient is exactly 0 even when the
 * mean divides by a zero total weight (all targets ignored) — torch gives 0 there too.
 */
function pickedLoss(input: Tensor, target: Tensor, weight: Tensor | null, ignoreIndex: number, classDim: number): { loss: Tensor; w: Tensor } {
  const keep = cast(ne(target, ignoreIndex), input.dtype);
  const safeTarget = where(keep, target, 0); // ignored targets read class 0, then get dropped
  const picked = squeeze(gather(input, classDim, unsqueeze(safeTarget, classDim)), classDim);
  const wt = weight && reshape(indexSelect(weight, 0, reshape(safeTarget, [safeTarget.size])), target.shape);
  const loss = where(keep, neg(wt ? mul(picked, wt) : picked), 0);
  return { loss, w: wt ? mul(wt, keep) : keep };
}

function reduce(loss: Tensor, reduction: Reduction, divisor: () => Tensor | number): Tensor {
  if (reduction === 'none') return loss;
  const total = sum(loss);
  return reduction === 'sum' ? total : div(total, divisor());
}

/**
 * torch.nn.functional.nll_loss(input, target): input holds log-probabilities [C], [N, C] or [N, C, d...];
 * target int32 class indices of the input's shape without C. 'mean' divides by the summed weights of the
 * non-ignored targets (NaN when all are ignored, as torch).
 */
export function nllLoss(input: Tensor, target: Tensor, opts: NllLossOptions = {}): Tensor {
  const op = 'nllLoss';
  checkTensor(input, op, 'input');
  checkTensor(target, op, 'target');
  const classDim = checkInputRank(input, op);
  const weight = checkWeight(opts.weight, input, input.shape[classDim], op);
  backendOf(op, ['input', input], ['target', target], ['weight', weight]);
  const ignoreIndex = opts.ignoreIndex ?? -100;
  if (!Number.isInteger(ignoreIndex)) throw new TypeError(`${op}: ignoreIndex must be an integer, got ${ignoreIndex}`);
  const reduction = checkReduction(opts.reduction ?? 'mean', op);
  checkClassTarget(target, input, classDim, ignoreIndex, op);
  const { loss, w } = pickedLoss(input, target, weight, ignoreIndex, classDim);
  return reduce(loss, reduction, () => sum(w));
}

/**
 * torch.nn.functional.cross_entropy(input, target): logits [C], [N, C] or [N, C, d...]. target is either
 * int32 class indices (shape of input without C) or float class probabilities (input's shape).
 */
export function crossEntropy(input: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const op = 'crossEntropy';
  checkTensor(input, op, 'input');
  checkTensor(target, op, 'target');
  const classDim = checkInputRank(input, op);
  const C = input.shape[classDim];
  const weight = checkWeight(opts.weight, input, C, op);
  backendOf(op, ['input', input], ['target', target], ['weight', weight]);
  const ignoreIndex = opts.ignoreIndex ?? -100;
  if (!Number.isInteger(ignoreIndex)) throw new TypeError(`${op}: ignoreIndex must be an integer, got ${ignoreIndex}`);
  const reduction = checkReduction(opts.reduction ?? 'mean', op);
  const eps = checkFinite(opts.labelSmoothing ?? 0, op, 'labelSmoothing');
  if (eps < 0 || eps > 1) throw new RangeError(`${op}: labelSmoothing must be between 0 and 1, got ${eps}`);
  // The class-dim view of the weight, for broadcasting against input.
  const wClass = weight && reshape(weight, input.shape.map((_, i) => (i === classDim ? C : 1)));

  if (target.dtype !== 'int32' && shapesEqual(target.shape, input.shape)) {
    // Class probabilities: −Σ_c w_c·p_c·log q_c per sample; 'mean' divides by the sample count (not by
    // the weights), as torch.
    if (ignoreIndex >= 0) throw new Error(`${op}: ignoreIndex is not supported with class-probability targets, got ${ignoreIndex}`);
    if (target.dtype !== input.dtype) throw new TypeError(`${op}: probability target has dtype ${target.dtype} but input has ${input.dtype}`);
    const logp = logSoftmax(input, classDim);
    const p = eps > 0 ? add(mul(target, 1 - eps), eps / C) : target;
    const terms = wClass ? mul(mul(logp, p), wClass) : mul(logp, p);
    return reduce(neg(sum(terms, classDim)), reduction, () => input.size / C);
  }
  if (target.dtype !== 'int32') {
    throw new TypeError(`${op}: target must be int32 class indices of shape ${fmtShape(targetShapeFor(input, classDim))} or class probabilities of the input's shape ${fmtShape(input.shape)} and dtype, got ${target.dtype} ${fmtShape(target.shape)}`);
  }
  checkClassTarget(target, input, classDim, ignoreIndex, op);
  const logp = logSoftmax(input, classDim);
  const { loss, w } = pickedLoss(logp, target, weight, ignoreIndex, classDim);
  const nll = reduce(loss, reduction, () => sum(w));
  if (eps === 0) return nll;
  // torch's smoothing term: −Σ_c w_c·log q_c per sample (0 where ignored), reduced like the nll part
  // ('mean' divides by the same summed target weights, or the count of non-ignored targets).
  const keep = ne(target, ignoreIndex);
  const smooth = where(keep, neg(sum(wClass ? mul(logp, wClass) : logp, classDim)), 0);
  const smoothReduced = reduce(smooth, reduction, () => sum(w));
  return add(mul(nll, 1 - eps), mul(smoothReduced, eps / C));
}
