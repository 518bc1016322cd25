// Grad-CAM read top to bottom: the eight steps of GradCAM (cam/methods/ + cam/base.ts) for one image and
// one layer, without the pipeline's batching, targets, multi-layer aggregation and resizing. Same numbers as
// `new GradCAM({model, targetLayers: [layer]}).forward({inputTensor, targets: [ClassifierOutputTarget(c)]})`
// (test/cam/by-hand.test.ts checks it). Read it first; then cam/base.ts does the same for every method.
import type { Module } from '../core/nn/module';
import type { Tensor } from '../core/tensor';
import { grad } from '../core/autograd';
import { add, div, mul, relu, sub } from '../core/ops/elementwise';
import { amax, amin, argmax, mean, sum } from '../core/ops/reduce';
import { select } from '../core/ops/views';

export async function gradCam(model: Module, layer: string, image: Tensor, classIndex?: number): Promise<Float32Array> {
  let A: Tensor | null = null; // 1. hook: keep the layer's output, the activations A [1, C, h, w]
  const hook = model.getSubmodule(layer).registerForwardHook((_m, _inputs, out) => void (A = out as Tensor));
  const logits = model.forward(image) as Tensor; // 2. forward
  hook.remove();
  if (!A) throw new Error(`gradCam: layer '${layer}' did not run in the forward pass`);
  const c = classIndex ?? (await argmax(logits, -1).data())[0]; // 3. target: a class score
  const score = select(select(logits, 0, 0), 0, c);
  const [dA] = grad(score, [A]); // 4. ∂score/∂A, and no weight gradients
  const weights = mean(dA!, [2, 3], true); // 5. channel weights α_c: the spatial mean of the gradient
  const weighted = sum(mul(weights, A), 1); // 6. Σ_c α_c·A_c
  const cam = relu(weighted); // 7. keep what raises the score
  const shifted = sub(cam, amin(cam)); // 8. normalise as pytorch-grad-cam: (cam − min) / (max + 1e-7)
  return (await div(shifted, add(amax(shifted), 1e-7)).data()) as Float32Array;
}
