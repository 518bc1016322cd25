// 2-D convolution (NCHW): forward, gradient w.r.t. the input, gradient w.r.t. the weight.
//
// Two strategies (setConvStrategy overrides the choice):
//   * 'implicit': implicit GEMM with register blocking, no unfolded copy in memory — this file. On CPU
//     adapters for layers with many channels and pixels (see strategyFor).
//   * 'im2col': unfold the input, then matmul — conv-im2col.ts. On hardware GPUs, where matmul is the
//     workgroup-memory tiled kernel (matmul-tiled.ts); on CPU adapters (SwiftShader, register-blocked matmul)
//     for the other layers, where it is 1.2–1.8× the implicit kernel, and for the weight gradient (≈ 4× the
//     dedicated kernel below).
// A 1×1 stride-1 unpadded convolution is a plain matmul in every direction (either strategy).
//
// Implicit GEMM. Forward, per image n and group g: out[o, p] = Σ_{i,j,c} W[o, c, i, j] · x[c, y·sh − ph + i·dh,
// x·sw − pw + j·dw] (p = (y, x) an output pixel). The input gradient is the same product with the roles
// swapped ("transposed convolution"): gx[c, p] = Σ_{i,j,o} W[o, c, i, j] · gy[o, (y + ph − i·dh)/sh,
// (x + pw − j·dw)/sw], where the division must be exact. One kernel (`tapsKernel`) serves both:
//   * the taps (i, j) are the outer loop, so each output pixel's source position and its padding / stride
//     validity are computed once per tap, not once per multiply;
//   * the inner loop runs over the summed channels c, reading 4 pixels of the source (masked) and TM rows of
//     a re-laid-out weight Wt[i][j][c][row], contiguous along rows (vec4 loads). When the summed channels
//     come in fours, the source is read channels-last (copied to NHWC first unless it already is), so one
//     vec4 load brings 4 channels of a pixel;
//   * register blocking as in matmul.ts: each invocation holds TM rows × TN pixels of the output in vec4
//     accumulators — 8×4 with 8×8 invocations on hardware GPUs, 16×8 with 4×4 on CPU adapters. No workgroup
//     memory. Validity tests combine bools with `&`, not `&&`: SwiftShader's JIT took 6 s (and, with 8 pixels,
//     > 15 GB of memory) to compile the short-circuit control flow.
// Wt is a copy of the weight made per call (a strided copy kernel, ≈ 1 % of the convolution's work for 3×3).
// The forward write-out may apply a fused epilogue (epilogue.ts): out = act(acc + bias[channel]), which saves
// a full read + write pass over the output (the front end's separate bias add); the 1×1 and im2col paths pass
// the same epilogue to the matmul kernel, with the bias indexed by output row.
// The weight gradient (`weightGradKernel`) reduces over (n, y, x) with 8 output channels × 4 (c, i, j)
// columns per invocation.
import { convOutputSize } from '../../core/shape';
import type { Conv2dParams, Epilogue, View } from '../../core/backend';
import type { EpilogueKind, GpuEpilogue } from './epilogue';
import { NO_EPILOGUE, epilogueKey, epilogueWgsl, hasEpilogue, prepareEpilogue } from './epilogue';
import { mapKernel, unaryOp } from './elementwise';
import { matmulInto } from './matmul';
import { conv2dBackwardInputIm2col, conv2dBackwardWeightIm2col, conv2dIm2col } from './conv-im2col';
import type { Host } from './runtime/host';
import { bufferOf } from './runtime/host';
import { defineKernel, type Kernel } from './runtime/kernel';
import type { GpuStorage } from './runtime/storage';
import { UniformLayout } from './runtime/uniforms';
import { wgslType } from './strided';

/** Register tile of the implicit-GEMM kernel: rows × pixels per invocation, and the workgroup shape. */
export interface ConvTile {
  tm: number;
  tn: number;
  wgX: number;
  wgY: number;
}

/** Hardware GPUs: 8 rows × 4 pixels per invocation, 8×8 invocations (64×32 outputs per workgroup). */
const GPU_TILE: ConvTile = { tm: 8, tn: 4, wgX: 8, wgY: 8 };
/** CPU adapters: 16 rows × 8 pixels, 4×4 invocations — fewer loads per FMA (≈ 1.3× the GPU tile there). */
const CPU_TILE: ConvTile = { tm: 16, tn: 8, wgX: 4, wgY: 4 };
let tileOverride: ConvTile | null = null;

/** Tests / benchmarks: force a register tile for the implicit-GEMM kernel (null restores the default). */
export function setConvTile(t: ConvTile | null): void {
  tileOverride = t;
}

export type ConvStrategy = 'implicit' | 'im2col';
let strategyOverride: ConvStrategy | null = null;

/** Tests / benchmarks: force a strategy (null restores the default, see strategyFor). */
export function setConvStrategy(s: ConvStrategy | null): void {
  strategyOverride = s;
}

/**
 * Hardware GPUs: implicit GEMM. CPU adapters: implicit GEMM where it wins there — many summed channels
 * (≥ 16) over many output pixels (≥ 256), e.g. ResNet's 56² and 28² 3×3 layers (≈ 1.3× im2col) — and
 * im2col + matmul elsewhere (the 3-channel stem, 14² and 7² layers: 1.2–1.8× the implicit kernel).
 */
function strategyFor(host: Host, inner: number, pixels: number): ConvStrategy {
  if (strategyOverride) return strategyOverride;
  // Hardware GPUs: unfold + the workgroup-memory tiled matmul (matmul-tiled.ts), the GPU-shaped path.
  if (!host.rt.ctx.info.isFallbackAdapter) return 'im2col';
  return inner >= 16 && pixels >= 256 ? 'implicit' : 'im2col';
}

function tileFor(host: Host): ConvTile {
  return tileOverride ?? (host.rt.ctx.info.isFallbackAdapter ? CPU_TILE : GPU_TILE);
}

const WG_X = 8; // weight-gradient kernel: invocations along (c, i, j) columns (4 each)
const WG_Y = 8; // ... along output channels (8 each)

const TAPS_PARAMS = new UniformLayout([
  ['images', 'u32'], ['groups', 'u32'], ['rows', 'u32'], ['rowsTotal', 'u32'], ['inner', 'u32'],
  ['P', 'u32'], ['Wout', 'u32'], ['Hs', 'i32'], ['Ws', 'i32'],
  ['kh', 'u32'], ['kw', 'u32'], ['sh', 'i32'], ['sw', 'i32'], ['ph', 'i32'], ['pw', 'i32'], ['dh', 'i32'], ['dw', 'i32'],
  ['tilesR', 'u32'], ['tilesP', 'u32'],
  ['offS', 'i32'], ['sN', 'i32'], ['sC', 'i32'], ['sH', 'i32'], ['sW', 'i32'], ['inv_sh', 'f32'], ['inv_sw', 'f32'],
  ['offBias', 'i32'], ['sBias', 'i32'],
]);

/**
 * out[n, g·rows + r, p] = Σ_{i,j} Σ_{c < inner} Wt[i, j, c, g·rows + r] · S[n, g·inner + c, src(p, i, j)].
 * `transposed` selects the source position: forward y·s − pad + i·d, or backward (y + pad − i·d)/s if exact.
 */
function tapsKernel(transposed: boolean, vecRows: boolean, chLast: boolean, tile: ConvTile, epi: EpilogueKind = NO_EPILOGUE): Kernel {
  const { tm, tn, wgX, wgY } = tile;
  const key = `conv_taps|${transposed ? 'bwd' : 'fwd'}|${vecRows ? 'v' : 's'}|${chLast ? 'nhwc' : 'nchw'}|${tm}x${tn}|${wgX}x${wgY}${epilogueKey(epi)}`;
  const fused = hasEpilogue(epi);
  return defineKernel(key, () => {
    const P = [...Array(tn).keys()]; // pixels of an invocation
    const G4 = [...Array(tm / 4).keys()]; // its rows, in vec4 groups
    const R = [...Array(tm).keys()];
    const srcPos = transposed
      ? (axis: 'y' | 'x', t: string): string => {
        const [s, p, d, n] = axis === 'y' ? ['sh', 'ph', 'dh', 'Hs'] : ['sw', 'pw', 'dw', 'Ws'];
        // t / s via a float reciprocal ((t + ½)/s is at least ½/s away from an integer, so floor is exact for any
        // realistic size): SwiftShader takes seconds to compile this kernel with integer division in it
        const inv = axis === 'y' ? 'inv_sh' : 'inv_sw';
        // (non-short-circuit & on bools: a 3-term && here made SwiftShader take 6 s to compile the kernel)
        return `let ${axis}t = ${axis}0 + u.${p} - ${t} * u.${d}; let ${axis}s = i32(floor((f32(${axis}t) + 0.5) * u.${inv})); let ${axis}ok = (${axis}t >= 0) & (${axis}s * u.${s} == ${axis}t) & (${axis}s < u.${n});`;
      }
      : (axis: 'y' | 'x', t: string): string => {
        const [s, p, d, n] = axis === 'y' ? ['sh', 'ph', 'dh', 'Hs'] : ['sw', 'pw', 'dw', 'Ws'];
        return `let ${axis}s = ${axis}0 * u.${s} - u.${p} + ${t} * u.${d}; let ${axis}ok = (${axis}s >= 0) & (${axis}s < u.${n});`;
      };
    const source = (): string => `
${TAPS_PARAMS.wgsl()}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> S: array<${chLast ? 'vec4<f32>' : 'f32'}>;
@group(0) @binding(2) var<storage, read> Wt: array<${vecRows ? 'vec4<f32>' : 'f32'}>;
${epi.bias ? '@group(0) @binding(3) var<storage, read> Bias: array<f32>;\n' : ''}@group(0) @binding(${epi.bias ? 4 : 3}) var<storage, read_write> out: array<f32>;
${epilogueWgsl(epi)}
const WG_X = ${wgX}u; // invocations along output pixels
const WG_Y = ${wgY}u; // invocations along output rows
const TN = ${tn}u; // output pixels per invocation
const TM = ${tm}u; // output rows per invocation

// source row (or column) of output coordinate o0 for tap t along one axis, and whether it exists
fn src_y(y0: i32, i: i32) -> vec2<i32> {
    ${srcPos('y', 'i')}
    return vec2<i32>(ys, select(0, 1, yok));
}
fn src_x(x0: i32, j: i32) -> vec2<i32> {
    ${srcPos('x', 'j')}
    return vec2<i32>(xs, select(0, 1, xok));
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
    // workgroup → (image n, group g, row tile, pixel tile); the grid may be folded past 65,535
    let wg = (wid.z * nwg.y + wid.y) * nwg.x + wid.x;
    let tileP = wg % u.tilesP;
    let tileR = (wg / u.tilesP) % u.tilesR;
    let ng = wg / (u.tilesP * u.tilesR);
    if (ng >= u.images * u.groups) { return; }
    let n = ng / u.groups;
    let g = ng % u.groups;
    let r0 = (tileR * WG_Y + lid.y) * TM;
    let p0 = (tileP * WG_X + lid.x) * TN;
${vecRows
      ? `  // rows r0.. in vec4 groups, clamped to the group's last aligned row (rows past the end are dropped)
    let lastRow4 = g * u.rows + ((u.rows - 1u) & ~3u);
${G4.map((h) => `  let rowv${h} = min(g * u.rows + r0 + ${4 * h}u, lastRow4);`).join('\n')}`
      : `  // rows r0.., clamped to the group's last row
${R.map((r) => `  let row${r} = g * u.rows + min(r0 + ${r}u, u.rows - 1u);`).join('\n')}`}
    let srcBase = u.offS + i32(n) * u.sN + i32(g * u.inner) * u.sC;
    // acc<q>_<h>: pixel p0+q, rows r0+4h .. r0+4h+3
${P.map((q) => G4.map((h) => `  var acc${q}_${h} = vec4<f32>(0.0);`).join('')).join('\n')}
    // output pixel coordinates, once (pixels past the end are masked out)
${P.map((q) => `  let y${q} = i32((p0 + ${q}u) / u.Wout); let x${q} = i32((p0 + ${q}u) % u.Wout); let in${q} = p0 + ${q}u < u.P;`).join('\n')}
    for (var i = 0; i < i32(u.kh); i++) {
${P.map((q) => `    let sy${q} = src_y(y${q}, i);`).join('\n')}
      for (var j = 0; j < i32(u.kw); j++) {
        // this tap's source offset and validity per pixel (the clamped offset 0 is read but masked)
${P.map((q) => `      let sx${q} = src_x(x${q}, j); let ok${q} = in${q} & (sy${q}.y == 1) & (sx${q}.y == 1);
        let s${q} = srcBase + select(0, sy${q}.x * u.sH + sx${q}.x * u.sW, ok${q});`).join('\n')}
        let wTap = (u32(i) * u.kw + u32(j)) * u.inner;
${chLast ? `      // channels-last source: 4 consecutive channels of a pixel are one vec4
        for (var c = 0u; c < u.inner; c += 4u) {
${P.map((q) => `        let x${q} = select(vec4<f32>(0.0), S[u32(s${q} + i32(c)) >> 2u], ok${q});`).join('\n')}
${[0, 1, 2, 3].map((kk) => `        {
            let wi = (wTap + c + ${kk}u) * u.rowsTotal;
${vecRows
      ? G4.map((h) => `          let w${h} = Wt[(wi + rowv${h}) >> 2u];`).join('\n')
      : G4.map((h) => `          let w${h} = vec4<f32>(${[0, 1, 2, 3].map((r) => `Wt[wi + row${4 * h + r}]`).join(', ')});`).join('\n')}
${P.map((q) => G4.map((h) => `          acc${q}_${h} = fma(w${h}, vec4<f32>(x${q}.${'xyzw'[kk]}), acc${q}_${h});`).join('\n')).join('\n')}
          }`).join('\n')}
        }` : `      for (var c = 0u; c < u.inner; c++) {
          let wi = (wTap + c) * u.rowsTotal;
${vecRows
      ? G4.map((h) => `        let w${h} = Wt[(wi + rowv${h}) >> 2u];`).join('\n')
      : G4.map((h) => `        let w${h} = vec4<f32>(${[0, 1, 2, 3].map((r) => `Wt[wi + row${4 * h + r}]`).join(', ')});`).join('\n')}
          let cOff = i32(c) * u.sC;
${P.map((q) => `        let x${q} = vec4<f32>(select(0.0, S[u32(s${q} + cOff)], ok${q}));`).join('\n')}
${P.map((q) => G4.map((h) => `        acc${q}_${h} = fma(w${h}, x${q}, acc${q}_${h});`).join('\n')).join('\n')}
        }`}
      }
    }
    let outBase = (n * u.rowsTotal + g * u.rows) * u.P;
${P.map((q) => `  if (in${q}) {
${G4.map((h) => `    for (var r = 0u; r < 4u; r++) { if (r0 + ${4 * h}u + r < u.rows) { out[outBase + (r0 + ${4 * h}u + r) * u.P + p0 + ${q}u] = ${fused
      ? `epi_(acc${q}_${h}[r], u.offBias + i32(g * u.rows + r0 + ${4 * h}u + r) * u.sBias)` // fused bias (by channel) + activation
      : `acc${q}_${h}[r]`}; } }`).join('\n')}
    }`).join('\n')}
}`;
    return { params: TAPS_PARAMS, inputs: epi.bias ? 3 : 2, outputs: 1, workgroupSize: [wgX, wgY], source };
  });
}

/** A contiguous copy of `w` viewed with the given axis order (sizes and strides picked from w's axes). */
function relayout(host: Host, w: View, shape: number[], strides: number[], op: string): GpuStorage {
  return mapKernel(host, op, unaryOp('copy', 'float32'), [{ ...w, shape, strides }], shape, 'float32')!;
}

function checkF32(op: string, ...views: View[]): void {
  for (const v of views) {
    if (wgslType(v.dtype, op) !== 'f32') throw new TypeError(`WebGPU backend: ${op} supports float32 only`);
  }
}

function isPointwise(kh: number, kw: number, p: Conv2dParams): boolean {
  return kh === 1 && kw === 1 && p.stride[0] === 1 && p.stride[1] === 1 && p.padding[0] === 0 && p.padding[1] === 0 && p.groups === 1;
}

/** x's [H, W] axes as one pixel axis, or null when its strides do not allow it. */
function pixelsView(x: View): View | null {
  const [N, C, H, W] = x.shape;
  if (H > 1 && W > 1 && x.strides[2] !== W * x.strides[3]) return null;
  return { ...x, shape: [N, C, H * W], strides: [x.strides[0], x.strides[1], W > 1 ? x.strides[3] : x.strides[2]] };
}

function runTaps(host: Host, transposed: boolean, src: View, wt: GpuStorage, out: GpuStorage, g: {
  images: number; groups: number; rows: number; inner: number; Ho: number; Wo: number; Hs: number; Ws: number;
  kh: number; kw: number; p: Conv2dParams;
}, op: string, epilogue: GpuEpilogue | null = null): void {
  const P = g.Ho * g.Wo;
  const rowsTotal = g.rows * g.groups;
  if (g.images * rowsTotal * P === 0) return;
  const vecRows = rowsTotal % 4 === 0 && g.rows % 4 === 0;
  const tile = tileFor(host);
  const tilesR = Math.ceil(g.rows / (tile.wgY * tile.tm));
  const tilesP = Math.ceil(P / (tile.wgX * tile.tn));
  // Channels-last source when whole vec4s of channels exist: reuse a view already laid out that way, else copy.
  const [N, C, H, W] = src.shape;
  let s = src;
  let temp: GpuStorage | null = null;
  const chLast = g.inner % 4 === 0;
  if (chLast) {
    const aligned = (v: number, n: number): boolean => n === 1 || v % 4 === 0;
    const ready = (src.strides[1] === 1 || C === 1) && src.offset % 4 === 0 && aligned(src.strides[0], N) && aligned(src.strides[2], H) && aligned(src.strides[3], W);
    if (!ready) {
      temp = relayout(host, src, [N, H, W, C], [src.strides[0], src.strides[2], src.strides[3], src.strides[1]], op);
      s = { storage: temp, shape: src.shape, strides: [H * W * C, 1, W * C, C], offset: 0, dtype: 'float32' };
    }
  }
  const bias = epilogue?.bias ?? null;
  const inputs = [bufferOf(s, op), wt.buffer];
  if (bias) inputs.push(bufferOf(bias, op));
  host.rt.run(tapsKernel(transposed, vecRows, chLast, tile, epilogue?.kind), inputs, [out.buffer], {
    images: g.images, groups: g.groups, rows: g.rows, rowsTotal, inner: g.inner, P, Wout: g.Wo, Hs: g.Hs, Ws: g.Ws,
    kh: g.kh, kw: g.kw, sh: g.p.stride[0], sw: g.p.stride[1], ph: g.p.padding[0], pw: g.p.padding[1],
    dh: g.p.dilation[0], dw: g.p.dilation[1], tilesR, tilesP,
    offS: s.offset, sN: s.strides[0], sC: s.strides[1], sH: s.strides[2], sW: s.strides[3],
    inv_sh: 1 / g.p.stride[0], inv_sw: 1 / g.p.stride[1], offBias: bias?.offset ?? 0, sBias: bias?.strides[0] ?? 0,
  }, g.images * g.groups * tilesR * tilesP);
  if (temp) host.release(temp);
}

export function conv2d(host: Host, x: View, w: View, p: Conv2dParams, epilogue?: Epilogue): GpuStorage {
  checkF32('conv2d', x, w);
  const [N, , H, W] = x.shape;
  const [O, Cg, kh, kw] = w.shape;
  const G = p.groups;
  const Ho = convOutputSize(H, kh, p.stride[0], p.padding[0], p.dilation[0]);
  const Wo = convOutputSize(W, kw, p.stride[1], p.padding[1], p.dilation[1]);
  const epi = prepareEpilogue('conv2d', epilogue, O);
  const out = host.alloc('float32', N * O * Ho * Wo, 'conv2d');
  if (N * O * Ho * Wo === 0) return out;
  const xp = isPointwise(kh, kw, p) ? pixelsView(x) : null;
  if (xp) {
    // out[n] = W[O, C] · x[n][C, H·W], bias by output row
    const bias: View | null = epi.bias ? { ...epi.bias, shape: [N, O, Ho * Wo], strides: [0, epi.bias.strides[0], 0] } : null;
    matmulInto(host, { ...w, shape: [N, O, Cg], strides: [0, w.strides[0], w.strides[1]] }, xp, out, {}, 0, { kind: epi.kind, bias });
    return out;
  }
  if (strategyFor(host, Cg, Ho * Wo) === 'im2col') {
    conv2dIm2col(host, x, w, { N, C: x.shape[1], H, W, O, G, Cg, Og: O / G, kh, kw, Ho, Wo, p }, out, epi);
    return out;
  }
  // Wt[i][j][c][o] = w[o, c, i, j]
  const wt = relayout(host, w, [kh, kw, Cg, O], [w.strides[2], w.strides[3], w.strides[1], w.strides[0]], 'conv2d');
  runTaps(host, false, x, wt, out, { images: N, groups: G, rows: O / G, inner: Cg, Ho, Wo, Hs: H, Ws: W, kh, kw, p }, 'conv2d', epi);
  host.release(wt);
  return out;
}

export function conv2dBackwardInput(host: Host, gy: View, w: View, p: Conv2dParams, inputShape: readonly number[]): GpuStorage {
  checkF32('conv2dBackwardInput', gy, w);
  const [N, C, H, W] = inputShape;
  const [O, Cg, kh, kw] = w.shape;
  const [, , Ho, Wo] = gy.shape;
  const G = p.groups;
  const Og = O / G;
  if (convOutputSize(H, kh, p.stride[0], p.padding[0], p.dilation[0]) !== Ho || convOutputSize(W, kw, p.stride[1], p.padding[1], p.dilation[1]) !== Wo) {
    throw new Error('conv2dBackwardInput: gradient shape does not match the convolution');
  }
  const out = host.alloc('float32', N * C * H * W, 'conv2dBackwardInput');
  if (N * C * H * W === 0) return out;
  const gp = isPointwise(kh, kw, p) ? pixelsView(gy) : null;
  if (gp) {
    // gx[n] = Wᵀ[C, O] · gy[n][O, H·W]
    matmulInto(host, { ...w, shape: [N, C, O], strides: [0, w.strides[1], w.strides[0]] }, gp, out);
    return out;
  }
  if (strategyFor(host, Og, H * W) === 'im2col') {
    conv2dBackwardInputIm2col(host, gy, w, { N, C, H, W, O, G, Cg, Og, kh, kw, Ho, Wo, p }, out);
    return out;
  }
  // Wt[i][j][o][g·Cg + c] = w[g·Og + o, c, i, j]
  const wt = relayout(host, w, [kh, kw, Og, G, Cg], [w.strides[2], w.strides[3], w.strides[0], Og * w.strides[0], w.strides[1]], 'conv2dBackwardInput');
  runTaps(host, true, gy, wt, out, { images: N, groups: G, rows: Cg, inner: Og, Ho: H, Wo: W, Hs: Ho, Ws: Wo, kh, kw, p }, 'conv2dBackwardInput');
  host.release(wt);
  return out;
}

const WGRAD_PARAMS = new UniformLayout([
  ['images', 'u32'], ['groups', 'u32'], ['Og', 'u32'], ['Kg', 'u32'], ['Ho', 'u32'], ['Wo', 'u32'],
  ['H', 'i32'], ['W', 'i32'], ['kh', 'u32'], ['kw', 'u32'],
  ['sh', 'i32'], ['sw', 'i32'], ['ph', 'i32'], ['pw', 'i32'], ['dh', 'i32'], ['dw', 'i32'],
  ['tilesR', 'u32'], ['tilesK', 'u32'],
  ['offX', 'i32'], ['xN', 'i32'], ['xC', 'i32'], ['xH', 'i32'], ['xW', 'i32'],
  ['offG', 'i32'], ['gN', 'i32'], ['gC', 'i32'], ['gH', 'i32'], ['gW', 'i32'],
]);

function weightGradKernel(): Kernel {
  const key = 'conv_wgrad';
  return defineKernel(key, () => {
    const Q = [0, 1, 2, 3];
    const R = [0, 1, 2, 3, 4, 5, 6, 7];
    const source = (): string => `
${WGRAD_PARAMS.wgsl()}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> GY: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
const WG_X = ${WG_X}u; // invocations along the (c, i, j) columns, 4 each
const WG_Y = ${WG_Y}u; // invocations along output channels, 8 each

// gw[g·Og + o, c, i, j] = Σ_n Σ_y Σ_x gy[n, g·Og + o, y, x] · x[n, g·Cg + c, y·sh − ph + i·dh, x·sw − pw + j·dw]
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
    let wg = (wid.z * nwg.y + wid.y) * nwg.x + wid.x;
    let tileK = wg % u.tilesK;
    let tileR = (wg / u.tilesK) % u.tilesR;
    let g = wg / (u.tilesK * u.tilesR);
    if (g >= u.groups) { return; }
    let o0 = (tileR * WG_Y + lid.y) * 8u;
    let k0 = (tileK * WG_X + lid.x) * 4u;
    let khw = u.kh * u.kw;
    // the 4 columns (c, i, j): channel offset into x and the tap displacement; clamped past the end
${Q.map((q) => `  let kk${q} = min(k0 + ${q}u, u.Kg - 1u);
    let xc${q} = u.offX + i32(g * (u.Kg / khw) + kk${q} / khw) * u.xC;
    let di${q} = i32((kk${q} % khw) / u.kw) * u.dh - u.ph;
    let dj${q} = i32(kk${q} % u.kw) * u.dw - u.pw;`).join('\n')}
${R.map((r) => `  let go${r} = u.offG + i32(g * u.Og + min(o0 + ${r}u, u.Og - 1u)) * u.gC;`).join('\n')}
${R.map((r) => `  var acc${r} = vec4<f32>(0.0);`).join('\n')}
    for (var n = 0; n < i32(u.images); n++) {
      for (var y = 0; y < i32(u.Ho); y++) {
${Q.map((q) => `      let iy${q} = y * u.sh + di${q}; let rowOk${q} = (iy${q} >= 0) & (iy${q} < u.H); let xr${q} = xc${q} + n * u.xN + iy${q} * u.xH;`).join('\n')}
        let gRow = n * u.gN + y * u.gH;
        for (var x = 0; x < i32(u.Wo); x++) {
${Q.map((q) => `        let ix${q} = x * u.sw + dj${q}; let ok${q} = rowOk${q} & (ix${q} >= 0) & (ix${q} < u.W);
          let v${q} = select(0.0, X[u32(select(0, xr${q} + ix${q} * u.xW, ok${q}))], ok${q});`).join('\n')}
          let xv = vec4<f32>(v0, v1, v2, v3);
          let gi = gRow + x * u.gW;
${R.map((r) => `        acc${r} = fma(vec4<f32>(GY[u32(go${r} + gi)]), xv, acc${r});`).join('\n')}
        }
      }
    }
${R.map((r) => `  if (o0 + ${r}u < u.Og) { for (var q = 0u; q < 4u; q++) { if (k0 + q < u.Kg) { out[(g * u.Og + o0 + ${r}u) * u.Kg + k0 + q] = acc${r}[q]; } } }`).join('\n')}
}`;
    return { params: WGRAD_PARAMS, inputs: 2, outputs: 1, workgroupSize: [WG_X, WG_Y], source };
  });
}

export function conv2dBackwardWeight(host: Host, x: View, gy: View, p: Conv2dParams, weightShape: readonly number[]): GpuStorage {
  checkF32('conv2dBackwardWeight', x, gy);
  const [N, C, H, W] = x.shape;
  const [O, Cg, kh, kw] = weightShape;
  if (C !== Cg * p.groups) throw new Error('conv2dBackwardWeight: input channels do not match the weight shape');
  const [, , Ho, Wo] = gy.shape;
  const G = p.groups;
  if (convOutputSize(H, kh, p.stride[0], p.padding[0], p.dilation[0]) !== Ho || convOutputSize(W, kw, p.stride[1], p.padding[1], p.dilation[1]) !== Wo) {
    throw new Error('conv2dBackwardWeight: gradient shape does not match the convolution');
  }
  const size = O * Cg * kh * kw;
  const out = host.alloc('float32', size, 'conv2dBackwardWeight');
  if (size === 0) return out;
  const xp = isPointwise(kh, kw, p) ? pixelsView(x) : null;
  const gp = xp ? pixelsView(gy) : null;
  if (xp && gp && N === 1) {
    // gw[O, C] = gy[O, P] · x[C, P]ᵀ
    matmulInto(host, gp, { ...xp, shape: [1, H * W, C], strides: [xp.strides[0], xp.strides[2], xp.strides[1]] }, out);
    return out;
  }
  const Kg = Cg * kh * kw;
  const Og = O / G;
  // the weight gradient's own kernel is slow on CPU adapters (scalar gathers): im2col + matmul there
  if ((strategyOverride ?? (host.rt.ctx.info.isFallbackAdapter ? 'im2col' : 'implicit')) === 'im2col' && N > 0) {
    conv2dBackwardWeightIm2col(host, x, gy, { N, C, H, W, O, G, Cg, Og, kh, kw, Ho, Wo, p }, out);
    return out;
  }
  const tilesR = Math.ceil(Og / (WG_Y * 8));
  const tilesK = Math.ceil(Kg / (WG_X * 4));
  host.rt.run(weightGradKernel(), [bufferOf(x, 'conv2dBackwardWeight'), bufferOf(gy, 'conv2dBackwardWeight')], [out.buffer], {
    images: N, groups: G, Og, Kg, Ho, Wo, H, W, kh, kw,
    sh: p.stride[0], sw: p.stride[1], ph: p.padding[0], pw: p.padding[1], dh: p.dilation[0], dw: p.dilation[1],
    tilesR, tilesK,
    offX: x.offset, xN: x.strides[0], xC: x.strides[1], xH: x.strides[2], xW: x.strides[3],
    offG: gy.offset, gN: gy.strides[0], gC: gy.strides[1], gH: gy.strides[2], gW: gy.strides[3],
  }, G * tilesR * tilesK);
  return out;
}
