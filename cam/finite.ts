// NaN and ±Inf in a CAM pipeline. pytorch-grad-cam returns an all-NaN map (and Finer-CAM "ranks" NaN
// logits as main 0, references 1, 2, 3) without a word; here a non-finite value that reaches a result
// is an error naming the first stage that produced it, so the user knows where to look. Finite inputs
// never pay more than one small reduction per map and keep their exact results.
import { Tensor } from '../core/tensor';
import { mul } from '../core/ops/elementwise';
import { sum } from '../core/ops/reduce';
import { reshape } from '../core/ops/views';
import { tidy } from '../core/scope';
import { noGrad } from '../core/grad-mode';

export type NumericStage = 'input' | 'activations' | 'model output' | 'gradients' | 'map';

const ADVICE: Record<NumericStage, string> = {
  input: 'check how the image was decoded and normalised',
  activations: 'the model overflowed or divided by zero before the target layer; check its weights',
  'model output': 'the model overflowed or divided by zero after the target layer; check its weights',
  gradients: "the backward pass overflowed; check the target's score and the model's weights",
  map: "the method's channel weights overflowed or divided by zero (e.g. AblationCAM with a target score of exactly 0)",
};

/** A CAM stage produced NaN or ±Inf; `stage` names it and `sample` is the first affected batch index. */
export class CamNumericError extends Error {
  override readonly name = 'CamNumericError';
  constructor(message: string, readonly stage: NumericStage, readonly sample: number) {
    super(message);
  }
}

/** Index of the first sample (along dim 0) that holds NaN or ±Inf, or -1 when all values are finite. */
export async function firstNonFiniteSample(t: Tensor): Promise<number> {
  if (t.dtype === 'int32' || t.size === 0) return -1;
  // 0·x is 0 for finite x and NaN for NaN and ±Inf, so each sample's sum is 0 or NaN, whatever the magnitudes
  const perSample = noGrad(() => tidy(() => sum(reshape(mul(t, 0), [t.shape[0], -1]), 1)));
  try {
    const v = await perSample.data();
    return v.findIndex((s) => !Number.isFinite(s));
  } finally {
    perSample.dispose();
  }
}

export interface StageCheck {
  stage: NumericStage;
  /** What the tensor is, for the message ("the input", "the activations of target layer 0 ('layer4')"). */
  label: string;
  tensor: Tensor;
}

/**
 * Checks the stages in pipeline order and throws a CamNumericError for the first one holding a non-finite
 * value; `fallback` is reported when every listed stage is finite (the failure is in the step after them).
 */
export async function checkStages(stages: readonly StageCheck[], who: string, fallback?: { label: string; sample: number }): Promise<void> {
  const clean: string[] = [];
  for (const s of stages) {
    const n = await firstNonFiniteSample(s.tensor);
    if (n >= 0) throw numericError(who, s.stage, s.label, n, clean);
    if (!clean.includes(stageName(s.stage))) clean.push(stageName(s.stage));
  }
  if (fallback) throw numericError(who, 'map', fallback.label, fallback.sample, clean);
}

function stageName(stage: NumericStage): string {
  return stage === 'model output' ? 'the model output' : stage === 'map' ? 'the map' : `the ${stage}`;
}

function numericError(who: string, stage: NumericStage, label: string, sample: number, clean: string[]): CamNumericError {
  let finite = '';
  if (clean.length) {
    const list = clean.length > 1 ? `${clean.slice(0, -1).join(', ')} and ${clean[clean.length - 1]}` : clean[0];
    const plural = clean.length > 1 || clean[0] === 'the activations' || clean[0] === 'the gradients';
    finite = `, while ${list} ${plural ? 'are' : 'is'} finite`;
  }
  return new CamNumericError(`${who}: NaN or ±Inf in ${label} (first in sample ${sample})${finite}: ${ADVICE[stage]}`, stage, sample);
}
