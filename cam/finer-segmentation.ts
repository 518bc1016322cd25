// Finer-CAM for semantic segmentation (our definition; the official code only explains classifiers).
//
// A segmentation model gives per-pixel logits out[c, h, w]; SemanticSegmentationTarget(c, mask) explains
// the masked sum Σ_{h,w} out[c, h, w]·mask[h, w]. Finer-CAM needs one logit per class to rank and compare;
// we use every class's mask-weighted MEAN logit over the same region,
//     s_c = Σ_{h,w} out[c, h, w]·mask[h, w] / Σ_{h,w} mask[h, w],
// so the classes most similar to c in this region are those whose region logit is closest to s_c
// (|s_k − s_c| ascending, ties by class index, as for classifiers), and the objective is Finer's on s:
//     Σ_r p_r (s_n − α·s_r) / (Σ_r p_r + 1e-9),  p = softmax(s)   ('weighted', the official form)
//     s_n − α·mean_r s_r                                         ('mean', the paper's Eq. 8).
// Why the mean and not the sum: the sum grows with the region's area, and softmax of sums over hundreds of
// pixels is one-hot, so p_r underflows and the 1e-9 in the denominator takes over (at α = 0 the objective
// would become s_n·Σp_r·1e9 instead of s_n). The ranking is the same for both (a positive factor), and
// with α = 0 the map is Grad-CAM of SemanticSegmentationTarget(n, mask) (the 1/area factor cancels in the
// normalisation) up to the gradient of Σp_r/(Σp_r + 1e-9), as for classifiers: the Baseline mode is plain
// Grad-CAM of the region.
import { Tensor } from '../core/tensor';
import { fmtShape } from '../core/shape';
import { FinerWeightedTarget, SemanticSegmentationTarget, type FinerObjective, type TargetObject } from './targets';

export type SegmentationMask = Tensor | Float32Array | readonly number[];

/** Finer's objective on the masked class scores of one sample's segmentation output (classes × H × W). */
export class FinerSegmentationTarget implements TargetObject {
  private readonly region: SemanticSegmentationTarget;
  private readonly finer: FinerWeightedTarget;
  constructor(readonly mainCategory: number, readonly referenceCategories: readonly number[], mask: SegmentationMask, readonly alpha = 1, opts: { objective?: FinerObjective } = {}) {
    this.region = new SemanticSegmentationTarget(mainCategory, mask);
    this.finer = new FinerWeightedTarget(mainCategory, referenceCategories, alpha, opts);
  }
  call(output: Tensor): Tensor {
    return this.finer.call(this.region.scores(output));
  }
  dispose(): void {
    this.region.dispose();
  }
}

/** The N×K masked scores of a batch of segmentation outputs N×K×H×W, one mask per sample (on the host). */
export async function maskedClassScores(outputs: Tensor, masks: readonly SegmentationMask[], who: string): Promise<Float32Array> {
  if (outputs.rank !== 4) throw new Error(`${who}: masks are for segmentation models, whose output is N×classes×H×W; got ${fmtShape(outputs.shape)}`);
  const [N, K] = outputs.shape;
  if (!Array.isArray(masks) || masks.length !== N) throw new Error(`${who}: masks must give one mask per sample (${N}), got ${Array.isArray(masks) ? masks.length : typeof masks}`);
  const out = new Float32Array(N * K);
  for (let n = 0; n < N; n++) {
    const t = new SemanticSegmentationTarget(0, masks[n]);
    const s = t.scores(outputs.select(0, n));
    out.set(await s.data(), n * K);
    s.dispose();
    t.dispose();
  }
  return out;
}
