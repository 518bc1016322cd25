// Replays test/fixtures/ops/nn.json (PyTorch 1.13, float32; regenerate with
// `/usr/bin/python3 test/reference/ops_nn.py`) through the public API on the CPU backend: every case's
// outputs (and batchNorm's updated running stats), and the gradients of every differentiable input for
// the fixture's upstream gradient, both through grad() and through backward().
import { describe, expect, it } from 'vitest';
import * as F from '../../index';
import type { Tensor } from '../../index';
import { decodeNumbers, loadFixture, type EncodedNumber } from '../helpers/fixtures';
import { expectClose } from '../helpers/compare';
import { TOL } from '../tolerances';

interface Encoded {
  shape: number[];
  dtype: 'float32' | 'int32';
  data: EncodedNumber[];
  /** The op's input is base.permute(perm); data/shape describe the base. */
  perm?: number[];
}
interface Case {
  name: string;
  op: string;
  inputs: Record<string, Encoded>;
  options: Record<string, unknown>;
  outputs: Record<string, Encoded>;
  gy?: Encoded;
  grads?: Record<string, Encoded>;
}

const FIXTURE = loadFixture<{ torch: string; cases: Case[] }>('ops/nn.json');

type In = Record<string, Tensor | undefined>;
type O = Record<string, unknown>;
const num = (v: unknown): number => v as number;

// The method forms (x.softmax, x.gather, ...) are used where torch has them, so they are covered too.
const OPS: Record<string, (i: In, o: O) => Tensor> = {
  softmax: (i, o) => i.x!.softmax(num(o.dim)),
  logSoftmax: (i, o) => i.x!.logSoftmax(num(o.dim)),
  crossEntropy: (i, o) => F.crossEntropy(i.input!, i.target!, { ...o, weight: i.weight } as F.CrossEntropyOptions),
  nllLoss: (i, o) => F.nllLoss(i.input!, i.target!, { ...o, weight: i.weight } as F.NllLossOptions),
  layerNorm: (i, o) => F.layerNorm(i.x!, o.normalizedShape as number[], i.weight, i.bias, o.eps as number | undefined),
  batchNorm: (i, o) => F.batchNorm(i.x!, i.runningMean, i.runningVar, i.weight, i.bias, o as F.BatchNormOptions),
  gather: (i, o) => i.x!.gather(num(o.dim), i.index!),
  indexSelect: (i, o) => i.x!.indexSelect(num(o.dim), i.index!),
  embedding: (i, o) => F.embedding(i.indices!, i.weight!, { paddingIdx: o.paddingIdx as number | undefined }),
  scatterAdd: (i, o) => F.scatterAdd(i.x!, num(o.dim), i.index!, i.src!),
  concat: (i, o) => F.concat(listed(i), num(o.dim)),
  stack: (i, o) => F.stack(listed(i), num(o.dim)),
  pad: (i, o) => F.pad(i.x!, o.pad as number[], { value: num(o.value) }),
  attention: (i, o) => F.scaledDotProductAttention(i.q!, i.k!, i.v!, { ...o, attnMask: i.attnMask } as F.AttentionOptions),
};

/** concat/stack inputs a, b, c, ... in order. */
function listed(i: In): Tensor[] {
  return Object.keys(i).sort().map((k) => i[k]!);
}

function decode(e: Encoded, requiresGrad = false): Tensor {
  return F.tensor(decodeNumbers(e.data), e.shape, { dtype: e.dtype, requiresGrad });
}

async function expectTensor(t: Tensor, want: Encoded, what: string): Promise<void> {
  expect(t.shape, `${what}: shape`).toEqual(want.shape);
  expect(t.dtype, `${what}: dtype`).toBe(want.dtype);
  expectClose(await t.data(), decodeNumbers(want.data), TOL.nnF32, what);
}

async function run(c: Case): Promise<void> {
  const leaves: Record<string, Tensor> = {};
  const args: In = {};
  for (const [name, e] of Object.entries(c.inputs)) {
    leaves[name] = decode(e, c.grads !== undefined && name in c.grads);
    args[name] = e.perm ? F.permute(leaves[name], e.perm) : leaves[name];
  }
  if (Object.values(c.inputs).some((e) => e.perm)) {
    expect(Object.entries(c.inputs).some(([n, e]) => e.perm && !args[n]!.isContiguous), 'a permuted input is a non-contiguous view').toBe(true);
  }
  const y = OPS[c.op](args, c.options);
  await expectTensor(y, c.outputs.y, 'output');
  for (const [name, want] of Object.entries(c.outputs)) {
    if (name !== 'y') await expectTensor(leaves[name], want, `updated ${name}`);
  }
  if (!c.grads) return;
  const names = Object.keys(c.grads);
  const gy = decode(c.gy!);
  const viaGrad = F.grad(y, names.map((n) => leaves[n]), { gradOutputs: [gy], retainGraph: true });
  y.backward(gy);
  for (let k = 0; k < names.length; k++) {
    await expectTensor(viaGrad[k]!, c.grads[names[k]], `grad() of ${names[k]}`);
    await expectTensor(leaves[names[k]].grad!, c.grads[names[k]], `backward() grad of ${names[k]}`);
  }
}

describe(`nn ops vs PyTorch ${FIXTURE.torch} (test/fixtures/ops/nn.json)`, () => {
  it('covers every op of the table, and the table covers every fixture op', () => {
    const ops = new Set(FIXTURE.cases.map((c) => c.op));
    expect([...ops].sort()).toEqual(Object.keys(OPS).sort());
    expect(FIXTURE.cases.length).toBeGreaterThanOrEqual(90);
  });

  for (const c of FIXTURE.cases) {
    it(c.name, () => run(c));
  }
});
