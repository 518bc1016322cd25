// Ablation-CAM (Desai & Ramaswamy, WACV 2020), as pytorch-grad-cam's AblationCAM. Gradient-free: a
// channel matters as much as the target score drops when that channel is switched off.
//   y    = target(model(x))                         the sample's score;
//   y_k  = the score with channel k of the target layer ablated: set to 0 when the layer's smallest
//          value (for this sample) is 0 — e.g. after a ReLU — and otherwise to that minimum − 1e7, so
//          a layer with negative values still sees the channel as "off" (pytorch-grad-cam's rule);
//   w_k  = (y − y_k) / y;   cam = Σ_k w_k·A_k  (then BaseCAM's ReLU, min-max and resize).
// One forward per channel, `batchSize` channels at a time. Only the part of the model after the target
// layer needs to run again: models that implement ForwardFrom resume from the (ablated) layer output;
// for any other model a forward hook replaces the layer's output during a full forward — the same
// numbers, just slower.
//
// Difference from pytorch-grad-cam, on purpose: its AblationLayer writes the ablation value in place
// row by row and re-reads the minimum each time, so with a nonzero minimum the k-th row of a batch gets
// min − k·1e7 and the result can depend on the batch size. Here every row uses the sample's own minimum.
import { Tensor } from '../../core/tensor';
import { Module } from '../../core/nn/module';
import { tensor } from '../../core/ops/creation';
import { div, eq, gt, sub, where } from '../../core/ops/elementwise';
import { amin } from '../../core/ops/reduce';
import { expand, slice } from '../../core/ops/views';
import { keep } from '../../core/scope';
import { fmtShape } from '../../core/shape';
import { BaseCAM, type LayerContext } from '../base';
import { checkBatchSize, modelScores, rowScores } from './forward-scores';

/**
 * Opt-in for models that can run the rest of their forward pass from a layer's output. Return null for
 * layers the model cannot resume from; AblationCAM then falls back to a forward hook.
 */
export interface ForwardFrom {
  /** The model's output when the submodule named `layerName` (dotted, as namedModules) outputs `activation`. */
  forwardFrom(layerName: string, activation: Tensor): Tensor | null;
}

function canResume(model: Module): model is Module & ForwardFrom {
  return typeof (model as Partial<ForwardFrom>).forwardFrom === 'function';
}

/** Which axis holds the channels of a layer output: N×C×h×w (CNNs) or N×T×C (transformer tokens). */
function channelAxis(out: Tensor, who: string): 1 | 2 {
  if (out.rank === 4) return 1;
  if (out.rank === 3) return 2;
  throw new Error(`${who}: can ablate N×C×h×w or N×tokens×C layer outputs, got ${fmtShape(out.shape)}`);
}

/**
 * Row j of `out` (b rows, all copies of one sample) with channel channels[j] set to the ablation value:
 * 0 if the row's minimum is 0, else minimum − 1e7.
 */
export function ablateRows(out: Tensor, channels: readonly number[], who: string): Tensor {
  const axis = channelAxis(out, who);
  const b = out.shape[0];
  const C = out.shape[axis];
  if (channels.length !== b) throw new Error(`${who}: ${channels.length} channels to ablate for ${b} rows`);
  const onehot = new Float32Array(b * C);
  channels.forEach((k, j) => (onehot[j * C + k] = 1));
  const maskShape = axis === 1 ? [b, C, 1, 1] : [b, 1, C];
  const mask = gt(tensor(onehot, maskShape, { device: out.device }), 0);
  const lo = amin(out, out.shape.map((_, d) => d).slice(1), true);
  const value = where(eq(lo, 0), 0, sub(lo, 1e7));
  return where(mask, value, out);
}

// Thrown inside rowScores' scope (so its tensors are freed) when forwardFrom returns null.
const NOT_RESUMABLE = new Error('forwardFrom: not resumable at this layer');

export class AblationCAM extends BaseCAM {
  override readonly usesGradients = false;

  protected async camImage(ctx: LayerContext): Promise<Tensor> {
    const who = this.constructor.name;
    const layer = this.capture.layers[ctx.layerIndex];
    const name = this.model.namedModules().find(([, m]) => m === layer)![0];
    const bs = checkBatchSize(this.batchSize, who);
    const [N, C] = ctx.activations.shape;

    // One extra forward: the layer's raw output (before any reshape transform) and the scores y.
    let raw: Tensor | null = null;
    const handle = layer.registerForwardHook((_m, _inputs, out) => {
      raw = keep(out.detach());
    });
    let y: Float32Array;
    try {
      y = await rowScores(() => this.model.forward(ctx.input), ctx.targets, who);
    } finally {
      handle.remove();
    }
    const layerOut = raw as Tensor | null;
    if (!layerOut) throw new Error(`${who}: target layer '${name}' did not run during forward`);
    const axis = channelAxis(layerOut, who);
    if (layerOut.shape[axis] !== C) {
      throw new Error(`${who}: layer '${name}' outputs ${fmtShape(layerOut.shape)}, whose channel axis does not match the ${C} channels after the reshape transform`);
    }

    let resume = canResume(this.model);
    const ablated = new Float32Array(N * C);
    try {
      for (let n = 0; n < N; n++) {
        for (let c0 = 0; c0 < C; c0 += bs) {
          const channels = Array.from({ length: Math.min(C, c0 + bs) - c0 }, (_, j) => c0 + j);
          let scores: Float32Array | null = null;
          if (resume) {
            scores = await this.resumedScores(name, layerOut, n, channels, ctx, who);
            if (!scores) resume = false; // the model cannot resume at this layer: use the hook from now on
          }
          if (!scores) scores = await this.hookedScores(layer, n, channels, ctx, who);
          ablated.set(scores, n * C + c0);
        }
      }
    } finally {
      layerOut.dispose();
    }
    // w_k = (y − y_k) / y, in float32 as pytorch-grad-cam
    const yT = tensor(y, [N, 1], { device: ctx.activations.device });
    const weights = div(sub(yT, tensor(ablated, [N, C], { device: ctx.activations.device })), yT);
    return this.weightedSum(ctx, weights);
  }

  /** Scores with the model resumed from the ablated layer output, or null if it cannot resume there. */
  private async resumedScores(name: string, layerOut: Tensor, n: number, channels: number[], ctx: LayerContext, who: string): Promise<Float32Array | null> {
    const model = this.model as Module & ForwardFrom;
    try {
      const s = await rowScores(() => {
        const row = slice(layerOut, 0, n, n + 1);
        const out = model.forwardFrom(name, ablateRows(expand(row, [channels.length, ...row.shape.slice(1)]), channels, who));
        if (out === null) throw NOT_RESUMABLE;
        return out;
      }, ctx.targets[n], who);
      if (s.length !== channels.length) throw new Error(`${who}: forwardFrom('${name}') returned ${s.length} outputs for ${channels.length} rows`);
      return s;
    } catch (e) {
      if (e === NOT_RESUMABLE) return null;
      throw e;
    }
  }

  /** Scores of full forwards of sample n repeated, with a hook that ablates the layer's output. */
  private async hookedScores(layer: Module, n: number, channels: number[], ctx: LayerContext, who: string): Promise<Float32Array> {
    const handle = layer.registerForwardHook((_m, _inputs, out) => ablateRows(out, channels, who));
    try {
      const batch = () => {
        const xn = slice(ctx.input, 0, n, n + 1);
        return expand(xn, [channels.length, ...xn.shape.slice(1)]);
      };
      return await modelScores(this.model, batch, ctx.targets[n], who);
    } finally {
      handle.remove();
    }
  }
}

