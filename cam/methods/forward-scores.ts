// Target scores on extra forward passes (Score-CAM's masked inputs, Ablation-CAM's ablated activations,
// the metrics' perturbed images). Nothing here needs a gradient, so no graph is recorded, and each
// batch's tensors are freed before the next one runs.
import { Tensor } from '../../core/tensor';
import { Module } from '../../core/nn/module';
import { select } from '../../core/ops/views';
import { stack } from '../../core/ops/indexing';
import { tidy } from '../../core/scope';
import { noGrad } from '../../core/grad-mode';
import { fmtShape } from '../../core/shape';
import { applyTarget, type Target } from '../targets';

/** A model, or any function from an N×C×H×W batch to N outputs. */
export type ModelLike = Module | ((x: Tensor) => Tensor);

export function checkModel(model: unknown, who: string): ModelLike {
  if (!(model instanceof Module) && typeof model !== 'function') throw new TypeError(`${who}: model must be a Module or a function (x) => output`);
  return model as ModelLike;
}

export function runModel(model: ModelLike, x: Tensor): Tensor {
  return model instanceof Module ? model.forward(x) : model(x);
}

/**
 * target_j(output_j) for every row j of the output `run()` returns, as float32 numbers (pytorch-grad-cam
 * reads each score with `.item()` and keeps them as float32). `targets` is one target for every row or
 * one per row. Everything `run` creates (e.g. a perturbed batch) is freed with the output.
 */
export async function rowScores(run: () => Tensor, targets: Target | readonly Target[], who: string): Promise<Float32Array> {
  const perRow = Array.isArray(targets);
  const scores = tidy(() => noGrad(() => {
    const out = run();
    if (!(out instanceof Tensor) || out.rank < 1) throw new Error(`${who}: the model must return a batch of outputs, got ${out instanceof Tensor ? fmtShape(out.shape) : typeof out}`);
    const rows = out.shape[0];
    if (perRow && (targets as readonly Target[]).length !== rows) throw new Error(`${who}: got ${(targets as readonly Target[]).length} targets for ${rows} outputs`);
    const list = Array.from({ length: rows }, (_, j) =>
      applyTarget(perRow ? (targets as readonly Target[])[j] : (targets as Target), select(out, 0, j), `${who} target`));
    return stack(list, 0);
  }));
  try {
    return Float32Array.from(await scores.data());
  } finally {
    scores.dispose();
  }
}

/** rowScores of model(batch()), checking that there is one output per input row. */
export async function modelScores(model: ModelLike, batch: () => Tensor, targets: Target | readonly Target[], who: string): Promise<Float32Array> {
  let rows = -1;
  const s = await rowScores(() => {
    const b = batch();
    rows = b.shape[0];
    return runModel(model, b);
  }, targets, who);
  if (s.length !== rows) throw new Error(`${who}: the model returned ${s.length} outputs for a batch of ${rows}`);
  return s;
}

export function checkBatchSize(b: unknown, who: string): number {
  if (typeof b !== 'number' || !Number.isInteger(b) || b < 1) throw new RangeError(`${who}: batchSize must be a positive integer, got ${String(b)}`);
  return b;
}
