// Example kernel variant: the textbook workgroup-memory tiled matmul.
//
//   finercam bench-kernel bench/variants/matmul-workgroup-tiled.ts [--model resnet50]
//
// A 16×16 workgroup computes a 16×16 tile of C, one output per invocation. K is walked in slices of 16: each
// invocation copies one element of A and one of B into workgroup memory, a barrier makes the slices visible
// to the whole workgroup, every invocation does 16 FMAs from workgroup memory, and a second barrier keeps the
// next copy from overwriting a slice still being read. Every element of A and B is read from device memory
// 16 times fewer than in a naive kernel. Compare it with the built-in kernels (kernels/webgpu/matmul.ts,
// register-blocked; matmul-tiled.ts, 64×64 tiles with 4×4 outputs per invocation).
//
// A variant is a function of the kit (so it needs no runtime import of finercam): it gets the same views as the
// backend's matmul and returns a fresh storage. Fused epilogues are left to the built-in kernel here.
import type { KernelVariant, VariantKit } from '../../kernels/webgpu/index';

export default function variant(kit: VariantKit): KernelVariant<'matmul'> {
  const TILE = 16;
  const params = new kit.UniformLayout([
    ['M', 'u32'], ['N', 'u32'], ['K', 'u32'], ['batch', 'u32'], ['tilesN', 'u32'], ['tilesM', 'u32'],
    ['offA', 'i32'], ['sbA', 'i32'], ['smA', 'i32'], ['skA', 'i32'],
    ['offB', 'i32'], ['sbB', 'i32'], ['skB', 'i32'], ['snB', 'i32'],
  ]);
  const kernel = kit.defineKernel('example_matmul_wg16', () => ({
    params,
    inputs: 2,
    outputs: 1,
    workgroupSize: [TILE, TILE],
    source: () => `${params.wgsl()}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
const TILE = ${TILE}u;
var<workgroup> As: array<array<f32, ${TILE}>, ${TILE}>; // As[row][k]
var<workgroup> Bs: array<array<f32, ${TILE}>, ${TILE}>; // Bs[k][col]

@compute @workgroup_size(TILE, TILE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  // the runtime folds a long grid into y and z (≤ 65,535 per dimension): recover the linear workgroup id
  let w = (wid.z * nwg.y + wid.y) * nwg.x + wid.x;
  let tiles = u.tilesN * u.tilesM;
  let b = w / tiles;                           // batch
  if (b >= u.batch) { return; }                // a surplus workgroup of the folded grid (uniform: no barrier is skipped by half a workgroup)
  let t = w % tiles;
  let row = (t / u.tilesN) * TILE + lid.y;
  let col = (t % u.tilesN) * TILE + lid.x;
  let aBase = u.offA + i32(b) * u.sbA;
  let bBase = u.offB + i32(b) * u.sbB;
  var acc = 0.0;
  for (var k0 = 0u; k0 < u.K; k0 += TILE) {
    // each invocation brings one element of each slice; zeros outside the matrices
    var a = 0.0;
    if (row < u.M && k0 + lid.x < u.K) { a = A[u32(aBase + i32(row) * u.smA + i32(k0 + lid.x) * u.skA)]; }
    As[lid.y][lid.x] = a;
    var bv = 0.0;
    if (k0 + lid.y < u.K && col < u.N) { bv = B[u32(bBase + i32(k0 + lid.y) * u.skB + i32(col) * u.snB)]; }
    Bs[lid.y][lid.x] = bv;
    workgroupBarrier();
    for (var k = 0u; k < TILE; k++) { acc = fma(As[lid.y][k], Bs[k][lid.x], acc); }
    workgroupBarrier();
  }
  if (row < u.M && col < u.N) { C[b * u.M * u.N + row * u.N + col] = acc; }
}`,
  }));

  return {
    op: 'matmul',
    name: 'workgroup-tiled-16',
    description: '16×16 workgroup-memory tiles, one output per invocation',
    run(host, a, b, epilogue) {
      if (epilogue) return kit.builtin.matmul(host, a, b, epilogue);
      const [batch, M, K] = a.shape;
      const N = b.shape[2];
      const out = host.alloc('float32', batch * M * N, 'matmul');
      if (batch * M * N === 0) return out;
      const tilesM = kit.workgroupsFor(M, TILE);
      const tilesN = kit.workgroupsFor(N, TILE);
      host.rt.run(kernel, [kit.bufferOf(a, 'matmul'), kit.bufferOf(b, 'matmul')], [out.buffer], {
        M, N, K, batch, tilesN, tilesM,
        offA: a.offset, sbA: a.strides[0], smA: a.strides[1], skA: a.strides[2],
        offB: b.offset, sbB: b.strides[0], skB: b.strides[1], snB: b.strides[2],
      }, batch * tilesM * tilesN);
      return out;
    },
  };
}
