// Reductions: sum / max / min / prod over any set of axes, and argmax / argmin along one axis.
//
// The view is permuted on the host (no copy) so the kept axes come first and the reduced ones last; each group
// is collapsed separately. Tiling: one invocation per (output, chunk) walks its chunk of the reduced elements
// in row-major order with an odometer over the reduced axes (no division inside the loop), accumulating in
// storage order like the CPU. When there are few outputs and many reduced elements, the reduced range is cut
// into chunks so at least ~4096 invocations run, and a second pass (the same kernel on the [outer, chunks]
// partials) finishes the job — no workgroup barriers, no atomics.
//
// NaN rules as the CPU: max/min propagate NaN; argmax/argmin return the first extreme index and a NaN counts
// as the maximum (the first NaN wins and ends the scan).
import type { ReduceOp, View } from '../../core/backend';
import type { DType } from '../../core/dtype';
import { numel } from '../../core/shape';
import { mathHelpers } from './math-wgsl';
import type { Host } from './runtime/host';
import { bufferOf } from './runtime/host';
import { defineKernel, type Kernel } from './runtime/kernel';
import type { GpuStorage } from './runtime/storage';
import { UniformLayout, vecAt } from './runtime/uniforms';
import { checkRank, collapse, offsetCode, wgslType } from './strided';

const WG = 64;
/** Aim for at least this many invocations before splitting the reduced range into chunks. */
const TARGET_THREADS = 4096;
/** Never make a chunk shorter than this. */
const MIN_CHUNK = 64;

const PARAMS = new UniformLayout([
  ['kshape', 'uvec'], ['kst', 'ivec'], ['rshape', 'uvec'], ['rst', 'ivec'],
  ['off', 'i32'], ['outer', 'u32'], ['inner', 'u32'], ['chunks', 'u32'], ['len', 'u32'],
]);

interface Split {
  kept: { shape: number[]; strides: number[] };
  red: { shape: number[]; strides: number[] };
}

function split(x: View, axes: readonly number[]): Split {
  const keptAxes = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const k = collapse(keptAxes.map((i) => x.shape[i]), [keptAxes.map((i) => x.strides[i])]);
  const r = collapse(axes.map((i) => x.shape[i]), [axes.map((i) => x.strides[i])]);
  return { kept: { shape: k.shape, strides: k.strides[0] }, red: { shape: r.shape, strides: r.strides[0] } };
}

/** WGSL: `off` at reduced index `begin`, and an odometer step (innermost axis first, carrying outward). */
function odometer(rrank: number): { init: string; step: string } {
  if (rrank === 0) return { init: 'var off = base;', step: '' };
  const lines: string[] = [Array.from({ length: rrank }, (_, d) => `var c${d} = 0u;`).join(' '), 'var off = base;', '{ var r_ = begin;'];
  for (let d = rrank - 1; d >= 0; d--) {
    const s = vecAt('rshape', d);
    lines.push(d > 0 ? `  c${d} = r_ % ${s}; r_ = r_ / ${s};` : `  c${d} = r_;`);
    lines.push(`  off += i32(c${d}) * ${vecAt('rst', d)};`);
  }
  lines.push('}');
  const step = (d: number): string => {
    const inc = `c${d} += 1u; off += ${vecAt('rst', d)};`;
    if (d === 0) return inc;
    const wrap = `c${d} = 0u; off -= ${vecAt('rst', d)} * i32(${vecAt('rshape', d)});`;
    return `${inc}\n      if (c${d} == ${vecAt('rshape', d)}) { ${wrap}\n        ${step(d - 1)} }`;
  };
  return { init: lines.join('\n  '), step: step(rrank - 1) };
}

function reduceKernel(op: ReduceOp, t: 'f32' | 'i32', krank: number, rrank: number): Kernel {
  const key = `reduce|${op}|${t}|k${krank}|r${rrank}`;
  return defineKernel(key, () => {
    const init =
      op === 'sum' ? (t === 'f32' ? '0.0' : '0')
        : op === 'prod' ? (t === 'f32' ? '1.0' : '1')
          : t === 'i32' ? (op === 'max' ? 'i32(-2147483647 - 1)' : '2147483647')
            : op === 'max' ? '-inf_f32()' : 'inf_f32()';
    const acc =
      op === 'sum' ? 'acc = acc + v;'
        : op === 'prod' ? 'acc = acc * v;'
          : t === 'i32' ? `acc = ${op}(acc, v);`
            : op === 'max' ? 'if (v > acc || is_nan(v)) { acc = v; }' : 'if (v < acc || is_nan(v)) { acc = v; }';
    const helpers = t === 'f32' && (op === 'max' || op === 'min') ? mathHelpers(['is_nan', 'inf_f32']) : '';
    const od = odometer(rrank);
    const source = (): string => `
${PARAMS.wgsl()}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<${t}>;
@group(0) @binding(2) var<storage, read_write> out: array<${t}>;
const WG = ${WG}u;
${helpers}

// one invocation per (output o, chunk ch) of the reduced range; out is [outer, chunks]
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
    let t = ((wid.z * nwg.y + wid.y) * nwg.x + wid.x) * WG + lid;
    if (t >= u.outer * u.chunks) { return; }
    let o = t / u.chunks;
    let ch = t % u.chunks;
    ${offsetCode('base', 'o', krank, 'kshape', 'kst', 'off')}
    let begin = ch * u.len;
    let end = min(begin + u.len, u.inner);
    var acc: ${t} = ${init};
    if (begin < end) {
    ${od.init}
      for (var i = begin; i < end; i++) {
        let v = x[u32(off)];
        ${acc}
        ${od.step}
      }
    }
    out[t] = acc;
}`;
    return { params: PARAMS, inputs: 1, outputs: 1, workgroupSize: [WG], source };
  });
}

export function reduce(host: Host, op: ReduceOp, x: View, axes: readonly number[]): GpuStorage {
  const name = `reduce ${op}`;
  const t = wgslType(x.dtype, name);
  const { kept, red } = split(x, axes);
  checkRank(kept.shape.length, name);
  checkRank(red.shape.length, name);
  const outer = numel(kept.shape);
  const inner = numel(red.shape);
  let chunks = 1;
  if (outer < TARGET_THREADS && inner > MIN_CHUNK) {
    chunks = Math.min(Math.ceil(TARGET_THREADS / Math.max(outer, 1)), Math.ceil(inner / MIN_CHUNK));
  }
  const len = Math.ceil(inner / chunks) || 1;
  chunks = Math.max(1, Math.ceil(inner / len));
  const out = host.alloc(x.dtype as DType, outer * chunks, name);
  if (outer > 0) {
    const kernel = reduceKernel(op, t, kept.shape.length, red.shape.length);
    host.rt.run(kernel, [bufferOf(x, name)], [out.buffer], {
      kshape: kept.shape, kst: kept.strides, rshape: red.shape, rst: red.strides,
      off: x.offset, outer, inner, chunks, len,
    }, Math.ceil((outer * chunks) / WG));
  }
  if (chunks === 1) return out;
  // second pass over the [outer, chunks] partials
  const partial: View = { storage: out, shape: [outer, chunks], strides: [chunks, 1], offset: 0, dtype: x.dtype };
  const final = reduce(host, op, partial, [1]);
  host.release(out);
  return final;
}

function argKernel(op: 'argmax' | 'argmin', t: 'f32' | 'i32', krank: number): Kernel {
  const key = `arg|${op}|${t}|k${krank}`;
  return defineKernel(key, () => {
    const better = op === 'argmax' ? 'v > best' : 'v < best';
    const nan = t === 'f32';
    const source = (): string => `
${PARAMS.wgsl()}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<${t}>;
@group(0) @binding(2) var<storage, read_write> out: array<i32>;
const WG = ${WG}u;
${nan ? mathHelpers(['is_nan']) : ''}

// one invocation per output: scan the axis (length u.inner, stride rst[0]) for the first extreme value
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
    let o = ((wid.z * nwg.y + wid.y) * nwg.x + wid.x) * WG + lid;
    if (o >= u.outer) { return; }
    ${offsetCode('base', 'o', krank, 'kshape', 'kst', 'off')}
    var bi = 0u;
    if (u.inner > 0u) {
      var best = x[u32(base)];
      for (var i = 1u; i < u.inner; i++) {
        ${nan ? 'if (is_nan(best)) { break; }' : ''}
        let v = x[u32(base + i32(i) * u.rst[0].x)];
        if (${nan ? `is_nan(v) || ${better}` : better}) { best = v; bi = i; }
      }
    }
    out[o] = i32(bi);
}`;
    return { params: PARAMS, inputs: 1, outputs: 1, workgroupSize: [WG], source };
  });
}

export function argReduce(host: Host, op: 'argmax' | 'argmin', x: View, axis: number): GpuStorage {
  const t = wgslType(x.dtype, op);
  const keptAxes = x.shape.map((_, i) => i).filter((i) => i !== axis);
  const k = collapse(keptAxes.map((i) => x.shape[i]), [keptAxes.map((i) => x.strides[i])]);
  checkRank(k.shape.length, op);
  const outer = numel(k.shape);
  const out = host.alloc('int32', outer, op);
  if (outer > 0) {
    host.rt.run(argKernel(op, t, k.shape.length), [bufferOf(x, op)], [out.buffer], {
      kshape: k.shape, kst: k.strides[0], rshape: [x.shape[axis]], rst: [x.strides[axis]],
      off: x.offset, outer, inner: x.shape[axis], chunks: 1, len: 0,
    }, Math.ceil(outer / WG));
  }
  return out;
}
