// pytorch-grad-cam's CamMultImageConfidenceChange: how the target's score changes when the input is
// multiplied by the CAM (pixels the CAM ignores go to 0, i.e. the mean colour of a normalised input):
//   change_n = target_n(model(x_n ⊙ cam_n)) − target_n(model(x_n)).
// A good explanation keeps the evidence, so the change is small or positive. Its "DropInConfidence" is
// max(−change, 0) and its "IncreaseInConfidence" is [change > 0].
import type { Tensor } from '../../core/tensor';
import { mul } from '../../core/ops/elementwise';
import { unsqueeze } from '../../core/ops/views';
import { checkModel, modelScores } from '../methods/forward-scores';
import { checkInputAndCams, resolveTargets, type MetricTarget } from './common';
import type { ModelLike } from '../methods/forward-scores';

/** Per sample: score of x ⊙ cam minus score of x (float32 scores, as pytorch-grad-cam). */
export async function camMultImageConfidenceChange(model: ModelLike, input: Tensor, cams: Tensor, targets: readonly MetricTarget[]): Promise<number[]> {
  const who = 'camMultImageConfidenceChange';
  checkModel(model, who);
  checkInputAndCams(input, cams, who);
  const ts = resolveTargets(targets, input.shape[0], who);
  const before = await modelScores(model, () => input, ts, who);
  const after = await modelScores(model, () => mul(input, unsqueeze(cams, 1)), ts, who);
  return Array.from(after, (a, n) => Math.fround(a - before[n]));
}
