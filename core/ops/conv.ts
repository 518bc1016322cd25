// 2-D convolution (cross-correlation, as torch) over NCHW or unbatched CHW inputs, with torch's argument
// rules and error cases. The forward and both gradients are backend kernels (conv2d,
// conv2dBackwardInput, conv2dBackwardWeight). The bias is fused into the forward kernel's write-out (the
// backend's epilogue: saves a full read + write pass over the output compared with a separate broadcast add);
// its gradient is still that of the broadcast add, the sum of the output gradient over N, H and W. Only the
// bias is fused here: a fused activation would need its input (the pre-activation output) for the backward.
import type { Conv2dParams } from '../backend';
import { Tensor } from '../tensor';
import { record } from '../autograd';
import { fmtShape, pair } from '../shape';
import { convOutputSize } from '../shape';
import { backendOf, checkFloat, checkTensor, wrap } from './util';
import { withBatchDim } from './separable';
import { reshape, slice } from './views';
import { sumToShape } from './reduce';

export interface Conv2dOptions {
  stride?: number | readonly [number, number];
  /** Zeros added on both sides; 'valid' = 0; 'same' keeps H and W (stride 1 only; torch's split for even kernels). */
  padding?: number | readonly [number, number] | 'valid' | 'same';
  dilation?: number | readonly [number, number];
  groups?: number;
}

/** The kernel: x [N, C, H, W] ⋆ w [O, C/groups, kh, kw] (+ bias [O], fused) → [N, O, Ho, Wo], with gradients. */
function conv2dRaw(x: Tensor, w: Tensor, p: Conv2dParams, bias: Tensor | null): Tensor {
  const [N, , H, W] = x.shape;
  const [O, , kh, kw] = w.shape;
  const Ho = convOutputSize(H, kh, p.stride[0], p.padding[0], p.dilation[0]);
  const Wo = convOutputSize(W, kw, p.stride[1], p.padding[1], p.dilation[1]);
  const y = wrap(x.backend.conv2d(x, w, p, bias ? { bias } : undefined), [N, O, Ho, Wo], x.dtype);
  const xShape = x.shape;
  const wShape = w.shape;
  return record('conv2d', bias ? [x, w, bias] : [x, w], y, (g, needs) => [
    needs[0] ? wrap(g.backend.conv2dBackwardInput(g, w, p, xShape), xShape, g.dtype) : null,
    needs[1] ? wrap(g.backend.conv2dBackwardWeight(x, g, p, wShape), wShape, g.dtype) : null,
    // the fused bias: as the broadcast add of [1, O, 1, 1], the sum of g over N, H and W
    ...(bias ? [needs[2] ? reshape(sumToShape(g, [1, O, 1, 1]), [O]) : null] : []),
  ], [x, w]);
}

function checkWeightAndBias(x4: Tensor, weight: Tensor, bias: Tensor | null, groups: number): void {
  const op = 'conv2d';
  if (weight.rank !== 4) {
    throw new Error(`${op}: weight must be 4-D [out_channels, in_channels / groups, kH, kW], got shape ${fmtShape(weight.shape)}`);
  }
  const [O, Cg] = weight.shape;
  const C = x4.shape[1];
  if (O % groups !== 0) {
    throw new Error(`${op}: out_channels (weight.shape[0] = ${O}) must be divisible by groups = ${groups} (weight shape ${fmtShape(weight.shape)})`);
  }
  if (C !== Cg * groups) {
    throw new Error(
      `${op}: weight ${fmtShape(weight.shape)} with groups = ${groups} expects input with ${Cg * groups} channels, ` +
        `but input ${fmtShape(x4.shape)} has ${C} (dimension 1)`,
    );
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== O)) {
    throw new Error(`${op}: bias must be 1-D with out_channels = ${O} elements (weight ${fmtShape(weight.shape)}), got shape ${fmtShape(bias.shape)}`);
  }
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t && t.dtype !== x4.dtype) throw new TypeError(`${op}: input is ${x4.dtype} but ${name} is ${t.dtype}; cast one of them`);
  }
}

/**
 * 'same' padding: torch pads d·(k−1) in total, floor(total/2) before and the rest after. When the total
 * is odd (even kernel, odd dilation) the extra zero goes after; we get the same numbers by padding the
 * larger amount on both sides and dropping the first output row/column (which is the only extra one).
 */
function samePadding(weight: Tensor, dilation: [number, number]): { padding: [number, number]; dropFirst: [boolean, boolean] } {
  const total = [0, 1].map((i) => dilation[i] * (weight.shape[2 + i] - 1));
  return {
    padding: [Math.ceil(total[0] / 2), Math.ceil(total[1] / 2)],
    dropFirst: [total[0] % 2 === 1, total[1] % 2 === 1],
  };
}

/** torch.nn.functional.conv2d(input, weight, bias, stride, padding, dilation, groups). */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  checkTensor(weight, op, 'weight');
  if (bias !== undefined && bias !== null) checkTensor(bias, op, 'bias');
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${op}: options must be an object, got ${String(opts)}`);
  const stride = pair(opts.stride ?? 1, `${op}: stride`, 1);
  const dilation = pair(opts.dilation ?? 1, `${op}: dilation`, 1);
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new RangeError(`${op}: groups must be a positive integer, got ${String(groups)}`);
  const padArg = opts.padding ?? 0;
  return withBatchDim(x, op, true, (x4) => {
    backendOf(op, ['input', x4], ['weight', weight], ['bias', bias]);
    checkFloat(x4, op, 'input');
    checkWeightAndBias(x4, weight, bias ?? null, groups);
    let padding: [number, number];
    let dropFirst: [boolean, boolean] = [false, false];
    if (padArg === 'same') {
      if (stride[0] !== 1 || stride[1] !== 1) {
        throw new RangeError(`${op}: padding 'same' is not supported for strided convolutions (stride ${fmtShape(stride)})`);
      }
      ({ padding, dropFirst } = samePadding(weight, dilation));
    } else if (padArg === 'valid') {
      padding = [0, 0];
    } else if (typeof padArg === 'string') {
      throw new TypeError(`${op}: padding must be a number, a pair, 'valid' or 'same', got ${JSON.stringify(padArg)}`);
    } else {
      padding = pair(padArg, `${op}: padding`, 0);
    }
    const [, , H, W] = x4.shape;
    const [, , kh, kw] = weight.shape;
    const effective = [dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1];
    if (H + 2 * padding[0] < effective[0] || W + 2 * padding[1] < effective[1]) {
      throw new RangeError(
        `${op}: the kernel (${kh}×${kw}, dilation ${fmtShape(dilation)}: ${effective[0]}×${effective[1]}) is larger than the padded input ` +
          `(${H + 2 * padding[0]}×${W + 2 * padding[1]}; input ${fmtShape(x4.shape)}, padding ${fmtShape(padding)})`,
      );
    }
    // the bias is added to every output before the 'same' crop below, which gives the same values
    let y = conv2dRaw(x4, weight, { stride, padding, dilation, groups }, bias ?? null);
    if (dropFirst[0]) y = slice(y, 2, 1);
    if (dropFirst[1]) y = slice(y, 3, 1);
    return y;
  });
}
