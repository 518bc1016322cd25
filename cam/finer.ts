// Finer-CAM: explain a class by comparing it with its most similar classes. Per sample, the classes are
// ranked by how close their logit is to the target logit (|z_c − z_t|, ascending; ties broken by class
// index, a stable sort — the official code's np.argsort is not stable); rank 0 is the main category and
// the requested ranks are the references. The target FinerWeightedTarget then keeps evidence for the
// main class while subtracting the evidence it shares with the references, and any base CAM method turns
// its gradient into a map.
//
// Differences from the official code (Imageomics/Finer-CAM), on purpose: batches work (the official
// forward only works for one image); targetIdx may differ per sample; a rank below 1 is an error (rank 0
// is the main class itself, which the official code accepts and answers with an all-zero map); NaN or
// ±Inf logits are an error (the official code ranks them as main 0, references 1, 2, 3); the default
// output size is the feature grid as the official code, but the input size when the target layers' grids
// differ (the official code would fail to stack them).
import { Tensor } from '../core/tensor';
import { fmtShape } from '../core/shape';
import { BaseCAM, checkCamInput, checkTargetSize, type Aggregate, type CAMOptions, type CapturedPass, type ComputeOptions } from './base';
import type { CamLimits } from './limits';
import type { CamTrace } from './trace';
import { GradCAM } from './methods/gradient';
import { FinerWeightedTarget, type FinerObjective, type Target } from './targets';
import { FinerSegmentationTarget, maskedClassScores, type SegmentationMask } from './finer-segmentation';

export type CAMClass = new (opts: CAMOptions) => BaseCAM;

export interface FinerCAMOptions extends CAMOptions {
  baseMethod?: CAMClass;
}

export interface FinerMode {
  alpha?: number;
  referenceCategoryRanks?: readonly number[];
}

/** maxOutputPixels and maxCamBytes (cam/limits.ts) bound the maps a call may allocate. */
export interface FinerForwardOptions extends FinerMode, CamLimits {
  inputTensor: Tensor;
  targets?: readonly Target[] | null;
  targetSize?: [number, number] | null;
  eigenSmooth?: boolean;
  /** The class to explain: one for every sample, or one per sample (default: each sample's top class). */
  targetIdx?: number | readonly number[] | null;
  H?: number;
  W?: number;
  /** 'weighted' (official, default) or 'mean' (the paper's Eq. 8). */
  objective?: FinerObjective;
  /**
   * Segmentation models (output N×classes×H×W): one region mask per sample. The classes' mean logits over
   * the region, Σ out[c]·mask / Σ mask, stand in for the logits when ranking references and in the
   * objective (cam/finer-segmentation.ts); targetIdx is then the class to explain in the region.
   */
  masks?: readonly SegmentationMask[] | null;
  aggregate?: Aggregate;
  /** Also return every intermediate, named (cam/trace.ts); with several modes, one target set per mode. */
  trace?: boolean;
}

export interface FinerResult {
  cam: Tensor;
  outputs: Tensor;
  mainCategories: number[];
  references: number[][];
  trace?: CamTrace;
}

export interface FinerModesResult {
  cams: Tensor[];
  outputs: Tensor;
  mainCategories: number[][];
  references: number[][][];
  trace?: CamTrace;
}

/** Classes of one sample ordered by |z_c − z_t| ascending, ties by class index. */
export function rankBySimilarity(logits: ArrayLike<number>, targetClass: number): number[] {
  const t = logits[targetClass];
  const order = Array.from({ length: logits.length }, (_, c) => c);
  const d = Array.from(logits, (z) => Math.abs(z - t));
  order.sort((a, b) => d[a] - d[b] || a - b);
  return order;
}

function checkRanks(ranks: unknown, who: string): number[] {
  if (!Array.isArray(ranks)) throw new TypeError(`${who}: referenceCategoryRanks must be an array of ranks, got ${String(ranks)}`);
  ranks.forEach((r, i) => {
    if (!Number.isInteger(r)) throw new TypeError(`${who}: referenceCategoryRanks[${i}] must be an integer, got ${String(r)}`);
    if (r < 1) {
      throw new RangeError(
        `${who}: referenceCategoryRanks[${i}] is ${r}, but ranks start at 1: the classes are ordered by how close their logit is ` +
          'to the target logit, rank 0 is the main category itself (comparing a class with itself cancels all its evidence and ' +
          'gives an all-zero map), rank 1 is the most similar other class, rank 2 the next',
      );
    }
  });
  return ranks as number[];
}

function checkAlpha(alpha: unknown, who: string): number {
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) throw new TypeError(`${who}: alpha must be a finite number, got ${String(alpha)}`);
  return alpha;
}

export class FinerCAM {
  readonly baseCam: BaseCAM;

  constructor(opts: FinerCAMOptions) {
    if (opts === null || typeof opts !== 'object') throw new TypeError('FinerCAM: expected {model, targetLayers, reshapeTransform, baseMethod}');
    const Base = opts.baseMethod ?? GradCAM;
    if (typeof Base !== 'function' || !(Base.prototype instanceof BaseCAM)) throw new TypeError('FinerCAM: baseMethod must be a CAM class such as GradCAM');
    this.baseCam = new Base({ model: opts.model, targetLayers: opts.targetLayers, reshapeTransform: opts.reshapeTransform });
  }

  async forward(opts: FinerForwardOptions): Promise<FinerResult> {
    const r = await this.forwardModes({ ...opts, modes: [{ alpha: opts.alpha ?? 1, referenceCategoryRanks: opts.referenceCategoryRanks ?? [1, 2, 3] }] });
    const one = { cam: r.cams[0], outputs: r.outputs, mainCategories: r.mainCategories[0], references: r.references[0] };
    return r.trace ? { ...one, trace: r.trace } : one;
  }

  /**
   * Several Finer-CAM settings of the same images from one forward pass (the graph is kept between the
   * backward passes): generate's Baseline (α 0), Finer-Default (ranks 1-3) and Finer-Compare (rank 1).
   */
  async forwardModes(opts: Omit<FinerForwardOptions, keyof FinerMode> & { modes: readonly FinerMode[] }): Promise<FinerModesResult> {
    return this.modesImpl(opts, null);
  }

  /**
   * forwardModes on a forward pass that has already run (cam/session.ts): the same targets and maps from
   * backward passes only. The pass's input stands in for inputTensor.
   */
  async forwardModesOnPass(pass: CapturedPass, opts: Omit<FinerForwardOptions, keyof FinerMode | 'inputTensor'> & { modes: readonly FinerMode[] }): Promise<FinerModesResult> {
    return this.modesImpl({ ...opts, inputTensor: pass.input }, pass);
  }

  private async modesImpl(opts: Omit<FinerForwardOptions, keyof FinerMode> & { modes: readonly FinerMode[] }, pass: CapturedPass | null): Promise<FinerModesResult> {
    const who = 'FinerCAM.forward';
    if (opts === null || typeof opts !== 'object') throw new TypeError(`${who}: expected an options object`);
    const x = opts.inputTensor;
    if (!(x instanceof Tensor) || x.rank !== 4) throw new Error(`${who}: inputTensor must be an N×C×H×W Tensor${x instanceof Tensor ? `, got ${fmtShape(x.shape)}` : ''}`);
    checkCamInput(x, who);
    if (opts.targetSize != null) checkTargetSize(opts.targetSize, who);
    if (!Array.isArray(opts.modes) || opts.modes.length === 0) throw new TypeError(`${who}: modes must be a non-empty array`);
    if (opts.trace !== undefined && typeof opts.trace !== 'boolean') throw new TypeError(`${who}: trace must be true or false, got ${JSON.stringify(opts.trace)}`);
    const modes = opts.modes.map((m) => ({ alpha: checkAlpha(m.alpha ?? 1, who), ranks: checkRanks(m.referenceCategoryRanks ?? [1, 2, 3], who) }));
    const N = x.shape[0];
    const targetIdx = opts.targetIdx;
    if (targetIdx != null) {
      const list = typeof targetIdx === 'number' ? [targetIdx] : targetIdx;
      if (!Array.isArray(list) && typeof targetIdx !== 'number') throw new TypeError(`${who}: targetIdx must be a class index or an array of them`);
      if (Array.isArray(targetIdx) && targetIdx.length !== N) throw new Error(`${who}: targetIdx has ${targetIdx.length} entries for a batch of ${N}`);
      // checked before the forward pass: a fractional index is a caller's mistake, not a range question
      for (const t of list as readonly number[]) if (!Number.isInteger(t)) throw new TypeError(`${who}: targetIdx must be an integer class index, got ${t}`);
    }
    const mains: number[][] = modes.map(() => []);
    const segTargets: FinerSegmentationTarget[] = []; // they hold device copies of the masks: freed below
    const refs: number[][][] = modes.map(() => []);
    const buildTargets = async (outputs: Tensor): Promise<(readonly Target[] | null)[]> => {
      if (opts.targets != null) return modes.map(() => opts.targets!);
      const masks = opts.masks ?? null;
      const segScores = masks ? await maskedClassScores(outputs, masks, who) : null;
      if (!segScores && outputs.rank !== 2) throw new Error(`${who}: automatic targets need N×K logits, got ${fmtShape(outputs.shape)}${outputs.rank === 4 ? '; for a segmentation model pass masks (one region per sample)' : ''}`);
      const K = outputs.shape[1];
      if (K === 0) throw new Error(`${who}: the model returned no classes (logits ${fmtShape(outputs.shape)})`);
      const z = segScores ?? await outputs.data();
      const sets: Target[][] = modes.map(() => []);
      for (let n = 0; n < N; n++) {
        const row = z.subarray(n * K, (n + 1) * K);
        let t: number;
        if (targetIdx == null) {
          t = 0;
          for (let c = 1; c < K; c++) if (row[c] > row[t]) t = c;
        } else {
          t = typeof targetIdx === 'number' ? targetIdx : targetIdx[n];
          if (!Number.isInteger(t)) throw new TypeError(`${who}: targetIdx must be an integer class index, got ${t}`);
          if (t < 0 || t >= K) throw new RangeError(`${who}: targetIdx ${t} is out of range for ${K} classes`);
        }
        const order = rankBySimilarity(row, t);
        modes.forEach((m, i) => {
          const main = order[0];
          const r = m.ranks.filter((k) => k < K).map((k) => order[k]);
          mains[i].push(main);
          refs[i].push(r);
          if (masks) segTargets.push(new FinerSegmentationTarget(main, r, masks[n], m.alpha, { objective: opts.objective }));
          sets[i].push(masks ? segTargets[segTargets.length - 1] : new FinerWeightedTarget(main, r, m.alpha, { objective: opts.objective }));
        });
      }
      return sets;
    };
    const computeOpts: ComputeOptions = {
      targetSize: opts.targetSize ?? null,
      defaultSizeIsGrid: true,
      eigenSmooth: opts.eigenSmooth,
      aggregate: opts.aggregate,
      H: opts.H,
      W: opts.W,
      maxOutputPixels: opts.maxOutputPixels,
      maxCamBytes: opts.maxCamBytes,
      numMaps: modes.length,
      caller: who,
      trace: opts.trace,
    };
    const { cams, outputs, trace } = await (pass ? this.baseCam.computeCamsFromPass(pass, buildTargets, computeOpts) : this.baseCam.computeCams(x, buildTargets, computeOpts))
      .finally(() => segTargets.forEach((t) => t.dispose()));
    const result: FinerModesResult = { cams, outputs, mainCategories: mains, references: refs };
    if (trace) result.trace = trace;
    return result;
  }

  dispose(): void {
    this.baseCam.dispose();
  }
}
