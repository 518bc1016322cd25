// torch.gather and zeros(shape).scatter_add_(dim, index, src), deterministic and without atomics.
//
// gather: one invocation per output element reads x at its own coordinates with coordinate `dim` replaced by
// the index value (clamped into range: the front end validates indices).
// scatterAdd: one invocation per *output* element loops over the index axis — out[c] = Σ_j src[c with
// c_dim = j] over the j whose index equals c_dim — so there are no write conflicts, the sum runs in the same
// order as the CPU's loop, and results are bit-identical to it. Cost: numel(out) · index.shape[dim] reads,
// which is small for the uses here (scattering class scores or per-row picks).
import type { View } from '../../core/backend';
import { numel } from '../../core/shape';
import type { Host } from './runtime/host';
import { bufferOf } from './runtime/host';
import { defineKernel, type Kernel } from './runtime/kernel';
import type { GpuStorage } from './runtime/storage';
import { MAX_RANK, UniformLayout, vecAt } from './runtime/uniforms';
import { wgslType } from './strided';

const WG = 64;

const PARAMS = new UniformLayout([
  ['shape', 'uvec'], ['ishape', 'uvec'], ['xst', 'ivec'], ['ist', 'ivec'], ['sst', 'ivec'],
  ['total', 'u32'], ['offX', 'i32'], ['offI', 'i32'], ['offS', 'i32'], ['dimSize', 'u32'], ['limit', 'i32'],
]);

/** WGSL: coordinates c0..c{rank-1} of row-major index `o` over the uniform vector `field`. */
function coords(rank: number, field: string): string {
  const lines = ['var r_ = o;'];
  for (let d = rank - 1; d >= 0; d--) {
    const s = vecAt(field, d);
    lines.push(d > 0 ? `let c${d} = i32(r_ % ${s}); r_ = r_ / ${s};` : `let c${d} = i32(r_);`);
  }
  return lines.join('\n  ');
}

function dot(rank: number, field: string, replace?: [number, string]): string {
  return [...Array(rank).keys()].map((d) => `${replace && replace[0] === d ? replace[1] : `c${d}`} * ${vecAt(field, d)}`).join(' + ') || '0';
}

function gatherKernel(t: 'f32' | 'i32', rank: number, dim: number): Kernel {
  const key = `gather|${t}|r${rank}|d${dim}`;
  return defineKernel(key, () => {
    const source = (): string => `
${PARAMS.wgsl()}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<${t}>;
@group(0) @binding(2) var<storage, read> index: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<${t}>;
const WG = ${WG}u;

// out[c] = x[c with c_dim = index[c]] for each output coordinate c (shape = index.shape)
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
    let o = ((wid.z * nwg.y + wid.y) * nwg.x + wid.x) * WG + lid;
    if (o >= u.total) { return; }
    ${coords(rank, 'ishape')}
    let j = clamp(index[u32(u.offI + ${dot(rank, 'ist')})], 0, u.limit);
    out[o] = x[u32(u.offX + ${dot(rank, 'xst', [dim, 'j'])})];
}`;
    return { params: PARAMS, inputs: 2, outputs: 1, workgroupSize: [WG], source };
  });
}

export function gather(host: Host, x: View, dim: number, index: View): GpuStorage {
  const t = wgslType(x.dtype, 'gather');
  if (index.dtype !== 'int32') throw new TypeError('WebGPU backend: gather needs an int32 index');
  const rank = index.shape.length;
  if (rank > MAX_RANK) throw new RangeError(`WebGPU backend: gather supports rank <= ${MAX_RANK}`);
  const total = numel(index.shape);
  const out = host.alloc(x.dtype, total, 'gather');
  if (total === 0) return out;
  host.rt.run(gatherKernel(t, rank, dim), [bufferOf(x, 'gather'), bufferOf(index, 'gather')], [out.buffer], {
    shape: x.shape, ishape: index.shape, xst: x.strides, ist: index.strides, sst: [],
    total, offX: x.offset, offI: index.offset, offS: 0, dimSize: x.shape[dim], limit: Math.max(0, x.shape[dim] - 1),
  }, Math.ceil(total / WG));
  return out;
}

function scatterKernel(t: 'f32' | 'i32', rank: number, dim: number): Kernel {
  const key = `scatter_add|${t}|r${rank}|d${dim}`;
  return defineKernel(key, () => {
    const zero = t === 'f32' ? '0.0' : '0';
    const inRange = [...Array(rank).keys()].filter((d) => d !== dim).map((d) => `c${d} < i32(${vecAt('ishape', d)})`).join(' && ') || 'true';
    const source = (): string => `
${PARAMS.wgsl()}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> index: array<i32>;
@group(0) @binding(2) var<storage, read> src: array<${t}>;
@group(0) @binding(3) var<storage, read_write> out: array<${t}>;
const WG = ${WG}u;

// out[c] = Σ_j src[c with c_dim = j] over the j (in order) whose index[c with c_dim = j] == c_dim
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
    let o = ((wid.z * nwg.y + wid.y) * nwg.x + wid.x) * WG + lid;
    if (o >= u.total) { return; }
    ${coords(rank, 'shape')}
    var acc: ${t} = ${zero};
    if (${inRange}) {
      let iBase = u.offI + ${dot(rank, 'ist', [dim, '0'])};
      let sBase = u.offS + ${dot(rank, 'sst', [dim, '0'])};
      let iStep = ${vecAt('ist', dim)};
      let sStep = ${vecAt('sst', dim)};
      for (var j = 0; j < i32(u.dimSize); j++) {
        if (index[u32(iBase + j * iStep)] == c${dim}) { acc = acc + src[u32(sBase + j * sStep)]; }
      }
    }
    out[o] = acc;
}`;
    return { params: PARAMS, inputs: 2, outputs: 1, workgroupSize: [WG], source };
  });
}

export function scatterAdd(host: Host, shape: readonly number[], dim: number, index: View, src: View): GpuStorage {
  const t = wgslType(src.dtype, 'scatterAdd');
  if (index.dtype !== 'int32') throw new TypeError('WebGPU backend: scatterAdd needs an int32 index');
  const rank = shape.length;
  if (rank > MAX_RANK) throw new RangeError(`WebGPU backend: scatterAdd supports rank <= ${MAX_RANK}`);
  const total = numel(shape);
  const out = host.alloc(src.dtype, total, 'scatterAdd');
  if (total === 0) return out;
  host.rt.run(scatterKernel(t, rank, dim), [bufferOf(index, 'scatterAdd'), bufferOf(src, 'scatterAdd')], [out.buffer], {
    shape, ishape: index.shape, xst: [], ist: index.strides, sst: src.strides,
    total, offX: 0, offI: index.offset, offS: src.offset, dimSize: numel(index.shape) === 0 ? 0 : index.shape[dim], limit: 0,
  }, Math.ceil(total / WG));
  return out;
}
