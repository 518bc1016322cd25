// BaseCAM: pytorch-grad-cam's pipeline, shared by every method.
//   1. one forward pass with hooks on the target layers (ActivationsAndGradients);
//   2. per sample, its target turns its logits into a scalar; the scores are summed and differentiated
//      w.r.t. the target layers only (pruned grad: no weight gradients, nothing below the layers);
//   3. per layer, the method's map (channel weights · activations, or an elementwise rule) → ReLU →
//      per-image min-max  y = x − min(x),  y / (1e-7 + max(y))  → bilinear resize to targetSize
//      (half-pixel centres, as OpenCV's INTER_LINEAR);
//   4. the layers are combined (mean by default; max or product) after max(·, 0), then min-max again.
// Everything is tensor ops, so on the WebGPU backend the resize and min-max run on the device. The
// principal-component step of eigenSmooth/EigenCAM runs on the CPU (cam/pca.ts).
// Guards that keep valid results exact and turn bad ones into errors: the map size and the memory the maps
// will need are checked before any work (limits.ts), and NaN/±Inf reaching the logits that targets rank
// or a returned map is an error naming the first stage that holds it (finite.ts).
import { Tensor } from '../core/tensor';
import { Module } from '../core/nn/module';
import { tensor } from '../core/ops/creation';
import { add, div, mul, relu, sub, maximum } from '../core/ops/elementwise';
import { amax, amin, mean, sum, argmax } from '../core/ops/reduce';
import { flip, reshape, select, squeeze, unsqueeze } from '../core/ops/views';
import { stack } from '../core/ops/indexing';
import { interpolate } from '../core/ops/interpolate';
import { tidy, tidyAsync, keep } from '../core/scope';
import { noGrad } from '../core/grad-mode';
import { fmtShape } from '../core/shape';
import { ActivationsAndGradients, type LayerRef } from './capture';
import type { ReshapeTransform } from './reshape';
import { applyTarget, ClassifierOutputTarget, type Target } from './targets';
import { firstComponentProjection } from './pca';
import { checkMapWork, resolveLimits, type CamLimits } from './limits';
import { checkStages, firstNonFiniteSample, type StageCheck } from './finite';
import { TraceRecorder, mapFormula, weightsFormula, type CamTrace } from './trace';

export interface CAMOptions {
  model: Module;
  targetLayers: readonly LayerRef[] | LayerRef;
  reshapeTransform?: ReshapeTransform | null;
}

export type Aggregate = 'mean' | 'max' | 'product';

/** maxOutputPixels and maxCamBytes (cam/limits.ts) bound the maps a call may allocate. */
export interface CamForwardOptions extends CamLimits {
  inputTensor: Tensor;
  /** One target per sample (default: each sample's top class). */
  targets?: readonly Target[] | null;
  /** [width, height] of the returned maps (OpenCV's order); default: the input's size. */
  targetSize?: [number, number] | null;
  eigenSmooth?: boolean;
  /** Average over horizontal flips × scales 0.9/1/1.1 of the input, as pytorch-grad-cam's aug_smooth. */
  augSmooth?: boolean;
  aggregate?: Aggregate;
  /** Skip ReLU and normalisation: the method's map at the feature-grid size (first layer). */
  raw?: boolean;
  /** Patch-grid height and width for ViT reshape transforms. */
  H?: number;
  W?: number;
  /** Also return every intermediate of the computation, named (cam/trace.ts). */
  trace?: boolean;
}

/** Target sets for computeCams, or a function that builds them from the model's outputs. */
export type TargetSets = readonly (readonly Target[] | null)[] | ((outputs: Tensor) => Promise<(readonly Target[] | null)[]>);

/** Options of one computeCams call: the forward options minus the input and targets. */
export type ComputeOptions = Omit<CamForwardOptions, 'inputTensor' | 'targets'> & {
  /** When targetSize is omitted, keep the feature-grid size (FinerCAM, as the official code). */
  defaultSizeIsGrid?: boolean;
  /** How many maps the call returns, when targets come from a function (for the memory check). */
  numMaps?: number;
  /** The public entry point, for error messages (default: the method's class name). */
  caller?: string;
  /** Set by computeCams when opts.trace asks for a trace. */
  traceRecorder?: TraceRecorder;
};

export interface CamResult {
  /** N×h×w maps in [0, 1]. */
  cam: Tensor;
  /** The model's output for the input (detached). */
  outputs: Tensor;
  /** With `trace: true`: the named intermediates the map was computed from. */
  trace?: CamTrace;
}

/**
 * A forward pass whose graph is still alive: the input, the model's output with its graph (out), a detached
 * copy (outputs), the target layers' activations, and the capture that can differentiate at them.
 */
export interface CapturedPass {
  input: Tensor;
  out: Tensor;
  outputs: Tensor;
  acts: Tensor[];
  capture: ActivationsAndGradients;
}

/** What a method sees for one layer. */
export interface LayerContext {
  input: Tensor;
  activations: Tensor; // N×C×h×w
  gradients: Tensor | null; // N×C×h×w, or null for gradient-free methods
  targets: readonly Target[];
  layerIndex: number;
  eigenSmooth: boolean;
  /** The call's memory limits, for methods that allocate more (ScoreCAM, KPCA-CAM). */
  limits: Required<CamLimits>;
  /** With a trace: where weightedSum reports the channel weights, and which target set this is. */
  trace?: { recorder: TraceRecorder; set: number };
}

export abstract class BaseCAM {
  readonly model: Module;
  readonly capture: ActivationsAndGradients;
  /** False for gradient-free methods (EigenCAM, ScoreCAM, ...): no backward pass is run. */
  readonly usesGradients: boolean = true;
  /** Batch size for methods that run extra forward passes (ScoreCAM, AblationCAM). */
  batchSize = 16;

  constructor(opts: CAMOptions) {
    if (opts === null || typeof opts !== 'object') throw new TypeError(`${this.constructor.name}: expected {model, targetLayers, reshapeTransform}`);
    this.model = opts.model;
    this.capture = new ActivationsAndGradients(opts.model, opts.targetLayers, opts.reshapeTransform ?? null);
    opts.model.eval();
  }

  /** The method's N×h×w map for one layer, before ReLU and normalisation. */
  protected abstract camImage(ctx: LayerContext): Tensor | Promise<Tensor>;

  /** Channel weights N×C → Σ_c w_c·A_c (or its first principal component with eigenSmooth). */
  protected async weightedSum(ctx: LayerContext, weights: Tensor): Promise<Tensor> {
    ctx.trace?.recorder.record('channelWeights', ctx.trace.set, ctx.layerIndex, weightsFormula(this.constructor.name), weights);
    const wa = mul(ctx.activations, unsqueeze(unsqueeze(weights, -1), -1));
    return ctx.eigenSmooth ? project2d(wa) : sum(wa, 1);
  }

  /** Σ_c of an elementwise map, or its first principal component with eigenSmooth. */
  protected async channelSum(ctx: LayerContext, map: Tensor): Promise<Tensor> {
    return ctx.eigenSmooth ? project2d(map) : sum(map, 1);
  }

  async forward(opts: CamForwardOptions): Promise<CamResult> {
    const who = this.constructor.name;
    checkForwardOptions(opts, who);
    if (opts.augSmooth) {
      // six passes' maps are kept, then stacked: check for them all before the first pass
      this.checkPlannedMaps(opts.inputTensor, opts, 7, who);
      return this.forwardAugSmooth(opts);
    }
    const [{ cams, outputs, trace }] = [await this.computeCams(opts.inputTensor, [opts.targets ?? null], opts)];
    return trace ? { cam: cams[0], outputs, trace } : { cam: cams[0], outputs };
  }

  /**
   * One forward pass, then one map per target set (each set: one target per sample, or null for the top
   * class). The graph is kept between the backward passes, so several explanations of the same images
   * cost one forward.
   */
  async computeCams(input: Tensor, targetSetsOrFn: TargetSets, opts: ComputeOptions): Promise<{ cams: Tensor[]; outputs: Tensor; targetsUsed: Target[][]; trace?: CamTrace }> {
    const who = opts.caller ?? this.constructor.name;
    checkCamInput(input, who);
    if (opts.targetSize != null) checkTargetSize(opts.targetSize, who);
    this.checkPlannedMaps(input, opts, mapCount(targetSetsOrFn, opts) - 1, who);
    // methods with their own pipeline (FullGrad) trace their own steps (they override computeCamsImpl)
    return this.withTrace(opts, (o) => tidyAsync(() => this.computeCamsImpl(input, targetSetsOrFn, o)));
  }

  /**
   * computeCams on a forward pass that has already run and whose graph is still alive (cam/session.ts):
   * only the backward passes and the maps. The graph is retained after the last set too — the pass's
   * owner frees it. Methods with their own pipeline or extra forward passes cannot use this.
   */
  async computeCamsFromPass(pass: CapturedPass, targetSetsOrFn: TargetSets, opts: ComputeOptions): Promise<{ cams: Tensor[]; outputs: Tensor; targetsUsed: Target[][]; trace?: CamTrace }> {
    const who = opts.caller ?? this.constructor.name;
    if (opts.targetSize != null) checkTargetSize(opts.targetSize, who);
    this.checkPlannedMaps(pass.input, opts, mapCount(targetSetsOrFn, opts) - 1, who);
    return this.withTrace(opts, (o) => tidyAsync(async () => {
      const kept: Tensor[] = [];
      try {
        const { cams, targetsUsed } = await this.mapsFromPass(pass, targetSetsOrFn, o, true, kept);
        return { cams, outputs: pass.outputs, targetsUsed };
      } catch (e) {
        for (const t of kept) t.dispose();
        throw e;
      }
    }));
  }

  /** Runs fn, with a TraceRecorder in its options when opts.trace asks for a trace. */
  private async withTrace<R extends object>(opts: ComputeOptions, fn: (o: ComputeOptions) => Promise<R>): Promise<R & { trace?: CamTrace }> {
    if (!opts.trace) return fn(opts);
    const recorder = new TraceRecorder(this.constructor.name, this.traceLayerNames());
    let r;
    try {
      // The forward graph, activations and gradients are freed when the call ends; only the maps and the
      // outputs survive (on WebGPU nothing else would free them). The recorder's views are kept apart.
      r = await fn({ ...opts, traceRecorder: recorder });
    } catch (e) {
      recorder.dispose();
      throw e;
    }
    return { ...r, trace: await recorder.finish() };
  }

  /** The names the trace's `layer` indices refer to (FullGrad: the input, then its bias layers). */
  protected traceLayerNames(): string[] {
    return this.capture.layers.map((_, i) => this.capture.layerName(i));
  }

  /** The memory check, before any work, when the map size is known from the options and the input. */
  protected checkPlannedMaps(input: Tensor, opts: ComputeOptions, extraMaps: number, who: string): void {
    const limits = resolveLimits(opts, who);
    if (opts.raw) return; // raw maps stay at the feature-grid size
    let size: [number, number];
    let source: string;
    if (opts.targetSize) {
      size = [opts.targetSize[1], opts.targetSize[0]];
      source = `targetSize [${opts.targetSize[0]}, ${opts.targetSize[1]}]`;
    } else if (opts.defaultSizeIsGrid) {
      return; // the grid is known after the forward pass: combineLayers checks it
    } else {
      size = [input.shape[2], input.shape[3]];
      source = 'the input size (targetSize omitted)';
    }
    checkMapWork({ batch: input.shape[0], layers: this.capture.layers.length, extraMaps, height: size[0], width: size[1], source }, limits, who);
  }

  /** The pipeline behind computeCams; methods with their own capture (FullGrad) override this. */
  protected async computeCamsImpl(input: Tensor, targetSetsOrFn: TargetSets, opts: ComputeOptions): Promise<{ cams: Tensor[]; outputs: Tensor; targetsUsed: Target[][] }> {
    const who = opts.caller ?? this.constructor.name;
    const N = input.shape[0];
    const inputStage: StageCheck = { stage: 'input', label: 'the input (inputTensor)', tensor: input };
    await checkStages([inputStage], who);
    const out = this.capture.call(input, { H: opts.H, W: opts.W });
    // kept tensors escape the call's scope: on an error they are freed here
    const kept: Tensor[] = [];
    try {
      if (out.rank < 1 || out.shape[0] !== N) throw new Error(`${who}: the model output ${fmtShape(out.shape)} has no batch dimension of ${N}`);
      const outputs = keep(out.detach());
      kept.push(outputs);
      const pass: CapturedPass = { input, out, outputs, acts: this.capture.activations(), capture: this.capture };
      const { cams, targetsUsed } = await this.mapsFromPass(pass, targetSetsOrFn, opts, false, kept);
      return { cams, outputs, targetsUsed };
    } catch (e) {
      for (const t of kept) t.dispose();
      throw e;
    } finally {
      this.capture.clear();
    }
  }

  /**
   * Steps 2-4 of the pipeline on a forward pass already run: per target set, the backward pass (graph
   * retained between sets, and after the last one with retainLast) and the map. The maps are kept (they
   * escape the caller's scope) and pushed to `kept`, for the caller to free on an error.
   */
  private async mapsFromPass(pass: CapturedPass, targetSetsOrFn: TargetSets, opts: ComputeOptions, retainLast: boolean, kept: Tensor[]): Promise<{ cams: Tensor[]; targetsUsed: Target[][] }> {
    const who = opts.caller ?? this.constructor.name;
    const { input, out, outputs, acts, capture } = pass;
    const N = input.shape[0];
    const inputStage: StageCheck = { stage: 'input', label: 'the input (inputTensor)', tensor: input };
    const rec = opts.traceRecorder;
    if (rec) {
      rec.recordLogits(outputs);
      acts.forEach((a, i) => rec.record('activations', null, i, `A = output of '${capture.layerName(i)}'${a.rank === 4 ? ' (N×C×h×w)' : ''}`, a));
    }
    const actStages = acts.map((a, i): StageCheck => ({ stage: 'activations', label: `the activations of target layer ${i} ('${capture.layerName(i)}')`, tensor: a }));
    const outputStage: StageCheck = { stage: 'model output', label: 'the model output', tensor: outputs };
    // top-class and Finer targets rank the logits: NaN would silently pick class 0
    const autoTargets = typeof targetSetsOrFn === 'function' || targetSetsOrFn.some((t) => !t);
    if (autoTargets && (await firstNonFiniteSample(outputs)) >= 0) await checkStages([inputStage, ...actStages, outputStage], who);
    const targetSets = typeof targetSetsOrFn === 'function' ? await targetSetsOrFn(outputs) : targetSetsOrFn;
    const cams: Tensor[] = [];
    const targetsUsed: Target[][] = [];
    for (let s = 0; s < targetSets.length; s++) {
      const targets = targetSets[s] ? [...targetSets[s]!] : await topClassTargets(outputs);
      if (targets.length !== N) {
        throw new Error(`${who}: got ${targets.length} targets for a batch of ${N}; give one target per sample`);
      }
      targetsUsed.push(targets);
      const retain = retainLast || s < targetSets.length - 1;
      const onScore = rec ? (n: number, score: Tensor) => rec.recordTarget(s, n, targets[n], score, select(outputs, 0, n)) : undefined;
      const grads = this.usesGradients ? capture.gradients(scoreSum(out, targets, who, onScore), retain) : null;
      if (rec && !this.usesGradients) targets.forEach((t, n) => rec.recordTarget(s, n, t, applyTarget(t, select(outputs, 0, n), `${who} target ${n}`), select(outputs, 0, n)));
      grads?.forEach((g, i) => rec?.record('gradients', s, i, '∂target/∂A (the sum of the samples\' targets, differentiated at A)', g));
      const cam = await this.combineLayers(input, acts, grads, targets, { ...opts, numMaps: targetSets.length }, who, s);
      const bad = await firstNonFiniteSample(cam);
      if (bad >= 0) {
        const gradStages = (grads ?? []).map((g, i): StageCheck => ({ stage: 'gradients', label: `the gradients at target layer ${i} ('${capture.layerName(i)}')`, tensor: g }));
        await checkStages([inputStage, ...actStages, outputStage, ...gradStages], who, { label: `the ${this.constructor.name} map`, sample: bad });
      }
      cams.push(keep(cam));
      kept.push(cam);
    }
    return { cams, targetsUsed };
  }

  private async combineLayers(input: Tensor, acts: Tensor[], grads: Tensor[] | null, targets: Target[], opts: ComputeOptions, who: string, set = 0): Promise<Tensor> {
    const limits = resolveLimits(opts, who);
    const rec = opts.traceRecorder;
    const perLayer: Tensor[] = [];
    for (let i = 0; i < acts.length; i++) {
      const ctx: LayerContext = { input, activations: acts[i], gradients: grads ? grads[i] : null, targets, layerIndex: i, eigenSmooth: opts.eigenSmooth ?? false, limits };
      if (rec) ctx.trace = { recorder: rec, set };
      perLayer.push(await this.layerCam(ctx));
      rec?.record('weightedSum', set, i, mapFormula(this.constructor.name, ctx.eigenSmooth), perLayer[i]);
    }
    if (opts.raw) return perLayer[0];
    const planned = resolveTargetSize(opts, input, perLayer);
    const [h, w] = planned ?? perLayer[0].shape.slice(1);
    const source = opts.targetSize ? `targetSize [${opts.targetSize[0]}, ${opts.targetSize[1]}]` : planned ? 'the input size (targetSize omitted)' : 'the feature grid (targetSize omitted)';
    checkMapWork({ batch: input.shape[0], layers: perLayer.length, extraMaps: (opts.numMaps ?? 1) - 1, height: h, width: w, source }, limits, who);
    return tidy(() => {
      const maps = perLayer.map((c, i) => {
        const r = relu(c);
        rec?.record('relu', set, i, 'max(M, 0)', r);
        return scaleCam(r, planned, rec ? (key, t, formula) => rec.record(key, set, i, formula, t) : undefined);
      });
      const cam = aggregateLayers(maps, opts.aggregate ?? 'mean', rec ? (t, formula) => rec.record('combined', set, null, formula, t) : undefined);
      rec?.record('cam', set, null, 'the combined map, min-max normalised again: the returned CAM', cam);
      return cam;
    });
  }

  /** Methods that need asynchronous work (reading values, extra passes) override this. */
  protected async layerCam(ctx: LayerContext): Promise<Tensor> {
    return this.camImage(ctx);
  }

  private async forwardAugSmooth(opts: CamForwardOptions): Promise<CamResult> {
    // ttach order: horizontal flip in {no, yes} × multiply in {0.9, 1, 1.1}; each pass is a full forward
    // (normalised to [0, 1]), undone (flip back), then averaged — without renormalising the mean.
    const passes: CamResult[] = [];
    const maps: Tensor[] = [];
    let outputs: Tensor | null = null;
    for (const doFlip of [false, true]) {
      for (const factor of [0.9, 1, 1.1]) {
        const x = noGrad(() => tidy(() => mul(doFlip ? flip(opts.inputTensor, 3) : opts.inputTensor, factor)));
        const r = await this.forward({ ...opts, inputTensor: x, augSmooth: false });
        x.dispose();
        passes.push(r);
        if (!outputs && !doFlip && factor === 1) outputs = r.outputs;
        maps.push(doFlip ? flip(r.cam, 2) : r.cam);
      }
    }
    const cam = keep(tidy(() => mean(stack(maps, 0), 0)));
    for (const m of maps) m.dispose();
    for (const r of passes) {
      r.cam.dispose();
      if (r.outputs !== outputs) r.outputs.dispose();
    }
    return { cam, outputs: outputs! };
  }

  /** Removes the hooks. */
  dispose(): void {
    this.capture.dispose();
  }
}

function checkForwardOptions(opts: CamForwardOptions, who: string): void {
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${who}.forward: expected an options object {inputTensor, targets, ...}`);
  checkCamInput(opts.inputTensor, `${who}.forward`);
  resolveLimits(opts, `${who}.forward`);
  if (opts.targets != null && !Array.isArray(opts.targets)) throw new TypeError(`${who}.forward: targets must be an array (one per sample) or null`);
  if (opts.targetSize != null) checkTargetSize(opts.targetSize, who);
  if (opts.trace !== undefined && typeof opts.trace !== 'boolean') throw new TypeError(`${who}.forward: trace must be true or false, got ${JSON.stringify(opts.trace)}`);
  if (opts.trace && opts.augSmooth) throw new Error(`${who}.forward: trace and augSmooth cannot be combined (six passes would be averaged; trace one pass)`);
  if (opts.aggregate !== undefined && !['mean', 'max', 'product'].includes(opts.aggregate)) {
    throw new TypeError(`${who}.forward: aggregate must be 'mean', 'max' or 'product', got ${JSON.stringify(opts.aggregate)}`);
  }
}

/** An N×C×H×W tensor with at least one image and no empty axis. */
export function checkCamInput(x: unknown, who: string): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${who}: inputTensor must be a Tensor`);
  if (x.rank !== 4) throw new Error(`${who}: inputTensor must be N×C×H×W, got ${fmtShape(x.shape)}`);
  if (x.shape[0] === 0) throw new Error(`${who}: inputTensor is an empty batch (shape ${fmtShape(x.shape)}); give at least one image`);
  if (x.size === 0) throw new Error(`${who}: inputTensor has an empty axis (shape ${fmtShape(x.shape)}); every image needs at least one channel and one pixel`);
}

/** How many maps a computeCams call returns. */
function mapCount(targetSetsOrFn: TargetSets, opts: ComputeOptions): number {
  return typeof targetSetsOrFn === 'function' ? opts.numMaps ?? 1 : Math.max(1, targetSetsOrFn.length);
}

export function checkTargetSize(s: unknown, who: string): void {
  if (!Array.isArray(s) || s.length !== 2 || !s.every((v) => Number.isInteger(v) && v > 0)) {
    throw new TypeError(`${who}: targetSize must be [width, height] with positive integers, got ${JSON.stringify(s)}`);
  }
}

async function topClassTargets(outputs: Tensor): Promise<Target[]> {
  const idx = await argmax(reshape(outputs, [outputs.shape[0], -1]), 1).data();
  return Array.from(idx, (c) => new ClassifierOutputTarget(c));
}

/** Σ_n target_n(output_n): each target sees one sample's output. */
export function scoreSum(out: Tensor, targets: readonly Target[], who: string, onScore?: (sample: number, score: Tensor) => void): Tensor {
  let total: Tensor | null = null;
  targets.forEach((t, n) => {
    const s = applyTarget(t, select(out, 0, n), `${who} target ${n}`);
    onScore?.(n, s);
    total = total ? add(total, s) : s;
  });
  return total!;
}

/** [height, width] of the output maps. */
function resolveTargetSize(opts: ComputeOptions, input: Tensor, maps: Tensor[]): [number, number] | null {
  if (opts.targetSize) return [opts.targetSize[1], opts.targetSize[0]];
  if (opts.defaultSizeIsGrid) {
    const [h, w] = maps[0].shape.slice(1);
    const same = maps.every((m) => m.shape[1] === h && m.shape[2] === w);
    if (same) return null;
  }
  return [input.shape[2], input.shape[3]];
}

/** Per-image min-max (x − min, / (1e-7 + max)), then bilinear resize (half-pixel centres) if a size is given. */
export function scaleCam(cam: Tensor, size: [number, number] | null, onStep?: (key: 'normalised' | 'resized', t: Tensor, formula: string) => void): Tensor {
  const shifted = sub(cam, amin(cam, [1, 2], true));
  let y = div(shifted, add(amax(shifted, [1, 2], true), 1e-7));
  onStep?.('normalised', y, 'y = x − min(x);  y / (1e-7 + max(y))  (per image)');
  if (size && (size[0] !== y.shape[1] || size[1] !== y.shape[2])) {
    y = squeeze(interpolate(unsqueeze(y, 1), { size, mode: 'bilinear', alignCorners: false }), 1);
    onStep?.('resized', y, `bilinear resize to ${size[0]}×${size[1]} (half-pixel centres, as OpenCV INTER_LINEAR)`);
  }
  return y;
}

function aggregateLayers(maps: Tensor[], how: Aggregate, onCombined?: (t: Tensor, formula: string) => void): Tensor {
  const shape = maps[0].shape;
  maps.forEach((m, i) => {
    if (m.shape[1] !== shape[1] || m.shape[2] !== shape[2]) {
      throw new Error(`CAM: target layer ${i} gives ${m.shape[1]}×${m.shape[2]} maps but layer 0 gives ${shape[1]}×${shape[2]}; pass targetSize`);
    }
  });
  const st = maximum(stack(maps, 1), tensor(0, [], { device: maps[0].device }));
  let combined: Tensor;
  if (how === 'mean') combined = mean(st, 1);
  else if (how === 'max') combined = amax(st, 1);
  else combined = maps.slice(1).reduce((acc, m) => mul(acc, relu(m)), relu(maps[0]));
  onCombined?.(combined, `${how} over the ${maps.length} layer map${maps.length === 1 ? '' : 's'} of max(map, 0)`);
  return scaleCam(combined, null);
}

/** First-principal-component projection of N×C×h×w activations (on the CPU), as pytorch-grad-cam's get_2d_projection. */
export async function project2d(x: Tensor): Promise<Tensor> {
  const [N, C, h, w] = x.shape;
  const data = await x.data();
  const out = new Float32Array(N * h * w);
  for (let n = 0; n < N; n++) {
    const p = firstComponentProjection(data.subarray(n * C * h * w, (n + 1) * C * h * w), C, h * w);
    out.set(p, n * h * w);
  }
  return tensor(out, [N, h, w], { device: x.device });
}
