// BatchNorm folded into the convolution before it, an inference shortcut (issue 9). In eval mode
//   bn(conv(x)) = s·(conv(x, w) + c − μ) + β,   s = γ / √(σ² + ε)   (per output channel)
//              = conv(x, s·w) + (β + s·(c − μ)),
// so one convolution with folded weights replaces the convolution and BatchNorm's four elementwise passes
// over its output; a ReLU after it goes into the convolution's write-back too. The result differs from the two-step one by float32 rounding only (TOL.model covers it;
// test/wasm/fold-batchnorm.test.ts checks outputs, gradients and CAMs against the unfolded model).
//
// On a backend with conv2dScaled (wasm) the folded weights s·w are never kept: the backend multiplies by s
// where it packs the weights for its GEMM (once, cached with the pack), the same float32 products, so the
// model holds no second copy of every convolution weight (~94 MB for ResNet-50); an input gradient through
// the fold makes s·w for the moment it needs it.
//
// Folded only where nothing can tell the difference:
//   - the backend asks for it (Backend.foldBatchNorm: the wasm backend; the cpu reference never folds);
//   - the BatchNorm is in eval mode, float32, and both modules are exactly Conv2d / BatchNorm2d;
//   - neither module has a forward hook (a CAM target such as 'layer4.2.bn3' or 'layer4.2.conv3' sees the
//     exact outputs; a target above them, such as 'layer4', sees the block's output, within rounding).
// Gradients stay exact in form: the op records its own backward rule — the input gradient through the folded
// weights, and the conv weight, conv bias, γ and β gradients by the chain rule through the fold — so training
// in eval mode (frozen statistics) and CAMs work as before. The folded weights are cached per BatchNorm and
// rebuilt when any of the six tensors gets new storage (loading weights, an optimizer step, model.to()).
import { Tensor } from '../core/tensor';
import { BatchNorm2d, Conv2d, ReLU } from '../core/nn/layers';
import { Module } from '../core/nn/module';
import { record } from '../core/autograd';
import { noGrad } from '../core/grad-mode';
import { keep } from '../core/scope';
import { add, gt, mul, rsqrt, sub, where } from '../core/ops/elementwise';
import { reshape } from '../core/ops/views';
import { sumToShape } from '../core/ops/reduce';
import { conv2d } from '../core/ops/conv';
import { wrap } from '../core/ops/util';
import type { Conv2dParams } from '../core/backend';
import { convOutputSize } from '../core/shape';

interface Folded {
  key: unknown[];
  /** s·w, [O, C/groups, kh, kw]; null where the backend scales the weights itself (Backend.conv2dScaled: no
   *  second copy of every weight). */
  w: Tensor | null;
  /** β + s·(c − μ), [O]. */
  b: Tensor;
  /** s = γ·rstd, [O]. */
  s: Tensor;
}

const cache = new WeakMap<BatchNorm2d, Folded>();
// the folded tensors live in backend memory that garbage collection does not free: release them when their
// BatchNorm module is collected (a model dropped without dispose(), a page switching models)
const released = new FinalizationRegistry<Folded>((f) => {
  for (const t of [f.w, f.b, f.s]) if (t && !t.isDisposed) t.dispose();
});

const hooked = (m: Module): boolean => Object.prototype.hasOwnProperty.call(m, 'forward');

function foldable(conv: Conv2d, bn: BatchNorm2d, x: Tensor): boolean {
  return !bn.training && x.backend.foldBatchNorm === true && x.dtype === 'float32' && conv.weight.dtype === 'float32' &&
    conv.constructor === Conv2d && bn.constructor === BatchNorm2d && !hooked(conv) && !hooked(bn) &&
    x.rank === 4 && conv.weight.device === x.device && bn.runningMean.device === x.device;
}

function folded(conv: Conv2d, bn: BatchNorm2d, scaled: boolean): Folded {
  const eps = bn.opts.eps ?? 1e-5;
  const key = [conv.weight.storageRef, conv.bias?.storageRef, bn.weight.storageRef, bn.bias.storageRef, bn.runningMean.storageRef, bn.runningVar.storageRef, eps, scaled];
  const hit = cache.get(bn);
  if (hit && hit.key.length === key.length && hit.key.every((k, i) => k === key[i])) return hit;
  if (hit) {
    released.unregister(hit);
    for (const t of [hit.w, hit.b, hit.s]) t?.dispose();
  }
  const O = conv.weight.shape[0];
  const f = noGrad(() => {
    const s = mul(bn.weight, rsqrt(add(bn.runningVar, eps)));
    const w = scaled ? null : mul(conv.weight, reshape(s, [O, 1, 1, 1]));
    const cMinusMu = conv.bias ? sub(conv.bias, bn.runningMean) : mul(bn.runningMean, -1);
    const b = add(bn.bias, mul(s, cMinusMu));
    return { key, w: w && keep(w), b: keep(b), s: keep(s) };
  });
  cache.set(bn, f);
  released.register(bn, f, f);
  return f;
}

/**
 * bn.forward(conv.forward(x)) — then relu.forward when a ReLU module is given — with the BatchNorm folded into
 * the convolution where that is invisible (see the header), and the ReLU fused into the convolution's
 * write-back when it is an unhooked ReLU; otherwise exactly the modules' forwards.
 */
export function convBatchNorm(conv: Conv2d, bn: BatchNorm2d, x: Tensor, relu?: Module): Tensor {
  if (!foldable(conv, bn, x)) {
    const y = bn.forward(conv.forward(x));
    return relu ? relu.forward(y) : y;
  }
  const fuseRelu = relu !== undefined && relu.constructor === ReLU && !hooked(relu);
  const be = x.backend;
  const f = folded(conv, bn, be.conv2dScaled !== undefined);
  const p: Conv2dParams = { stride: conv.stride, padding: conv.padding, dilation: conv.dilation, groups: conv.groups };
  let y: Tensor;
  if (fuseRelu || !f.w) {
    const [N, , H, W] = x.shape;
    const [O, , kh, kw] = conv.weight.shape;
    const shape = [N, O, convOutputSize(H, kh, p.stride[0], p.padding[0], p.dilation[0]), convOutputSize(W, kw, p.stride[1], p.padding[1], p.dilation[1])];
    const epi = { bias: f.b, activation: fuseRelu ? 'relu' as const : 'none' as const };
    y = wrap(f.w ? be.conv2d(x, f.w, p, epi) : be.conv2dScaled!(x, conv.weight, f.s, p, epi), shape, x.dtype);
  } else y = noGrad(() => conv2d(x, f.w!, f.b, p));
  const out = recordFolded(conv, bn, x, y, f, p, fuseRelu);
  return relu && !fuseRelu ? relu.forward(out) : out;
}

function recordFolded(conv: Conv2d, bn: BatchNorm2d, x: Tensor, y: Tensor, f: Folded, p: Conv2dParams, relu: boolean): Tensor {
  const O = conv.weight.shape[0];
  const perChannel = (t: Tensor) => reshape(t, [1, O, 1, 1]);
  const channelSum = (g: Tensor) => reshape(sumToShape(g, [1, O, 1, 1]), [O]);
  const inputs = [x, conv.weight, ...(conv.bias ? [conv.bias] : []), bn.weight, bn.bias];
  const xShape = x.shape, wShape = conv.weight.shape;
  const { s } = f;
  const wF = f.w;
  return record(relu ? 'conv2d_batchnorm_relu' : 'conv2d_batchnorm', inputs, y, (gOut, needs) => {
    // through the fused relu: the gradient passes where the output is positive (y > 0 ⇔ its input > 0)
    const g = relu ? where(gt(y, 0), gOut, 0) : gOut;
    const [nx, nw] = needs;
    const nc = conv.bias ? needs[2] : false;
    const [ng, nb] = needs.slice(conv.bias ? 3 : 2);
    // the folded weights for the input gradient: kept, or made for this gradient only (conv2dScaled backends)
    const inputGrad = (w: Tensor) => wrap(g.backend.conv2dBackwardInput(g, w, p, xShape), xShape, g.dtype);
    const out: (Tensor | null)[] = [
      nx ? (wF ? inputGrad(wF) : noGrad(() => {
        const w = mul(conv.weight, reshape(s, [O, 1, 1, 1]));
        try {
          return inputGrad(w);
        } finally {
          w.dispose();
        }
      })) : null,
      nw ? mul(wrap(g.backend.conv2dBackwardWeight(x, g, p, wShape), wShape, g.dtype), reshape(s, [O, 1, 1, 1])) : null,
    ];
    if (conv.bias) out.push(nc ? mul(channelSum(g), s) : null);
    // ∂/∂γ = Σ g·(z − μ)·rstd with z = conv(x, w) + c, recomputed (only when γ's gradient is wanted)
    out.push(ng ? channelSum(mul(g, mul(sub(noGrad(() => conv.forward(x)), perChannel(bn.runningMean)), perChannel(rsqrt(add(bn.runningVar, bn.opts.eps ?? 1e-5)))))) : null);
    out.push(nb ? channelSum(g) : null);
    return out;
  }, [x, ...(wF ? [wF] : [conv.weight]), s, ...(relu ? [y] : [])]);
}
