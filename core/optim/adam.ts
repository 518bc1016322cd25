// Adam and AdamW, the same updates in the same order as torch.optim.Adam / AdamW (single-tensor path).
// With t the parameter's own step count (parameters without a gradient on a step don't advance):
//   Adam:  g ← grad + weightDecay·p                  (L2 penalty through the gradient)
//   AdamW: p ← p·(1 − lr·weightDecay)                (decoupled weight decay)
//   m ← β1·m + (1 − β1)·g
//   v ← β2·v + (1 − β2)·g²
//   v̂ ← max(v̂, v) with amsgrad (and v̂ is used below in place of v)
//   p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + eps)
import type { Tensor } from '../tensor';
import { add, div, maximum, mul, sqrt } from '../ops/elementwise';
import { zerosLike } from '../ops/creation';
import { Optimizer, assign, checkBool, checkNumber, checkOptions, stateTensor } from './optimizer';

export interface AdamOptions {
  /** Learning rate (≥ 0). Default 1e-3. */
  lr?: number;
  /** Decay rates of the first and second moment estimates, each in [0, 1). Default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Added to the denominator for stability (≥ 0). Default 1e-8. */
  eps?: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay rate (default 1e-2). */
  weightDecay?: number;
  /** Use the maximum of past second moments (AMSGrad). Default false. */
  amsgrad?: boolean;
}

interface AdamState {
  step: number;
  expAvg: Tensor;
  expAvgSq: Tensor;
  maxExpAvgSq: Tensor | null;
}

const ADAM_OPTIONS = ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad'] as const;

abstract class AdamBase extends Optimizer<AdamState> {
  lr: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly amsgrad: boolean;

  protected constructor(name: 'Adam' | 'AdamW', params: Iterable<Tensor>, options: AdamOptions | undefined, defaultDecay: number) {
    super(name, params);
    const o = checkOptions(name, options, ADAM_OPTIONS);
    this.lr = checkNumber(name, 'lr', o.lr ?? 1e-3, 0);
    const betas = o.betas ?? [0.9, 0.999];
    if (!Array.isArray(betas) || betas.length !== 2) {
      throw new TypeError(`${name}: betas must be a pair [beta1, beta2], got ${Array.isArray(betas) ? `an array of length ${betas.length}` : typeof betas}`);
    }
    this.betas = Object.freeze([checkNumber(name, 'betas[0]', betas[0], 0, 1), checkNumber(name, 'betas[1]', betas[1], 0, 1)] as const);
    this.eps = checkNumber(name, 'eps', o.eps ?? 1e-8, 0);
    this.weightDecay = checkNumber(name, 'weightDecay', o.weightDecay ?? defaultDecay, 0);
    this.amsgrad = checkBool(name, 'amsgrad', o.amsgrad ?? false);
  }

  protected initState(p: Tensor): AdamState {
    return {
      step: 0,
      expAvg: stateTensor(zerosLike(p)),
      expAvgSq: stateTensor(zerosLike(p)),
      maxExpAvgSq: this.amsgrad ? stateTensor(zerosLike(p)) : null,
    };
  }

  /** The gradient Adam uses (AdamW also decays p here); called after the step count has advanced. */
  protected abstract decay(p: Tensor, grad: Tensor): Tensor;

  protected update(p: Tensor, grad: Tensor, s: AdamState): void {
    checkNumber(this.name, 'lr', this.lr, 0);
    const [beta1, beta2] = this.betas;
    s.step += 1;
    const g = this.decay(p, grad);
    assign(s.expAvg, add(mul(s.expAvg, beta1), mul(g, 1 - beta1)));
    assign(s.expAvgSq, add(mul(s.expAvgSq, beta2), mul(mul(g, g), 1 - beta2)));
    const biasCorrection1 = 1 - beta1 ** s.step;
    const biasCorrection2 = 1 - beta2 ** s.step;
    const stepSize = this.lr / biasCorrection1;
    let v = s.expAvgSq;
    if (s.maxExpAvgSq) {
      assign(s.maxExpAvgSq, maximum(s.maxExpAvgSq, s.expAvgSq));
      v = s.maxExpAvgSq;
    }
    const denom = add(div(sqrt(v), Math.sqrt(biasCorrection2)), this.eps);
    assign(p, add(p, mul(div(s.expAvg, denom), -stepSize)));
  }
}

/** torch.optim.Adam: weight decay is an L2 penalty folded into the gradient. */
export class Adam extends AdamBase {
  constructor(params: Iterable<Tensor>, options?: AdamOptions) {
    super('Adam', params, options, 0);
  }

  protected decay(p: Tensor, grad: Tensor): Tensor {
    return this.weightDecay !== 0 ? add(grad, mul(p, this.weightDecay)) : grad;
  }
}

/** torch.optim.AdamW: weight decay shrinks the parameter directly, before the Adam update (default 1e-2). */
export class AdamW extends AdamBase {
  constructor(params: Iterable<Tensor>, options?: AdamOptions) {
    super('AdamW', params, options, 1e-2);
  }

  protected decay(p: Tensor, grad: Tensor): Tensor {
    if (this.weightDecay !== 0) assign(p, mul(p, 1 - this.lr * this.weightDecay));
    return grad;
  }
}
