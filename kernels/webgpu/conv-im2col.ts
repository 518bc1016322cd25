// Convolution as explicit im2col + matmul (used on CPU adapters such as SwiftShader for layers with few
// channels or few pixels, and for the weight gradient; see strategyFor in conv.ts).
//
// The unfolded input cols[n, g][(c, i, j), p] = x[n, g·Cg + c, y·sh − ph + i·dh, x·sw − pw + j·dw] (0 in the
// padding) is written by one gather kernel, then the products run on the register-blocked matmul, the
// fastest kernel we have there. Rows of cols are padded to a multiple of 4 pixels (P4) so the matmul reads
// them as vec4. Images are processed in chunks that keep cols under COLS_BUDGET elements.
//   forward:         out[n, g] = W_g[Og, Kg] · cols[n, g][Kg, P]
//   input gradient:  cols[n, g] = W_gᵀ[Kg, Og] · gy[n, g][Og, P], then col2im (a gather over the taps that
//                    hit each input pixel, in the CPU's order — no atomics)
//   weight gradient: gw_g += gy[n, g][Og, P] · cols[n, g]ᵀ[P, Kg] for each image (matmul accumulate)
import type { Conv2dParams, View } from '../../core/backend';
import { mapKernel, unaryOp } from './elementwise';
import { matmulInto } from './matmul';
import type { GpuEpilogue } from './epilogue';
import type { Host } from './runtime/host';
import { bufferOf } from './runtime/host';
import { defineKernel, type Kernel } from './runtime/kernel';
import type { GpuStorage } from './runtime/storage';
import { UniformLayout } from './runtime/uniforms';
import { collapse } from './strided';

const WG = 64;
/** Largest unfolded-input buffer per chunk of images, in elements (64 MiB). */
const COLS_BUDGET = 16 * 1024 * 1024;

export interface ConvGeometry {
  N: number; C: number; H: number; W: number; O: number; G: number; Cg: number; Og: number;
  kh: number; kw: number; Ho: number; Wo: number; p: Conv2dParams;
}

const IM2COL_PARAMS = new UniformLayout([
  ['n0', 'u32'], ['rows', 'u32'], ['G', 'u32'], ['Cg', 'u32'], ['Kg', 'u32'], ['kh', 'u32'], ['kw', 'u32'],
  ['Wo', 'u32'], ['P', 'u32'], ['P4v', 'u32'], ['H', 'i32'], ['W', 'i32'],
  ['sh', 'i32'], ['sw', 'i32'], ['ph', 'i32'], ['pw', 'i32'], ['dh', 'i32'], ['dw', 'i32'],
  ['off', 'i32'], ['sN', 'i32'], ['sC', 'i32'], ['sH', 'i32'], ['sW', 'i32'],
]);

const im2colKernel: Kernel = defineKernel('im2col', () => ({
  workgroupSize: [WG],
  params: IM2COL_PARAMS,
  inputs: 1,
  outputs: 1,
  source: () => `
${IM2COL_PARAMS.wgsl()}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> cols: array<vec4<f32>>;
const WG = ${WG}u; // each invocation writes 4 consecutive pixels of one cols row

// cols[(n - n0)·G + g][k = (c, i, j)][p] = x[n, g·Cg + c, y·sh − ph + i·dh, x·sw − pw + j·dw], 0 outside
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = ((wid.z * nwg.y + wid.y) * nwg.x + wid.x) * WG + lid;
  let pv = t % u.P4v;
  let row = t / u.P4v;
  if (row >= u.rows) { return; }
  let k = row % u.Kg;
  let bg = row / u.Kg;
  let g = bg % u.G;
  let n = u.n0 + bg / u.G;
  let khw = u.kh * u.kw;
  let c = k / khw;
  let i = i32((k % khw) / u.kw);
  let j = i32(k % u.kw);
  let base = u.off + i32(n) * u.sN + i32(g * u.Cg + c) * u.sC;
  var v = vec4<f32>(0.0);
  for (var q = 0u; q < 4u; q++) {
    let p = pv * 4u + q;
    let ih = i32(p / u.Wo) * u.sh - u.ph + i * u.dh;
    let iw = i32(p % u.Wo) * u.sw - u.pw + j * u.dw;
    let ok = (p < u.P) & (ih >= 0) & (ih < u.H) & (iw >= 0) & (iw < u.W); // & not &&: see conv.ts
    v[q] = select(0.0, x[u32(select(base, base + ih * u.sH + iw * u.sW, ok))], ok);
  }
  cols[t] = v;
}`,
}));

const COL2IM_PARAMS = new UniformLayout([
  ['total', 'u32'], ['C', 'u32'], ['H', 'i32'], ['W', 'i32'], ['G', 'u32'], ['Cg', 'u32'], ['Kg', 'u32'],
  ['kh', 'i32'], ['kw', 'i32'], ['Ho', 'i32'], ['Wo', 'i32'], ['P', 'u32'],
  ['sh', 'i32'], ['sw', 'i32'], ['ph', 'i32'], ['pw', 'i32'], ['dh', 'i32'], ['dw', 'i32'], ['outOff', 'u32'],
]);

const col2imKernel: Kernel = defineKernel('col2im', () => ({
  workgroupSize: [WG],
  params: COL2IM_PARAMS,
  inputs: 1,
  outputs: 1,
  source: () => `
${COL2IM_PARAMS.wgsl()}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> cols: array<f32>;
@group(0) @binding(2) var<storage, read_write> gx: array<f32>;
const WG = ${WG}u;

// gx[n, c, h, w] = Σ_{i,j} cols[n, g][(c, i, j)][(y, x)] over the taps whose output position (y, x) exists
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let e = ((wid.z * nwg.y + wid.y) * nwg.x + wid.x) * WG + lid;
  if (e >= u.total) { return; }
  let w = i32(e % u32(u.W));
  let h = i32((e / u32(u.W)) % u32(u.H));
  let c = (e / u32(u.W * u.H)) % u.C;
  let nl = e / (u32(u.W * u.H) * u.C);
  let g = c / u.Cg;
  let rowBase = ((nl * u.G + g) * u.Kg + (c % u.Cg) * u32(u.kh * u.kw)) * u.P;
  var acc = 0.0;
  for (var i = 0; i < u.kh; i++) {
    let ty = h + u.ph - i * u.dh;
    let y = ty / u.sh;
    if (ty < 0 || ty % u.sh != 0 || y >= u.Ho) { continue; }
    for (var j = 0; j < u.kw; j++) {
      let tx = w + u.pw - j * u.dw;
      let x = tx / u.sw;
      if (tx < 0 || tx % u.sw != 0 || x >= u.Wo) { continue; }
      acc += cols[rowBase + u32(i * u.kw + j) * u.P + u32(y * u.Wo + x)];
    }
  }
  gx[u.outOff + e] = acc;
}`,
}));

/** Images per chunk so the unfolded input stays under COLS_BUDGET elements. */
function chunkSize(g: ConvGeometry, rowLen: number): number {
  return Math.max(1, Math.min(g.N, Math.floor(COLS_BUDGET / Math.max(1, g.G * g.Cg * g.kh * g.kw * rowLen))));
}

function im2col(host: Host, x: View, g: ConvGeometry, n0: number, count: number, op: string): { cols: GpuStorage; P4: number } {
  const P = g.Ho * g.Wo;
  const P4 = Math.ceil(P / 4) * 4;
  const Kg = g.Cg * g.kh * g.kw;
  const rows = count * g.G * Kg;
  const cols = host.alloc('float32', rows * P4, op);
  host.rt.run(im2colKernel, [bufferOf(x, op)], [cols.buffer], {
    n0, rows, G: g.G, Cg: g.Cg, Kg, kh: g.kh, kw: g.kw, Wo: g.Wo, P, P4v: P4 / 4, H: g.H, W: g.W,
    sh: g.p.stride[0], sw: g.p.stride[1], ph: g.p.padding[0], pw: g.p.padding[1], dh: g.p.dilation[0], dw: g.p.dilation[1],
    off: x.offset, sN: x.strides[0], sC: x.strides[1], sH: x.strides[2], sW: x.strides[3],
  }, Math.ceil((rows * P4) / 4 / WG));
  return { cols, P4 };
}

/** The weight as a row-major [O, Cg·kh·kw] matrix view (a contiguous copy when its strides do not merge). */
function weightMatrix(host: Host, w: View, op: string): { view: View; temp: GpuStorage | null } {
  const [O, Cg, kh, kw] = w.shape;
  const K = Cg * kh * kw;
  const k = collapse([Cg, kh, kw], [w.strides.slice(1)]);
  if (k.shape.length <= 1) {
    return { view: { ...w, shape: [O, K], strides: [w.strides[0], k.shape.length ? k.strides[0][0] : 1] }, temp: null };
  }
  const temp = mapKernel(host, op, unaryOp('copy', 'float32'), [w], w.shape, 'float32')!;
  return { view: { storage: temp, shape: [O, K], strides: [K, 1], offset: 0, dtype: 'float32' }, temp };
}

/** [N, C, P] view of an NCHW tensor's pixels (a contiguous copy when H and W do not merge). */
function pixelMatrix(host: Host, t: View, op: string): { view: View; temp: GpuStorage | null } {
  const [N, C, H, W] = t.shape;
  if (H === 1 || W === 1 || t.strides[2] === W * t.strides[3]) {
    const sP = W === 1 ? t.strides[2] : t.strides[3];
    return { view: { ...t, shape: [N, C, H * W], strides: [t.strides[0], t.strides[1], sP] }, temp: null };
  }
  const temp = mapKernel(host, op, unaryOp('copy', 'float32'), [t], t.shape, 'float32')!;
  return { view: { storage: temp, shape: [N, C, H * W], strides: [C * H * W, H * W, 1], offset: 0, dtype: 'float32' }, temp };
}

/** Forward; the optional epilogue (bias [O] by output channel, activation) is fused into the matmul write-out. */
export function conv2dIm2col(host: Host, x: View, w: View, g: ConvGeometry, out: GpuStorage, epilogue: GpuEpilogue | null = null): void {
  const op = 'conv2d';
  const P = g.Ho * g.Wo;
  const Kg = g.Cg * g.kh * g.kw;
  const wm = weightMatrix(host, w, op);
  const [sO, sK] = wm.view.strides;
  const chunk = chunkSize(g, Math.ceil(P / 4) * 4);
  for (let n0 = 0; n0 < g.N; n0 += chunk) {
    const count = Math.min(chunk, g.N - n0);
    const { cols, P4 } = im2col(host, x, g, n0, count, op);
    const colsView = (offset: number, batch: number): View => ({ storage: cols, shape: [batch, Kg, P], strides: [Kg * P4, P4, 1], offset, dtype: 'float32' });
    // bias as a view over each product's [batch, rows, P] output: rows are output channels (batch = group)
    const biasView = (batch: number, rows: number, sb: number): GpuEpilogue | null => epilogue && {
      kind: epilogue.kind,
      bias: epilogue.bias && { ...epilogue.bias, shape: [batch, rows, P], strides: [sb * epilogue.bias.strides[0], epilogue.bias.strides[0], 0] },
    };
    if (g.G === 1) {
      matmulInto(host, { ...wm.view, shape: [count, g.O, Kg], strides: [0, sO, sK] }, colsView(0, count), out, {}, n0 * g.O * P, biasView(count, g.O, 0));
    } else {
      for (let nl = 0; nl < count; nl++) {
        const a: View = { ...wm.view, shape: [g.G, g.Og, Kg], strides: [g.Og * sO, sO, sK] };
        matmulInto(host, a, colsView(nl * g.G * Kg * P4, g.G), out, {}, (n0 + nl) * g.O * P, biasView(g.G, g.Og, g.Og));
      }
    }
    host.release(cols);
  }
  if (wm.temp) host.release(wm.temp);
}

export function conv2dBackwardInputIm2col(host: Host, gy: View, w: View, g: ConvGeometry, out: GpuStorage): void {
  const op = 'conv2dBackwardInput';
  const P = g.Ho * g.Wo;
  const Kg = g.Cg * g.kh * g.kw;
  const wm = weightMatrix(host, w, op);
  const [sO, sK] = wm.view.strides;
  const gm = pixelMatrix(host, gy, op);
  const [gN, gC, gP] = gm.view.strides;
  const chunk = chunkSize(g, P);
  for (let n0 = 0; n0 < g.N; n0 += chunk) {
    const count = Math.min(chunk, g.N - n0);
    // cols[n, g] = W_gᵀ · gy[n, g]  ([count·G, Kg, P], contiguous)
    const cols = host.alloc('float32', count * g.G * Kg * P, op);
    if (g.G === 1) {
      const a: View = { ...wm.view, shape: [count, Kg, g.O], strides: [0, sK, sO] };
      const b: View = { ...gm.view, shape: [count, g.O, P], strides: [gN, gC, gP], offset: gm.view.offset + n0 * gN };
      matmulInto(host, a, b, cols);
    } else {
      for (let nl = 0; nl < count; nl++) {
        const a: View = { ...wm.view, shape: [g.G, Kg, g.Og], strides: [g.Og * sO, sK, sO] };
        const b: View = { ...gm.view, shape: [g.G, g.Og, P], strides: [g.Og * gC, gC, gP], offset: gm.view.offset + (n0 + nl) * gN };
        matmulInto(host, a, b, cols, {}, nl * g.G * Kg * P);
      }
    }
    const total = count * g.C * g.H * g.W;
    host.rt.run(col2imKernel, [cols.buffer], [out.buffer], {
      total, C: g.C, H: g.H, W: g.W, G: g.G, Cg: g.Cg, Kg, kh: g.kh, kw: g.kw, Ho: g.Ho, Wo: g.Wo, P,
      sh: g.p.stride[0], sw: g.p.stride[1], ph: g.p.padding[0], pw: g.p.padding[1], dh: g.p.dilation[0], dw: g.p.dilation[1],
      outOff: n0 * g.C * g.H * g.W,
    }, Math.ceil(total / WG));
    host.release(cols);
  }
  if (wm.temp) host.release(wm.temp);
  if (gm.temp) host.release(gm.temp);
}

export function conv2dBackwardWeightIm2col(host: Host, x: View, gy: View, g: ConvGeometry, out: GpuStorage): void {
  const op = 'conv2dBackwardWeight';
  const P = g.Ho * g.Wo;
  const Kg = g.Cg * g.kh * g.kw;
  const gm = pixelMatrix(host, gy, op);
  const [gN, gC, gP] = gm.view.strides;
  const chunk = chunkSize(g, Math.ceil(P / 4) * 4);
  for (let n0 = 0; n0 < g.N; n0 += chunk) {
    const count = Math.min(chunk, g.N - n0);
    const { cols, P4 } = im2col(host, x, g, n0, count, op);
    for (let nl = 0; nl < count; nl++) {
      // gw[g] (+)= gy[n, g][Og, P] · cols[n, g]ᵀ[P, Kg]
      const a: View = { ...gm.view, shape: [g.G, g.Og, P], strides: [g.Og * gC, gC, gP], offset: gm.view.offset + (n0 + nl) * gN };
      const b: View = { storage: cols, shape: [g.G, P, Kg], strides: [Kg * P4, 1, P4], offset: nl * g.G * Kg * P4, dtype: 'float32' };
      matmulInto(host, a, b, out, { accumulate: n0 + nl > 0 });
    }
    host.release(cols);
  }
  if (gm.temp) host.release(gm.temp);
}
