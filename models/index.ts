// Models with PyTorch's module names (torchvision ResNets, ViT/DINOv2, LinearProbe, CLIP) and the weight
// loaders that fill them (safetensors, .pth; Hugging Face names mapped). Weights are never downloaded.
export { ResNet, BasicBlock, Bottleneck, resnet, resnet18, resnet34, resnet50, resnet101, resnet152 } from './resnet';
export type { ResNetOptions } from './resnet';
export {
  VisionTransformer, PatchEmbed, Attention, Mlp, SwiGLUFFN, Block, LinearProbe, visionTransformer,
  dinov2Vits14, dinov2Vitb14, dinov2Vitl14, dinov2Vitg14, dinov2Vits14Reg, dinov2Vitb14Reg, dinov2Vitl14Reg, dinov2Vitg14Reg,
  vitTiny16, vitSmall16, vitBase16,
} from './vit';
export type { VisionTransformerOptions, ViTFeatures } from './vit';
export { loadSafetensors, loadSafetensorsMetadata, loadTorchCheckpoint, saveSafetensors } from './load';
export type { StateDict, WeightsSource } from './load';
export { fromHfDinov2, isHfDinov2StateDict } from './hf-names';
export { ClipTokenizer } from './clip/tokenizer';
export type { TokenizeOptions } from './clip/tokenizer';
export {
  SegmentationModel, DilatedResNetBackbone, DilatedBottleneck, ASPP, ASPPPooling, deepLabHead, fcnHead,
  deeplabv3Resnet50, deeplabv3Resnet101, fcnResnet50, fcnResnet101,
} from './segmentation';
export type { SegmentationOptions, SegmentationOutputs } from './segmentation';
export { CLIP, clip, clipFromStateDict, clipVitB32, clipVitB16, clipVitL14, clipVitL14At336, clipRN50, clipRN101, l2Normalize } from './clip/model';
export { CLIP_PRESETS, inferClipConfig } from './clip/config';
export type { ClipConfig, ClipPresetName } from './clip/config';
export { ClipVisionTransformer } from './clip/vision-transformer';
export { ModifiedResNet, ClipBottleneck, AttentionPool2d } from './clip/modified-resnet';
export { ClipTransformer, ResidualAttentionBlock, ClipMultiheadAttention, QuickGELU } from './clip/layers';
export { fromHfClip, isHfClipStateDict } from './clip/hf-names';
export { preprocess, imageToTensor, resolveNorm, NORMALIZATIONS } from './preprocess';
export type { PreprocessOptions, Preprocessed, Normalization, NormName } from './preprocess';
export { clipPreprocess } from './clip/preprocess';
export type { ClipPreprocessOptions, ClipPreprocessed } from './clip/preprocess';
export { ZeroShotClassifier, zeroShotTextFeatures } from './clip/zero-shot';
export type { ZeroShotPrompts } from './clip/zero-shot';
