// Batched matrix product with workgroup-memory tiling — the shape of kernel real GPUs want.
//
// Same contract as the register-blocked kernel (matmul.ts: C[b] = A[b]·B[b], any strides, optional fused
// epilogue or accumulate, same uniform layout), different tiling:
//   * a workgroup of 16×16 invocations owns a 64×64 tile of C; each invocation keeps a 4×4 block of it in
//     four vec4 registers;
//   * K is walked 16 at a time: the workgroup first copies a 64×16 slice of A and a 16×64 slice of B into
//     workgroup memory (each invocation loads 4 + 4 elements; out-of-range elements are stored as 0, so any
//     M, N, K work), waits at a barrier, then every invocation runs 16 steps of 4 vec4 FMAs reading only
//     workgroup memory, and waits again before the next slice overwrites it.
// Every element of A and B is read from device memory once per workgroup instead of once per invocation,
// which is what matters on a GPU where device-memory bandwidth, not FMAs, bounds a register-only kernel.
// The slices are stored k-major (As[k][m], Bs[k][n]) so the inner loop's reads are contiguous 4-wide runs.
// On SwiftShader (a CPU) barriers become coroutine switches and this kernel is several times slower than the
// register-blocked one; matmul.ts picks it on hardware adapters only (setMatmulStrategy forces either).
import type { Kernel } from './runtime/kernel';
import { defineKernel } from './runtime/kernel';
import type { EpilogueKind } from './epilogue';
import { NO_EPILOGUE, epilogueKey, epilogueWgsl, hasEpilogue } from './epilogue';
import type { UniformLayout } from './runtime/uniforms';

/** Outputs per workgroup along M and N, K slice per barrier, invocations per side. */
export const TILED = { tile: 64, bk: 16, side: 16 } as const;

export function matmulTiledKernel(params: UniformLayout, accumulate: boolean, epi: EpilogueKind = NO_EPILOGUE): Kernel {
  if (accumulate && hasEpilogue(epi)) throw new Error('matmulTiledKernel: an epilogue cannot be fused with accumulate');
  const key = `matmul_tiled|${TILED.tile}x${TILED.tile}x${TILED.bk}${accumulate ? '|+' : ''}${epilogueKey(epi)}`;
  return defineKernel(key, () => ({
    params,
    inputs: epi.bias ? 3 : 2,
    outputs: 1,
    workgroupSize: [TILED.side, TILED.side],
    source: () => {
      const fused = hasEpilogue(epi);
      const store = (v: string, at: string): string => (accumulate ? `C[${at}] = C[${at}] + ${v};` : `C[${at}] = ${v};`);
      const out = fused ? 'epi_(acc[r][c], biasBase + row * u.smBias + col * u.snBias)' : 'acc[r][c]';
      return `${params.wgsl()}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
${epi.bias ? '@group(0) @binding(3) var<storage, read> Bias: array<f32>;\n' : ''}@group(0) @binding(${epi.bias ? 4 : 3}) var<storage, read_write> C: array<f32>;
${fused ? epilogueWgsl(epi) : ''}
const TILE = ${TILED.tile}u; // outputs per workgroup along M and along N
const BK = ${TILED.bk}u;     // K values per workgroup-memory slice
const SIDE = ${TILED.side}u; // invocations per side; each owns 4×4 outputs
var<workgroup> As: array<array<f32, ${TILED.tile}>, ${TILED.bk}>; // As[k][m]
var<workgroup> Bs: array<array<f32, ${TILED.tile}>, ${TILED.bk}>; // Bs[k][n]

@compute @workgroup_size(SIDE, SIDE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  // workgroup → (batch, tile row, tile column); the grid may be folded past 65,535
  let wg = (wid.z * nwg.y + wid.y) * nwg.x + wid.x;
  let tileN = wg % u.tilesN;
  let tileM = (wg / u.tilesN) % u.tilesM;
  let b = wg / (u.tilesN * u.tilesM);
  // no early return: every invocation must reach the barriers; a surplus workgroup only skips its stores
  let live = b < u.batch;
  let m0 = tileM * TILE;
  let n0 = tileN * TILE;
  let aBase = u.offA + i32(b) * u.sbA;
  let bBase = u.offB + i32(b) * u.sbB;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < u.K; k0 += BK) {
    // cooperative load: 256 invocations × 4 elements of each slice, zero outside the matrices
    for (var e = li; e < TILE * BK; e += SIDE * SIDE) {
      let am = e / BK; let ak = e % BK;       // A slice: consecutive invocations walk k (rows of A)
      let gm = m0 + am; let gk = k0 + ak;
      var av = 0.0;
      if (live && gm < u.M && gk < u.K) { av = A[u32(aBase + i32(gm) * u.smA + i32(gk) * u.skA)]; }
      As[ak][am] = av;
      let bk = e / TILE; let bn = e % TILE;   // B slice: consecutive invocations walk n (rows of B)
      let hk = k0 + bk; let hn = n0 + bn;
      var bv = 0.0;
      if (live && hk < u.K && hn < u.N) { bv = B[u32(bBase + i32(hk) * u.skB + i32(hn) * u.snB)]; }
      Bs[bk][bn] = bv;
    }
    workgroupBarrier();
    let mr = lid.y * 4u;
    let nc = lid.x * 4u;
    for (var kk = 0u; kk < BK; kk++) {
      let bv = vec4<f32>(Bs[kk][nc], Bs[kk][nc + 1u], Bs[kk][nc + 2u], Bs[kk][nc + 3u]);
      acc[0] = fma(vec4<f32>(As[kk][mr]), bv, acc[0]);
      acc[1] = fma(vec4<f32>(As[kk][mr + 1u]), bv, acc[1]);
      acc[2] = fma(vec4<f32>(As[kk][mr + 2u]), bv, acc[2]);
      acc[3] = fma(vec4<f32>(As[kk][mr + 3u]), bv, acc[3]);
    }
    workgroupBarrier();
  }
  if (!live) { return; }
  let cBase = u.offC + i32(b * u.M * u.N);
  let biasBase = u.offBias + i32(b) * u.sbBias;
  for (var r = 0u; r < 4u; r++) {
    let row = i32(m0 + lid.y * 4u + r);
    if (row >= i32(u.M)) { break; }
    for (var c = 0u; c < 4u; c++) {
      let col = i32(n0 + lid.x * 4u + c);
      if (col < i32(u.N)) {
        let at = u32(cBase + row * i32(u.N) + col);
        ${store(out, 'at')}
      }
    }
  }
}`;
    },
  }));
}
