// Weight initialisation with PyTorch's default formulas, drawn from our seeded generator (see manualSeed).
import { Tensor } from '../tensor';
import { rand, randn, zeros, ones } from '../ops/creation';
import { mul, sub } from '../ops/elementwise';
import { noGrad } from '../grad-mode';
import { tidy } from '../scope';

/** Uniform(-bound, bound). */
// tidy: the raw draws and partial products are full-size temporaries; on WebGPU nothing else frees them.
export function uniform(shape: readonly number[], bound: number): Tensor {
  return noGrad(() => tidy(() => mul(sub(rand(shape), 0.5), 2 * bound)));
}

export function normal(shape: readonly number[], std: number): Tensor {
  return noGrad(() => tidy(() => mul(randn(shape), std)));
}

/** torch.nn.init.kaiming_uniform_(w, a=sqrt(5)) — the default for Linear and Conv weights: bound = 1/sqrt(fan_in). */
export function defaultWeight(shape: readonly number[], fanIn: number): Tensor {
  return uniform(shape, fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0);
}

/** Kaiming normal, fan_out mode, ReLU gain (torchvision's ResNet conv init). */
export function kaimingNormalFanOut(shape: readonly number[], fanOut: number): Tensor {
  return normal(shape, Math.sqrt(2 / fanOut));
}

/** Truncated-free normal with std 0.02 (ViT's trunc_normal_ init, close enough for training from scratch). */
export function vitNormal(shape: readonly number[], std = 0.02): Tensor {
  return normal(shape, std);
}

export { zeros, ones };
