// Normalisation layers. layerNorm runs the backend's row kernel (the normalised trailing dims flattened
// into one row) and states its gradient here; batchNorm is composed from ordinary ops, so its gradient
// comes from theirs in both training and eval mode.
import type { View } from '../backend';
import { Tensor } from '../tensor';
import { record } from '../autograd';
import { noGrad } from '../grad-mode';
import { tidy } from '../scope';
import { fmtShape, numel, shapesEqual } from '../shape';
import { backendOf, checkFinite, checkTensor, wrap } from './util';
import { add, mul, rsqrt, sub } from './elementwise';
import { mean, sum } from './reduce';
import { reshape } from './views';
import { contiguousRaw } from './softmax';

function checkAffine(t: Tensor | null | undefined, x: Tensor, shape: readonly number[], op: string, arg: string): Tensor | null {
  if (t === null || t === undefined) return null;
  checkTensor(t, op, arg);
  if (!shapesEqual(t.shape, shape)) {
    throw new Error(`${op}: ${arg} must have shape ${fmtShape(shape)}, got ${fmtShape(t.shape)}`);
  }
  if (t.dtype !== x.dtype) throw new TypeError(`${op}: ${arg} has dtype ${t.dtype} but input has ${x.dtype}`);
  return t;
}

/**
 * torch.nn.functional.layer_norm: normalises over the trailing dims `normalizedShape` with the biased
 * variance, then applies the optional elementwise weight and bias (both of shape normalizedShape).
 */
export function layerNorm(x: Tensor, normalizedShape: number | readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  const op = 'layerNorm';
  checkTensor(x, op, 'input');
  if (x.dtype === 'int32') throw new TypeError(`${op}: input must be a floating-point tensor, got int32`);
  const ns = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
  const k = ns.length;
  if (k === 0 || k > x.rank || !shapesEqual(x.shape.slice(x.rank - k), ns)) {
    throw new Error(`${op}: normalizedShape ${fmtShape(ns)} must be non-empty and match the trailing dimensions of input ${fmtShape(x.shape)}`);
  }
  checkFinite(eps, op, 'eps');
  const w = checkAffine(weight, x, ns, op, 'weight');
  const b = checkAffine(bias, x, ns, op, 'bias');
  const backend = backendOf(op, ['input', x], ['weight', w], ['bias', b]);

  const lead = x.shape.slice(0, x.rank - k);
  const cols = numel(ns);
  const rows = numel(lead);
  const xs = contiguousRaw(x);
  const ws = w ? contiguousRaw(w) : null;
  const bs = b ? contiguousRaw(b) : null;
  const row = (v: { view: View } | null): View | null =>
    v && { storage: v.view.storage, shape: [cols], strides: [1], offset: v.view.offset, dtype: v.view.dtype };
  let y: Tensor, mu: Tensor, rstd: Tensor;
  const statShape = [...lead, ...ns.map(() => 1)];
  if (rows * cols === 0) {
    y = wrap(backend.full(0, x.dtype, 0), x.shape, x.dtype);
    mu = wrap(backend.full(rows, x.dtype, NaN), statShape, x.dtype);
    rstd = wrap(backend.full(rows, x.dtype, NaN), statShape, x.dtype);
  } else {
    const r = backend.layerNorm(
      { storage: xs.view.storage, shape: [rows, cols], strides: [cols, 1], offset: xs.view.offset, dtype: x.dtype },
      row(ws), row(bs), eps,
    );
    y = wrap(r.y, x.shape, x.dtype);
    mu = wrap(r.mean, statShape, x.dtype);
    rstd = wrap(r.rstd, statShape, x.dtype);
  }
  xs.release();
  ws?.release();
  bs?.release();

  const axes = ns.map((_, i) => x.rank - k + i);
  const leadAxes = lead.map((_, i) => i);
  const inputs = [x, ...(w ? [w] : []), ...(b ? [b] : [])];
  return record(op, inputs, y, (g, needs) => {
    // x̂ = (x − mean)·rstd; with ĝ = g·w: gx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), gw = Σ g·x̂, gb = Σ g.
    const xhat = mul(sub(x, mu), rstd);
    const out: (Tensor | null)[] = [];
    if (needs[0]) {
      const gh = w ? mul(g, w) : g;
      out.push(mul(rstd, sub(sub(gh, mean(gh, axes, true)), mul(xhat, mean(mul(gh, xhat), axes, true)))));
    } else out.push(null);
    // The affine parameters are shared by every row: sum over the leading dims (none for a single row).
    const overRows = (t: Tensor): Tensor => (leadAxes.length > 0 ? sum(t, leadAxes) : t);
    let i = 1;
    if (w) out.push(needs[i++] ? overRows(mul(g, xhat)) : null);
    if (b) out.push(needs[i++] ? overRows(g) : null);
    return out;
  }, [x, mu, rstd, ...(w ? [w] : [])]);
}

export interface BatchNormOptions {
  /** Use (and update) batch statistics instead of the running ones. Default false (eval). */
  training?: boolean;
  /** Weight of the new batch statistic in the running average. Default 0.1, as torch. */
  momentum?: number | null;
  eps?: number;
}

function checkChannelVector(t: Tensor | null | undefined, C: number, x: Tensor, op: string, arg: string): Tensor | null {
  return checkAffine(t, x, [C], op, arg);
}

/**
 * torch.nn.functional.batch_norm for [N, C, ...] inputs (the statistics are per channel, over every other
 * dim). Eval: normalises with runningMean/runningVar. Training: normalises with the batch mean and the
 * biased batch variance, and updates the running stats in place (if given) with the unbiased variance:
 * running = (1 − momentum)·running + momentum·batch.
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null | undefined,
  runningVar: Tensor | null | undefined,
  weight?: Tensor | null,
  bias?: Tensor | null,
  opts: BatchNormOptions = {},
): Tensor {
  const op = 'batchNorm';
  checkTensor(x, op, 'input');
  if (x.dtype === 'int32') throw new TypeError(`${op}: input must be a floating-point tensor, got int32`);
  if (x.rank < 2) throw new Error(`${op}: input must be [N, C, ...] with at least 2 dimensions, got ${fmtShape(x.shape)}`);
  const training = opts.training ?? false;
  if (opts.momentum === null) {
    throw new TypeError(`${op}: momentum must be a number; for a cumulative average pass 1 / numBatchesTracked (what torch's BatchNorm module does for momentum=None)`);
  }
  const momentum = checkFinite(opts.momentum ?? 0.1, op, 'momentum');
  const eps = checkFinite(opts.eps ?? 1e-5, op, 'eps');
  const C = x.shape[1];
  const rm = checkChannelVector(runningMean, C, x, op, 'runningMean');
  const rv = checkChannelVector(runningVar, C, x, op, 'runningVar');
  const w = checkChannelVector(weight, C, x, op, 'weight');
  const b = checkChannelVector(bias, C, x, op, 'bias');
  backendOf(op, ['input', x], ['runningMean', rm], ['runningVar', rv], ['weight', w], ['bias', b]);
  if ((rm === null) !== (rv === null)) throw new Error(`${op}: runningMean and runningVar must both be given or both be null`);
  if (!training && rm === null) throw new Error(`${op}: runningMean and runningVar must be given in eval mode (training: false)`);

  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const perChannel = x.shape.map((_, i) => (i === 1 ? C : 1));
  const n = numel(x.shape) / Math.max(C, 1);
  let mu: Tensor, v: Tensor;
  if (training) {
    if (n <= 1) throw new Error(`${op}: expected more than 1 value per channel when training, got input of shape ${fmtShape(x.shape)}`);
    mu = mean(x, axes, true);
    const d = sub(x, mu);
    v = mean(mul(d, d), axes, true); // biased, for normalising (as torch)
    if (rm && rv) updateRunningStats(rm, rv, mu, v, momentum, n);
  } else {
    // Detached views: the values at this call are what backward reads, even if a later training step
    // replaces the running tensors' contents. Disposed below (a node that saved one keeps its storage).
    mu = detachedChannelView(rm!, perChannel);
    v = detachedChannelView(rv!, perChannel);
  }
  let y = mul(sub(x, mu), rsqrt(add(v, eps)));
  if (w) y = mul(y, reshape(w, perChannel));
  if (b) y = add(y, reshape(b, perChannel));
  if (!training) {
    mu.dispose();
    v.dispose();
  }
  return y;
}

/** A [C] tensor seen as [1, C, 1, ...], cut from the graph (a fresh view of the same storage). */
function detachedChannelView(t: Tensor, perChannel: readonly number[]): Tensor {
  return new Tensor(t.storageRef, perChannel, perChannel.map((_, i) => (i === 1 ? t.strides[0] : 0)), t.offset, t.dtype);
}

/** running ← (1 − m)·running + m·batch, with the unbiased variance; not recorded, contents replaced. */
function updateRunningStats(rm: Tensor, rv: Tensor, mu: Tensor, v: Tensor, m: number, n: number): void {
  noGrad(() => {
    const [newMean, newVar] = tidy(() => [
      add(mul(rm, 1 - m), mul(reshape(mu, rm.shape), m)),
      add(mul(rv, 1 - m), mul(reshape(v, rv.shape), (m * n) / (n - 1))),
    ]);
    rm.replaceStorage(newMean.storageRef, newMean.strides, newMean.offset);
    rv.replaceStorage(newVar.storageRef, newVar.strides, newVar.offset);
    newMean.dispose();
    newVar.dispose();
  });
}
