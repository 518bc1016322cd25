// The gradient-based CAM methods (A = activations N×C×h×w, G = dScore/dA, Σ and mean over the h×w grid).
// Formulas as pytorch-grad-cam; cam/grad-cam-by-hand.ts walks through Grad-CAM step by step.
import type { Tensor } from '../../core/tensor';
import { add, div, eq, maximum, mul, relu, square, where } from '../../core/ops/elementwise';
import { mean, sum } from '../../core/ops/reduce';
import { unsqueeze } from '../../core/ops/views';
import { BaseCAM, type LayerContext } from '../base';

function spatial(x: Tensor): Tensor {
  return unsqueeze(unsqueeze(x, -1), -1);
}

/** w_c = mean_hw G_c; cam = Σ_c w_c A_c. */
export class GradCAM extends BaseCAM {
  protected camImage(ctx: LayerContext): Promise<Tensor> {
    return this.weightedSum(ctx, mean(ctx.gradients!, [2, 3]));
  }
}

/** α = G² / (2G² + Σ_hw A · G³ + 1e-6), 0 where G = 0;  w_c = Σ_hw relu(G)·α. */
export class GradCAMPlusPlus extends BaseCAM {
  protected camImage(ctx: LayerContext): Promise<Tensor> {
    const G = ctx.gradients!;
    const g2 = square(G);
    const g3 = mul(g2, G);
    const sumA = spatial(sum(ctx.activations, [2, 3]));
    const aij = where(eq(G, 0), 0, div(g2, add(add(mul(g2, 2), mul(sumA, g3)), 1e-6)));
    const w = sum(mul(maximum(G, mul(G, 0)), aij), [2, 3]);
    return this.weightedSum(ctx, w);
  }
}

/** w_c = Σ_hw G·A / (Σ_hw A + 1e-7). */
export class XGradCAM extends BaseCAM {
  protected camImage(ctx: LayerContext): Promise<Tensor> {
    const A = ctx.activations;
    const w = div(sum(mul(ctx.gradients!, A), [2, 3]), add(sum(A, [2, 3]), 1e-7));
    return this.weightedSum(ctx, w);
  }
}

/** cam = Σ_c G_c ⊙ A_c (no pooling of the gradient). */
export class HiResCAM extends BaseCAM {
  protected camImage(ctx: LayerContext): Promise<Tensor> {
    return this.channelSum(ctx, mul(ctx.gradients!, ctx.activations));
  }
}

/** cam = Σ_c relu(G_c ⊙ A_c). */
export class GradCAMElementWise extends BaseCAM {
  protected camImage(ctx: LayerContext): Promise<Tensor> {
    return this.channelSum(ctx, relu(mul(ctx.gradients!, ctx.activations)));
  }
}

/** cam = Σ_c relu(G_c) ⊙ A_c. */
export class LayerCAM extends BaseCAM {
  protected camImage(ctx: LayerContext): Promise<Tensor> {
    return this.channelSum(ctx, mul(relu(ctx.gradients!), ctx.activations));
  }
}

/** First principal component of G ⊙ A. */
export class EigenGradCAM extends BaseCAM {
  protected camImage(ctx: LayerContext): Promise<Tensor> {
    return this.channelSum({ ...ctx, eigenSmooth: true }, mul(ctx.gradients!, ctx.activations));
  }
}
