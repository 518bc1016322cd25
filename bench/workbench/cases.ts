// The problems the workbench checks and times, per op: random cases (fast-check) for the correctness check,
// one representative shape for timing, the FLOP count of a problem, and how to run it on any Backend.
import fc from 'fast-check';
import type { Backend, Conv2dParams, Epilogue, Storage, View } from '../../core/backend';
import { contiguousStrides, convOutputSize } from '../../core/shape';
import type { VariantOp } from '../../kernels/webgpu/variants';

/** An input tensor of a problem: its shape and whether it is fed as a transposed (non-contiguous) view. */
export interface Operand {
  shape: number[];
  transposed?: boolean;
}

export interface Problem {
  op: VariantOp;
  operands: Operand[];
  /** Everything else the op takes (conv params, epilogue activation, softmax's log flag, ...). */
  args: Record<string, unknown>;
}

/** Deterministic values in [-1, 1) for operand `i` of a problem. */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Uploads an operand: a transposed operand stores the transposed matrix and views it back (swapped strides). */
function upload(b: Backend, o: Operand, seed: number): { view: View; storage: Storage } {
  const data = values(numel(o.shape), seed);
  const storage = b.upload(data);
  if (!o.transposed) return { storage, view: { storage, shape: o.shape, strides: contiguousStrides(o.shape), offset: 0, dtype: 'float32' } };
  const r = o.shape.length;
  const stored = [...o.shape.slice(0, r - 2), o.shape[r - 1], o.shape[r - 2]];
  const st = contiguousStrides(stored);
  const strides = [...st.slice(0, r - 2), st[r - 1], st[r - 2]];
  return { storage, view: { storage, shape: o.shape, strides, offset: 0, dtype: 'float32' } };
}

function epilogueOf(args: Record<string, unknown>, bias: View | undefined): Epilogue | undefined {
  const act = (args.activation as 'none' | 'relu' | 'gelu' | undefined) ?? 'none';
  if (!bias && act === 'none') return undefined;
  return { bias: bias ?? null, activation: act };
}

export interface Prepared {
  views: View[];
  inputs: Storage[];
}

/** Uploads the problem's operands to a backend (kept out of the timed part). */
export function prepareProblem(b: Backend, p: Problem, seed = 1): Prepared {
  const up = p.operands.map((o, i) => upload(b, o, seed * 31 + i));
  return { views: up.map((u) => u.view), inputs: up.map((u) => u.storage) };
}

export type Outputs = { storage: Storage; shape: number[] }[];

/** Runs the op on prepared operands: the call the workbench times. */
export function execProblem(b: Backend, p: Problem, v: View[]): Outputs {
  const a = p.args;
  switch (p.op) {
    case 'matmul': {
      const [x, y, bias] = v;
      return [{ storage: b.matmul(x, y, epilogueOf(a, bias)), shape: [x.shape[0], x.shape[1], y.shape[2]] }];
    }
    case 'conv2d': {
      const [x, w, bias] = v;
      const cp = a.conv as Conv2dParams;
      return [{ storage: b.conv2d(x, w, cp, epilogueOf(a, bias)), shape: convShape(x.shape, w.shape, cp) }];
    }
    case 'conv2dBackwardInput': {
      const [gy, w] = v;
      const shape = a.inputShape as number[];
      return [{ storage: b.conv2dBackwardInput(gy, w, a.conv as Conv2dParams, shape), shape }];
    }
    case 'conv2dBackwardWeight': {
      const [x, gy] = v;
      const shape = a.weightShape as number[];
      return [{ storage: b.conv2dBackwardWeight(x, gy, a.conv as Conv2dParams, shape), shape }];
    }
    case 'softmax': {
      const [x] = v;
      return [{ storage: b.softmax(x, Boolean(a.log)), shape: [...x.shape] }];
    }
    case 'layerNorm': {
      const [x, w, bias] = v;
      const r = b.layerNorm(x, a.affine ? w : null, a.affine ? bias : null, (a.eps as number) ?? 1e-5);
      return [{ storage: r.y, shape: [...x.shape] }, { storage: r.mean, shape: [x.shape[0]] }, { storage: r.rstd, shape: [x.shape[0]] }];
    }
  }
}

/** Reads an output back as a contiguous Float32Array. */
export async function readOutput(b: Backend, o: Outputs[number]): Promise<Float32Array> {
  return (await b.read({ storage: o.storage, shape: o.shape, strides: contiguousStrides(o.shape), offset: 0, dtype: 'float32' })) as Float32Array;
}

function convShape(x: readonly number[], w: readonly number[], p: Conv2dParams): number[] {
  return [x[0], w[0], convOutputSize(x[2], w[2], p.stride[0], p.padding[0], p.dilation[0]), convOutputSize(x[3], w[3], p.stride[1], p.padding[1], p.dilation[1])];
}

/** Multiply-adds count twice; softmax / layerNorm count their elementwise arithmetic (memory bound). */
export function flopsOf(p: Problem): number {
  const s = p.operands.map((o) => o.shape);
  switch (p.op) {
    case 'matmul':
      return 2 * s[0][0] * s[0][1] * s[0][2] * s[1][2];
    case 'conv2d': {
      const out = convShape(s[0], s[1], p.args.conv as Conv2dParams);
      return 2 * numel(out) * s[1][1] * s[1][2] * s[1][3];
    }
    case 'conv2dBackwardInput':
      return 2 * numel(s[0]) * s[1][1] * s[1][2] * s[1][3];
    case 'conv2dBackwardWeight':
      return 2 * numel(s[1]) * numel((p.args.weightShape as number[]).slice(1));
    case 'softmax':
      return 5 * numel(s[0]);
    case 'layerNorm':
      return 8 * numel(s[0]);
  }
}

export function describeProblem(p: Problem): string {
  const ops = p.operands.map((o) => `[${o.shape.join('×')}]${o.transposed ? 'ᵀ' : ''}`).join(' ');
  const a = { ...p.args };
  const conv = a.conv as Conv2dParams | undefined;
  delete a.conv;
  const convText = conv ? ` stride ${conv.stride} padding ${conv.padding} dilation ${conv.dilation} groups ${conv.groups}` : '';
  const rest = Object.entries(a).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(' ');
  return `${p.op} ${ops}${convText}${rest ? ` ${rest}` : ''}`;
}

const ACT = fc.constantFrom('none', 'relu', 'gelu');
const d = (lo: number, hi: number) => fc.integer({ min: lo, max: hi });

const convGeometry = fc
  .record({ n: d(1, 2), groups: d(1, 2), cg: d(1, 5), og: d(1, 4), h: d(1, 12), w: d(1, 12), kh: d(1, 3), kw: d(1, 3), s: d(1, 2), p: d(0, 2), dil: d(1, 2) })
  .filter((g) => g.h + 2 * g.p - g.dil * (g.kh - 1) - 1 >= 0 && g.w + 2 * g.p - g.dil * (g.kw - 1) - 1 >= 0);

function convParams(g: { s: number; p: number; dil: number; groups: number }): Conv2dParams {
  return { stride: [g.s, g.s], padding: [g.p, g.p], dilation: [g.dil, g.dil], groups: g.groups };
}

/** Random problems for the correctness check: odd sizes, tile edges, transposed operands, epilogues. */
export function arbitraryProblem(op: VariantOp): fc.Arbitrary<Problem> {
  switch (op) {
    case 'matmul':
      return fc.record({ b: d(1, 3), m: d(1, 80), k: d(1, 70), n: d(1, 80), ta: fc.boolean(), tb: fc.boolean(), bias: fc.boolean(), act: ACT }).map((r) => ({
        op,
        operands: [{ shape: [r.b, r.m, r.k], transposed: r.ta }, { shape: [r.b, r.k, r.n], transposed: r.tb }, ...(r.bias ? [{ shape: [r.n] }] : [])],
        args: { activation: r.act },
      }));
    case 'conv2d':
      return fc.record({ g: convGeometry, bias: fc.boolean(), act: ACT }).map(({ g, bias, act }) => {
        const O = g.og * g.groups;
        return { op, operands: [{ shape: [g.n, g.cg * g.groups, g.h, g.w] }, { shape: [O, g.cg, g.kh, g.kw] }, ...(bias ? [{ shape: [O] }] : [])], args: { conv: convParams(g), activation: act } };
      });
    case 'conv2dBackwardInput':
      return convGeometry.map((g) => {
        const cp = convParams(g);
        const x = [g.n, g.cg * g.groups, g.h, g.w];
        const w = [g.og * g.groups, g.cg, g.kh, g.kw];
        return { op, operands: [{ shape: convShape(x, w, cp) }, { shape: w }], args: { conv: cp, inputShape: x } };
      });
    case 'conv2dBackwardWeight':
      return convGeometry.map((g) => {
        const cp = convParams(g);
        const x = [g.n, g.cg * g.groups, g.h, g.w];
        const w = [g.og * g.groups, g.cg, g.kh, g.kw];
        return { op, operands: [{ shape: x }, { shape: convShape(x, w, cp) }], args: { conv: cp, weightShape: w } };
      });
    case 'softmax':
      return fc.record({ rows: d(1, 9), cols: d(1, 300), log: fc.boolean() }).map((r) => ({ op, operands: [{ shape: [r.rows, r.cols] }], args: { log: r.log } }));
    case 'layerNorm':
      return fc.record({ rows: d(1, 9), cols: d(1, 300), affine: fc.boolean() }).map((r) => ({
        op,
        operands: [{ shape: [r.rows, r.cols] }, { shape: [r.cols] }, { shape: [r.cols] }],
        args: { affine: r.affine, eps: 1e-5 },
      }));
  }
}

/** One representative shape per op for timing (ResNet-50 / ViT-S sized layers); `quick` halves the big ones. */
export function timingProblem(op: VariantOp, quick: boolean): Problem {
  const n = quick ? 512 : 1024;
  const conv: Conv2dParams = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 };
  const hw = quick ? 28 : 56;
  switch (op) {
    case 'matmul':
      return { op, operands: [{ shape: [1, n, n] }, { shape: [1, n, n] }], args: {} };
    case 'conv2d':
      return { op, operands: [{ shape: [1, 64, hw, hw] }, { shape: [64, 64, 3, 3] }], args: { conv } };
    case 'conv2dBackwardInput':
      return { op, operands: [{ shape: [1, 64, hw, hw] }, { shape: [64, 64, 3, 3] }], args: { conv, inputShape: [1, 64, hw, hw] } };
    case 'conv2dBackwardWeight':
      return { op, operands: [{ shape: [1, 64, hw, hw] }, { shape: [1, 64, hw, hw] }], args: { conv, weightShape: [64, 64, 3, 3] } };
    case 'softmax':
      return { op, operands: [{ shape: [quick ? 512 : 2048, 1000] }], args: { log: false } };
    case 'layerNorm':
      return { op, operands: [{ shape: [quick ? 394 : 1576, 384] }, { shape: [384] }, { shape: [384] }], args: { affine: true, eps: 1e-6 } };
  }
}
