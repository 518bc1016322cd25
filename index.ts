// finercam: tensors, autograd, WGSL kernels, models and CAM explanations in TypeScript.
export * from './core/index';
