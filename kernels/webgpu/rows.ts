// Row-wise kernels over the last axis: softmax / logSoftmax and layerNorm.
//
// Tiling: one workgroup per row; invocation t handles columns t, t+WG, t+2·WG, ... and the row reductions
// (max and Σexp for softmax, mean and variance for layerNorm) combine the WG partials:
//   * with the `subgroups` feature, the workgroup is exactly the adapter's minimum subgroup size (4 on
//     SwiftShader, 32 on NVIDIA), so it is one subgroup and subgroupAdd / subgroupMax reduce it — no
//     workgroup memory, no barrier. (WGSL does not say how larger workgroups split into subgroups.)
//   * otherwise WG = 64 and the partials go through workgroup memory with one barrier; every invocation then
//     sums all 64 itself, in the same order, so all hold the identical total without a 6-level tree.
// On SwiftShader a barrier costs a coroutine switch per invocation group: the subgroup form is ≈ 5× faster.
// Formulas as kernels/cpu/backend.ts: softmax subtracts the row max (an all −inf row gives NaN through 0/0 as
// torch), layerNorm uses the biased variance and returns mean and rstd = 1/√(var + eps) per row.
import type { View } from '../../core/backend';
import { isContiguous, numel } from '../../core/shape';
import { mapKernel, unaryOp } from './elementwise';
import { mathHelpers } from './math-wgsl';
import type { Host } from './runtime/host';
import { bufferOf } from './runtime/host';
import { defineKernel, type Kernel } from './runtime/kernel';
import type { GpuStorage } from './runtime/storage';
import { UniformLayout } from './runtime/uniforms';
import { wgslType } from './strided';

/** How a row kernel reduces across its invocations. */
interface Reduction {
  /** Invocations per workgroup (= per row). */
  wg: number;
  subgroups: boolean;
}

let forced: 'auto' | 'workgroup' = 'auto';

/** Tests and benchmarks: use the portable workgroup-memory reduction even where subgroups exist. */
export function setRowReduction(mode: 'auto' | 'workgroup'): void {
  forced = mode;
}

function reductionFor(host: Host): Reduction {
  const ctx = host.rt.ctx;
  const min = ctx.info.subgroupMinSize;
  if (forced === 'auto' && ctx.hasSubgroups && min && min >= 1) return { wg: Math.min(min, 256), subgroups: true };
  return { wg: 64, subgroups: false };
}

function rowHelpers(r: Reduction): string {
  if (r.subgroups) {
    return `
// the workgroup is a single subgroup (its size is the adapter's minimum subgroup size)
fn row_sum(v: f32, lid: u32) -> f32 { return subgroupAdd(v); }
fn row_max(v: f32, lid: u32) -> f32 {
  let m = subgroupMax(v);
  // subgroupMax need not propagate NaN
  return select(m, nan_f32(), subgroupAny(is_nan(v)));
}`;
  }
  return `
var<workgroup> partial: array<f32, WG>;

// Every invocation gets the same total: publish the partials, then each one adds all of them in order.
fn row_sum(v: f32, lid: u32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  var s = 0.0;
  for (var k = 0u; k < WG; k++) { s += partial[k]; }
  workgroupBarrier(); // partial is reused by the next reduction
  return s;
}

fn row_max(v: f32, lid: u32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  var m = partial[0];
  for (var k = 1u; k < WG; k++) { let p = partial[k]; if (p > m || is_nan(p)) { m = p; } }
  workgroupBarrier();
  return m;
}`;
}

function preamble(r: Reduction): string {
  return r.subgroups ? 'enable subgroups;' : '';
}

const SOFTMAX_PARAMS = new UniformLayout([['rows', 'u32'], ['cols', 'u32'], ['off', 'i32']]);

function softmaxKernel(log: boolean, r: Reduction): Kernel {
  const key = `softmax|${log}|${r.subgroups ? 'sg' : 'wg'}${r.wg}`;
  return defineKernel(key, () => {
    const source = (): string => `${preamble(r)}
${SOFTMAX_PARAMS.wgsl()}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
const WG = ${r.wg}u; // invocations per row
${mathHelpers(['is_nan', 'nan_f32', 'inf_f32', 'exp_', 'log_'])}
${rowHelpers(r)}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
    let row = (wid.z * nwg.y + wid.y) * nwg.x + wid.x; // one workgroup per row (uniform: barriers are safe)
    if (row >= u.rows) { return; }
    let base = u32(u.off) + row * u.cols;
    var m = -inf_f32();
    for (var c = lid; c < u.cols; c += WG) { let v = x[base + c]; if (v > m || is_nan(v)) { m = v; } }
    m = row_max(m, lid);
    if (m == -inf_f32()) { m = 0.0; } // all −inf: exp(−inf − 0)/0 = NaN, as torch
    var s = 0.0;
    ${log
      ? `for (var c = lid; c < u.cols; c += WG) { s += exp_(x[base + c] - m); }
    let ls = log_(row_sum(s, lid));
    for (var c = lid; c < u.cols; c += WG) { y[row * u.cols + c] = x[base + c] - m - ls; }`
      : `// keep exp(x - m) in y (each invocation rereads only what it wrote), then divide
    for (var c = lid; c < u.cols; c += WG) { let e = exp_(x[base + c] - m); y[row * u.cols + c] = e; s += e; }
    s = row_sum(s, lid);
    for (var c = lid; c < u.cols; c += WG) { y[row * u.cols + c] = y[row * u.cols + c] / s; }`}
}`;
    return { params: SOFTMAX_PARAMS, inputs: 1, outputs: 1, workgroupSize: [r.wg], source };
  });
}

/** The view itself when it is contiguous, else a contiguous copy (released by the caller). */
function contiguous(host: Host, x: View, op: string): { view: View; temp: GpuStorage | null } {
  if (isContiguous(x.shape, x.strides)) return { view: x, temp: null };
  const temp = mapKernel(host, op, unaryOp('copy', x.dtype), [x], x.shape, x.dtype)!;
  return { view: { storage: temp, shape: x.shape, strides: [], offset: 0, dtype: x.dtype }, temp };
}

function rowsCols(x: View): [number, number] {
  const cols = x.shape.length ? x.shape[x.shape.length - 1] : 1;
  return [cols === 0 ? 0 : numel(x.shape) / cols, cols];
}

export function softmax(host: Host, x: View, log: boolean): GpuStorage {
  const op = log ? 'logSoftmax' : 'softmax';
  if (wgslType(x.dtype, op) !== 'f32') throw new TypeError(`WebGPU backend: ${op} supports float32 only`);
  const [rows, cols] = rowsCols(x);
  const out = host.alloc('float32', rows * cols, op);
  if (rows * cols === 0) return out;
  const { view, temp } = contiguous(host, x, op);
  host.rt.run(softmaxKernel(log, reductionFor(host)), [bufferOf(view, op)], [out.buffer], { rows, cols, off: view.offset }, rows);
  if (temp) host.release(temp);
  return out;
}

const LN_PARAMS = new UniformLayout([
  ['rows', 'u32'], ['cols', 'u32'], ['off', 'i32'], ['eps', 'f32'],
  ['offW', 'i32'], ['sW', 'i32'], ['offB', 'i32'], ['sB', 'i32'],
]);
function layerNormKernel(hasW: boolean, hasB: boolean, r: Reduction): Kernel {
  const key = `layernorm|${hasW}|${hasB}|${r.subgroups ? 'sg' : 'wg'}${r.wg}`;
  return defineKernel(key, () => {
    const inputs = 1 + (hasW ? 1 : 0) + (hasB ? 1 : 0);
    let binding = 2;
    const wDecl = hasW ? `@group(0) @binding(${binding++}) var<storage, read> w: array<f32>;` : '';
    const bDecl = hasB ? `@group(0) @binding(${binding++}) var<storage, read> b: array<f32>;` : '';
    const source = (): string => `${preamble(r)}
${LN_PARAMS.wgsl()}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
${wDecl}
${bDecl}
@group(0) @binding(${inputs + 1}) var<storage, read_write> y: array<f32>;
@group(0) @binding(${inputs + 2}) var<storage, read_write> mean: array<f32>;
@group(0) @binding(${inputs + 3}) var<storage, read_write> rstd: array<f32>;
const WG = ${r.wg}u; // invocations per row
${mathHelpers(['is_nan', 'nan_f32'])}
${rowHelpers(r)}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
    let row = (wid.z * nwg.y + wid.y) * nwg.x + wid.x; // one workgroup per row (uniform: barriers are safe)
    if (row >= u.rows) { return; }
    let base = u32(u.off) + row * u.cols;
    let n = f32(u.cols);
    var s = 0.0;
    for (var c = lid; c < u.cols; c += WG) { s += x[base + c]; }
    let mu = row_sum(s, lid) / n;
    var v = 0.0;
    for (var c = lid; c < u.cols; c += WG) { let d = x[base + c] - mu; v += d * d; }
    let rs = 1.0 / sqrt(row_sum(v, lid) / n + u.eps); // biased variance, as torch.layer_norm
    for (var c = lid; c < u.cols; c += WG) {
      var o = (x[base + c] - mu) * rs;
      ${hasW ? 'o = o * w[u32(u.offW + i32(c) * u.sW)];' : ''}
      ${hasB ? 'o = o + b[u32(u.offB + i32(c) * u.sB)];' : ''}
      y[row * u.cols + c] = o;
    }
    if (lid == 0u) { mean[row] = mu; rstd[row] = rs; }
}`;
    return { params: LN_PARAMS, inputs, outputs: 3, workgroupSize: [r.wg], source };
  });
}

export function layerNorm(host: Host, x: View, weight: View | null, bias: View | null, eps: number): { y: GpuStorage; mean: GpuStorage; rstd: GpuStorage } {
  for (const v of [x, weight, bias]) {
    if (v && wgslType(v.dtype, 'layerNorm') !== 'f32') throw new TypeError('WebGPU backend: layerNorm supports float32 only');
  }
  const [rows, cols] = rowsCols(x);
  const y = host.alloc('float32', rows * cols, 'layerNorm');
  const mean = host.alloc('float32', rows, 'layerNorm');
  const rstd = host.alloc('float32', rows, 'layerNorm');
  if (rows === 0) return { y, mean, rstd };
  const { view, temp } = contiguous(host, x, 'layerNorm');
  const inputs = [bufferOf(view, 'layerNorm')];
  if (weight) inputs.push(bufferOf(weight, 'layerNorm'));
  if (bias) inputs.push(bufferOf(bias, 'layerNorm'));
  host.rt.run(layerNormKernel(!!weight, !!bias, reductionFor(host)), inputs, [y.buffer, mean.buffer, rstd.buffer], {
    rows, cols, off: view.offset, eps,
    offW: weight?.offset ?? 0, sW: weight?.strides[0] ?? 0, offB: bias?.offset ?? 0, sB: bias?.strides[0] ?? 0,
  }, rows);
  if (temp) host.release(temp);
  return { y, mean, rstd };
}
