// Public API of the CAM layer.
export { BaseCAM, scaleCam, project2d } from './base';
export type { CAMOptions, CamForwardOptions, CamResult, LayerContext, Aggregate } from './base';
export type { CamTrace, TraceStep, TraceStepKey, TargetTrace } from './trace';
export { ActivationsAndGradients, resolveLayers } from './capture';
export type { LayerRef } from './capture';
export { gradCam } from './grad-cam-by-hand';
export { GradCAM, GradCAMPlusPlus, XGradCAM, HiResCAM, GradCAMElementWise, LayerCAM, EigenGradCAM } from './methods/gradient';
export { EigenCAM, RandomCAM } from './methods/eigen';
export { FinerCAM, rankBySimilarity } from './finer';
export { CamSession, SessionMethodError, SESSION_METHODS } from './session';
export type { CamSessionOptions, SessionFinerOptions, SessionCamOptions, SessionFinerResult, SessionCamResult } from './session';
export type { FinerCAMOptions, FinerForwardOptions, FinerResult, FinerModesResult, FinerMode, CAMClass } from './finer';
export {
  ClassifierOutputTarget, ClassifierOutputSoftmaxTarget, ClassifierOutputReST, BinaryClassifierOutputTarget,
  FinerWeightedTarget, applyTarget, SoftmaxOutputTarget, RawScoresOutputTarget, SemanticSegmentationTarget,
} from './targets';
export type { Target, TargetObject, FinerObjective } from './targets';
export { vitReshapeTransform, swinReshapeTransform } from './reshape';
export type { ReshapeTransform, GridInfo, VitReshapeOptions, SwinReshapeOptions } from './reshape';
export { firstComponentProjection } from './pca';
export { ScoreCAM } from './methods/score';
export { AblationCAM } from './methods/ablation';
export type { ForwardFrom } from './methods/ablation';
export { FullGrad, fullGradLayers, effectiveBias } from './methods/fullgrad';
export type { FullGradOptions } from './methods/fullgrad';
export { KPCACAM, kernelPcaProjection } from './methods/kpca';
export type { KPCACAMOptions, SigmoidKernelOptions } from './methods/kpca';
export { relativeConfidenceDrop, camMultImageConfidenceChange, deletionInsertionAuc, road } from './metrics/index';
export type { RelativeDropOptions, RelativeDropResult, DeletionInsertionOptions, DeletionInsertionResult, RoadOptions, RoadMode, PixelFill, MetricTarget } from './metrics/index';
export type { ModelLike } from './methods/forward-scores';
export { showCamOnImageDevice } from './overlay-device';
export { CAM_LIMITS } from './limits';
export type { CamLimits } from './limits';
export { CamNumericError } from './finite';
export type { NumericStage } from './finite';
export { GuidedBackpropReLUModel, guidedRelu } from './guided-backprop';
export type { GuidedBackpropOptions } from './guided-backprop';
export { deprocessImage, guidedGradCam } from './deprocess';
export type { DeprocessedImage } from './deprocess';
export { sobelCam, rgbToGray } from './sobel';
export type { GrayImage } from './sobel';
export {
  perturbationConfidence, perturbationMetric, multiplyTensorWithCam, dropInConfidence, increaseInConfidence,
  removeMostRelevantFirst, removeLeastRelevantFirst, multiplyImputer, noisyLinearImputer, averageAcrossThresholds,
  roadMostRelevantFirst, roadLeastRelevantFirst, roadMostRelevantFirstAverage, roadLeastRelevantFirstAverage, roadCombined,
  otsuThreshold,
} from './metrics/index';
export type { Perturbation, Imputer, PerturbationMetric, PerturbationConfidenceOptions, PerturbationConfidenceResult, RoadWrapperOptions } from './metrics/index';
export { DeepFeatureFactorization } from './dff';
export type { DffOptions, DffResult } from './dff';
export { nmf, NumpyRandomState } from './nmf';
export type { NmfOptions, NmfResult } from './nmf';
export { showFactorizationOnImage, createLabelsLegend, runDffOnImage, gistRainbow } from './dff-overlay';
export type { ShowFactorizationOptions, RunDffOptions } from './dff-overlay';
export { FinerSegmentationTarget, maskedClassScores } from './finer-segmentation';
export type { SegmentationMask } from './finer-segmentation';
