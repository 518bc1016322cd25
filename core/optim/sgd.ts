// Stochastic gradient descent with momentum, dampening, L2 weight decay and Nesterov momentum — the same
// update, in the same order, as torch.optim.SGD (single-tensor path):
//   g ← grad + weightDecay·p
//   buf ← g (first step) | momentum·buf + (1 − dampening)·g        (when momentum ≠ 0)
//   g ← g + momentum·buf (nesterov) | buf
//   p ← p − lr·g
import type { Tensor } from '../tensor';
import { add, mul } from '../ops/elementwise';
import { Optimizer, assign, checkBool, checkNumber, checkOptions, clone, stateTensor } from './optimizer';

export interface SGDOptions {
  /** Learning rate (required, ≥ 0). */
  lr: number;
  /** Momentum factor (≥ 0); 0 is plain SGD. */
  momentum?: number;
  /** Dampening of the momentum (finite, ≥ 0). */
  dampening?: number;
  /** L2 penalty added to the gradient (≥ 0). */
  weightDecay?: number;
  /** Nesterov momentum; needs momentum > 0 and dampening 0. */
  nesterov?: boolean;
}

interface SGDState {
  momentumBuffer: Tensor | null;
}

export class SGD extends Optimizer<SGDState> {
  lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;

  constructor(params: Iterable<Tensor>, options: SGDOptions) {
    super('SGD', params);
    const o = checkOptions('SGD', options, ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov']);
    if (o.lr === undefined) throw new TypeError('SGD: options.lr (the learning rate) is required');
    this.lr = checkNumber('SGD', 'lr', o.lr, 0);
    this.momentum = checkNumber('SGD', 'momentum', o.momentum ?? 0, 0);
    this.dampening = checkNumber('SGD', 'dampening', o.dampening ?? 0, 0);
    this.weightDecay = checkNumber('SGD', 'weightDecay', o.weightDecay ?? 0, 0);
    this.nesterov = checkBool('SGD', 'nesterov', o.nesterov ?? false);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new RangeError(`SGD: nesterov needs momentum > 0 and dampening = 0, got momentum ${this.momentum} and dampening ${this.dampening}`);
    }
  }

  protected initState(): SGDState {
    return { momentumBuffer: null };
  }

  protected update(p: Tensor, grad: Tensor, s: SGDState): void {
    checkNumber('SGD', 'lr', this.lr, 0);
    let d = this.weightDecay !== 0 ? add(grad, mul(p, this.weightDecay)) : grad;
    if (this.momentum !== 0) {
      if (s.momentumBuffer === null) {
        s.momentumBuffer = stateTensor(clone(d));
      } else {
        assign(s.momentumBuffer, add(mul(s.momentumBuffer, this.momentum), mul(d, 1 - this.dampening)));
      }
      d = this.nesterov ? add(d, mul(s.momentumBuffer, this.momentum)) : s.momentumBuffer;
    }
    assign(p, add(p, mul(d, -this.lr)));
  }
}
