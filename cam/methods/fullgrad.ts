// FullGrad (Srinivas & Fleuret, NeurIPS 2019), as pytorch-grad-cam's FullGrad. It ignores targetLayers
// and explains with every bias in the network plus the input itself:
//   input part:  |x ⊙ ∂y/∂x|;
//   bias parts:  |b ⊙ ∂y/∂z| for the output z of every Conv2d and BatchNorm2d that has a bias, where a
//                BatchNorm's effective bias (eval mode) is b − μ·γ/√(σ² + ε);
// each part is processed per (sample, channel): x − min, / (1e-7 + max), bilinear resize to the output
// size (half-pixel centres, as cv2.resize); the channels and then the parts are summed, and the total is
// min-max scaled once more. No ReLU (every part is already ≥ 0), so `aggregate` has no meaning here.
// One forward and one backward pass give ∂y/∂x and every ∂y/∂z together.
// With `trace: true` the same computation is recorded as it runs: the trace's layer 0 is the input, layer
// i + 1 the i-th bias layer; per part its gradient, its contribution |x ⊙ ∂y/∂x| or |b ⊙ ∂y/∂z|, and its
// part map (the channels post-processed and summed); then the sum of the parts and the returned map.
import { Tensor } from '../../core/tensor';
import { Module } from '../../core/nn/module';
import { BatchNorm2d, Conv2d } from '../../core/nn/layers';
import { abs, add, div, mul, sqrt, sub } from '../../core/ops/elementwise';
import { argmax, sum } from '../../core/ops/reduce';
import { reshape, select } from '../../core/ops/views';
import { grad } from '../../core/autograd';
import { tidy, keep } from '../../core/scope';
import { noGrad } from '../../core/grad-mode';
import { fmtShape } from '../../core/shape';
import type { HookHandle } from '../../core/tensor';
import { BaseCAM, checkTargetSize, scaleCam, scoreSum, type CAMOptions, type ComputeOptions, type TargetSets } from '../base';
import { ClassifierOutputTarget, type Target } from '../targets';
import { checkMapPixels, checkWorkBytes, resolveLimits } from '../limits';
import { checkStages, firstNonFiniteSample, type StageCheck } from '../finite';
import type { TraceRecorder } from '../trace';

export interface FullGradOptions extends Omit<CAMOptions, 'targetLayers'> {
  /** Ignored (as pytorch-grad-cam): FullGrad uses every Conv2d/BatchNorm2d with a bias. */
  targetLayers?: CAMOptions['targetLayers'];
}

/** The Conv2d and BatchNorm2d modules with a bias, in module order. */
export function fullGradLayers(model: Module): Module[] {
  return model.modules().filter((m) => (m instanceof Conv2d && m.bias !== null) || m instanceof BatchNorm2d);
}

/** The bias a layer adds to its output: a Conv2d's bias, or a BatchNorm2d's b − μ·γ/√(σ² + ε). */
export function effectiveBias(layer: Module): Tensor {
  return noGrad(() => {
    if (layer instanceof BatchNorm2d) {
      const eps = layer.opts.eps ?? 1e-5;
      return sub(layer.bias, div(mul(layer.runningMean, layer.weight), sqrt(add(layer.runningVar, eps))));
    }
    if (layer instanceof Conv2d && layer.bias) return layer.bias.detach();
    throw new TypeError(`FullGrad: ${layer.constructor.name} has no 2-D bias`);
  });
}

/** Per (sample, channel) x − min, / (1e-7 + max), resized to [H, W]; then summed over channels: N×H×W. */
function channelMaps(t: Tensor, size: [number, number]): Tensor {
  const [N, C, h, w] = t.shape;
  const scaled = scaleCam(reshape(t, [N * C, h, w]), size);
  return sum(reshape(scaled, [N, C, size[0], size[1]]), 1);
}

export class FullGrad extends BaseCAM {
  /** The layers whose biases explain the output (targetLayers is ignored). */
  readonly biasLayers: Module[];
  private outputs: (Tensor | null)[] = [];
  private readonly handles: HookHandle[] = [];

  constructor(opts: FullGradOptions) {
    if (opts === null || typeof opts !== 'object' || !(opts.model instanceof Module)) {
      throw new TypeError('FullGrad: expected {model} with a Module (targetLayers is ignored)');
    }
    const layers = fullGradLayers(opts.model);
    if (layers.length === 0) throw new Error('FullGrad: the model has no Conv2d or BatchNorm2d with a bias');
    super({ model: opts.model, targetLayers: layers, reshapeTransform: null });
    this.biasLayers = layers;
    layers.forEach((layer, i) => {
      this.handles.push(layer.registerForwardHook((_m, _inputs, out) => {
        this.outputs[i] = out;
      }));
    });
  }

  protected camImage(): Tensor {
    throw new Error('FullGrad: the map is built in computeCams, not per target layer');
  }

  /**
   * Every channel of a bias layer is resized to the output size before the channels are summed, so the
   * widest layer sets the peak: about 4 bytes × N × C × (H·W + h·W) for the resized channels and the
   * width pass (h ≤ H), plus a few N×H×W maps.
   */
  protected override checkPlannedMaps(input: Tensor, opts: ComputeOptions, extraMaps: number, who: string): void {
    const limits = resolveLimits(opts, who);
    if (opts.targetSize != null) checkTargetSize(opts.targetSize, who);
    const [h, w] = opts.targetSize ? [opts.targetSize[1], opts.targetSize[0]] : [input.shape[2], input.shape[3]];
    const source = opts.targetSize ? `targetSize [${opts.targetSize[0]}, ${opts.targetSize[1]}]` : 'the input size (targetSize omitted)';
    const pixels = checkMapPixels(w, h, source, limits, who);
    const widest = Math.max(input.shape[1], ...this.biasLayers.map((l) => (l instanceof Conv2d ? l.outChannels : (l as BatchNorm2d).numFeatures)));
    const bytes = 4 * input.shape[0] * pixels * (2 * widest + 4 + extraMaps);
    checkWorkBytes(bytes, `resizing all ${widest} channels of its widest layer to ${w}×${h}`, 'use a smaller targetSize or batch', limits, who);
  }

  protected override async computeCamsImpl(input: Tensor, targetSetsOrFn: TargetSets, opts: ComputeOptions): Promise<{ cams: Tensor[]; outputs: Tensor; targetsUsed: Target[][] }> {
    const who = opts.caller ?? 'FullGrad';
    if (opts.eigenSmooth) throw new Error(`${who}: eigenSmooth is not supported`);
    if (opts.targetSize != null) checkTargetSize(opts.targetSize, who);
    const inputStage: StageCheck = { stage: 'input', label: 'the input (inputTensor)', tensor: input };
    await checkStages([inputStage], who);
    const N = input.shape[0];
    const size: [number, number] = opts.targetSize ? [opts.targetSize[1], opts.targetSize[0]] : [input.shape[2], input.shape[3]];
    const x = input.detach();
    x.requiresGrad = true;
    this.outputs = this.biasLayers.map(() => null);
    // kept tensors escape the call's scope: on an error they are freed here
    const kept: Tensor[] = [];
    try {
      const out = this.model.forward(x);
      if (out.rank < 1 || out.shape[0] !== N) throw new Error(`${who}: the model output ${fmtShape(out.shape)} has no batch dimension of ${N}`);
      const layerOuts = this.outputs.map((t, i) => {
        if (!t) throw new Error(`${who}: layer ${i} (${this.biasLayers[i].constructor.name}) did not run during forward`);
        if (t.rank !== 4) throw new Error(`${who}: layer ${i} output ${fmtShape(t.shape)} is not N×C×h×w`);
        return t;
      });
      const outputs = keep(out.detach());
      kept.push(outputs);
      const rec = opts.traceRecorder;
      if (rec) {
        rec.recordLogits(outputs);
        this.biasLayers.forEach((l, i) => rec.record('bias', null, i + 1, l instanceof BatchNorm2d ? 'b = β − μ·γ/√(σ² + ε)  (the BatchNorm\'s effective bias, eval mode)' : 'b = the convolution\'s bias', effectiveBias(l)));
      }
      const outputStage: StageCheck = { stage: 'model output', label: 'the model output', tensor: outputs };
      const autoTargets = typeof targetSetsOrFn === 'function' || targetSetsOrFn.some((t) => !t);
      if (autoTargets && (await firstNonFiniteSample(outputs)) >= 0) await checkStages([inputStage, outputStage], who);
      const targetSets = typeof targetSetsOrFn === 'function' ? await targetSetsOrFn(outputs) : targetSetsOrFn;
      const cams: Tensor[] = [];
      const targetsUsed: Target[][] = [];
      for (let s = 0; s < targetSets.length; s++) {
        const targets = targetSets[s] ? [...targetSets[s]!] : await topClass(outputs);
        if (targets.length !== N) throw new Error(`${who}: got ${targets.length} targets for a batch of ${N}; give one target per sample`);
        targetsUsed.push(targets);
        const onScore = rec ? (n: number, score: Tensor) => rec.recordTarget(s, n, targets[n], score, select(outputs, 0, n)) : undefined;
        const [gx, ...gz] = grad(scoreSum(out, targets, who, onScore), [x, ...layerOuts], { retainGraph: s < targetSets.length - 1, allowUnused: true });
        if (rec) {
          if (gx) rec.record('gradients', s, 0, '∂target/∂x  (the input gradient)', gx);
          gz.forEach((g, i) => g && rec.record('gradients', s, i + 1, `∂target/∂z,  z = the output of '${this.traceLayerNames()[i + 1]}'`, g));
        }
        const cam = tidy(() => this.combine(input, gx, gz, size, opts.raw ?? false, rec ? { rec, set: s } : undefined));
        const bad = await firstNonFiniteSample(cam);
        if (bad >= 0) {
          const gradStages: StageCheck[] = gx ? [{ stage: 'gradients', label: 'the gradient with respect to the input', tensor: gx }] : [];
          gz.forEach((g, i) => {
            if (g) gradStages.push({ stage: 'gradients', label: `the gradient at bias layer ${i} (${this.biasLayers[i].constructor.name})`, tensor: g });
          });
          await checkStages([inputStage, outputStage, ...gradStages], who, { label: 'the FullGrad map', sample: bad });
        }
        cams.push(keep(cam));
        kept.push(cam);
      }
      return { cams, outputs, targetsUsed };
    } catch (e) {
      for (const t of kept) t.dispose();
      throw e;
    } finally {
      this.outputs = [];
      this.capture.clear();
    }
  }

  private combine(input: Tensor, gx: Tensor | null, gz: (Tensor | null)[], size: [number, number], raw: boolean, trace?: { rec: TraceRecorder; set: number }): Tensor {
    const record = (key: 'contribution' | 'partMap' | 'combined' | 'cam', layer: number | null, formula: string, t: Tensor): void => trace?.rec.record(key, trace.set, layer, formula, t);
    const partFormula = `Σ_c resize(m_c),  m_c = (p_c − min p_c) / (1e-7 + max(p_c − min p_c))  per sample and channel, bilinear to ${size[0]}×${size[1]}`;
    // |x ⊙ ∂y/∂x| (zero if the output does not depend on the input)
    const inputPart = abs(gx ? mul(gx, input) : mul(input, 0));
    record('contribution', 0, 'p = |x ⊙ ∂target/∂x|', inputPart);
    let total = channelMaps(inputPart, size);
    record('partMap', 0, partFormula, total);
    gz.forEach((g, i) => {
      if (!g) return; // the output does not depend on this layer: its part is 0 everywhere
      // each part's N×C×H×W resized channels are freed before the next part (only the sum is kept)
      const part = tidy(() => {
        const p = abs(mul(reshape(effectiveBias(this.biasLayers[i]), [1, -1, 1, 1]), g));
        record('contribution', i + 1, 'p = |b ⊙ ∂target/∂z|  (b broadcast over the grid)', p);
        const m = channelMaps(p, size);
        record('partMap', i + 1, partFormula, m);
        return m;
      });
      total = add(total, part);
    });
    record('combined', null, `Σ of the ${1 + gz.filter(Boolean).length} part maps (the input and every bias layer the target depends on)`, total);
    const cam = raw ? total : scaleCam(total, null);
    record('cam', null, raw ? 'the sum itself (raw: no final normalisation)' : 'y = x − min(x);  y / (1e-7 + max(y))  (per image): the returned map', cam);
    return cam;
  }

  /** The trace's layer 0 is the input; layer i + 1 is bias layer i. */
  protected override traceLayerNames(): string[] {
    const names = new Map(this.model.namedModules().map(([n, m]) => [m, n] as const));
    return ['input', ...this.biasLayers.map((l) => names.get(l) || l.constructor.name)];
  }

  override dispose(): void {
    for (const h of this.handles) h.remove();
    this.handles.length = 0;
    super.dispose();
  }
}

async function topClass(outputs: Tensor): Promise<Target[]> {
  const idx = await argmax(reshape(outputs, [outputs.shape[0], -1]), 1).data();
  return Array.from(idx, (c) => new ClassifierOutputTarget(c));
}

