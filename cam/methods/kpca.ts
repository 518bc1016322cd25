// KPCA-CAM (Karmani et al. 2024), as pytorch-grad-cam's KPCA_CAM with its defaults. Gradient-free, like
// EigenCAM, but the principal component is taken in a kernel feature space: per sample, scikit-learn's
//   KernelPCA(n_components=1, kernel='sigmoid', gamma=None, coef0=1).fit_transform(M)
// on the centred hw×C activation matrix M (one row per position):
//   K    = tanh(γ·M·Mᵀ + coef0),  γ = 1/C unless given          (sigmoid kernel, hw×hw);
//   K̃    = K − 1K/n − K1/n + 1K1/n²                              (centring in feature space, n = hw);
//   v, λ = top eigenpair of K̃;   map = √λ · v                    (the projection on the component);
// sign: v is flipped so that its entry of largest magnitude is positive (scikit-learn's svd_flip, so
// our sign equals scikit-learn's). The eigen-problem runs on the CPU in float64 (cam/pca.ts).
import type { Tensor } from '../../core/tensor';
import { tensor } from '../../core/ops/creation';
import { BaseCAM, type CAMOptions, type LayerContext } from '../base';
import { topEigen } from '../pca';
import { checkWorkBytes } from '../limits';

export interface KPCACAMOptions extends CAMOptions {
  /** Kernel coefficient γ; null/undefined = 1/channels (scikit-learn's default). */
  gamma?: number | null;
  /** The sigmoid kernel's constant term (scikit-learn's default 1). */
  coef0?: number;
}

export interface SigmoidKernelOptions {
  gamma?: number | null;
  coef0?: number;
}

/** Projection of one sample's activations (C×hw, channel-major) on the first sigmoid-kernel principal component: hw values. */
export function kernelPcaProjection(x: ArrayLike<number>, C: number, hw: number, opts: SigmoidKernelOptions = {}): Float64Array {
  const gamma = opts.gamma ?? 1 / C;
  const coef0 = opts.coef0 ?? 1;
  // centred hw×C matrix (NaN → 0, as pytorch-grad-cam)
  const M = new Float64Array(hw * C);
  for (let c = 0; c < C; c++) {
    let mean = 0;
    for (let p = 0; p < hw; p++) mean += Number.isNaN(x[c * hw + p]) ? 0 : x[c * hw + p];
    mean /= hw;
    for (let p = 0; p < hw; p++) M[p * C + c] = (Number.isNaN(x[c * hw + p]) ? 0 : x[c * hw + p]) - mean;
  }
  const K = new Float64Array(hw * hw);
  for (let i = 0; i < hw; i++) {
    for (let j = i; j < hw; j++) {
      let d = 0;
      for (let c = 0; c < C; c++) d += M[i * C + c] * M[j * C + c];
      K[i * hw + j] = K[j * hw + i] = Math.tanh(gamma * d + coef0);
    }
  }
  // K is symmetric, so its row means are its column means
  const rowMean = new Float64Array(hw);
  let all = 0;
  for (let i = 0; i < hw; i++) {
    let r = 0;
    for (let j = 0; j < hw; j++) r += K[i * hw + j];
    rowMean[i] = r / hw;
    all += r;
  }
  all /= hw * hw;
  for (let i = 0; i < hw; i++) for (let j = 0; j < hw; j++) K[i * hw + j] += all - rowMean[i] - rowMean[j];

  const { value, vector } = topEigen(K, hw);
  const scale = Math.sqrt(Math.max(value, 0)); // a negative top eigenvalue counts as 0 (scikit-learn's PSD check)
  let big = 0;
  for (let i = 1; i < hw; i++) if (Math.abs(vector[i]) > Math.abs(vector[big])) big = i;
  const sign = vector[big] < 0 ? -1 : 1;
  const out = new Float64Array(hw);
  for (let i = 0; i < hw; i++) out[i] = sign * scale * vector[i];
  return out;
}

export class KPCACAM extends BaseCAM {
  override readonly usesGradients = false;
  readonly gamma: number | null;
  readonly coef0: number;

  constructor(opts: KPCACAMOptions) {
    super(opts);
    const gamma = opts.gamma ?? null;
    if (gamma !== null && !(typeof gamma === 'number' && Number.isFinite(gamma) && gamma > 0)) {
      throw new RangeError(`KPCACAM: gamma must be a positive number or null (1/channels), got ${String(gamma)}`);
    }
    const coef0 = opts.coef0 ?? 1;
    if (typeof coef0 !== 'number' || !Number.isFinite(coef0)) throw new TypeError(`KPCACAM: coef0 must be a finite number, got ${String(coef0)}`);
    this.gamma = gamma;
    this.coef0 = coef0;
  }

  protected async camImage(ctx: LayerContext): Promise<Tensor> {
    const [N, C, h, w] = ctx.activations.shape;
    // the kernel matrix is (h·w)² float64 values, plus the centred activations
    const bytes = 8 * (h * w) * (h * w + C);
    checkWorkBytes(bytes, `the ${h * w}×${h * w} kernel matrix of a ${h}×${w} feature grid`, 'use a smaller input or a later (coarser) target layer', ctx.limits, this.constructor.name);
    const data = await ctx.activations.data();
    const out = new Float32Array(N * h * w);
    for (let n = 0; n < N; n++) {
      const p = kernelPcaProjection(data.subarray(n * C * h * w, (n + 1) * C * h * w), C, h * w, { gamma: this.gamma, coef0: this.coef0 });
      out.set(p, n * h * w);
    }
    return tensor(out, [N, h, w], { device: ctx.activations.device });
  }
}
