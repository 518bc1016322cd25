// The teaching trace of a CAM call (`forward({..., trace: true})`): the pipeline in cam/base.ts (and
// FullGrad's own, cam/methods/fullgrad.ts) hands every tensor it computes to a TraceRecorder as it goes,
// so the trace holds the values the map was made from, not a second computation of them. Tensors are kept (copied views, outside the call's tidy scope) and
// read to the CPU once, when the call ends.
import type { Tensor } from '../core/tensor';
import { keep } from '../core/scope';
import { noGrad } from '../core/grad-mode';
import { softmax } from '../core/ops/softmax';
import { mul } from '../core/ops/elementwise';
import { ClassifierOutputTarget, FinerWeightedTarget, type Target } from './targets';

/** The steps of the pipeline, in the order they happen. */
export type TraceStepKey =
  | 'activations' // A, the hooked layer's output (after the reshape transform)
  | 'gradients' // ∂target/∂A
  | 'channelWeights' // w_c (methods that weight channels)
  | 'weightedSum' // the method's map before ReLU
  | 'relu'
  | 'normalised' // per-image min-max
  | 'resized' // bilinear resize to the output size (only when the size changes)
  | 'combined' // the layers' maps combined (mean / max / product), before the final min-max
  | 'cam' // the returned map
  // FullGrad (its layer 0 is the input, layer i + 1 its i-th bias layer):
  | 'bias' // b, a layer's (effective) bias
  | 'contribution' // |x ⊙ ∂target/∂x| or |b ⊙ ∂target/∂z|
  | 'partMap'; // a part's channels, each min-max normalised and resized, summed

export interface TraceStep {
  key: TraceStepKey;
  /** Which target set (Finer mode) the step belongs to; null for steps shared by all (activations). */
  set: number | null;
  /** Which target layer; null for steps after the layers are combined. */
  layer: number | null;
  /** The one-line formula that produced it. */
  formula: string;
  shape: number[];
  data: Float32Array;
}

/** One sample's scalar target, with the numbers it was computed from. */
export interface TargetTrace {
  kind: 'class' | 'finer' | 'other';
  /** The target's value for this sample, as differentiated (read from the scalar backward ran on). */
  value: number;
  /** The formula with the actual numbers. */
  formula: string;
  main?: number;
  mainLogit?: number;
  references?: number[];
  referenceLogits?: number[];
  /** softmax(z)[r] for each reference (the weighted objective's weights). */
  softmaxWeights?: number[];
  alpha?: number;
  objective?: 'weighted' | 'mean';
}

export interface CamTrace {
  method: string;
  layers: string[];
  /** The model's output (N×K). */
  logits: { shape: number[]; data: Float32Array };
  /** targets[set][sample] */
  targets: TargetTrace[][];
  steps: TraceStep[];
}

interface Pending {
  meta: Omit<TraceStep, 'shape' | 'data'>;
  tensor: Tensor;
}

interface PendingTarget {
  set: number;
  sample: number;
  target: Target;
  score: Tensor;
  row: Tensor;
}

export class TraceRecorder {
  private readonly pending: Pending[] = [];
  private readonly pendingTargets: PendingTarget[] = [];
  private logits: Tensor | null = null;

  constructor(readonly method: string, readonly layers: string[]) {}

  /** Keeps a detached view of t (its storage stays alive until finish()). */
  record(key: TraceStepKey, set: number | null, layer: number | null, formula: string, t: Tensor): void {
    this.pending.push({ meta: { key, set, layer, formula }, tensor: keep(t.detach()) });
  }

  recordLogits(t: Tensor): void {
    this.logits = keep(t.detach());
  }

  /** One sample's target: the scalar it produced and the logits row it saw. */
  recordTarget(set: number, sample: number, target: Target, score: Tensor, row: Tensor): void {
    // the scalar is the root of the graph that backward frees on the device, so its value is copied
    // (× 1 is exact); a view of it would point at released memory on WebGPU
    const value = keep(noGrad(() => mul(score, 1)));
    this.pendingTargets.push({ set, sample, target, score: value, row: keep(row.detach()) });
  }

  /** Reads everything to the CPU and frees the kept views. */
  async finish(): Promise<CamTrace> {
    try {
      const steps: TraceStep[] = [];
      for (const p of this.pending) steps.push({ ...p.meta, shape: [...p.tensor.shape], data: Float32Array.from(await p.tensor.data()) });
      const targets: TargetTrace[][] = [];
      for (const p of this.pendingTargets) {
        (targets[p.set] ??= [])[p.sample] = await describeTarget(p.target, p.row, (await p.score.data())[0]);
      }
      const logits = this.logits
        ? { shape: [...this.logits.shape], data: Float32Array.from(await this.logits.data()) }
        : { shape: [0], data: new Float32Array(0) };
      return { method: this.method, layers: this.layers, logits, targets, steps };
    } finally {
      this.dispose();
    }
  }

  dispose(): void {
    for (const p of this.pending) p.tensor.dispose();
    for (const p of this.pendingTargets) {
      p.score.dispose();
      p.row.dispose();
    }
    this.logits?.dispose();
    this.pending.length = 0;
    this.pendingTargets.length = 0;
    this.logits = null;
  }
}

const f = (v: number): string => (Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(3));
/** A factor after '·': negatives in parentheses. */
const signed = (v: number): string => (v < 0 ? `(${f(v)})` : f(v));

/**
 * The numbers behind one target. The softmax weights come from the same softmax op the Finer objective
 * applies to the same logits, so they are the values its scalar was made from.
 */
async function describeTarget(target: Target, row: Tensor, value: number): Promise<TargetTrace> {
  const z = await row.data();
  if (target instanceof FinerWeightedTarget) {
    const K = z.length;
    const n = target.mainCategory;
    const refs = target.referenceCategories.filter((r) => r < K);
    const alpha = target.alpha;
    const base = { kind: 'finer' as const, value, main: n, mainLogit: z[n], references: refs, referenceLogits: refs.map((r) => z[r]), alpha, objective: target.objective };
    if (refs.length === 0) return { ...base, softmaxWeights: [], formula: `z[${n}] = ${f(z[n])} (no references)` };
    if (target.objective === 'mean') {
      const terms = refs.map((r) => `z[${r}]=${f(z[r])}`).join(', ');
      return { ...base, formula: `z[${n}] − α·mean(${terms}) = ${f(z[n])} − ${alpha}·${signed(refs.reduce((s, r) => s + z[r], 0) / refs.length)} = ${f(value)}` };
    }
    const p = noGrad(() => softmax(row, 0));
    const pd = await p.data();
    p.dispose();
    const w = refs.map((r) => pd[r]);
    const terms = refs.map((r, i) => `${f(w[i])}·(${f(z[n])} − ${alpha}·${signed(z[r])})`).join(' + ');
    return { ...base, softmaxWeights: w, formula: `Σ p_r·(z[${n}] − α·z_r) / (Σ p_r + 1e-9) = (${terms}) / (${f(w.reduce((a, b) => a + b, 0))} + 1e-9) = ${f(value)}` };
  }
  if (target instanceof ClassifierOutputTarget) {
    const c = target.category;
    return { kind: 'class', value, main: c, mainLogit: z[c], formula: `z[${c}] = ${f(value)}` };
  }
  return { kind: 'other', value, formula: `target(z) = ${f(value)}` };
}

// The formulas of the methods in cam/methods/ (A = activations, G = ∂target/∂A, sums over the h×w grid).
const WEIGHTS: Record<string, string> = {
  GradCAM: 'w_c = (1/hw)·Σ_ij G_c[i,j]  (the spatial mean of the gradient)',
  GradCAMPlusPlus: 'w_c = Σ_ij relu(G_c)·a_c,  a = G² / (2G² + Σ_ij A·G³ + 1e-6)',
  XGradCAM: 'w_c = Σ_ij G_c·A_c / (Σ_ij A_c + 1e-7)',
  ScoreCAM: 'w_c = softmax_c(target(model(x ⊙ upsampled, min-max normalised A_c)))',
  AblationCAM: 'w_c = (target − target with channel c zeroed) / target',
  EigenCAM: 'the first principal component of A',
};
const MAPS: Record<string, string> = {
  HiResCAM: 'M = Σ_c G_c ⊙ A_c',
  GradCAMElementWise: 'M = Σ_c relu(G_c ⊙ A_c)',
  LayerCAM: 'M = Σ_c relu(G_c) ⊙ A_c',
  EigenGradCAM: 'M = first principal component of G ⊙ A',
  EigenCAM: 'M = first principal component of A',
  RandomCAM: 'M = Σ_c w_c·A_c with random w',
  KPCACAM: 'M = first kernel principal component of A',
};

export function weightsFormula(method: string): string {
  return WEIGHTS[method] ?? `the channel weights of ${method}`;
}

export function mapFormula(method: string, eigenSmooth: boolean): string {
  if (MAPS[method]) return MAPS[method];
  return eigenSmooth ? 'M = first principal component of (w_c·A_c)' : 'M = Σ_c w_c·A_c  (before ReLU)';
}
