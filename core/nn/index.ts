export { Module } from './module';
export type { ForwardHook, LoadOptions } from './module';
export { Sequential, ModuleList } from './containers';
export {
  Identity, ReLU, GELU, Dropout, Linear, Conv2d, BatchNorm2d, LayerNorm, MaxPool2d, AdaptiveAvgPool2d, LayerScale,
} from './layers';
export type { Conv2dOptions as Conv2dLayerOptions } from './layers';
export * as init from './init';
export { findLayerPredicate, findLayerTypes, replaceLayer, replaceAllLayerType } from './find-layers';
