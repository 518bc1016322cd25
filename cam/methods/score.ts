// Score-CAM (Wang et al., CVPR-W 2020), as pytorch-grad-cam's ScoreCAM. Gradient-free: each channel of
// the target layer becomes a soft mask over the input, and the channel's weight is how much the target
// likes the input seen through that mask.
//   U_c  = bilinear upsampling of A_c to the input size, corner-aligned (torch's UpsamplingBilinear2d,
//          i.e. align_corners=True — the only corner-aligned resize in pytorch-grad-cam);
//   M_c  = (U_c − min U_c) / (max U_c − min U_c + 1e-8)            per (sample, channel);
//   s_c  = target(model(x ⊙ M_c))                                   one forward per channel;
//   w    = softmax_c(s);   cam = Σ_c w_c·A_c  (then BaseCAM's ReLU, min-max and resize).
// The masked inputs are built and scored `batchSize` channels at a time, so memory stays at one batch
// (pytorch-grad-cam materialises all N×C masked images at once).
import type { Tensor } from '../../core/tensor';
import { tensor } from '../../core/ops/creation';
import { add, div, mul, sub } from '../../core/ops/elementwise';
import { amax, amin } from '../../core/ops/reduce';
import { reshape, slice } from '../../core/ops/views';
import { interpolate } from '../../core/ops/interpolate';
import { softmax } from '../../core/ops/softmax';
import { BaseCAM, type LayerContext } from '../base';
import { checkBatchSize, modelScores } from './forward-scores';
import { checkWorkBytes } from '../limits';

/** Channels c0..c1−1 of sample n as masks: 1×… → (c1−c0)×1×H×W, each min-max scaled to [0, 1]. */
export function scoreCamMasks(activations: Tensor, n: number, c0: number, c1: number, size: [number, number]): Tensor {
  const [, , h, w] = activations.shape;
  const a = reshape(slice(slice(activations, 0, n, n + 1), 1, c0, c1), [c1 - c0, 1, h, w]);
  const up = interpolate(a, { size, mode: 'bilinear', alignCorners: true });
  const lo = amin(up, [1, 2, 3], true);
  const hi = amax(up, [1, 2, 3], true);
  return div(sub(up, lo), add(sub(hi, lo), 1e-8));
}

export class ScoreCAM extends BaseCAM {
  override readonly usesGradients = false;

  protected async camImage(ctx: LayerContext): Promise<Tensor> {
    const who = this.constructor.name;
    const { input, activations, targets } = ctx;
    const [N, C] = activations.shape;
    const size: [number, number] = [input.shape[2], input.shape[3]];
    const bs = checkBatchSize(this.batchSize, who);
    // per chunk: the masked images (chunk × C_in × H × W) and the masks before and after scaling
    const chunk = Math.min(bs, C);
    const bytes = 4 * chunk * (input.shape[1] + 2) * size[0] * size[1];
    checkWorkBytes(bytes, `a batch of ${chunk} masked ${size[1]}×${size[0]} images`, 'lower batchSize or pass a smaller input', ctx.limits, who);
    const scores = new Float32Array(N * C);
    for (let n = 0; n < N; n++) {
      for (let c0 = 0; c0 < C; c0 += bs) {
        const c1 = Math.min(C, c0 + bs);
        // x_n ⊙ M_c for each channel of the chunk: (c1−c0)×C_in×H×W, freed after scoring
        const batch = () => mul(slice(input, 0, n, n + 1), scoreCamMasks(activations, n, c0, c1, size));
        scores.set(await modelScores(this.model, batch, targets[n], who), n * C + c0);
      }
    }
    const weights = softmax(tensor(scores, [N, C], { device: activations.device }), 1);
    return this.weightedSum(ctx, weights);
  }
}

