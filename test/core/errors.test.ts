// Bad input to the core ops: each error must name the op, the offending argument and the shapes (or
// dtypes) involved, so that the message alone says what to fix.
import { describe, expect, it } from 'vitest';
import * as F from '../../index';
import type { Tensor } from '../../index';

/** Asserts fn throws an error whose message contains every fragment, in order. */
function expectError(fn: () => unknown, ...fragments: string[]): void {
  let err: unknown = null;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `expected an error mentioning ${fragments.join(' … ')}`).toBeInstanceOf(Error);
  const msg = (err as Error).message;
  let at = 0;
  for (const f of fragments) {
    const i = msg.indexOf(f, at);
    expect(i, `"${msg}" should contain "${f}" (after position ${at})`).toBeGreaterThanOrEqual(0);
    at = i + f.length;
  }
}

const t = (shape: number[], dtype: 'float32' | 'float64' | 'int32' = 'float32'): Tensor => F.zeros(shape, { dtype });

describe('shape mismatches', () => {
  it('binary ops: non-broadcastable shapes name both arguments, both shapes and the dimension', () => {
    expectError(() => F.add(t([2, 3]), t([4])), 'add: input and other', '[2, 3]', '[4]', 'not broadcastable', 'dimension -1 is 3 vs 4');
    expectError(() => F.mul(t([2, 1, 3]), t([5, 2])), 'mul: input and other', '[2, 1, 3]', '[5, 2]', 'dimension -1 is 3 vs 2');
    expectError(() => t([3]).sub(t([2])), 'sub: input and other', '[3]', '[2]');
    expectError(() => F.maximum(t([2, 2]), t([3, 2])), 'maximum: input and other', '[2, 2]', '[3, 2]', 'dimension -2 is 2 vs 3');
    expectError(() => F.lt(t([4]), t([5])), 'lt: input and other', '[4]', '[5]');
  });

  it('where names condition, input and other with their shapes', () => {
    expectError(() => F.where(t([2, 3]), t([3]), t([4])), 'where: condition [2, 3], input [3] and other [4]', 'not broadcastable');
    expectError(() => F.where(t([2]), t([3]), 0), 'where: condition [2], input [3]', 'not broadcastable');
  });

  it('matmul / bmm / linear: inner-dimension mismatches name both operands and their shapes', () => {
    expectError(() => F.matmul(t([2, 3]), t([4, 5])), 'matmul: input [2, 3] and other [4, 5] cannot be multiplied', '3 vs 4');
    expectError(() => F.matmul(t([3]), t([4])), 'matmul: input [3] and other [4]', '3 vs 4');
    expectError(() => F.matmul(t([2, 2, 3]), t([3, 3, 1])), 'matmul: batch dimensions of input [2, 2, 3] and other [3, 3, 1]', 'not broadcastable');
    expectError(() => F.matmul(t([]), t([3])), 'matmul: both arguments need at least one dimension', 'input []', 'other [3]');
    expectError(() => F.bmm(t([2, 3, 4]), t([3, 4, 5])), 'bmm: input [2, 3, 4] and mat2 [3, 4, 5] cannot be multiplied');
    expectError(() => F.bmm(t([3, 4]), t([4, 5])), 'bmm: expected 3-D tensors', 'input [3, 4]', 'mat2 [4, 5]');
    expectError(() => F.linear(t([2, 3]), t([4, 5])), 'linear: input', 'in_features = 5', 'input [2, 3]', 'weight [4, 5]');
    expectError(() => F.linear(t([2, 3]), t([4, 3]), t([5])), 'linear: bias must be [4], got [5]');
    expectError(() => F.linear(t([2, 3]), t([3])), 'linear: weight must be 2-D', '[3]');
  });

  it('reshape / view / expand to incompatible shapes name the tensor’s shape and the target', () => {
    expectError(() => F.reshape(t([2, 3]), [4]), 'reshape: cannot reshape a tensor of shape [2, 3] (6 elements) into shape [4]');
    expectError(() => t([2, 3]).reshape(4, -1), 'reshape: cannot reshape a tensor of shape [2, 3] (6 elements) into shape [4, -1]');
    expectError(() => F.reshape(t([2, 3]), [-1, -1]), 'reshape: only one dimension can be -1', '[-1, -1]');
    expectError(() => F.reshape(t([2, 3]), [2.5, 2]), 'reshape: shape must contain non-negative integers', '[2.5, 2]');
    expectError(() => F.viewAs(t([2, 3]), [5]), 'view: cannot reshape a tensor of shape [2, 3] (6 elements) into shape [5]');
    expectError(() => F.viewAs(F.transpose(t([2, 3]), 0, 1), [6]), 'view: shape [6] is not compatible with the strides of a [3, 2] tensor', 'reshape()');
    expectError(() => F.expand(t([3, 1]), [4, 2]), 'expand: the size of dimension 0 (3) must match 4 or be 1', 'tensor [3, 1]', 'target [4, 2]');
    expectError(() => F.expand(t([2, 3]), [3]), 'expand: the target shape [3] has fewer dimensions than the tensor [2, 3]');
    expectError(() => F.permute(t([2, 3]), [0]), 'permute: dims must list all 2 dimensions of a [2, 3] tensor', '[0]');
    expectError(() => F.permute(t([2, 3]), [1, 1]), 'permute: dims has repeated dimensions', '[1,1]');
  });

  it('tensor(): data that does not fill the shape, ragged arrays', () => {
    expectError(() => F.tensor([1, 2, 3], [2, 2]), 'tensor: shape [2, 2] needs 4 elements but data has 3');
    expectError(() => F.tensor([[1, 2], [3]]), 'tensor: ragged nested array', 'expected 2 elements at depth 1, got 1');
  });

  it('gradOutput of the wrong shape names the argument and both shapes', () => {
    const x = F.tensor([1, 2, 3], undefined, { requiresGrad: true });
    const y = F.mul(x, 2);
    expectError(() => y.backward(F.ones([2])), 'backward: gradOutput has shape [2] but the output has shape [3]');
    expectError(() => F.grad(y, [x], { gradOutputs: [F.ones([3, 1])] }), 'grad: gradOutputs[0] has shape [3, 1] but output 0 has shape [3]');
    expectError(() => F.grad([y, y], [x], { gradOutputs: [F.ones([3])] }), 'grad: gradOutputs has 1 entries but there are 2 outputs');
  });
});

describe('backward on a non-scalar without gradOutput', () => {
  it('names the shape and says what to pass', () => {
    const x = F.tensor([[1, 2], [3, 4]], undefined, { requiresGrad: true });
    const y = F.exp(x);
    expectError(() => y.backward(), 'backward: grad can be implicitly created only for outputs with one element', 'the output has shape [2, 2]', 'pass a gradOutput');
    expectError(() => F.grad(y, [x]), 'grad: grad can be implicitly created only for outputs with one element', 'output 0 has shape [2, 2]', 'pass gradOutputs');
    // a one-element output of any rank is fine
    F.sum(y, [0, 1], true).backward();
    expect(x.grad!.shape).toEqual([2, 2]);
  });

  it('backward / grad on tensors outside the graph', () => {
    const x = F.tensor([1, 2]);
    expectError(() => F.sum(x).backward(), 'backward: the tensor does not require grad');
    const w = F.tensor([1, 2], undefined, { requiresGrad: true });
    expectError(() => F.grad(F.sum(w), [x]), 'grad: inputs[0] does not require grad');
    expectError(() => F.grad(F.sum(x), [w]), 'grad: outputs[0] does not require grad');
    expectError(() => F.grad(F.sum(w), [1 as unknown as Tensor]), 'grad: inputs[0] is not a Tensor');
  });
});

describe('wrong dtypes', () => {
  it('gradients only for floating-point tensors', () => {
    expectError(() => F.tensor([1, 2], undefined, { dtype: 'int32', requiresGrad: true }), 'requiresGrad: only floating-point tensors can require gradients', 'int32 [2]');
    expectError(() => F.arange(3).requiresGrad_(), 'requiresGrad', 'int32 [3]');
  });

  it('ops that need floats, or matching dtypes, say which argument is which dtype', () => {
    expectError(() => F.mean(t([2], 'int32')), 'mean: x must be a floating-point tensor, got int32');
    expectError(() => F.matmul(t([2, 2]), t([2, 2], 'float64')), 'matmul: input is float32 [2, 2] but other is float64 [2, 2]', 'cast');
    expectError(() => F.matmul(t([2, 2], 'int32'), t([2, 2], 'int32')), 'matmul: input must be a floating-point tensor, got int32');
    expectError(() => F.bmm(t([1, 2, 2], 'float64'), t([1, 2, 2])), 'bmm: input is float64 [1, 2, 2] but mat2 is float32 [1, 2, 2]');
    expectError(() => F.linear(t([2, 3]), t([4, 3], 'int32')), 'linear: weight must be a floating-point tensor, got int32');
  });

  it('unknown dtype names and option values are rejected with the accepted ones', () => {
    expectError(() => F.tensor([1], undefined, { dtype: 'float16' as 'float32' }), "tensor: dtype: expected 'float32', 'int32' or 'float64', got \"float16\"");
    expectError(() => F.cast(t([1]), 'bool' as 'int32'), "cast: dtype: expected 'float32', 'int32' or 'float64', got \"bool\"");
    expectError(() => F.zeros([2], { dtype: 'uint8' as 'int32' }), 'full: dtype', '"uint8"');
    expectError(() => F.gelu(t([1]), { approximate: 'fast' as 'tanh' }), "gelu: approximate must be 'none' or 'tanh', got \"fast\"");
    expectError(() => F.add(t([1]), '1' as unknown as number), 'add: other must be a Tensor or a number, got string');
    expectError(() => F.add(null as unknown as Tensor, t([1])), 'add: input must be a Tensor or a number, got null');
    expectError(() => F.clamp(t([1])), 'clamp: at least one of min and max must be given');
  });
});

describe('axes out of range', () => {
  it('reductions name the argument, the tensor’s shape and the valid range', () => {
    expectError(() => F.sum(t([2, 3]), 2), 'sum: dim (x has shape [2, 3])', 'dimension 2 is out of range', 'expected -2..1');
    expectError(() => F.mean(t([2, 3]), [0, -3]), 'mean: dim (x has shape [2, 3])', 'dimension -3 is out of range');
    expectError(() => F.sum(t([2, 3]), [1, -1]), 'sum: dim (x has shape [2, 3])', 'dimension 1 appears more than once');
    expectError(() => F.max(t([4]), 1), 'max: dim (x has shape [4])', 'dimension 1 is out of range');
    expectError(() => F.amin(t([4, 2]), 5), 'amin: dim (x has shape [4, 2])', 'dimension 5');
    expectError(() => F.argmax(t([4, 2]), -3), 'argmax: dim (x has shape [4, 2])', 'dimension -3');
    expectError(() => F.variance(t([4, 2]), 2), 'var: dim (x has shape [4, 2])');
    expectError(() => F.prod(t([4, 2]), 2), 'prod: dim (x has shape [4, 2])');
    expectError(() => F.logsumexp(t([4, 2]), 2), 'logsumexp: dim (x has shape [4, 2])');
    expectError(() => F.sum(t([2, 3]), 1.5), 'sum: dim (x has shape [2, 3])', 'expected an integer, got 1.5');
    expectError(() => F.max(t([2, 0]), 1), 'max: cannot reduce over a zero-size dimension (shape [2, 0])');
  });

  it('view ops name the argument, the tensor’s shape and the valid range', () => {
    expectError(() => F.transpose(t([2, 3]), 0, 2), 'transpose: dim1 (x has shape [2, 3])', 'dimension 2 is out of range');
    expectError(() => F.unsqueeze(t([2, 3]), 4), 'unsqueeze: dim (x has shape [2, 3])', 'expected -3..2');
    expectError(() => F.squeeze(t([1, 3]), 2), 'squeeze: dim (x has shape [1, 3])');
    expectError(() => F.flip(t([2, 3]), [0, 2]), 'flip: dims (x has shape [2, 3])', 'dimension 2');
    expectError(() => F.permute(t([2, 3]), [0, 2]), 'permute: dims (x has shape [2, 3])');
    expectError(() => F.flatten(t([2, 3]), 0, 3), 'flatten: endDim (x has shape [2, 3])');
    expectError(() => F.slice(t([2, 3]), 2), 'slice: dim (x has shape [2, 3])');
    expectError(() => F.slice(t([2, 3]), 1, 0, null, 0), 'slice: step must be a positive integer, got 0');
    expectError(() => F.select(t([2, 3]), 1, 3), 'select: index 3 is out of range for dimension 1 of size 3 (x has shape [2, 3])');
    expectError(() => F.select(t([2, 3]), -3, 0), 'select: dim (x has shape [2, 3])');
    expectError(() => F.narrow(t([2, 3]), 1, 2, 2), 'narrow: start 2 and length 2 do not fit dimension 1 of size 3 (x has shape [2, 3])');
  });
});

describe('use after dispose', () => {
  it('every entry point names the op, the argument and the disposed tensor’s shape', async () => {
    const x = F.tensor([[1, 2, 3]], undefined, { requiresGrad: true });
    const y = F.mul(x, 2);
    x.dispose();
    expectError(() => F.add(x, 1), 'add: input: tensor #', 'of shape [1, 3] was disposed and cannot be used');
    expectError(() => F.add(1, x), 'add: other: tensor #', 'of shape [1, 3] was disposed');
    expectError(() => F.where(x, 1, 0), 'where: condition: tensor #', '[1, 3] was disposed');
    expectError(() => F.matmul(t([2, 1]), x), 'matmul: other:', '[1, 3] was disposed');
    expectError(() => F.sum(x, 0), 'sum: x:', '[1, 3] was disposed');
    expectError(() => F.transpose(x, 0, 1), 'transpose: x:', '[1, 3] was disposed');
    expectError(() => x.detach(), 'detach(): tensor #', '[1, 3] was disposed');
    await expect(x.data()).rejects.toThrow(/data\(\): tensor #\d+ of shape \[1, 3\] was disposed/);
    // the graph still holds x's values for y's backward, and y.backward works; x.grad is still written
    F.sum(y).backward();
    expect(Array.from(await x.grad!.data())).toEqual([2, 2, 2]);
    const z = F.exp(t([2]));
    z.dispose();
    expectError(() => z.backward(), 'backward: tensor #', '[2] was disposed');
    const g = t([2]);
    g.dispose();
    const w = F.tensor([1, 2], undefined, { requiresGrad: true });
    expectError(() => F.mul(w, 2).backward(g), 'backward: gradOutput: tensor #', '[2] was disposed');
  });
});
