// Batched matrix product C[b] = A[b] · B[b] for A: [B, M, K], B: [B, K, N] with any strides → contiguous C.
//
// Tiling (register blocking, no workgroup memory): each invocation keeps a TM×TN block of C in registers
// (TM·TN/4 vec4 accumulators) and walks K four steps at a time; one step reads TM·4 values of A and 4·TN of B
// and does TM·TN FMAs (as vec4). Tile sizes per adapter class:
//   * hardware GPUs: TM×TN = 8×4, 8×8 invocations per workgroup (64×32 outputs), the tfjs/ORT shape;
//   * CPU adapters (SwiftShader): 16×8, 4×4 invocations (64×32 outputs). Each WGSL scalar is one 4-lane SIMD
//     register there and loads are per-lane gathers, so fewer loads per FMA win: 16×8 runs ≈ 1.5× faster
//     than 8×4 and reaches ≈ 85 % of a pure-FMA kernel (bench/webgpu-kernels.ts).
// Operands are read straight from storage, as vec4 wherever the layout allows:
//   A: 'k' — rows contiguous along K (vec4 over k), 'm' — columns contiguous along M (A transposed;
//      vec4 over m), 's' — anything else (scalar strided loads);
//   B: 'n' — rows contiguous along N (vec4 over n), 'k' — contiguous along K (B transposed, e.g. x·Wᵀ),
//      's' — scalar strided.
// vec4 modes also need 4-aligned offsets and outer strides. Rows/columns past the edge are clamped to the last
// valid one on load and dropped on store, so any M, N, K work; K % 4 leftovers run in a scalar tail loop.
//
// Optional fused epilogue (epilogue.ts) at the write-out: C = act(A·B + bias), the bias element of output
// (b, m, n) at offBias + b·sbBias + m·smBias + n·snBias — by column for matmul, by row (output channel) when
// conv2d runs on this kernel. Fused because it saves a full read + write pass over C.
//
// Two strategies: this register-blocked kernel (CPU adapters: on SwiftShader workgroup-memory tiling is several
// times slower and takes seconds to compile, barriers becoming coroutines) and the workgroup-memory tiled one in
// matmul-tiled.ts (hardware GPUs). setMatmulStrategy forces either; the conformance suite runs both.
import type { Epilogue, View } from '../../core/backend';
import type { Host } from './runtime/host';
import { bufferOf } from './runtime/host';
import { defineKernel, type Kernel } from './runtime/kernel';
import type { GpuStorage } from './runtime/storage';
import { UniformLayout } from './runtime/uniforms';
import { wgslType } from './strided';
import type { EpilogueKind, GpuEpilogue } from './epilogue';
import { NO_EPILOGUE, epilogueKey, epilogueWgsl, hasEpilogue, prepareEpilogue } from './epilogue';
import { TILED, matmulTiledKernel } from './matmul-tiled';

export type AMode = 'k' | 'm' | 's';
export type BMode = 'n' | 'k' | 's';

export interface MatmulConfig {
  /** Output rows per invocation (multiple of 4). */
  tm: number;
  a: AMode;
  b: BMode;
  /** N % 4 == 0: store whole vec4 rows. */
  vecOut: boolean;
  /** C += A·B instead of C = A·B. */
  accumulate?: boolean;
  /** Output columns per invocation (4 or 8). */
  tn?: number;
  /** Workgroup shape (invocations along N and along M). */
  wgX?: number;
  wgY?: number;
  /** Fused bias / activation at the write-out (not with accumulate). */
  epilogue?: EpilogueKind;
}

const WG_X = 8; // default invocations along N
const WG_Y = 8; // default invocations along M
export const DEFAULT_TM = 8;
export const DEFAULT_TN = 4;

/** Register tile and workgroup shape per adapter class (see the header comment). */
type Tile = Required<Pick<MatmulConfig, 'tm' | 'tn' | 'wgX' | 'wgY'>>;
/** Hardware GPUs: 8×4 outputs per invocation, 8×8 invocations (64×32 per workgroup), as tfjs/ORT. */
const GPU_TILE: Tile = { tm: 8, tn: 4, wgX: 8, wgY: 8 };
/** CPU adapters (SwiftShader): 16×8 per invocation, 4×4 invocations — ≈ 1.5× the 8×4 tile there. */
const CPU_TILE: Tile = { tm: 16, tn: 8, wgX: 4, wgY: 4 };

const PARAMS = new UniformLayout([
  ['M', 'u32'], ['N', 'u32'], ['K', 'u32'], ['batch', 'u32'], ['tilesM', 'u32'], ['tilesN', 'u32'],
  ['offC', 'i32'], ['offA', 'i32'], ['sbA', 'i32'], ['smA', 'i32'], ['skA', 'i32'],
  ['offB', 'i32'], ['sbB', 'i32'], ['skB', 'i32'], ['snB', 'i32'],
  ['offBias', 'i32'], ['sbBias', 'i32'], ['smBias', 'i32'], ['snBias', 'i32'],
]);

const C4 = ['x', 'y', 'z', 'w'];

export function matmulKernel(cfg: MatmulConfig): Kernel {
  const wgX = cfg.wgX ?? WG_X;
  const wgY = cfg.wgY ?? WG_Y;
  const tn = cfg.tn ?? DEFAULT_TN;
  const epi = cfg.epilogue ?? NO_EPILOGUE;
  if (cfg.accumulate && hasEpilogue(epi)) throw new Error('matmulKernel: an epilogue cannot be fused with accumulate');
  const key = `matmul|${cfg.tm}x${tn}|a${cfg.a}|b${cfg.b}|${cfg.vecOut ? 'v' : 's'}${cfg.accumulate ? '+' : ''}|${wgX}x${wgY}${epilogueKey(epi)}`;
  return defineKernel(key, () => {
    const { tm } = cfg;
    const R = [...Array(tm).keys()]; // output rows of an invocation
    const Q = [...Array(tm / 4).keys()]; // ... in vec4 groups (A mode 'm')
    const H = [...Array(tn / 4).keys()]; // output columns in vec4 groups
    const TNs = [...Array(tn).keys()]; // output columns
    const J = [0, 1, 2, 3];

    const source = (): string => {
      const L: string[] = [];
      // -- per-invocation setup: clamped row / column bases (element indices, i32)
      const setup: string[] = [];
      if (cfg.a === 'm') {
        setup.push('let lastRow4 = i32((u.M - 1u) & ~3u);');
        for (const q of Q) setup.push(`let aCol${q} = aBase + min(row0 + ${4 * q}, lastRow4);`);
      } else {
        for (const r of R) setup.push(`let aRow${r} = aBase + min(row0 + ${r}, lastRow) * u.smA;`);
      }
      if (cfg.b === 'n') {
        setup.push('let lastCol4 = i32((u.N - 1u) & ~3u);');
        for (const h of H) setup.push(`let bCol${h} = bBase + min(col0 + ${4 * h}, lastCol4);`);
      } else {
        for (const j of TNs) setup.push(`let bCol${j} = bBase + min(col0 + ${j}, lastCol) * u.snB;`);
      }

      // -- loads for one block of 4 k values starting at k (i32), and the A/B value expressions
      const block: string[] = [];
      let aval: (r: number, kk: number) => string;
      if (cfg.a === 'k') {
        for (const r of R) block.push(`let a${r} = A[u32(aRow${r} + k) >> 2u];`);
        aval = (r, kk) => `a${r}.${C4[kk]}`;
      } else if (cfg.a === 'm') {
        for (const kk of J) for (const q of Q) block.push(`let a${kk}_${q} = A[u32(aCol${q} + (k + ${kk}) * u.skA) >> 2u];`);
        aval = (r, kk) => `a${kk}_${r >> 2}.${C4[r & 3]}`;
      } else {
        aval = (r, kk) => `A[u32(aRow${r} + (k + ${kk}) * u.skA)]`;
      }
      // b<kk>_<h>: row k+kk of B, columns col0+4h .. col0+4h+3
      if (cfg.b === 'n') {
        for (const kk of J) for (const h of H) block.push(`let b${kk}_${h} = B[u32(bCol${h} + (k + ${kk}) * u.skB) >> 2u];`);
      } else if (cfg.b === 'k') {
        for (const j of TNs) block.push(`let bt${j} = B[u32(bCol${j} + k) >> 2u];`);
        for (const kk of J) for (const h of H) block.push(`let b${kk}_${h} = vec4<f32>(${J.map((j) => `bt${4 * h + j}.${C4[kk]}`).join(', ')});`);
      } else {
        for (const kk of J) for (const h of H) block.push(`let b${kk}_${h} = vec4<f32>(${J.map((j) => `B[u32(bCol${4 * h + j} + (k + ${kk}) * u.skB)]`).join(', ')});`);
      }
      for (const kk of J) {
        for (const r of R) {
          block.push(`let av${kk}_${r} = vec4<f32>(${aval(r, kk)});`);
          for (const h of H) block.push(`acc${r}_${h} = fma(av${kk}_${r}, b${kk}_${h}, acc${r}_${h});`);
        }
      }

      // -- scalar tail for k in [K4, K): element-indexed loads (vec4 arrays indexed as [i >> 2][i & 3])
      const el = (arr: string, vec: boolean, idx: string): string => (vec ? `${arr}[u32(${idx}) >> 2u][u32(${idx}) & 3u]` : `${arr}[u32(${idx})]`);
      const aVec = cfg.a !== 's';
      const bVec = cfg.b !== 's';
      const tail: string[] = [];
      for (const h of H) {
        if (cfg.b === 'n') tail.push(`let bt${h} = B[u32(bCol${h} + k * u.skB) >> 2u];`);
        else tail.push(`let bt${h} = vec4<f32>(${J.map((j) => el('B', bVec, `bCol${4 * h + j} + k * u.skB`)).join(', ')});`);
      }
      for (const r of R) {
        const aIdx = cfg.a === 'm' ? `aCol${r >> 2} + ${r & 3} + k * u.skA` : `aRow${r} + k * u.skA`;
        tail.push(`let at${r} = vec4<f32>(${el('A', aVec, aIdx)});`);
        for (const h of H) tail.push(`acc${r}_${h} = fma(at${r}, bt${h}, acc${r}_${h});`);
      }

      // -- stores (rows and columns past the edge are dropped), through the fused epilogue if any
      const fused = hasEpilogue(epi);
      const biasAt = (row: string, col: string): string => `biasBase + (${row}) * u.smBias + (${col}) * u.snBias`;
      const store: string[] = [];
      for (const r of R) {
        const row = `row0 + ${r}`;
        for (const h of H) {
          const col = `col0 + ${4 * h}`;
          if (cfg.vecOut) {
            const at = `C[u32(cBase + (${row}) * i32(u.N) + ${col}) >> 2u]`;
            const v = fused ? `epi4_(acc${r}_${h}, ${biasAt(row, col)}, u.snBias)` : `acc${r}_${h}`;
            store.push(`if (${row} < i32(u.M) && ${col} < i32(u.N)) { ${at} = ${cfg.accumulate ? `${at} + ` : ''}${v}; }`);
          } else {
            const at = `C[u32(cBase + (${row}) * i32(u.N) + ${col} + j)]`;
            const v = fused ? `epi_(acc${r}_${h}[j], ${biasAt(row, `${col} + j`)})` : `acc${r}_${h}[j]`;
            store.push(`if (${row} < i32(u.M)) { for (var j = 0; j < 4; j++) { if (${col} + j < i32(u.N)) { ${at} = ${cfg.accumulate ? `${at} + ` : ''}${v}; } } }`);
          }
        }
      }

      L.push(PARAMS.wgsl(), '@group(0) @binding(0) var<uniform> u: Params;');
      L.push(`@group(0) @binding(1) var<storage, read> A: array<${aVec ? 'vec4<f32>' : 'f32'}>;`);
      L.push(`@group(0) @binding(2) var<storage, read> B: array<${bVec ? 'vec4<f32>' : 'f32'}>;`);
      if (epi.bias) L.push('@group(0) @binding(3) var<storage, read> Bias: array<f32>;');
      L.push(`@group(0) @binding(${epi.bias ? 4 : 3}) var<storage, read_write> C: array<${cfg.vecOut ? 'vec4<f32>' : 'f32'}>;`);
      if (fused) L.push(epilogueWgsl(epi));
      L.push(`const WG_X = ${wgX}u; // invocations along N, TN columns each
const WG_Y = ${wgY}u; // invocations along M, TM rows each
const TM = ${tm}u; // output rows per invocation
const TN = ${tn}u; // output columns per invocation`);
      L.push(`@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
    // workgroup → (batch, tile row, tile column); the grid may be folded past 65,535
    let wg = (wid.z * nwg.y + wid.y) * nwg.x + wid.x;
    let tileN = wg % u.tilesN;
    let tileM = (wg / u.tilesN) % u.tilesM;
    let b = wg / (u.tilesN * u.tilesM);
    if (b >= u.batch) { return; }
    let row0 = i32((tileM * WG_Y + lid.y) * TM);
    let col0 = i32((tileN * WG_X + lid.x) * TN);
    let lastRow = i32(u.M) - 1;
    let lastCol = i32(u.N) - 1;
    let aBase = u.offA + i32(b) * u.sbA;
    let bBase = u.offB + i32(b) * u.sbB;
    let cBase = u.offC + i32(b * u.M * u.N);
    let biasBase = u.offBias + i32(b) * u.sbBias;
    ${setup.join('\n  ')}
${R.map((r) => H.map((h) => `  var acc${r}_${h} = vec4<f32>(0.0);`).join('')).join('\n')}
    let K4 = i32(u.K & ~3u);
    var k = 0;
    for (; k < K4; k += 4) {
      ${block.join('\n    ')}
    }
    for (; k < i32(u.K); k++) {
      ${tail.join('\n    ')}
    }
    ${store.join('\n  ')}
}`);
      return L.join('\n\n');
    };
    return { params: PARAMS, inputs: epi.bias ? 3 : 2, outputs: 1, workgroupSize: [wgX, wgY], source };
  });
}

/** Offset and the strides of non-trivial axes ([stride, size]) are all multiples of 4. */
function aligned(offset: number, ...axes: [number, number][]): boolean {
  return offset % 4 === 0 && axes.every(([s, n]) => n === 1 || s % 4 === 0);
}

/** The fastest access modes a pair of views allows. */
export function chooseModes(a: View, b: View): { a: AMode; b: BMode } {
  const [batch, M, K] = a.shape;
  const N = b.shape[2];
  const [sbA, smA, skA] = a.strides;
  const [sbB, skB, snB] = b.strides;
  let am: AMode = 's';
  if (K >= 4 && skA === 1 && aligned(a.offset, [sbA, batch], [smA, M])) am = 'k';
  else if (M >= 4 && smA === 1 && aligned(a.offset, [sbA, batch], [skA, K])) am = 'm';
  let bm: BMode = 's';
  if (N >= 4 && snB === 1 && aligned(b.offset, [sbB, batch], [skB, K])) bm = 'n';
  else if (K >= 4 && skB === 1 && aligned(b.offset, [sbB, batch], [snB, N])) bm = 'k';
  return { a: am, b: bm };
}

export type MatmulStrategy = 'registers' | 'tiled';
let strategyOverride: MatmulStrategy | null = null;

/** Tests / benchmarks: force a strategy (null restores the default: tiled on hardware GPUs, registers on CPU
 *  adapters — see the header comments of this file and matmul-tiled.ts). */
export function setMatmulStrategy(s: MatmulStrategy | null): void {
  strategyOverride = s;
}

export function matmulStrategyFor(host: Host): MatmulStrategy {
  return strategyOverride ?? (host.rt.ctx.info.isFallbackAdapter ? 'registers' : 'tiled');
}

/** Binds the uniforms both matmul kernels share (PARAMS) and records one workgroup per (batch, tile). */
function dispatchMatmul(host: Host, kernel: Kernel, a: View, b: View, bias: View | null, out: GpuStorage, outOffset: number, tilesM: number, tilesN: number): void {
  const [batch, M, K] = a.shape;
  const N = b.shape[2];
  const inputs = [bufferOf(a, 'matmul'), bufferOf(b, 'matmul')];
  if (bias) inputs.push(bufferOf(bias, 'matmul'));
  host.rt.run(kernel, inputs, [out.buffer], {
    M, N, K, batch, tilesM, tilesN, offC: outOffset,
    offA: a.offset, sbA: a.strides[0], smA: a.strides[1], skA: a.strides[2],
    offB: b.offset, sbB: b.strides[0], skB: b.strides[1], snB: b.strides[2],
    offBias: bias?.offset ?? 0, sbBias: bias?.strides[0] ?? 0, smBias: bias?.strides[1] ?? 0, snBias: bias?.strides[2] ?? 0,
  }, batch * tilesM * tilesN);
}

/** The workgroup-memory tiled kernel (matmul-tiled.ts) on the same uniforms as the register-blocked one. */
function matmulTiledInto(host: Host, a: View, b: View, out: GpuStorage, accumulate: boolean, outOffset: number, epilogue: GpuEpilogue | null): void {
  const M = a.shape[1];
  const N = b.shape[2];
  const bias = epilogue?.bias ?? null;
  const kernel = matmulTiledKernel(PARAMS, accumulate, epilogue?.kind ?? NO_EPILOGUE);
  const tilesM = Math.ceil(M / TILED.tile);
  const tilesN = Math.ceil(N / TILED.tile);
  dispatchMatmul(host, kernel, a, b, bias, out, outOffset, tilesM, tilesN);
}

/**
 * Records C = A·B (or C += A·B with cfg.accumulate; shapes validated by the caller) into `out`, whose batch b
 * is the contiguous [M, N] block at element outOffset + b·M·N. With `epilogue`, C = act(A·B + bias), where
 * epilogue.bias is a view of shape [B, M, N] (broadcast strides) giving each output's bias element.
 */
export function matmulInto(host: Host, a: View, b: View, out: GpuStorage, cfg: Partial<MatmulConfig> = {}, outOffset = 0, epilogue: GpuEpilogue | null = null): void {
  const [batch, M] = a.shape;
  const N = b.shape[2];
  if (batch * M * N === 0) return;
  // an explicit register tile in cfg (tests, benches) asks for the register-blocked kernel
  if (cfg.tm === undefined && matmulStrategyFor(host) === 'tiled') {
    matmulTiledInto(host, a, b, out, cfg.accumulate ?? false, outOffset, epilogue);
    return;
  }
  const modes = chooseModes(a, b);
  const tile = { ...(host.rt.ctx.info.isFallbackAdapter ? CPU_TILE : GPU_TILE) };
  // thin products (a few rows or columns, e.g. a classifier head on one image): shrink the register tile so
  // the invocations do not compute mostly clamped duplicates
  if (M <= 8) tile.tm = M <= 4 ? 4 : 8;
  if (N <= 4) tile.tn = 4;
  const full: MatmulConfig = {
    ...tile, ...cfg, a: cfg.a ?? modes.a, b: cfg.b ?? modes.b, vecOut: cfg.vecOut ?? (N % 4 === 0 && outOffset % 4 === 0),
    epilogue: epilogue?.kind ?? NO_EPILOGUE,
  };
  const bias = epilogue?.bias ?? null;
  const kernel = matmulKernel(full);
  const tilesM = Math.ceil(M / ((full.wgY ?? WG_Y) * full.tm));
  const tilesN = Math.ceil(N / ((full.wgX ?? WG_X) * (full.tn ?? DEFAULT_TN)));
  // K = 0 gives zeros: the loops do not run and the accumulators stay 0
  dispatchMatmul(host, kernel, a, b, bias, out, outOffset, tilesM, tilesN);
}

export function matmul(host: Host, a: View, b: View, cfg: Partial<MatmulConfig> = {}, epilogue?: Epilogue): GpuStorage {
  wgslType(a.dtype, 'matmul') === 'f32' || throwInt();
  wgslType(b.dtype, 'matmul') === 'f32' || throwInt();
  const [batch, M, K] = a.shape;
  const [bb, K2, N] = b.shape;
  if (a.shape.length !== 3 || b.shape.length !== 3 || bb !== batch || K2 !== K) {
    throw new Error(`WebGPU backend: matmul expects [B, M, K] × [B, K, N], got [${a.shape}] × [${b.shape}]`);
  }
  const epi = prepareEpilogue('matmul', epilogue, N);
  const out = host.alloc('float32', batch * M * N, 'matmul');
  // bias [N] indexed by the last dim: a [B, M, N] view broadcast over batch and rows
  const bias: View | null = epi.bias ? { ...epi.bias, shape: [batch, M, N], strides: [0, 0, epi.bias.strides[0]] } : null;
  matmulInto(host, a, b, out, cfg, 0, { kind: epi.kind, bias });
  return out;
}

function throwInt(): never {
  throw new TypeError('WebGPU backend: matmul supports float32 only');
}
