// Elementwise kernels: fill, copy / copyInto, cast, unary, binary, binaryScalar, where, clamp.
//
// One generator (`mapKernel`) serves them all. Operands share one shape (broadcasting arrives as stride-0
// views); axes are collapsed first (see strided.ts). Tiling: a workgroup of 64 invocations covers 256
// consecutive output elements, each invocation 4 of them, so a contiguous operand is one vec4 load and the
// output one vec4 store (output buffers always hold a whole number of vec4s). Strided operands gather their 4
// elements with per-element index arithmetic. `copyInto` uses the same kernel with a strided destination.
//
// The scalar formulas follow kernels/cpu/elementwise.ts; see math-wgsl.ts for the NaN rules and accuracy.
import type { BinaryOp, UnaryOp, View } from '../../core/backend';
import type { DType } from '../../core/dtype';
import { numel } from '../../core/shape';
import { mathHelpers } from './math-wgsl';
import type { Host } from './runtime/host';
import { bufferOf } from './runtime/host';
import { defineKernel, type KernelDeclaration } from './runtime/kernel';
import type { GpuStorage } from './runtime/storage';
import { UniformLayout } from './runtime/uniforms';
import type { FieldType } from './runtime/uniforms';
import type { AccessMode } from './strided';
import { accessMode, checkRank, collapse, offsetCode, wgslType } from './strided';

const WG = 64; // invocations per workgroup
const PER_THREAD = 4; // consecutive elements per invocation (one vec4)

type WType = 'f32' | 'i32';

/** The per-element function: `fn op(a0: T0, a1: T1, ...) -> TOut { body }`. */
export interface MapOp {
  /** Identifies the formula in the pipeline key. */
  name: string;
  body: string;
  helpers?: string[];
  /** Scalar uniforms the body reads as u.<name>. */
  scalars?: [string, 'f32' | 'i32', number][];
  /** Extra WGSL (helper functions specific to this op). */
  extra?: string;
}

/**
 * Runs `op` over the operands (all of `shape`) and writes either a fresh contiguous storage of `outDtype`
 * or, with `dst`, into that strided view of an existing storage.
 */
export function mapKernel(host: Host, opName: string, op: MapOp, operands: readonly View[], shape: readonly number[], outDtype: DType, dst?: View): GpuStorage | null {
  const types = operands.map((v) => wgslType(v.dtype, opName));
  const outType = wgslType(outDtype, opName);
  const n = numel(shape);
  const out = dst ? null : host.alloc(outDtype, n, opName);
  if (n === 0) return out;

  const strideLists = operands.map((v) => v.strides);
  if (dst) strideLists.push(dst.strides);
  const c = collapse(shape, strideLists);
  const rank = c.shape.length;
  checkRank(rank, opName);
  const modes: AccessMode[] = operands.map((v, k) => accessMode(c.shape, c.strides[k], v.offset));
  const dstMode = dst ? (accessMode(c.shape, c.strides[operands.length], dst.offset) === 'strided' ? 'strided' : 'contig') : 'vec4';
  if (dst && accessMode(c.shape, c.strides[operands.length], dst.offset) === 'bcast' && n > 1) {
    throw new Error(`WebGPU backend: ${opName} into a broadcast (stride-0) destination`);
  }

  const key = [
    'map', op.name, `r${rank}`, types.join(','), modes.join(','), `->${outType}:${dstMode}`,
  ].join('|');
  const kernel = defineKernel(key, () => buildMapKernel(op, types, modes, outType, dstMode, rank));

  const params: Record<string, number | readonly number[]> = { n };
  if (rank > 0) params.shape = c.shape;
  operands.forEach((v, k) => {
    params[`off${k}`] = v.offset;
    if (modes[k] === 'strided') params[`st${k}`] = c.strides[k];
  });
  if (dst) {
    params.offd = dst.offset;
    if (dstMode === 'strided') params.dstst = c.strides[operands.length];
  }
  for (const [name, , value] of op.scalars ?? []) params[name] = value;

  const inputs = operands.map((v) => bufferOf(v, opName));
  const outBuf = dst ? bufferOf(dst, opName) : out!.buffer;
  host.rt.run(kernel, inputs, [outBuf], params, Math.ceil(n / (WG * PER_THREAD)));
  return out;
}

function buildMapKernel(op: MapOp, types: WType[], modes: AccessMode[], outType: WType, dstMode: 'vec4' | 'contig' | 'strided', rank: number): KernelDeclaration {
  const fields: [string, FieldType][] = [['n', 'u32']];
  if (rank > 0) fields.push(['shape', 'uvec']);
  modes.forEach((m, k) => {
    fields.push([`off${k}`, 'i32']);
    if (m === 'strided') fields.push([`st${k}`, 'ivec']);
  });
  if (dstMode !== 'vec4') {
    fields.push(['offd', 'i32']);
    if (dstMode === 'strided') fields.push(['dstst', 'ivec']);
  }
  for (const [name, t] of op.scalars ?? []) fields.push([name, t]);
  const params = new UniformLayout(fields);
  const nIn = types.length;

  const source = (): string => {
    const L: string[] = [];
    L.push(params.wgsl(), '@group(0) @binding(0) var<uniform> u: Params;');
    types.forEach((t, k) => {
      const elem = modes[k] === 'vec4' ? `vec4<${t}>` : t;
      L.push(`@group(0) @binding(${1 + k}) var<storage, read> in${k}: array<${elem}>;`);
    });
    L.push(`@group(0) @binding(${1 + nIn}) var<storage, read_write> out: array<${dstMode === 'vec4' ? `vec4<${outType}>` : outType}>;`);
    L.push(`const WG = ${WG}u; // invocations per workgroup, ${PER_THREAD} consecutive elements each`);
    if (op.helpers?.length) L.push(mathHelpers(op.helpers));
    if (op.extra) L.push(op.extra.trim());
    const args = types.map((t, k) => `a${k}: ${t}`).join(', ');
    L.push(`fn op(${args}) -> ${outType} {\n  ${op.body.trim()}\n}`);
    // element loaders for non-vec4 operands
    types.forEach((t, k) => {
      if (modes[k] === 'vec4') return;
      if (modes[k] === 'bcast') L.push(`fn load${k}(e: u32) -> ${t} { return in${k}[u32(u.off${k})]; }`);
      else if (modes[k] === 'contig') L.push(`fn load${k}(e: u32) -> ${t} { return in${k}[u32(u.off${k}) + e]; }`);
      else L.push(`fn load${k}(e: u32) -> ${t} {\n${offsetCode('o', 'e', rank, 'shape', `st${k}`, `off${k}`)}\n  return in${k}[u32(o)];\n}`);
    });
    if (dstMode === 'strided') L.push(`fn dst_index(e: u32) -> u32 {\n${offsetCode('o', 'e', rank, 'shape', 'dstst', 'offd')}\n  return u32(o);\n}`);
    if (dstMode === 'contig') L.push(`fn dst_index(e: u32) -> u32 { return u32(u.offd) + e; }`);

    const body: string[] = [];
    body.push('  let t = ((wid.z * nwg.y + wid.y) * nwg.x + wid.x) * WG + lid; // grid may be folded past 65,535');
    body.push(`  let i0 = t * ${PER_THREAD}u;`);
    body.push('  if (i0 >= u.n) { return; }');
    body.push('  let last = u.n - 1u;');
    body.push('  let e = vec4<u32>(i0, min(i0 + 1u, last), min(i0 + 2u, last), min(i0 + 3u, last));');
    types.forEach((t, k) => {
      if (modes[k] === 'vec4') body.push(`  let x${k} = in${k}[u32(u.off${k}) / 4u + t];`);
      else body.push(`  let x${k} = vec4<${t}>(load${k}(e.x), load${k}(e.y), load${k}(e.z), load${k}(e.w));`);
    });
    const call = (c: string): string => `op(${types.map((_, k) => `x${k}.${c}`).join(', ')})`;
    if (dstMode === 'vec4') {
      body.push(`  out[t] = vec4<${outType}>(${['x', 'y', 'z', 'w'].map(call).join(', ')});`);
    } else {
      body.push(`  let r = vec4<${outType}>(${['x', 'y', 'z', 'w'].map(call).join(', ')});`);
      body.push('  for (var k = 0u; k < 4u; k++) { if (i0 + k < u.n) { out[dst_index(i0 + k)] = r[k]; } }');
    }
    L.push(`@compute @workgroup_size(WG)\nfn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {\n${body.join('\n')}\n}`);
    return L.join('\n\n');
  };
  return { params, inputs: nIn, outputs: 1, workgroupSize: [WG], source };
}

// ---------------------------------------------------------------------------------------------------------
// Op tables

const UNARY_F32: Record<UnaryOp, [string, string[]?]> = {
  copy: ['return a0;'],
  neg: ['return -a0;'],
  exp: ['return exp_(a0);', ['exp_']],
  log: ['return log_(a0);', ['log_']],
  sqrt: ['return sqrt(a0);'],
  rsqrt: ['return 1.0 / sqrt(a0);'],
  abs: ['return abs(a0);'],
  sign: ['return select(select(select(nan_f32(), 0.0, a0 == 0.0), -1.0, a0 < 0.0), 1.0, a0 > 0.0);', ['nan_f32']],
  relu: ['return select(a0, 0.0, a0 <= 0.0);'], // NaN stays NaN
  sigmoid: ['return sigmoid_(a0);', ['sigmoid_']],
  tanh: ['return tanh_(a0);', ['tanh_']],
  erf: ['return erf_(a0);', ['erf_']],
  gelu: ['return a0 * phi_(a0);', ['phi_']], // x·Φ(x)
  // 0.5x(1 + tanh u) = x·sigmoid(2u)
  geluTanh: ['return a0 * sig_(2.0 * gelu_tanh_u(a0));', ['gelu_tanh_parts']],
  // Φ(x) + x·φ(x)
  geluGrad: ['return phi_(a0) + a0 * 0.3989422804014327 * exp_neg_half_sq(a0);', ['phi_', 'exp_neg_half_sq']],
  // (1 + t)/2 + x/2·(1 - t²)·√(2/π)(1 + 3·0.044715x²), with (1 ± t)/2 = sigmoid(±2u)
  geluTanhGrad: [
    `let v = 2.0 * gelu_tanh_u(a0);
  let s = sig_(v);
  let sm = sig_(-v);
  return s + 2.0 * a0 * s * sm * 0.7978845608028654 * (1.0 + 0.134145 * a0 * a0);`,
    ['gelu_tanh_parts'],
  ],
  square: ['return a0 * a0;'],
  reciprocal: ['return 1.0 / a0;'],
  sin: ['return sincos_(a0, false);', ['sincos_']],
  cos: ['return sincos_(a0, true);', ['sincos_']],
  floor: ['return floor(a0);'],
  ceil: ['return ceil(a0);'],
  round: ['return round(a0);'], // WGSL round is half-to-even, as torch.round
  isnan: ['return select(0.0, 1.0, is_nan(a0));', ['is_nan']],
};

/** Ops with an exact integer form; the rest go through float32 and truncate back (NaN/inf → 0). */
const UNARY_I32: Partial<Record<UnaryOp, string>> = {
  copy: 'return a0;',
  neg: 'return -a0;',
  abs: 'return abs(a0);',
  sign: 'return select(select(0, -1, a0 < 0), 1, a0 > 0);',
  relu: 'return max(a0, 0);',
  square: 'return a0 * a0;',
  floor: 'return a0;',
  ceil: 'return a0;',
  round: 'return a0;',
  isnan: 'return 0;',
};

export function unaryOp(op: UnaryOp, dtype: DType): MapOp {
  const t = wgslType(dtype, `unary ${op}`);
  if (t === 'i32') {
    const exact = UNARY_I32[op];
    if (exact) return { name: `u_${op}_i`, body: exact };
    const [fbody, helpers] = UNARY_F32[op];
    return {
      name: `u_${op}_if`,
      body: 'return to_i32(opf(f32(a0)));',
      helpers: [...(helpers ?? []), 'to_i32'],
      extra: `fn opf(a0: f32) -> f32 {\n  ${fbody}\n}`,
    };
  }
  const [body, helpers] = UNARY_F32[op];
  return { name: `u_${op}`, body, helpers };
}

const COMPARE: Partial<Record<BinaryOp, string>> = {
  eq: 'a0 == a1',
  lt: 'a0 < a1',
  le: 'a0 <= a1',
  gt: 'a0 > a1',
  ge: 'a0 >= a1',
};

export function isComparison(op: BinaryOp): boolean {
  return op === 'eq' || op === 'ne' || op === 'lt' || op === 'le' || op === 'gt' || op === 'ge';
}

/** Body of a binary op on (a0, a1) of WGSL type t; comparisons return f32 0/1. */
function binaryBody(op: BinaryOp, t: WType): [string, string[]] {
  // `ne` as the negation of `==`: SwiftShader evaluates `!=` as an ordered compare (false for NaN).
  if (op === 'ne') return ['return select(1.0, 0.0, a0 == a1);', []];
  const cmp = COMPARE[op];
  if (cmp) return [`return select(0.0, 1.0, ${cmp});`, []];
  switch (op) {
    case 'add': return ['return a0 + a1;', []];
    case 'sub': return ['return a0 - a1;', []];
    case 'mul': return ['return a0 * a1;', []];
    case 'div': return t === 'i32' ? ['return select(0, a0 / a1, a1 != 0);', []] : ['return a0 / a1;', []];
    case 'pow': return t === 'i32' ? ['return ipow_(a0, a1);', ['ipow_']] : ['return pow_(a0, a1);', ['pow_']];
    case 'maximum':
      return t === 'i32' ? ['return max(a0, a1);', []] : ['return select(select(a1, a0, a0 > a1), nan_f32(), is_nan(a0) || is_nan(a1));', ['is_nan', 'nan_f32']];
    case 'minimum':
      return t === 'i32' ? ['return min(a0, a1);', []] : ['return select(select(a1, a0, a0 < a1), nan_f32(), is_nan(a0) || is_nan(a1));', ['is_nan', 'nan_f32']];
    default:
      throw new Error(`WebGPU backend: unknown binary op ${String(op)}`);
  }
}

export function binaryOp(op: BinaryOp, dtype: DType): MapOp {
  const t = wgslType(dtype, `binary ${op}`);
  const [body, helpers] = binaryBody(op, t);
  return { name: `b_${op}_${t}`, body, helpers };
}

const SWAP: Partial<Record<BinaryOp, BinaryOp>> = { lt: 'gt', gt: 'lt', le: 'ge', ge: 'le' };

/** The float32 neighbours of a double: largest float32 below it and smallest above it. */
function f32Neighbours(s: number): [number, number] {
  const f = Math.fround(s);
  const buf = new Float32Array(1);
  const bits = new Int32Array(buf.buffer);
  const step = (x: number, up: boolean): number => {
    buf[0] = x;
    if (x === 0) bits[0] = up ? 1 : -2147483647;
    else bits[0] += (x > 0) === up ? 1 : -1;
    return buf[0];
  };
  return f < s ? [f, step(f, true)] : [step(f, false), f];
}

/**
 * `op(x, s)` (or `op(s, x)`). Arithmetic uses s rounded to float32 (≤ 1 ulp from the float64 CPU result).
 * Comparisons are exact for any double s: a float32 x compares with s as it does with one of s's float32
 * neighbours, and ==/!= never hold/fail for an s float32 cannot represent.
 */
export function binaryScalarOp(op: BinaryOp, dtype: DType, scalar: number, scalarFirst: boolean): MapOp {
  let t = wgslType(dtype, `binaryScalar ${op}`);
  let s = scalar;
  let o = op;
  let first = scalarFirst;
  // int32 tensors stay integer when the scalar is an int32 value; otherwise compute in float32 and truncate.
  const intPath = t === 'i32' && Number.isInteger(s) && s >= -2147483648 && s <= 2147483647;
  if (t === 'i32' && !intPath) t = 'f32';
  if (isComparison(o)) {
    if (first) o = SWAP[o] ?? o;
    first = false;
    if (t === 'f32' && Number.isFinite(s) && Math.fround(s) !== s) {
      const [down, up] = f32Neighbours(s);
      if (o === 'eq' || o === 'ne') s = NaN;
      else if (o === 'lt' || o === 'ge') s = up;
      else s = down;
    }
  }
  const [body, helpers] = binaryBody(o, t);
  const retType = isComparison(o) ? 'f32' : t;
  const x = dtype === 'int32' && t === 'f32' ? 'f32(a0)' : 'a0';
  let call = first ? `opb(u.s, ${x})` : `opb(${x}, u.s)`;
  const truncate = dtype === 'int32' && t === 'f32' && !isComparison(o);
  if (truncate) call = `to_i32(${call})`;
  return {
    name: `bs_${o}_${t}_${dtype}_${first ? 'sx' : 'xs'}`,
    body: `return ${call};`,
    helpers: [...helpers, ...(truncate ? ['to_i32'] : [])],
    extra: `fn opb(a0: ${t}, a1: ${t}) -> ${retType} {\n  ${body}\n}`,
    scalars: [['s', t, s]],
  };
}

export function whereOp(condDtype: DType, dtype: DType): MapOp {
  const ct = wgslType(condDtype, 'where');
  wgslType(dtype, 'where');
  const zero = ct === 'f32' ? '0.0' : '0';
  // `!(c == 0)`: a NaN condition counts as true, as in the CPU backend
  return { name: 'where', body: `return select(a2, a1, !(a0 == ${zero}));` };
}

export function clampOp(dtype: DType, lo: number, hi: number): MapOp {
  // min(max(x, lo), hi) with NaN passing through; lo > hi gives hi everywhere (torch.clamp, CPU backend)
  const t = wgslType(dtype, 'clamp');
  if (t === 'f32') {
    return {
      name: 'clamp_f32',
      body: 'let m = select(a0, u.lo, a0 < u.lo);\n  return select(select(m, u.hi, m > u.hi), a0, is_nan(a0));',
      helpers: ['is_nan'],
      scalars: [['lo', 'f32', lo], ['hi', 'f32', hi]],
    };
  }
  // Integers: x < lo ⇔ x < ceil(lo) and m > hi ⇔ m > floor(hi); a stored bound is truncated, as the CPU's
  // Int32Array store does. Infinite bounds never bind.
  const I32_MIN = -2147483648;
  const I32_MAX = 2147483647;
  const fit = (v: number): number => Math.max(I32_MIN, Math.min(I32_MAX, v));
  return {
    name: 'clamp_i32',
    body: 'let m = select(a0, u.lo_out, a0 < u.lo_cmp);\n  return select(m, u.hi_out, m > u.hi_cmp);',
    scalars: [
      ['lo_cmp', 'i32', lo === -Infinity || Number.isNaN(lo) ? I32_MIN : fit(Math.ceil(lo))],
      ['lo_out', 'i32', Number.isFinite(lo) ? fit(Math.trunc(lo)) : 0],
      ['hi_cmp', 'i32', hi === Infinity || Number.isNaN(hi) ? I32_MAX : fit(Math.floor(hi))],
      ['hi_out', 'i32', Number.isFinite(hi) ? fit(Math.trunc(hi)) : 0],
    ],
  };
}

export function castOp(from: DType, to: DType): MapOp {
  const f = wgslType(from, 'cast');
  const t = wgslType(to, 'cast');
  if (f === t) return { name: 'copy', body: 'return a0;' };
  if (t === 'i32') return { name: 'cast_f2i', body: 'return to_i32(a0);', helpers: ['to_i32'] };
  return { name: 'cast_i2f', body: 'return f32(a0);' };
}

export function fillOp(dtype: DType, value: number): MapOp {
  const t = wgslType(dtype, 'full');
  if (t === 'i32') return { name: 'fill_i32', body: 'return u.v;', scalars: [['v', 'i32', Math.trunc(value) | 0]] };
  return { name: 'fill_f32', body: 'return u.v;', scalars: [['v', 'f32', value]] };
}
