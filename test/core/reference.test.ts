// Replays test/fixtures/ops/core.json (PyTorch 1.13, float64; regenerate with
// `/usr/bin/python3 test/reference/ops_core.py`) through the public API on the CPU backend: every case's
// outputs, and the gradients of every leaf for the fixture's upstream gradient, both through backward()
// and through grad(). Cases with float inputs run twice, in float32 and in float64.
import { describe, expect, it } from 'vitest';
import * as F from '../../index';
import type { DType, Tensor } from '../../index';
import { decodeNumbers, loadFixture, type EncodedNumber } from '../helpers/fixtures';
import { expectClose } from '../helpers/compare';
import { TOL, type Tol } from '../tolerances';

type ViewStep = [string, ...unknown[]];
interface LeafSpec { shape: number[]; data: EncodedNumber[]; dtype: 'float' | 'int32'; grad: boolean; view: ViewStep[] }
interface RefSpec { ref: number; view: ViewStep[] }
interface Encoded { shape: number[]; data: EncodedNumber[] }
interface Case {
  name: string;
  op: string;
  params: Record<string, unknown>;
  inputs: (LeafSpec | RefSpec)[];
  outputs: (Encoded & { kind: 'float' | 'int32' | 'mask' })[];
  gradOutput: Encoded | null;
  grads: (Encoded | null)[];
}

const FIXTURE = loadFixture<{ torch: string; cases: Case[] }>('ops/core.json');

// ---------------------------------------------------------------- the op table (mirrors OPS in ops_core.py)

type P = Record<string, unknown>;
type OpFn = (ts: Tensor[], p: P) => Tensor | Tensor[];
type Dims = number | number[] | null | undefined;

function binary(fn: (a: Tensor | number, b: Tensor | number) => Tensor): OpFn {
  return (ts, p) => {
    if (p.scalar === undefined) return fn(ts[0], ts[1]);
    const s = p.scalar as number;
    return p.scalarFirst ? fn(s, ts[0]) : fn(ts[0], s);
  };
}

const dimOf = (p: P): Dims => p.dim as Dims;

const OPS: Record<string, OpFn> = {
  add: binary(F.add),
  sub: binary(F.sub),
  mul: binary(F.mul),
  div: binary(F.div),
  pow: binary(F.pow),
  maximum: (ts) => F.maximum(ts[0], ts[1]),
  minimum: (ts) => F.minimum(ts[0], ts[1]),
  eq: binary(F.eq),
  ne: binary(F.ne),
  lt: binary(F.lt),
  le: binary(F.le),
  gt: binary(F.gt),
  ge: binary(F.ge),
  cast: (ts, p) => F.cast(ts[0], p.dtype as DType),
  neg: (ts) => F.neg(ts[0]),
  exp: (ts) => F.exp(ts[0]),
  log: (ts) => F.log(ts[0]),
  sqrt: (ts) => F.sqrt(ts[0]),
  rsqrt: (ts) => F.rsqrt(ts[0]),
  abs: (ts) => F.abs(ts[0]),
  relu: (ts) => F.relu(ts[0]),
  sign: (ts) => F.sign(ts[0]),
  square: (ts) => F.square(ts[0]),
  reciprocal: (ts) => F.reciprocal(ts[0]),
  sin: (ts) => F.sin(ts[0]),
  cos: (ts) => F.cos(ts[0]),
  floor: (ts) => F.floor(ts[0]),
  ceil: (ts) => F.ceil(ts[0]),
  round: (ts) => F.round(ts[0]),
  isnan: (ts) => F.isnan(ts[0]),
  silu: (ts) => F.silu(ts[0]),
  logicalAnd: (ts) => F.logicalAnd(ts[0], ts[1]),
  flatten: (ts, p) => F.flatten(ts[0], p.startDim as number | undefined, p.endDim as number | undefined),
  gelu: (ts, p) => F.gelu(ts[0], { approximate: p.approximate as 'none' | 'tanh' }),
  sigmoid: (ts) => F.sigmoid(ts[0]),
  tanh: (ts) => F.tanh(ts[0]),
  erf: (ts) => F.erf(ts[0]),
  where: (ts, p) => F.where(ts[0], ts[1], p.other === undefined ? ts[2] : (p.other as number)),
  clamp: (ts, p) => F.clamp(ts[0], p.min as number | undefined, p.max as number | undefined),
  sum: (ts, p) => F.sum(ts[0], dimOf(p), p.keepDim as boolean | undefined),
  mean: (ts, p) => F.mean(ts[0], dimOf(p), p.keepDim as boolean | undefined),
  amax: (ts, p) => F.amax(ts[0], dimOf(p), p.keepDim as boolean | undefined),
  amin: (ts, p) => F.amin(ts[0], dimOf(p), p.keepDim as boolean | undefined),
  max: (ts, p) => (p.dim === undefined ? F.max(ts[0]) : valuesIndices(F.max(ts[0], p.dim as number, p.keepDim as boolean | undefined))),
  min: (ts, p) => (p.dim === undefined ? F.min(ts[0]) : valuesIndices(F.min(ts[0], p.dim as number, p.keepDim as boolean | undefined))),
  argmax: (ts, p) => F.argmax(ts[0], p.dim as number | undefined, p.keepDim as boolean | undefined),
  argmin: (ts, p) => F.argmin(ts[0], p.dim as number | undefined, p.keepDim as boolean | undefined),
  var: (ts, p) => F.variance(ts[0], dimOf(p), varOpts(p)),
  std: (ts, p) => F.std(ts[0], dimOf(p), varOpts(p)),
  logsumexp: (ts, p) => F.logsumexp(ts[0], p.dim as number | number[], p.keepDim as boolean | undefined),
  prod: (ts, p) => F.prod(ts[0], p.dim as number | undefined, p.keepDim as boolean | undefined),
  matmul: (ts) => F.matmul(ts[0], ts[1]),
  bmm: (ts) => F.bmm(ts[0], ts[1]),
  linear: (ts) => F.linear(ts[0], ts[1], ts[2]),
  contiguous: (ts) => F.contiguous(ts[0]),
  reshape: (ts, p) => F.reshape(ts[0], p.shape as number[]),
  permute: (ts, p) => F.permute(ts[0], p.dims as number[]),
  transpose: (ts, p) => F.transpose(ts[0], p.dim0 as number, p.dim1 as number),
  expand: (ts, p) => F.expand(ts[0], p.shape as number[]),
  slice: (ts, p) => F.slice(ts[0], p.dim as number, p.start as number, p.end as number | null, p.step as number),
  flip: (ts, p) => F.flip(ts[0], p.dims as number[]),
  squeeze: (ts, p) => F.squeeze(ts[0], p.dim as number | undefined),
  unsqueeze: (ts, p) => F.unsqueeze(ts[0], p.dim as number),
  select: (ts, p) => F.select(ts[0], p.dim as number, p.index as number),
  narrow: (ts, p) => F.narrow(ts[0], p.dim as number, p.start as number, p.length as number),
};

function valuesIndices(r: { values: Tensor; indices: Tensor }): Tensor[] {
  return [r.values, r.indices];
}

function varOpts(p: P): { correction?: number; keepDim?: boolean } {
  return { correction: p.correction as number | undefined, keepDim: p.keepDim as boolean | undefined };
}

/** The view steps of the fixture format, with the same argument order as our API. */
export function applyView(t: Tensor, steps: readonly ViewStep[]): Tensor {
  for (const [name, ...a] of steps) {
    const n = a as number[];
    switch (name) {
      case 'transpose': t = F.transpose(t, n[0], n[1]); break;
      case 'permute': t = F.permute(t, a[0] as number[]); break;
      case 'slice': t = F.slice(t, n[0], n[1], a[2] as number | null, n[3]); break;
      case 'flip': t = F.flip(t, a[0] as number[]); break;
      case 'expand': t = F.expand(t, a[0] as number[]); break;
      case 'select': t = F.select(t, n[0], n[1]); break;
      case 'narrow': t = F.narrow(t, n[0], n[1], n[2]); break;
      case 'unsqueeze': t = F.unsqueeze(t, n[0]); break;
      case 'reshape': t = F.reshape(t, a[0] as number[]); break;
      default: throw new Error(`fixture: unknown view step ${name}`);
    }
  }
  return t;
}

// ---------------------------------------------------------------- running a case

const isLeaf = (s: LeafSpec | RefSpec): s is LeafSpec => !('ref' in s);

function dtypesOf(c: Case): DType[] {
  return c.inputs.some((s) => isLeaf(s) && s.dtype === 'float') ? ['float32', 'float64'] : ['int32'];
}

function tolFor(dtype: DType): Tol {
  return dtype === 'float64' ? TOL.coreF64 : TOL.coreF32;
}

async function expectTensor(t: Tensor, want: Encoded, dtype: DType, tol: Tol, what: string): Promise<void> {
  expect(t.shape, `${what}: shape`).toEqual(want.shape);
  if (dtype === 'int32') expect(t.dtype, `${what}: dtype`).toBe('int32');
  else expect(t.dtype, `${what}: dtype`).toBe(dtype);
  expectClose(await t.data(), decodeNumbers(want.data), dtype === 'int32' ? TOL.exact : tol, what);
}

async function run(c: Case, runDtype: DType): Promise<void> {
  const floatDtype: DType = runDtype === 'int32' ? 'float32' : runDtype;
  const tol = tolFor(floatDtype);
  const leaves: Tensor[] = [];
  const args: Tensor[] = [];
  for (const s of c.inputs) {
    let base: Tensor;
    if (isLeaf(s)) {
      base = F.tensor(decodeNumbers(s.data), s.shape, {
        dtype: s.dtype === 'int32' ? 'int32' : floatDtype,
        requiresGrad: s.grad,
      });
      leaves.push(base);
    } else {
      base = leaves[s.ref];
    }
    args.push(applyView(base, s.view));
  }
  const out = OPS[c.op](args, c.params);
  const outs = Array.isArray(out) ? out : [out];
  expect(outs.length, 'number of outputs').toBe(c.outputs.length);
  for (let i = 0; i < outs.length; i++) {
    const want = c.outputs[i];
    const dtype: DType = want.kind === 'int32' ? 'int32' : floatDtype;
    await expectTensor(outs[i], want, dtype, tol, `output ${i}`);
    if (want.kind !== 'float') expect(outs[i].requiresGrad, `output ${i} (${want.kind}) requires grad`).toBe(false);
  }

  const gradLeaves = leaves.filter((t) => t.requiresGrad);
  if (c.gradOutput === null) {
    // Not differentiable (comparisons, arg-reductions): nothing may be recorded.
    for (const o of outs) expect(o.requiresGrad, 'output of a non-differentiable op').toBe(false);
    return;
  }
  const go = F.tensor(decodeNumbers(c.gradOutput.data), c.gradOutput.shape, { dtype: floatDtype });
  // grad() first (keeping the graph), then backward() on the same graph: both must match torch.
  const viaGrad = F.grad(outs[0], gradLeaves, { gradOutputs: [go], retainGraph: true });
  outs[0].backward(go);
  let k = 0;
  for (let i = 0; i < leaves.length; i++) {
    const want = c.grads[i];
    if (want === null) {
      expect(leaves[i].grad, `input ${i} does not require grad`).toBeNull();
      continue;
    }
    await expectTensor(viaGrad[k++]!, want, floatDtype, tol, `grad() of input ${i}`);
    await expectTensor(leaves[i].grad!, want, floatDtype, tol, `backward() grad of input ${i}`);
  }
}

describe(`core ops vs PyTorch ${FIXTURE.torch} (test/fixtures/ops/core.json)`, () => {
  it('covers every op of the table, and the table covers every fixture op', () => {
    const ops = new Set(FIXTURE.cases.map((c) => c.op));
    expect([...ops].sort()).toEqual(Object.keys(OPS).sort());
    expect(FIXTURE.cases.length).toBeGreaterThan(250);
  });

  for (const c of FIXTURE.cases) {
    for (const dtype of dtypesOf(c)) {
      it(`${c.name} [${dtype}]`, () => run(c, dtype));
    }
  }
});
