// Bad input to the nn ops: each call must throw an error that names the argument (and the offending
// index or shapes), before any kernel runs.
import { describe, expect, it } from 'vitest';
import * as F from '../../index';

const f32 = (shape: number[], v = 0.5) => F.full(shape, v);
const i32 = (data: number[], shape?: number[]) => F.tensor(data, shape, { dtype: 'int32' });

describe('nn ops reject bad input with a clear error', () => {
  it('softmax / logSoftmax', () => {
    expect(() => F.softmax(i32([1, 2]), 0)).toThrow(/softmax: x must be a floating-point tensor, got int32/);
    expect(() => F.logSoftmax(f32([2, 3]), 2)).toThrow(/logSoftmax: dim: dimension 2 is out of range for a tensor of rank 2/);
    expect(() => F.softmax(f32([2]), undefined as unknown as number)).toThrow(/softmax: dim is required/);
  });

  it('crossEntropy / nllLoss: targets out of range name the target value', () => {
    const x = f32([3, 4]);
    expect(() => F.crossEntropy(x, i32([0, 4, 1]))).toThrow(/crossEntropy: target 4 is out of bounds for 4 classes/);
    expect(() => F.crossEntropy(x, i32([0, -1, 1]))).toThrow(/crossEntropy: target -1 is out of bounds/);
    expect(() => F.nllLoss(x, i32([0, 7, 1]))).toThrow(/nllLoss: target 7 is out of bounds for 4 classes/);
    // ignoreIndex itself is fine, and so is a non-negative ignoreIndex outside [0, C).
    expect(() => F.crossEntropy(x, i32([0, -100, 1]))).not.toThrow();
    expect(() => F.crossEntropy(x, i32([0, 9, 1]), { ignoreIndex: 9 })).not.toThrow();
  });

  it('crossEntropy / nllLoss: shapes, dtypes and options', () => {
    const x = f32([3, 4]);
    expect(() => F.crossEntropy(x, i32([0, 1]))).toThrow(/crossEntropy: target must have shape \[3\] for input \[3, 4\], got \[2\]/);
    expect(() => F.crossEntropy(x, f32([3]))).toThrow(/crossEntropy: target must be int32 class indices of shape \[3\] or class probabilities/);
    expect(() => F.crossEntropy(x, i32([0, 1, 2]), { weight: f32([3]) })).toThrow(/crossEntropy: weight must be \[C\] = \[4\].*got \[3\]/);
    expect(() => F.crossEntropy(x, i32([0, 1, 2]), { labelSmoothing: 1.5 })).toThrow(/crossEntropy: labelSmoothing must be between 0 and 1, got 1.5/);
    expect(() => F.crossEntropy(x, i32([0, 1, 2]), { reduction: 'avg' as F.Reduction })).toThrow(/crossEntropy: reduction must be 'mean', 'sum' or 'none', got "avg"/);
    expect(() => F.crossEntropy(x, f32([3, 4]), { ignoreIndex: 0 })).toThrow(/crossEntropy: ignoreIndex is not supported with class-probability targets/);
    expect(() => F.crossEntropy(f32([]), i32([0], []))).toThrow(/crossEntropy: input must be \[C\], \[N, C\] or \[N, C, d1, \.\.\.\], got a scalar/);
    expect(() => F.nllLoss(i32([0, 1], [1, 2]), i32([0]))).toThrow(/nllLoss: input must be a floating-point tensor/);
    expect(() => F.nllLoss(f32([2, 3, 4]), i32([0, 1], [2]))).toThrow(/nllLoss: target must have shape \[2, 4\] for input \[2, 3, 4\], got \[2\]/);
  });

  it('layerNorm', () => {
    expect(() => F.layerNorm(f32([2, 3]), [2])).toThrow(/layerNorm: normalizedShape \[2\] must be non-empty and match the trailing dimensions of input \[2, 3\]/);
    expect(() => F.layerNorm(f32([2, 3]), [])).toThrow(/layerNorm: normalizedShape \[\] must be non-empty/);
    expect(() => F.layerNorm(f32([2, 3]), [3], f32([2]))).toThrow(/layerNorm: weight must have shape \[3\], got \[2\]/);
    expect(() => F.layerNorm(f32([2, 3]), [3], null, f32([3, 1]))).toThrow(/layerNorm: bias must have shape \[3\], got \[3, 1\]/);
    expect(() => F.layerNorm(f32([2, 3]), [3], f32([3], 1).to('float64'))).toThrow(/layerNorm: weight has dtype float64 but input has float32/);
  });

  it('batchNorm', () => {
    const rm = f32([3], 0);
    const rv = f32([3], 1);
    expect(() => F.batchNorm(f32([3]), rm, rv)).toThrow(/batchNorm: input must be \[N, C, \.\.\.\] with at least 2 dimensions, got \[3\]/);
    expect(() => F.batchNorm(f32([2, 4]), rm, rv)).toThrow(/batchNorm: runningMean must have shape \[4\], got \[3\]/);
    expect(() => F.batchNorm(f32([2, 3]), null, null)).toThrow(/batchNorm: runningMean and runningVar must be given in eval mode/);
    expect(() => F.batchNorm(f32([2, 3]), rm, null, null, null, { training: true })).toThrow(/must both be given or both be null/);
    expect(() => F.batchNorm(f32([1, 3]), rm, rv, null, null, { training: true })).toThrow(/batchNorm: expected more than 1 value per channel when training, got input of shape \[1, 3\]/);
    expect(() => F.batchNorm(f32([2, 3]), rm, rv, f32([2]))).toThrow(/batchNorm: weight must have shape \[3\], got \[2\]/);
    expect(() => F.batchNorm(f32([2, 3]), rm, rv, null, null, { training: true, momentum: null })).toThrow(/batchNorm: momentum must be a number; for a cumulative average pass 1 \/ numBatchesTracked/);
  });

  it('gather / scatterAdd: bad index values name the index, the dim and its size', () => {
    const x = f32([2, 3]);
    expect(() => F.gather(x, 1, i32([0, 3], [1, 2]))).toThrow(/gather: index 3 is out of bounds for dimension 1 with size 3/);
    expect(() => F.gather(x, 1, i32([-1, 0], [1, 2]))).toThrow(/gather: index -1 is out of bounds for dimension 1 with size 3/);
    expect(() => F.gather(x, 1, f32([1, 2]))).toThrow(/gather: index must be an int32 tensor, got float32 of shape \[1, 2\]/);
    expect(() => F.gather(x, 1, i32([0, 1]))).toThrow(/gather: index must have as many dimensions as x, got index \[2\] and x \[2, 3\]/);
    expect(() => F.gather(x, 1, i32([0, 0, 0], [3, 1]))).toThrow(/gather: index \[3, 1\] must not be larger than x \[2, 3\] in dimension 0/);
    expect(() => F.gather(x, 2, i32([0], [1, 1]))).toThrow(/gather: dim: dimension 2 is out of range/);
    expect(() => F.scatterAdd(x, 0, i32([2], [1, 1]), f32([1, 1]))).toThrow(/scatterAdd: index 2 is out of bounds for dimension 0 with size 2/);
    expect(() => F.scatterAdd(x, 0, i32([0, 0], [1, 2]), f32([1, 1]))).toThrow(/scatterAdd: index \[1, 2\] must not be larger than src \[1, 1\]/);
    expect(() => F.scatterAdd(x, 0, i32([0], [1, 1]), f32([1, 1]).to('float64'))).toThrow(/scatterAdd: src has dtype float64 but x has float32/);
  });

  it('indexSelect / embedding', () => {
    const x = f32([2, 3]);
    expect(() => F.indexSelect(x, 0, i32([0, 2]))).toThrow(/indexSelect: index 2 is out of range for dimension 0 of size 2/);
    expect(() => F.indexSelect(x, 1, i32([0, 1], [1, 2]))).toThrow(/indexSelect: index must be 1-D, got shape \[1, 2\]/);
    expect(() => F.indexSelect(f32([]), 0, i32([0]))).toThrow(/indexSelect: x must have at least one dimension/);
    expect(() => F.embedding(i32([0, 5]), f32([5, 2]))).toThrow(/embedding: index 5 in indices is out of range for weight with 5 rows/);
    expect(() => F.embedding(i32([0]), f32([5]))).toThrow(/embedding: weight must be 2-D \[numEmbeddings, embeddingDim\], got \[5\]/);
    expect(() => F.embedding(i32([0]), f32([5, 2]), { paddingIdx: 5 })).toThrow(/embedding: paddingIdx 5 must be within the 5 embeddings/);
    expect(() => F.embedding(f32([1]), f32([5, 2]))).toThrow(/embedding: indices must be an int32 tensor/);
  });

  it('concat / stack', () => {
    expect(() => F.concat([])).toThrow(/concat: expected a non-empty array of tensors/);
    expect(() => F.concat([f32([2, 3]), f32([2, 4])], 0)).toThrow(/concat: tensors\[1\] has shape \[2, 4\] but tensors\[0\] has shape \[2, 3\]; sizes must match except in dimension 0/);
    expect(() => F.concat([f32([2, 3]), f32([2, 3, 1])], 1)).toThrow(/concat: tensors\[1\] has shape \[2, 3, 1\]/);
    expect(() => F.concat([f32([2, 3]), 5 as unknown as F.Tensor])).toThrow(/concat: tensors\[1\] must be a Tensor/);
    expect(() => F.cat([f32([2])], 1)).toThrow(/concat: dim: dimension 1 is out of range/);
    expect(() => F.stack([f32([2, 3]), f32([3, 2])])).toThrow(/stack: expects each tensor to be equal size, but got \[2, 3\] at entry 0 and \[3, 2\] at entry 1/);
    expect(() => F.stack([f32([2])], 2)).toThrow(/stack: dim: dimension 2 is out of range/);
  });

  it('pad', () => {
    const x = f32([2, 3]);
    expect(() => F.pad(x, [1])).toThrow(/pad: pad must be an array of integer pairs/);
    expect(() => F.pad(x, [1, 1, 1, 1, 1, 1])).toThrow(/pad: pad must be an array of integer pairs, at most 2 per dimension of x \[2, 3\]/);
    expect(() => F.pad(x, [0.5, 1])).toThrow(/pad: pad must be an array of integer pairs/);
    expect(() => F.pad(x, [-2, -2])).toThrow(/pad: dimension 1 of size 3 padded by -2 and -2 would have negative size -1/);
    expect(() => F.pad(x, [1, 1], { mode: 'reflect' as 'constant' })).toThrow(/pad: only mode 'constant' is supported, got "reflect"/);
  });

  it('scaledDotProductAttention', () => {
    const q = f32([2, 3, 4]);
    const k = f32([2, 5, 4]);
    const v = f32([2, 5, 6]);
    expect(() => F.scaledDotProductAttention(q, f32([2, 5, 3]), v)).toThrow(/scaledDotProductAttention: query \[2, 3, 4\] and key \[2, 5, 3\] must share the last dimension/);
    expect(() => F.scaledDotProductAttention(q, k, f32([2, 4, 6]))).toThrow(/scaledDotProductAttention: key \[2, 5, 4\] and value \[2, 4, 6\] must have the same sequence length/);
    expect(() => F.scaledDotProductAttention(f32([4]), k, v)).toThrow(/scaledDotProductAttention: query must have at least 2 dimensions/);
    expect(() => F.scaledDotProductAttention(q, k, v, { attnMask: f32([3, 5]), isCausal: true })).toThrow(/pass either attnMask or isCausal, not both/);
    expect(() => F.scaledDotProductAttention(q, k, v, { attnMask: f32([3, 4]) })).toThrow(/scaledDotProductAttention: attnMask: shapes \[3, 4\] and \[2, 3, 5\] are not broadcastable/);
    expect(() => F.scaledDotProductAttention(q, k, v, { attnMask: f32([4, 2, 3, 5]) })).toThrow(/scaledDotProductAttention: attnMask \[4, 2, 3, 5\] must broadcast to the attention scores \[2, 3, 5\]/);
    expect(() => F.scaledDotProductAttention(q, k, v, { scale: NaN })).toThrow(/scaledDotProductAttention: scale must be a finite number/);
  });
});
