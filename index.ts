// finercam: tensors, autograd, WGSL kernels, models and CAM explanations in TypeScript.
// Backends first: importing one registers it with core (the CPU reference becomes the default device).
export * from './kernels/cpu/index';
export * from './kernels/webgpu/index';
export * from './kernels/wasm/index';
export * from './core/index';
export * from './core/nn/index';
export * from './models/index';
export * from './cam/index';
export * from './image/index';
