export { ResNet, BasicBlock, Bottleneck, resnet, resnet18, resnet34, resnet50, resnet101, resnet152 } from './resnet';
export type { ResNetOptions } from './resnet';
export {
  VisionTransformer, PatchEmbed, Attention, Mlp, SwiGLUFFN, Block, LinearProbe, visionTransformer,
  dinov2Vits14, dinov2Vitb14, dinov2Vitl14, dinov2Vitg14, dinov2Vits14Reg, dinov2Vitb14Reg, dinov2Vitl14Reg, dinov2Vitg14Reg,
  vitTiny16, vitSmall16, vitBase16,
} from './vit';
export type { VisionTransformerOptions, ViTFeatures } from './vit';
export { loadSafetensors, loadSafetensorsMetadata, loadTorchCheckpoint, saveSafetensors } from './load';
export type { StateDict } from './load';
export { fromHfDinov2, isHfDinov2StateDict } from './hf-names';
