// Max pooling (NCHW) with torch's conventions, as in kernels/cpu/pool.ts: padding counts as −inf, indices are
// flat h·W + w positions in the input plane, the first maximum in scan order wins and a NaN always takes over.
//
// Forward: one invocation per output element scans its window (no tiling: the window is small and each input
// is read by at most ⌈k/s⌉² invocations).
// Backward: the contract passes only the recorded indices (not the window geometry), so each output element
// adds its gradient to gx[index] with an atomic float add (a compare-exchange loop on the bit pattern; WGSL
// has no float atomics) into a zero-filled buffer. Overlapping windows (e.g. 3×3 stride 2) therefore sum
// their ≤ 4 contributions in a scheduling-dependent order: results may differ from the CPU in the last bit.
import type { Pool2dParams, View } from '../../core/backend';
import { poolOutputSize } from '../../core/shape';
import { mapKernel, fillOp } from './elementwise';
import { mathHelpers } from './math-wgsl';
import type { Host } from './runtime/host';
import { bufferOf } from './runtime/host';
import { defineKernel, type Kernel } from './runtime/kernel';
import type { GpuStorage } from './runtime/storage';
import { UniformLayout } from './runtime/uniforms';
import { wgslType } from './strided';

const WG = 64;

const FWD_PARAMS = new UniformLayout([
  ['total', 'u32'], ['C', 'u32'], ['H', 'i32'], ['W', 'i32'], ['Ho', 'u32'], ['Wo', 'u32'],
  ['kh', 'i32'], ['kw', 'i32'], ['sh', 'i32'], ['sw', 'i32'], ['ph', 'i32'], ['pw', 'i32'], ['dh', 'i32'], ['dw', 'i32'],
  ['off', 'i32'], ['sN', 'i32'], ['sC', 'i32'], ['sH', 'i32'], ['sW', 'i32'],
]);

const fwdKernel: Kernel = defineKernel('maxpool2d', () => ({
  workgroupSize: [WG],
  params: FWD_PARAMS,
  inputs: 1,
  outputs: 2,
  source: () => `
${FWD_PARAMS.wgsl()}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> indices: array<i32>;
const WG = ${WG}u;
${mathHelpers(['is_nan', 'inf_f32'])}

// one invocation per output element (n, c, oh, ow)
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let o = ((wid.z * nwg.y + wid.y) * nwg.x + wid.x) * WG + lid;
  if (o >= u.total) { return; }
  let ow = i32(o % u.Wo);
  let oh = i32((o / u.Wo) % u.Ho);
  let nc = o / (u.Wo * u.Ho);
  let base = u.off + i32(nc / u.C) * u.sN + i32(nc % u.C) * u.sC;
  var best = -inf_f32();
  var bi = -1;
  for (var i = 0; i < u.kh; i++) {
    let ih = oh * u.sh - u.ph + i * u.dh;
    if (ih < 0 || ih >= u.H) { continue; }
    for (var j = 0; j < u.kw; j++) {
      let iw = ow * u.sw - u.pw + j * u.dw;
      if (iw < 0 || iw >= u.W) { continue; }
      let v = x[u32(base + ih * u.sH + iw * u.sW)];
      if (bi < 0 || v > best || is_nan(v)) { best = v; bi = ih * u.W + iw; }
    }
  }
  values[o] = best;
  indices[o] = bi;
}`,
}));

export function maxPool2d(host: Host, x: View, p: Pool2dParams): { values: GpuStorage; indices: GpuStorage } {
  if (wgslType(x.dtype, 'maxPool2d') !== 'f32') throw new TypeError('WebGPU backend: maxPool2d supports float32 only');
  const [N, C, H, W] = x.shape;
  const [kh, kw] = p.kernelSize;
  const Ho = poolOutputSize(H, kh, p.stride[0], p.padding[0], p.dilation[0], p.ceilMode);
  const Wo = poolOutputSize(W, kw, p.stride[1], p.padding[1], p.dilation[1], p.ceilMode);
  const total = N * C * Ho * Wo;
  const values = host.alloc('float32', total, 'maxPool2d');
  const indices = host.alloc('int32', total, 'maxPool2d');
  if (total > 0) {
    host.rt.run(fwdKernel, [bufferOf(x, 'maxPool2d')], [values.buffer, indices.buffer], {
      total, C, H, W, Ho, Wo, kh, kw, sh: p.stride[0], sw: p.stride[1], ph: p.padding[0], pw: p.padding[1],
      dh: p.dilation[0], dw: p.dilation[1], off: x.offset, sN: x.strides[0], sC: x.strides[1], sH: x.strides[2], sW: x.strides[3],
    }, Math.ceil(total / WG));
  }
  return { values, indices };
}

const BWD_PARAMS = new UniformLayout([
  ['total', 'u32'], ['C', 'u32'], ['HW', 'u32'], ['Ho', 'u32'], ['Wo', 'u32'],
  ['offG', 'i32'], ['gN', 'i32'], ['gC', 'i32'], ['gH', 'i32'], ['gW', 'i32'],
  ['offI', 'i32'], ['iN', 'i32'], ['iC', 'i32'], ['iH', 'i32'], ['iW', 'i32'],
]);

const bwdKernel: Kernel = defineKernel('maxpool2d_bwd', () => ({
  workgroupSize: [WG],
  params: BWD_PARAMS,
  inputs: 2,
  outputs: 1,
  source: () => `
${BWD_PARAMS.wgsl()}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> gx: array<atomic<u32>>;
const WG = ${WG}u;

// gx[i] += v with a compare-exchange loop on the float's bits
fn add_f32(i: u32, v: f32) {
  var old = atomicLoad(&gx[i]);
  loop {
    let r = atomicCompareExchangeWeak(&gx[i], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
    old = r.old_value;
  }
}

// one invocation per output element: send its gradient to the input position it took the max from
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let o = ((wid.z * nwg.y + wid.y) * nwg.x + wid.x) * WG + lid;
  if (o >= u.total) { return; }
  let ow = i32(o % u.Wo);
  let oh = i32((o / u.Wo) % u.Ho);
  let nc = o / (u.Wo * u.Ho);
  let n = i32(nc / u.C);
  let c = i32(nc % u.C);
  let i = idx[u32(u.offI + n * u.iN + c * u.iC + oh * u.iH + ow * u.iW)];
  if (i < 0 || u32(i) >= u.HW) { return; }
  add_f32(nc * u.HW + u32(i), gy[u32(u.offG + n * u.gN + c * u.gC + oh * u.gH + ow * u.gW)]);
}`,
}));

export function maxPool2dBackward(host: Host, gy: View, indices: View, inputShape: readonly number[]): GpuStorage {
  if (wgslType(gy.dtype, 'maxPool2dBackward') !== 'f32') throw new TypeError('WebGPU backend: maxPool2dBackward supports float32 only');
  if (indices.dtype !== 'int32') throw new TypeError('WebGPU backend: maxPool2dBackward needs int32 indices');
  const [N, C, H, W] = inputShape;
  const [, , Ho, Wo] = gy.shape;
  const gx = mapKernel(host, 'maxPool2dBackward', fillOp('float32', 0), [], [N * C * H * W], 'float32')!;
  const total = N * C * Ho * Wo;
  if (total > 0) {
    host.rt.run(bwdKernel, [bufferOf(gy, 'maxPool2dBackward'), bufferOf(indices, 'maxPool2dBackward')], [gx.buffer], {
      total, C, HW: H * W, Ho, Wo,
      offG: gy.offset, gN: gy.strides[0], gC: gy.strides[1], gH: gy.strides[2], gW: gy.strides[3],
      offI: indices.offset, iN: indices.strides[0], iC: indices.strides[1], iH: indices.strides[2], iW: indices.strides[3],
    }, Math.ceil(total / WG));
  }
  return gx;
}
