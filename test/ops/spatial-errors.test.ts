// Bad arguments to the spatial ops fail with a message naming the op, the argument and the shapes
// involved (torch's checks, our wording). Plus the edge cases torch allows and we match.
import { describe, expect, it } from 'vitest';
import * as F from '../../index';

const x4 = (shape = [1, 3, 5, 5]) => F.zeros(shape);

describe('conv2d argument errors', () => {
  const w = F.zeros([4, 3, 3, 3]);
  const cases: [string, () => unknown, RegExp][] = [
    ['2-D input', () => F.conv2d(F.zeros([3, 4]), w), /conv2d: input must be 3-D \[C, H, W\] \(unbatched\) or 4-D \[N, C, H, W\], got shape \[3, 4\]/],
    ['5-D input', () => F.conv2d(F.zeros([1, 1, 3, 5, 5]), w), /conv2d: input must be .* got shape \[1, 1, 3, 5, 5\]/],
    ['3-D weight', () => F.conv2d(x4(), F.zeros([4, 3, 3])), /conv2d: weight must be 4-D \[out_channels, in_channels \/ groups, kH, kW\], got shape \[4, 3, 3\]/],
    ['channel mismatch', () => F.conv2d(x4(), F.zeros([4, 2, 3, 3])), /conv2d: weight \[4, 2, 3, 3\] with groups = 1 expects input with 2 channels, but input \[1, 3, 5, 5\] has 3/],
    ['channel mismatch with groups', () => F.conv2d(x4([1, 4, 5, 5]), F.zeros([4, 1, 3, 3]), null, { groups: 2 }), /expects input with 2 channels, but input \[1, 4, 5, 5\] has 4/],
    ['out channels not divisible', () => F.conv2d(x4([1, 4, 5, 5]), F.zeros([3, 2, 3, 3]), null, { groups: 2 }), /conv2d: out_channels \(weight.shape\[0\] = 3\) must be divisible by groups = 2 \(weight shape \[3, 2, 3, 3\]\)/],
    ['groups 0', () => F.conv2d(x4(), w, null, { groups: 0 }), /conv2d: groups must be a positive integer, got 0/],
    ['groups 1.5', () => F.conv2d(x4(), w, null, { groups: 1.5 }), /conv2d: groups must be a positive integer, got 1.5/],
    ['stride 0', () => F.conv2d(x4(), w, null, { stride: 0 }), /conv2d: stride: expected an integer >= 1 or a pair of them, got 0/],
    ['stride triple', () => F.conv2d(x4(), w, null, { stride: [1, 1, 1] as unknown as [number, number] }), /conv2d: stride: expected an integer >= 1 or a pair of them, got \[1,1,1\]/],
    ['dilation 0', () => F.conv2d(x4(), w, null, { dilation: [1, 0] }), /conv2d: dilation: expected an integer >= 1 or a pair of them, got \[1,0\]/],
    ['negative padding', () => F.conv2d(x4(), w, null, { padding: -1 }), /conv2d: padding: expected an integer >= 0 or a pair of them, got -1/],
    ['unknown padding string', () => F.conv2d(x4(), w, null, { padding: 'full' as 'same' }), /conv2d: padding must be a number, a pair, 'valid' or 'same', got "full"/],
    ["'same' with stride", () => F.conv2d(x4(), w, null, { padding: 'same', stride: [1, 2] }), /conv2d: padding 'same' is not supported for strided convolutions \(stride \[1, 2\]\)/],
    ['kernel larger than padded input', () => F.conv2d(x4([1, 3, 3, 6]), F.zeros([2, 3, 3, 3]), null, { dilation: 2 }),
      /conv2d: the kernel \(3×3, dilation \[2, 2\]: 5×5\) is larger than the padded input \(3×6; input \[1, 3, 3, 6\], padding \[0, 0\]\)/],
    ['bias of the wrong length', () => F.conv2d(x4(), w, F.zeros([3])), /conv2d: bias must be 1-D with out_channels = 4 elements \(weight \[4, 3, 3, 3\]\), got shape \[3\]/],
    ['2-D bias', () => F.conv2d(x4(), w, F.zeros([4, 1])), /conv2d: bias must be 1-D .* got shape \[4, 1\]/],
    ['dtype mismatch', () => F.conv2d(x4(), F.zeros([4, 3, 3, 3], { dtype: 'float64' })), /conv2d: input is float32 but weight is float64; cast one of them/],
    ['int32 input', () => F.conv2d(F.zeros([1, 3, 5, 5], { dtype: 'int32' }), w), /conv2d: input must be a floating-point tensor, got int32/],
    ['weight not a tensor', () => F.conv2d(x4(), [1, 2] as unknown as F.Tensor), /conv2d: weight must be a Tensor, got object/],
    ['input not a tensor', () => F.conv2d(null as unknown as F.Tensor, w), /conv2d: input must be a Tensor, got null/],
  ];
  for (const [name, fn, msg] of cases) it(name, () => expect(fn).toThrow(msg));
});

describe('pooling argument errors', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['maxPool2d: padding over half the kernel', () => F.maxPool2d(x4(), { kernelSize: 3, padding: 2 }), /maxPool2d: padding must be at most half of kernelSize, got padding \[2, 2\] with kernelSize \[3, 3\]/],
    ['maxPool2d: kernelSize 0', () => F.maxPool2d(x4(), { kernelSize: 0 }), /maxPool2d: kernelSize: expected an integer >= 1 or a pair of them, got 0/],
    ['maxPool2d: stride 0', () => F.maxPool2d(x4(), { kernelSize: 2, stride: 0 }), /maxPool2d: stride: expected an integer >= 1/],
    ['maxPool2d: dilation 0', () => F.maxPool2d(x4(), { kernelSize: 2, dilation: 0 }), /maxPool2d: dilation: expected an integer >= 1/],
    ['maxPool2d: input too small', () => F.maxPool2d(x4([1, 1, 2, 6]), { kernelSize: 3 }),
      /maxPool2d: input of spatial size \[2, 6\] is too small for kernelSize \[3, 3\], dilation \[1, 1\] and padding \[0, 0\]: the output would be \[0, 2\] \(input shape \[1, 1, 2, 6\]\)/],
    ['maxPool2d: 2-D input', () => F.maxPool2d(F.zeros([5, 5]), { kernelSize: 2 }), /maxPool2d: input must be 3-D \[C, H, W\] \(unbatched\) or 4-D \[N, C, H, W\], got shape \[5, 5\]/],
    ['maxPool2d: no options', () => F.maxPool2d(x4(), undefined as unknown as F.MaxPool2dOptions), /maxPool2d: options must be an object with at least kernelSize, got undefined/],
    ['maxPool2d: ceilMode not boolean', () => F.maxPool2d(x4(), { kernelSize: 2, ceilMode: 1 as unknown as boolean }), /maxPool2d: ceilMode must be a boolean, got 1/],
    ['maxPool2d: int32 input', () => F.maxPool2d(F.zeros([1, 1, 4, 4], { dtype: 'int32' }), { kernelSize: 2 }), /maxPool2d: input must be a floating-point tensor, got int32/],
    ['avgPool2d: padding over half the kernel', () => F.avgPool2d(x4(), { kernelSize: [2, 4], padding: [1, 3] }), /avgPool2d: padding must be at most half of kernelSize, got padding \[1, 3\] with kernelSize \[2, 4\]/],
    ['avgPool2d: divisorOverride 0', () => F.avgPool2d(x4(), { kernelSize: 2, divisorOverride: 0 }), /avgPool2d: divisorOverride must be a nonzero integer, got 0/],
    ['avgPool2d: divisorOverride 2.5', () => F.avgPool2d(x4(), { kernelSize: 2, divisorOverride: 2.5 }), /avgPool2d: divisorOverride must be a nonzero integer, got 2.5/],
    ['avgPool2d: dilation', () => F.avgPool2d(x4(), { kernelSize: 2, dilation: 2 } as F.AvgPool2dOptions), /avgPool2d: avg_pool2d has no dilation option/],
    ['avgPool2d: input too small', () => F.avgPool2d(x4([1, 1, 5, 1]), { kernelSize: 2 }), /avgPool2d: input of spatial size \[5, 1\] is too small .* output would be \[2, 0\]/],
    ['adaptiveAvgPool2d: outputSize 0', () => F.adaptiveAvgPool2d(x4(), 0), /adaptiveAvgPool2d: outputSize must be a positive integer or a pair of them \(null keeps the input size\), got 0/],
    ['adaptiveAvgPool2d: three sizes', () => F.adaptiveAvgPool2d(x4(), [1, 2, 3]), /adaptiveAvgPool2d: outputSize must be .* got \[1,2,3\]/],
    ['adaptiveAvgPool2d: 2-D input', () => F.adaptiveAvgPool2d(F.zeros([4, 4]), 2), /adaptiveAvgPool2d: input must be 3-D .* got shape \[4, 4\]/],
    ['adaptiveAvgPool2d: empty input', () => F.adaptiveAvgPool2d(F.zeros([1, 1, 0, 4]), 2), /adaptiveAvgPool2d: input must have non-empty spatial dimensions, got shape \[1, 1, 0, 4\]/],
  ];
  for (const [name, fn, msg] of cases) it(name, () => expect(fn).toThrow(msg));
});

describe('interpolate argument errors', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['size and scaleFactor', () => F.interpolate(x4(), { size: 3, scaleFactor: 2 }), /interpolate: give only one of size and scaleFactor/],
    ['neither', () => F.interpolate(x4(), { mode: 'bilinear' }), /interpolate: give either size or scaleFactor/],
    ['alignCorners with nearest', () => F.interpolate(x4(), { size: 3, alignCorners: true }), /interpolate: alignCorners can only be set with mode 'bilinear' or 'bicubic', got mode 'nearest'/],
    ['antialias with nearest-exact', () => F.interpolate(x4(), { size: 3, mode: 'nearest-exact', antialias: true }), /interpolate: antialias is only supported for mode 'bilinear' and 'bicubic', got mode 'nearest-exact'/],
    ['unknown mode', () => F.interpolate(x4(), { size: 3, mode: 'linear' as F.InterpolateMode }), /interpolate: mode must be one of 'nearest', 'nearest-exact', 'bilinear', 'bicubic', 'area', got "linear"/],
    ['3-D input', () => F.interpolate(F.zeros([2, 3, 4]), { size: 3 }), /interpolate: input must be 4-D \[N, C, H, W\], got shape \[2, 3, 4\]/],
    ['zero size', () => F.interpolate(x4(), { size: [0, 3] }), /interpolate: size must hold positive integers, got \[0,3\]/],
    ['fractional size', () => F.interpolate(x4(), { size: 2.5 }), /interpolate: size must hold positive integers, got 2.5/],
    ['three sizes', () => F.interpolate(x4(), { size: [2, 2, 2] as unknown as [number, number] }), /interpolate: size must be a number or a pair \[h, w\] for a 4-D input, got \[2,2,2\]/],
    ['negative scale', () => F.interpolate(x4(), { scaleFactor: [-1, 2] }), /interpolate: scaleFactor must hold positive finite numbers, got \[-1,2\]/],
    ['scale to nothing', () => F.interpolate(x4(), { scaleFactor: 0.1 }), /interpolate: scaleFactor 0.1 gives an empty output \[0, 0\] for input \[1, 3, 5, 5\]/],
    ['recompute with size', () => F.interpolate(x4(), { size: 3, recomputeScaleFactor: true }), /interpolate: recomputeScaleFactor is not meaningful with an explicit size/],
    ['int32 input', () => F.interpolate(F.zeros([1, 1, 4, 4], { dtype: 'int32' }), { size: 2 }), /interpolate: input must be a floating-point tensor, got int32/],
    ['no options', () => F.interpolate(x4(), null as unknown as F.InterpolateOptions), /interpolate: options must be an object with size or scaleFactor, got null/],
  ];
  for (const [name, fn, msg] of cases) it(name, () => expect(fn).toThrow(msg));
});

describe('edge cases torch allows', () => {
  it('maxPool2d: a dilated window wholly in the padding gives -inf (as torch) and no gradient', async () => {
    const x = F.tensor([[[[1, 2], [3, 4]]]], undefined, { requiresGrad: true });
    const { values, indices } = F.maxPool2d(x, { kernelSize: 2, stride: 1, padding: 1, dilation: 3, returnIndices: true });
    expect(Array.from(await values.data())).toEqual([-Infinity]);
    // torch reports a position outside the plane here; we report -1 ("no input pixel").
    expect(Array.from(await indices.data())).toEqual([-1]);
    const [g] = F.grad(values, [x], { gradOutputs: [F.ones([1, 1, 1, 1])] });
    expect(Array.from(await g!.data())).toEqual([0, 0, 0, 0]);
  });

  it('identity-sized interpolate and adaptive pooling return a new tensor, not the input', async () => {
    const x = F.tensor([[[[1, 2], [3, 4]]]]);
    for (const y of [F.interpolate(x, { size: 2 }), F.adaptiveAvgPool2d(x, 2), F.interpolate(x, { size: 2, mode: 'bilinear' })]) {
      expect(y).not.toBe(x);
      expect(Array.from(await y.data())).toEqual([1, 2, 3, 4]);
      y.dispose();
      expect(Array.from(await x.data())).toEqual([1, 2, 3, 4]);
    }
  });
});
