// Matrix products with torch.matmul's rules: 1-D operands are promoted and the added dim removed, batch
// dimensions broadcast. Everything funnels into one batched kernel [B,M,K]·[B,K,N]; broadcasting and
// batch flattening are recorded views, so their gradients come from views.ts.
import { Tensor } from '../tensor';
import { tidy } from '../scope';
import { record } from '../autograd';
import { broadcastShapes, fmtShape, numel } from '../shape';
import { backendOf, checkFloat, checkTensor, wrap } from './util';
import { expand, reshape, squeeze, transpose, unsqueeze } from './views';
import { add } from './elementwise';
import { sumToShape } from './reduce';

/** Both operands floating point and of one dtype (no implicit promotion, as torch.matmul). */
function checkOperands(op: string, ...named: [string, Tensor][]): void {
  for (const [name, t] of named) checkFloat(t, op, name);
  const [[n0, t0], [n1, t1]] = named;
  if (t0.dtype !== t1.dtype) {
    throw new TypeError(`${op}: ${n0} is ${t0.dtype} ${fmtShape(t0.shape)} but ${n1} is ${t1.dtype} ${fmtShape(t1.shape)}; cast one of them (x.to(dtype))`);
  }
}

/** [B,M,K]·[B,K,N] with the gradient rule dA = dY·Bᵀ, dB = Aᵀ·dY. */
export function bmm(a: Tensor, b: Tensor): Tensor {
  return bmmBias(a, b, null);
}

/**
 * bmm(a, b) + bias [N] with the add fused into the kernel's write-out (the backend epilogue: saves a full
 * read + write pass over the output). Gradients as the unfused composition; the bias's is the sum of dY over
 * B and M. Only the bias is fused: a fused activation would need the pre-activation output for its backward.
 */
function bmmBias(a: Tensor, b: Tensor, bias: Tensor | null): Tensor {
  checkTensor(a, 'bmm', 'input');
  checkTensor(b, 'bmm', 'mat2');
  if (a.rank !== 3 || b.rank !== 3) throw new Error(`bmm: expected 3-D tensors, got input ${fmtShape(a.shape)} and mat2 ${fmtShape(b.shape)}`);
  if (a.shape[0] !== b.shape[0] || a.shape[2] !== b.shape[1]) {
    throw new Error(`bmm: input ${fmtShape(a.shape)} and mat2 ${fmtShape(b.shape)} cannot be multiplied (need [B, M, K] and [B, K, N])`);
  }
  checkOperands('bmm', ['input', a], ['mat2', b]);
  const backend = backendOf('bmm', ['input', a], ['mat2', b]);
  const N = b.shape[2];
  const y = wrap(backend.matmul(a, b, bias ? { bias } : undefined), [a.shape[0], a.shape[1], N], a.dtype);
  return record('matmul', bias ? [a, b, bias] : [a, b], y, (g, needs) => [
    needs[0] ? bmm(g, transpose(b, 1, 2)) : null,
    needs[1] ? bmm(transpose(a, 1, 2), g) : null,
    ...(bias ? [needs[2] ? reshape(sumToShape(g, [1, 1, N]), [N]) : null] : []),
  ], [a, b]);
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  checkTensor(a, 'matmul', 'input');
  checkTensor(b, 'matmul', 'other');
  if (a.rank === 0 || b.rank === 0) {
    throw new Error(`matmul: both arguments need at least one dimension, got input ${fmtShape(a.shape)} and other ${fmtShape(b.shape)}`);
  }
  checkOperands('matmul', ['input', a], ['other', b]);
  // tidy frees the intermediate views and the raw product; the result keeps what it needs.
  return tidy(() => {
    const a2 = a.rank === 1 ? unsqueeze(a, 0) : a;
    const b2 = b.rank === 1 ? unsqueeze(b, -1) : b;
    const [M, K] = a2.shape.slice(-2);
    const [K2, N] = b2.shape.slice(-2);
    if (K !== K2) {
      throw new Error(`matmul: input ${fmtShape(a.shape)} and other ${fmtShape(b.shape)} cannot be multiplied (${K} vs ${K2} in the contracted dimension)`);
    }
    const batch = broadcastShapes(a2.shape.slice(0, -2), b2.shape.slice(0, -2),
      `matmul: batch dimensions of input ${fmtShape(a.shape)} and other ${fmtShape(b.shape)}`);
    const B = numel(batch);
    const a3 = reshape(expand(a2, [...batch, M, K]), [B, M, K]);
    const b3 = reshape(expand(b2, [...batch, K, N]), [B, K, N]);
    let y = reshape(bmm(a3, b3), [...batch, M, N]);
    if (a.rank === 1) y = squeeze(y, -2);
    if (b.rank === 1) y = squeeze(y, -1);
    return y;
  });
}

/** y = x·Wᵀ + b with weight [out, in], as torch.nn.functional.linear. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  checkTensor(x, 'linear', 'input');
  checkTensor(weight, 'linear', 'weight');
  if (weight.rank !== 2) throw new Error(`linear: weight must be 2-D [out_features, in_features], got ${fmtShape(weight.shape)}`);
  if (x.rank === 0 || x.shape[x.rank - 1] !== weight.shape[1]) {
    throw new Error(`linear: input's last dimension must equal in_features = ${weight.shape[1]}, got input ${fmtShape(x.shape)} and weight ${fmtShape(weight.shape)}`);
  }
  checkOperands('linear', ['input', x], ['weight', weight]);
  if (bias) {
    checkTensor(bias, 'linear', 'bias');
    if (bias.rank !== 1 || bias.shape[0] !== weight.shape[0]) {
      throw new Error(`linear: bias must be [${weight.shape[0]}], got ${fmtShape(bias.shape)}`);
    }
  }
  // Flatten leading dims so the weight is shared (stride-0 batch) rather than copied per batch.
  const lead = x.shape.slice(0, -1);
  return tidy(() => {
    const x2 = reshape(x, [1, numel(lead), weight.shape[1]]);
    const wT = unsqueeze(transpose(weight, 0, 1), 0);
    // fuse the bias into the product when it can be (same dtype and backend; otherwise the broadcast add
    // promotes or reports the mismatch as before)
    if (bias && bias.dtype === x.dtype && bias.backend === x.backend) {
      return reshape(bmmBias(x2, wT, bias), [...lead, weight.shape[0]]);
    }
    const y = reshape(bmm(x2, wT), [...lead, weight.shape[0]]);
    return bias ? add(y, bias) : y;
  });
}
