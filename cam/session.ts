// CamSession: one forward pass, many explanations. The expensive part of a gradient CAM is the forward
// pass; what changes when a visitor moves the α slider, picks other reference ranks, another target class
// or another Grad-CAM-family method is only the scalar that is differentiated and what is done with A and
// ∂target/∂A. So the session runs the model once with hooks on the target layers, keeps the output (with
// the graph that leads to it from the hooked layers) and the activations alive, and answers every later
// question with backward passes only:
//
//   const s = await CamSession.create({ model, targetLayers, inputTensor });
//   const a = await s.finer({ method: GradCAM, alpha: 1, referenceCategoryRanks: [1, 2, 3] });
//   const b = await s.finer({ method: LayerCAM, alpha: 0.5, targetIdx: 5 });   // no forward pass
//   const c = await s.cam({ method: XGradCAM, targets: [new ClassifierOutputTarget(3)] });
//   s.dispose();
//
// The results are the one-shot calls' (FinerCAM.forwardModes, <Method>.forward), bit for bit: the same
// pipeline code (BaseCAM.computeCamsFromPass) runs on the same tensors. Methods that need more than A and
// ∂target/∂A — extra forward passes (ScoreCAM, AblationCAM), their own capture (FullGrad), averaging over
// augmented inputs (augSmooth) — are refused with a SessionMethodError; run their own forward instead.
//
// Ownership: tidy scopes are a global stack, so tensors made here could be freed by a scope the caller
// opens around create(). The forward runs in its own scope; what the session needs afterwards (the
// output with its graph, the hooked outputs, the activations) is kept out of every scope and freed by
// dispose(), which also releases the graph's saved tensors (they live as long as the output does).
import { Tensor } from '../core/tensor';
import type { Module } from '../core/nn/module';
import { fmtShape } from '../core/shape';
import { keep, tidyAsync } from '../core/scope';
import { BaseCAM, checkCamInput, type Aggregate, type CapturedPass } from './base';
import { ActivationsAndGradients, type LayerRef } from './capture';
import type { ReshapeTransform } from './reshape';
import { checkStages, type StageCheck } from './finite';
import { FinerCAM, type CAMClass, type FinerMode, type FinerModesResult } from './finer';
import { GradCAM, GradCAMPlusPlus, XGradCAM, HiResCAM, GradCAMElementWise, LayerCAM, EigenGradCAM } from './methods/gradient';
import { EigenCAM } from './methods/eigen';
import type { CamLimits } from './limits';
import type { CamTrace } from './trace';
import type { FinerObjective, Target } from './targets';

/** The methods whose map needs only A and ∂target/∂A (or A alone): the ones a session can answer. */
export const SESSION_METHODS: readonly CAMClass[] = [GradCAM, GradCAMPlusPlus, XGradCAM, HiResCAM, GradCAMElementWise, LayerCAM, EigenGradCAM, EigenCAM];

/** Why the other built-in methods are refused (by class name). */
const REFUSED: Record<string, string> = {
  ScoreCAM: 'runs one extra forward pass per channel (the input masked by each activation map)',
  AblationCAM: 'runs one extra forward pass per channel (the layer with that channel zeroed)',
  FullGrad: 'differentiates at the input and every bias layer, not at the target layers',
  RandomCAM: 'draws random weights on every call, so no two answers could be compared with a one-shot call',
  KPCACAM: 'is not known to need only the activations and their gradients',
};

/** A method the session cannot answer without another forward pass. */
export class SessionMethodError extends Error {
  override name = 'SessionMethodError';
}

export interface CamSessionOptions {
  model: Module;
  targetLayers: readonly LayerRef[] | LayerRef;
  reshapeTransform?: ReshapeTransform | null;
  /** N×C×H×W; the session does not own it (the caller frees it, after dispose()). */
  inputTensor: Tensor;
  /** Patch-grid height and width for ViT reshape transforms. */
  H?: number;
  W?: number;
}

/** What every explanation may set, as on the one-shot calls. */
interface MapOptions extends CamLimits {
  /** A CAM class of SESSION_METHODS (default GradCAM). */
  method?: CAMClass;
  /** [width, height] of the maps; Finer default: the feature grid, cam() default: the input size. */
  targetSize?: [number, number] | null;
  eigenSmooth?: boolean;
  aggregate?: Aggregate;
  trace?: boolean;
}

export interface SessionFinerOptions extends MapOptions, FinerMode {
  /** Several modes at once (as FinerCAM.forwardModes); otherwise alpha and referenceCategoryRanks (FinerCAM.forward). */
  modes?: readonly FinerMode[];
  targetIdx?: number | readonly number[] | null;
  targets?: readonly Target[] | null;
  objective?: FinerObjective;
}

export interface SessionCamOptions extends MapOptions {
  /** One target per sample (default: each sample's top class). */
  targets?: readonly Target[] | null;
  /** Refused: it averages six forward passes of transformed inputs. */
  augSmooth?: boolean;
  raw?: boolean;
}

export type SessionFinerResult = Omit<FinerModesResult, 'outputs'>;

export interface SessionCamResult {
  cam: Tensor;
  trace?: CamTrace;
}

export class CamSession {
  /** The model's output for the input (detached; owned by the session). */
  readonly outputs: Tensor;
  /** Milliseconds the one forward pass took. */
  readonly forwardMs: number;
  /** How many backward-only explanations this session has answered. */
  explanations = 0;
  private readonly pass: CapturedPass;
  private readonly owned: Tensor[];
  /** One FinerCAM per method, made on first use; their hooks are removed (they never run a forward). */
  private readonly cams = new Map<CAMClass, FinerCAM>();
  private disposed = false;

  private constructor(private readonly opts: CamSessionOptions, pass: CapturedPass, owned: Tensor[], forwardMs: number) {
    this.pass = pass;
    this.outputs = pass.outputs;
    this.owned = owned;
    this.forwardMs = forwardMs;
  }

  /** Runs the forward pass once, with hooks on the target layers, and keeps what the backward passes need. */
  static async create(opts: CamSessionOptions): Promise<CamSession> {
    const who = 'CamSession.create';
    if (opts === null || typeof opts !== 'object') throw new TypeError(`${who}: expected {model, targetLayers, inputTensor}`);
    checkCamInput(opts.inputTensor, who);
    const input = opts.inputTensor;
    await checkStages([{ stage: 'input', label: 'the input (inputTensor)', tensor: input } as StageCheck], who);
    const capture = new ActivationsAndGradients(opts.model, opts.targetLayers, opts.reshapeTransform ?? null);
    opts.model.eval();
    const t0 = performance.now();
    let got: { out: Tensor; outputs: Tensor; acts: Tensor[]; raws: Tensor[] };
    try {
      // The scope frees the forward's intermediates that nothing needs; those the graph saved for the
      // backward passes stay alive (autograd holds them) until `out` is disposed.
      got = await tidyAsync(async () => {
        const out = capture.call(input, { H: opts.H, W: opts.W });
        if (out.rank < 1 || out.shape[0] !== input.shape[0]) throw new Error(`${who}: the model output ${fmtShape(out.shape)} has no batch dimension of ${input.shape[0]}`);
        return { out, outputs: out.detach(), acts: capture.activations(), raws: capture.rawOutputs() };
      });
    } catch (e) {
      capture.dispose();
      throw e;
    } finally {
      // later forward passes of the same model (another session, a one-shot call) must not overwrite them
      capture.removeHooks();
    }
    const owned = [got.out, got.outputs, ...got.acts, ...got.raws].map((t) => keep(t));
    const pass: CapturedPass = { input, out: got.out, outputs: got.outputs, acts: got.acts, capture };
    return new CamSession(opts, pass, owned, performance.now() - t0);
  }

  /** Finer-CAM of the session's input: equals new FinerCAM({..., baseMethod: method}).forwardModes (or .forward). */
  async finer(o: SessionFinerOptions = {}): Promise<SessionFinerResult> {
    const who = 'CamSession.finer';
    this.checkAlive(who);
    if (o === null || typeof o !== 'object') throw new TypeError(`${who}: expected an options object`);
    const modes = o.modes ?? [{ alpha: o.alpha ?? 1, referenceCategoryRanks: o.referenceCategoryRanks ?? [1, 2, 3] }];
    if (o.modes != null && (o.alpha !== undefined || o.referenceCategoryRanks !== undefined)) {
      throw new TypeError(`${who}: give either modes or alpha/referenceCategoryRanks, not both`);
    }
    const finer = this.camFor(o.method, who);
    const r = await finer.forwardModesOnPass(this.pass, {
      modes, targetIdx: o.targetIdx, targets: o.targets, objective: o.objective, targetSize: o.targetSize, eigenSmooth: o.eigenSmooth,
      aggregate: o.aggregate, trace: o.trace, H: this.opts.H, W: this.opts.W, maxOutputPixels: o.maxOutputPixels, maxCamBytes: o.maxCamBytes,
    });
    this.explanations++;
    const { outputs: _shared, ...rest } = r;
    return rest;
  }

  /** A plain CAM of the session's input: equals new <method>({...}).forward({inputTensor, targets, ...}). */
  async cam(o: SessionCamOptions = {}): Promise<SessionCamResult> {
    const who = 'CamSession.cam';
    this.checkAlive(who);
    if (o === null || typeof o !== 'object') throw new TypeError(`${who}: expected an options object`);
    if (o.augSmooth) throw new SessionMethodError(`${who}: augSmooth averages six forward passes of flipped and scaled inputs; run <Method>.forward({augSmooth: true}) instead`);
    if (o.targets != null && !Array.isArray(o.targets)) throw new TypeError(`${who}: targets must be an array (one per sample) or null`);
    if (o.trace !== undefined && typeof o.trace !== 'boolean') throw new TypeError(`${who}: trace must be true or false, got ${JSON.stringify(o.trace)}`);
    const base = this.camFor(o.method, who).baseCam;
    const r = await base.computeCamsFromPass(this.pass, [o.targets ?? null], {
      targetSize: o.targetSize ?? null, eigenSmooth: o.eigenSmooth, aggregate: o.aggregate, raw: o.raw, trace: o.trace,
      H: this.opts.H, W: this.opts.W, maxOutputPixels: o.maxOutputPixels, maxCamBytes: o.maxCamBytes,
    });
    this.explanations++;
    return r.trace ? { cam: r.cams[0], trace: r.trace } : { cam: r.cams[0] };
  }

  /** Frees the output, the graph behind it and the activations; the session cannot answer afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const c of this.cams.values()) c.dispose();
    this.cams.clear();
    this.pass.capture.dispose();
    for (const t of this.owned) t.dispose();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private checkAlive(who: string): void {
    if (this.disposed) throw new Error(`${who}: the session was disposed; create a new one (its forward pass and graph are gone)`);
  }

  private camFor(method: CAMClass | undefined, who: string): FinerCAM {
    const M = method ?? GradCAM;
    if (typeof M !== 'function' || !(M.prototype instanceof BaseCAM)) throw new TypeError(`${who}: method must be a CAM class such as GradCAM`);
    if (!SESSION_METHODS.includes(M)) {
      const why = REFUSED[M.name] ?? 'is not known to need only the activations and their gradients';
      throw new SessionMethodError(
        `${who}: ${M.name} ${why}, so the session cannot answer it from its one forward pass; run new ${M.name}({...}).forward(...) instead. ` +
          `A session answers ${SESSION_METHODS.map((c) => c.name).join(', ')}`,
      );
    }
    let c = this.cams.get(M);
    if (!c) {
      c = new FinerCAM({ model: this.opts.model, targetLayers: this.opts.targetLayers, reshapeTransform: this.opts.reshapeTransform, baseMethod: M });
      c.baseCam.capture.removeHooks();
      this.cams.set(M, c);
    }
    return c;
  }
}
