// CAM quality metrics: how the model's confidence reacts when the pixels a CAM ranks high (or low) are
// removed or kept.
export { camMultImageConfidenceChange } from './confidence';
export { relativeConfidenceDrop } from './relative-drop';
export type { RelativeDropOptions, RelativeDropResult } from './relative-drop';
export { deletionInsertionAuc } from './deletion-insertion';
export type { DeletionInsertionOptions, DeletionInsertionResult } from './deletion-insertion';
export { road } from './road';
export type { RoadOptions, RoadMode } from './road';
export type { PixelFill, MetricTarget } from './common';
export {
  perturbationConfidence, perturbationMetric, multiplyTensorWithCam, dropInConfidence, increaseInConfidence,
  removeMostRelevantFirst, removeLeastRelevantFirst, multiplyImputer, noisyLinearImputer, averageAcrossThresholds,
  roadMostRelevantFirst, roadLeastRelevantFirst, roadMostRelevantFirstAverage, roadLeastRelevantFirstAverage, roadCombined,
  otsuThreshold,
} from './perturbation';
export type { Perturbation, Imputer, PerturbationMetric, PerturbationConfidenceOptions, PerturbationConfidenceResult, RoadWrapperOptions } from './perturbation';
