// Gradient-free and sanity-check methods.
import type { Tensor } from '../../core/tensor';
import { rand } from '../../core/ops/creation';
import { mul, sub } from '../../core/ops/elementwise';
import { BaseCAM, project2d, type LayerContext } from '../base';

/** First principal component of the activations (targets are ignored). */
export class EigenCAM extends BaseCAM {
  override readonly usesGradients = false;
  protected camImage(ctx: LayerContext): Promise<Tensor> {
    return project2d(ctx.activations);
  }
}

/** Random channel weights in U(-1, 1) from the global seeded generator: a baseline any method should beat. */
export class RandomCAM extends BaseCAM {
  override readonly usesGradients = false;
  protected camImage(ctx: LayerContext): Promise<Tensor> {
    const [N, C] = ctx.activations.shape;
    const w = mul(sub(rand([N, C], { device: ctx.activations.device }), 0.5), 2);
    return this.weightedSum(ctx, w);
  }
}
