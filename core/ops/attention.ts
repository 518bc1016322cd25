// Scaled dot-product attention, composed from matmul and softmax exactly as torch's math path (so the
// gradient comes from those ops): softmax(q·kᵀ·scale + bias)·v.
import { Tensor } from '../tensor';
import { broadcastShapes, fmtShape, shapesEqual } from '../shape';
import { backendOf, checkFinite, checkTensor } from './util';
import { add, ge, mul, where } from './elementwise';
import { matmul } from './matmul';
import { softmax } from './softmax';
import { transpose, unsqueeze } from './views';
import { arange } from './creation';

export interface AttentionOptions {
  /**
   * Broadcastable to [..., L, S]. A float mask is added to the scores; a boolean mask keeps the
   * positions where it is nonzero (the others get −∞). See attnMaskKind.
   */
  attnMask?: Tensor | null;
  /** How to read attnMask: 'boolean' (nonzero = keep) or 'additive'. Default: 'boolean' for int32 masks,
   *  'additive' for float masks — pass 'boolean' for a float 0/1 mask made by a comparison op. */
  attnMaskKind?: 'boolean' | 'additive';
  /** Mask out keys after the query position (torch's upper-left aligned tril of ones [L, S]). */
  isCausal?: boolean;
  /** Multiplies q·kᵀ. Default 1/sqrt(E), E = q's last dim. */
  scale?: number | null;
}

/**
 * torch.nn.functional.scaled_dot_product_attention(q, k, v) without dropout: q [..., L, E],
 * k [..., S, E], v [..., S, Ev] (batch dims broadcast) → [..., L, Ev]. A row with every key masked out
 * gives NaN, as torch's math path.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const op = 'scaledDotProductAttention';
  checkTensor(q, op, 'query');
  checkTensor(k, op, 'key');
  checkTensor(v, op, 'value');
  const mask = opts.attnMask ?? null;
  if (mask !== null) checkTensor(mask, op, 'attnMask');
  backendOf(op, ['query', q], ['key', k], ['value', v], ['attnMask', mask]);
  for (const [name, t] of [['query', q], ['key', k], ['value', v]] as const) {
    if (t.rank < 2) throw new Error(`${op}: ${name} must have at least 2 dimensions [..., seq, features], got ${fmtShape(t.shape)}`);
  }
  const E = q.shape[q.rank - 1];
  const L = q.shape[q.rank - 2];
  const S = k.shape[k.rank - 2];
  if (k.shape[k.rank - 1] !== E) throw new Error(`${op}: query ${fmtShape(q.shape)} and key ${fmtShape(k.shape)} must share the last dimension`);
  if (v.shape[v.rank - 2] !== S) throw new Error(`${op}: key ${fmtShape(k.shape)} and value ${fmtShape(v.shape)} must have the same sequence length (dimension -2)`);
  const isCausal = opts.isCausal ?? false;
  if (isCausal && mask !== null) throw new Error(`${op}: pass either attnMask or isCausal, not both (as torch)`);
  const scale = opts.scale === undefined || opts.scale === null ? 1 / Math.sqrt(E) : checkFinite(opts.scale, op, 'scale');
  const kind = opts.attnMaskKind ?? (mask?.dtype === 'int32' ? 'boolean' : 'additive');
  if (kind !== 'boolean' && kind !== 'additive') throw new TypeError(`${op}: attnMaskKind must be 'boolean' or 'additive', got ${JSON.stringify(kind)}`);

  const scoresShape = [...broadcastShapes(q.shape.slice(0, -2), k.shape.slice(0, -2), `${op}: query and key batch dimensions`), L, S];
  if (mask !== null && !shapesEqual(broadcastShapes(mask.shape, scoresShape, `${op}: attnMask`), scoresShape)) {
    throw new Error(`${op}: attnMask ${fmtShape(mask.shape)} must broadcast to the attention scores ${fmtShape(scoresShape)}`);
  }

  let scores = mul(matmul(q, transpose(k, -2, -1)), scale);
  if (isCausal) {
    const rows = unsqueeze(arange(0, L, 1, { device: q.device }), 1);
    const cols = unsqueeze(arange(0, S, 1, { device: q.device }), 0);
    scores = where(ge(rows, cols), scores, -Infinity);
  } else if (mask !== null) {
    scores = kind === 'boolean' ? where(mask, scores, -Infinity) : add(scores, mask);
  }
  return matmul(softmax(scores, -1), v);
}
