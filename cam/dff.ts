// Deep Feature Factorization (Collins et al., ECCV 2018), as pytorch-grad-cam's DeepFeatureFactorization:
// the target layer's activations of the whole batch, as a C × (N·h·w) matrix with NaN set to 0 and each
// channel's minimum subtracted (NMF needs X ≥ 0), are factorised with NMF into k concepts:
//     X ≈ W·H,   W: C×k (each concept's channel embedding),   H: k×(N·h·w) (where each concept is).
// concepts = W + the channel minima (so they live in the layer's own space: a classifier head can score
// them, computationOnConcepts); explanations = H as N×k×h×w, each map min-max scaled and resized to the
// input size (bilinear, half-pixel centres, as cv2.resize). The NMF is scikit-learn's (cam/nmf.ts:
// coordinate descent, init 'random' with numpy's RandomState(0)), so the concepts match the package's.
import { Tensor } from '../core/tensor';
import { Module } from '../core/nn/module';
import { tensor } from '../core/ops/creation';
import { noGrad } from '../core/grad-mode';
import { tidy, keep } from '../core/scope';
import { fmtShape } from '../core/shape';
import { ActivationsAndGradients, type LayerRef } from './capture';
import type { ReshapeTransform } from './reshape';
import { checkCamInput, scaleCam } from './base';
import { nmf } from './nmf';

export interface DffOptions {
  model: Module;
  targetLayer: LayerRef;
  reshapeTransform?: ReshapeTransform | null;
  /** Run on the concept embeddings (k × C), e.g. the model's classifier head → k × classes. */
  computationOnConcepts?: ((concepts: Tensor) => Tensor) | Module | null;
}

export interface DffResult {
  /** C × k concept embeddings (W + the channel minima). */
  concepts: Tensor;
  /** N × k × H × W concept heat-maps in [0, 1] at the input size. */
  explanations: Tensor;
  /** k × outputs of computationOnConcepts (when given). */
  conceptOutputs?: Tensor;
  /** NMF iterations used. */
  nIter: number;
}

export class DeepFeatureFactorization {
  readonly model: Module;
  readonly capture: ActivationsAndGradients;
  private readonly head: ((concepts: Tensor) => Tensor) | null;

  constructor(opts: DffOptions) {
    const who = 'DeepFeatureFactorization';
    if (opts === null || typeof opts !== 'object') throw new TypeError(`${who}: expected {model, targetLayer, computationOnConcepts}`);
    if (!(opts.model instanceof Module)) throw new TypeError(`${who}: model must be a Module`);
    if (Array.isArray(opts.targetLayer)) throw new TypeError(`${who}: targetLayer is one layer (a Module or a dotted name), not a list`);
    const c = opts.computationOnConcepts ?? null;
    if (c !== null && !(c instanceof Module) && typeof c !== 'function') throw new TypeError(`${who}: computationOnConcepts must be a Module or a function (concepts k×C) => Tensor`);
    this.model = opts.model;
    this.capture = new ActivationsAndGradients(opts.model, [opts.targetLayer], opts.reshapeTransform ?? null);
    this.head = c === null ? null : c instanceof Module ? (x) => c.forward(x) : c;
  }

  async forward(opts: { inputTensor: Tensor; nComponents?: number; H?: number; W?: number }): Promise<DffResult> {
    const who = 'DeepFeatureFactorization.forward';
    if (opts === null || typeof opts !== 'object') throw new TypeError(`${who}: expected {inputTensor, nComponents}`);
    checkCamInput(opts.inputTensor, who);
    const k = opts.nComponents ?? 16;
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`${who}: nComponents must be a positive integer, got ${String(k)}`);
    const x = opts.inputTensor;
    const [Hin, Win] = [x.shape[2], x.shape[3]];
    let acts: Float32Array;
    let shape: number[];
    try {
      const a = noGrad(() => tidy(() => {
        this.capture.call(x, { H: opts.H, W: opts.W });
        return keep(this.capture.activations()[0].contiguous());
      }));
      shape = [...a.shape];
      acts = Float32Array.from(await a.data());
      a.dispose();
    } finally {
      this.capture.clear();
    }
    const [N, C, h, w] = shape;
    if (k > C) throw new RangeError(`${who}: nComponents (${k}) must not exceed the target layer's ${C} channels`);
    // C × (N·h·w), NaN → 0, minus each channel's minimum
    const M = N * h * w;
    const X = new Float32Array(C * M);
    const offset = new Float32Array(C).fill(Infinity);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        for (let p = 0; p < h * w; p++) {
          const v = acts[(n * C + c) * h * w + p];
          const vv = Number.isNaN(v) ? 0 : v;
          X[c * M + n * h * w + p] = vv;
          if (vv < offset[c]) offset[c] = vv;
        }
      }
    }
    for (let c = 0; c < C; c++) for (let j = 0; j < M; j++) X[c * M + j] = Math.fround(X[c * M + j] - offset[c]);
    const r = nmf(X, C, M, k, { randomState: 0 });
    const concepts = new Float32Array(C * k);
    for (let c = 0; c < C; c++) for (let t = 0; t < k; t++) concepts[c * k + t] = Math.fround(r.W[c * k + t] + offset[c]);
    // H is k × (N·h·w): per sample, k maps of h×w
    const maps = new Float32Array(N * k * h * w);
    for (let t = 0; t < k; t++) for (let n = 0; n < N; n++) maps.set(r.H.subarray(t * M + n * h * w, t * M + (n + 1) * h * w), (n * k + t) * h * w);
    const device = x.device;
    const explanations = keep(tidy(() => {
      const m = tensor(maps, [N * k, h, w], { device });
      return scaleCam(m, [Hin, Win]).reshape([N, k, Hin, Win]);
    }));
    const conceptsT = tensor(concepts, [C, k], { device });
    const result: DffResult = { concepts: conceptsT, explanations, nIter: r.nIter };
    if (this.head) {
      const head = this.head;
      result.conceptOutputs = keep(noGrad(() => tidy(() => {
        const out = head(tensor(concepts, [C, k], { device }).transpose(0, 1).contiguous());
        if (!(out instanceof Tensor) || out.rank !== 2 || out.shape[0] !== k) {
          throw new Error(`${who}: computationOnConcepts must map the k×C concepts (${k}×${C}) to a k×outputs tensor, got ${out instanceof Tensor ? fmtShape(out.shape) : typeof out}`);
        }
        return out;
      })));
    }
    return result;
  }

  /** Removes the hook. */
  dispose(): void {
    this.capture.dispose();
  }
}
