// The tiny deterministic CNN of the peer test vectors (test/fixtures/cam-peer/README.md), rebuilt
// exactly, plus a variant with BatchNorm for FullGrad's BatchNorm bias. test/reference/cam_metrics.py
// builds the same models in PyTorch.
import * as F from '../../index';

/** det(shape, a, b, s)[i] = float32(sin(a·i + b)·s), computed in float64. */
export function det(shape: number[], a: number, b: number, s: number): F.Tensor {
  const n = shape.reduce((x, y) => x * y, 1);
  return F.tensor(Float32Array.from({ length: n }, (_, i) => Math.sin(a * i + b) * s), shape);
}

/** c1 (3→4, 3×3, pad 1) → ReLU → c2 (4→5, 3×3, pad 1, stride 2) → ReLU → spatial mean → fc (5→6). */
export class TinyCNN extends F.Module {
  readonly c1 = this.addModule('c1', new F.Conv2d(3, 4, 3, { padding: 1 }));
  readonly r1 = this.addModule('r1', new F.ReLU());
  readonly c2 = this.addModule('c2', new F.Conv2d(4, 5, 3, { padding: 1, stride: 2 }));
  readonly r2 = this.addModule('r2', new F.ReLU());
  readonly fc = this.addModule('fc', new F.Linear(5, 6));
  constructor() {
    super();
    this.loadStateDict({
      'c1.weight': det([4, 3, 3, 3], 0.37, 0.11, 0.5), 'c1.bias': det([4], 0.71, 0.3, 0.1),
      'c2.weight': det([5, 4, 3, 3], 0.53, 0.7, 0.4), 'c2.bias': det([5], 0.29, 0.2, 0.1),
      'fc.weight': det([6, 5], 0.91, 0.05, 1.0), 'fc.bias': det([6], 0.43, 0.9, 0.2),
    });
  }
  forward(x: F.Tensor): F.Tensor {
    return this.head(this.r2.forward(this.c2.forward(this.r1.forward(this.c1.forward(x)))));
  }
  protected head(h: F.Tensor): F.Tensor {
    return this.fc.forward(F.mean(h, [2, 3]));
  }
}

/** TinyCNN that can resume its forward pass after c2 or r2 (AblationCAM's ForwardFrom interface). */
export class ResumableTinyCNN extends TinyCNN implements F.ForwardFrom {
  forwardFrom(layerName: string, activation: F.Tensor): F.Tensor | null {
    if (layerName === 'r2') return this.head(activation);
    if (layerName === 'c2') return this.head(this.r2.forward(activation));
    return null;
  }
}

/** TinyCNN with a BatchNorm2d after c1 (eval mode: running statistics), for FullGrad. */
export class TinyBNCNN extends F.Module {
  readonly c1 = this.addModule('c1', new F.Conv2d(3, 4, 3, { padding: 1 }));
  readonly bn1 = this.addModule('bn1', new F.BatchNorm2d(4));
  readonly r1 = this.addModule('r1', new F.ReLU());
  readonly c2 = this.addModule('c2', new F.Conv2d(4, 5, 3, { padding: 1, stride: 2 }));
  readonly r2 = this.addModule('r2', new F.ReLU());
  readonly fc = this.addModule('fc', new F.Linear(5, 6));
  constructor() {
    super();
    this.loadStateDict({
      'c1.weight': det([4, 3, 3, 3], 0.37, 0.11, 0.5), 'c1.bias': det([4], 0.71, 0.3, 0.1),
      'bn1.weight': F.add(det([4], 0.61, 0.2, 0.5), 1), 'bn1.bias': det([4], 0.83, 0.4, 0.3),
      'bn1.running_mean': det([4], 0.47, 0.9, 0.2), 'bn1.running_var': F.add(det([4], 0.39, 0.1, 0.5), 1),
      'bn1.num_batches_tracked': F.tensor(Int32Array.from([0]), [], { dtype: 'int32' }),
      'c2.weight': det([5, 4, 3, 3], 0.53, 0.7, 0.4), 'c2.bias': det([5], 0.29, 0.2, 0.1),
      'fc.weight': det([6, 5], 0.91, 0.05, 1.0), 'fc.bias': det([6], 0.43, 0.9, 0.2),
    });
    this.eval();
  }
  forward(x: F.Tensor): F.Tensor {
    const h = this.r2.forward(this.c2.forward(this.r1.forward(this.bn1.forward(this.c1.forward(x)))));
    return this.fc.forward(F.mean(h, [2, 3]));
  }
}

/** The peer vectors' input: 2×3×12×10. */
export const x2 = (): F.Tensor => det([2, 3, 12, 10], 0.173, 0.4, 1.0);
