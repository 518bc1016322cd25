// finercam: tensors, autograd, WGSL kernels, models and CAM explanations in TypeScript.
export * from './core/index';
export * from './core/nn/index';
export * from './models/index';
export * from './cam/index';
export * from './kernels/index';
