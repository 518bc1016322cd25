// ActivationsAndGradients: forward hooks keep each target layer's output; the gradients come from the
// pruned grad() w.r.t. those outputs, so the backward pass stops at the earliest target layer and
// computes no weight gradients. Nothing outlives a call: dispose() removes the hooks.
import { Tensor } from '../core/tensor';
import { Module } from '../core/nn/module';
import type { HookHandle } from '../core/tensor';
import { grad } from '../core/autograd';
import type { GridInfo, ReshapeTransform } from './reshape';

export type LayerRef = Module | string;

export function resolveLayers(model: Module, targetLayers: readonly LayerRef[] | LayerRef, who: string): Module[] {
  if (!(model instanceof Module)) throw new TypeError(`${who}: model must be a Module`);
  const list = Array.isArray(targetLayers) ? targetLayers : [targetLayers];
  if (list.length === 0) throw new Error(`${who}: targetLayers must name at least one layer`);
  return list.map((l, i) => {
    if (typeof l === 'string') {
      try {
        return model.getSubmodule(l);
      } catch (e) {
        throw new Error(`${who}: targetLayers[${i}] ${(e as Error).message}`);
      }
    }
    if (!(l instanceof Module)) throw new TypeError(`${who}: targetLayers[${i}] must be a Module or a dotted name`);
    if (!model.modules().includes(l)) throw new Error(`${who}: targetLayers[${i}] (${l.constructor.name}) is not a submodule of the model`);
    return l;
  });
}

export class ActivationsAndGradients {
  readonly layers: Module[];
  private handles: HookHandle[] = [];
  /** Raw outputs of the target layers during the current call, in layer order. */
  private raw: (Tensor | null)[] = [];
  private grid: GridInfo = {};

  constructor(readonly model: Module, targetLayers: readonly LayerRef[] | LayerRef, readonly reshapeTransform: ReshapeTransform | null = null) {
    this.layers = resolveLayers(model, targetLayers, 'ActivationsAndGradients');
    this.layers.forEach((layer, i) => {
      this.handles.push(layer.registerForwardHook((_m, _inputs, out) => {
        this.raw[i] = out;
      }));
    });
  }

  /** Runs the model; afterwards `activations()` and `gradients(loss)` refer to this call. */
  call(input: Tensor, grid: GridInfo = {}): Tensor {
    this.raw = this.layers.map(() => null);
    this.grid = { ...grid, inputHW: input.rank === 4 ? [input.shape[2], input.shape[3]] : undefined };
    const out = this.model.forward(input);
    this.raw.forEach((t, i) => {
      if (!t) throw new Error(`ActivationsAndGradients: target layer ${i} (${this.layers[i].constructor.name}) did not run during forward`);
    });
    return out;
  }

  private reshape(t: Tensor): Tensor {
    const r = this.reshapeTransform ? this.reshapeTransform(t, this.grid) : t;
    if (r.rank !== 4) {
      throw new Error(`CAM: target layer outputs must be N×C×h×w after the reshape transform, got rank ${r.rank}; transformers need a reshapeTransform (vitReshapeTransform)`);
    }
    return r;
  }

  /** Target-layer outputs (after the reshape transform), detached. */
  activations(): Tensor[] {
    return this.raw.map((t) => this.reshape(t!.detach()));
  }

  /** The target layers' outputs of the last call as the model made them (with their graph). */
  rawOutputs(): Tensor[] {
    return this.raw.map((t, i) => {
      if (!t) throw new Error(`ActivationsAndGradients: target layer ${i} has no output; call() first`);
      return t;
    });
  }

  /** d loss / d (each target layer's output), reshaped like the activations. */
  gradients(loss: Tensor, retainGraph = false): Tensor[] {
    const raws = this.raw as Tensor[];
    if (raws.some((t) => !t.requiresGrad)) {
      throw new Error('CAM: a target layer output does not require grad — is the model under noGrad, or is the layer before every parameter?');
    }
    const gs = grad(loss, raws, { retainGraph, allowUnused: true });
    return gs.map((g, i) => this.reshape(g ?? raws[i].detach().mul(0)));
  }

  /** The dotted name of target layer i in the model ('layer4', 'blocks.11.norm1'), for messages. */
  layerName(i: number): string {
    const layer = this.layers[i];
    return this.model.namedModules().find(([, m]) => m === layer)?.[0] ?? layer.constructor.name;
  }

  /** Forgets the last call's tensors (the graph goes with them). */
  clear(): void {
    this.raw = [];
  }

  /** Stops capturing but keeps the last call's tensors (cam/session.ts differentiates at them later). */
  removeHooks(): void {
    for (const h of this.handles) h.remove();
    this.handles = [];
  }

  dispose(): void {
    this.removeHooks();
    this.clear();
  }
}
