// Guided Backpropagation (Springenberg et al., 2015), as pytorch-grad-cam's GuidedBackpropReLUModel: the
// gradient of one class score w.r.t. the input, where every ReLU lets a gradient through only where its
// input was positive (ordinary ReLU) AND the incoming gradient is positive (the "guided" part):
//
//     grad_in = grad_out · [x > 0] · [grad_out > 0]
//
// That one line is the whole method (guidedRelu below). pytorch-grad-cam swaps every nn.ReLU module for a
// module with that backward and swaps nn.ReLU back afterwards; here a forward hook on each ReLU module
// replaces its output by the same values carrying the guided rule, and the hooks are removed when the call
// ends, so the model's modules, weights and gradients are exactly as before. As in the package, only ReLU
// modules are affected: a model that calls relu() as a function keeps the ordinary rule there.
import { Tensor } from '../core/tensor';
import { Module } from '../core/nn/module';
import { ReLU } from '../core/nn/layers';
import { record, grad } from '../core/autograd';
import { gt, mul, where } from '../core/ops/elementwise';
import { argmax } from '../core/ops/reduce';
import { permute, select } from '../core/ops/views';
import { tidyAsync, keep } from '../core/scope';
import { fmtShape } from '../core/shape';
import type { HookHandle } from '../core/tensor';
import { findLayerPredicate } from '../core/nn/find-layers';
import { checkCamInput } from './base';

/** ReLU's output `y` = relu(x), re-attached to `x` with the guided backward rule. */
export function guidedRelu(x: Tensor, y: Tensor): Tensor {
  // where (not a product) so that blocked entries are +0, as torch's addcmul into zeros gives
  return record('guided_relu', [x], y.detach(), (g) => [where(mul(gt(x, 0), gt(g, 0)), g, 0)], [x]);
}

export interface GuidedBackpropOptions {
  inputTensor: Tensor;
  /** The class whose score is explained; default: sample 0's top class. */
  targetCategory?: number | null;
}

export class GuidedBackpropReLUModel {
  readonly model: Module;
  constructor(model: Module) {
    if (!(model instanceof Module)) throw new TypeError('GuidedBackpropReLUModel: model must be a Module');
    this.model = model;
  }

  /**
   * The guided gradient of output[0, targetCategory] w.r.t. the input, for the first image: an H×W×C
   * tensor (channels last, as the package returns it). The model runs in eval mode; its previous mode is
   * restored afterwards, module by module.
   */
  async forward(opts: GuidedBackpropOptions): Promise<Tensor> {
    const who = 'GuidedBackpropReLUModel.forward';
    if (opts === null || typeof opts !== 'object') throw new TypeError(`${who}: expected {inputTensor, targetCategory}`);
    checkCamInput(opts.inputTensor, who);
    const relus = [...new Set(findLayerPredicate(this.model, (l) => l instanceof ReLU))];
    if (relus.length === 0) {
      throw new Error(`${who}: the model (${this.model.constructor.name}) has no ReLU modules, so there is no backward rule to guide; guided backprop needs ReLU activations as modules`);
    }
    const modes = this.model.modules().map((m) => [m, m.training] as const);
    const handles: HookHandle[] = relus.map((r) => r.registerForwardHook((_m, inputs, out) => guidedRelu(inputs[0] as Tensor, out)));
    this.model.eval();
    try {
      return await tidyAsync(async () => {
        const x = opts.inputTensor.detach();
        x.requiresGrad = true;
        const out = this.model.forward(x);
        if (out.rank !== 2) throw new Error(`${who}: the model must return N×classes scores, got ${fmtShape(out.shape)}`);
        const K = out.shape[1];
        let c = opts.targetCategory;
        if (c == null) c = (await argmax(select(out, 0, 0)).data())[0];
        else if (!Number.isInteger(c) || c < 0 || c >= K) throw new RangeError(`${who}: targetCategory must be a class index in 0..${K - 1}, got ${String(c)}`);
        const [g] = grad(select(select(out, 0, 0), 0, c), [x]);
        return keep(permute(select(g!, 0, 0), [1, 2, 0]).contiguous());
      });
    } finally {
      for (const h of handles) h.remove();
      for (const [m, t] of modes) m.training = t;
    }
  }
}
