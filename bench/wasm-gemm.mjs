// The wasm backend's GEMM against TensorFlow.js's wasm backend (@tensorflow/tfjs-backend-wasm 4.22: XNNPACK,
// SIMD, one thread — tfjs has no threaded wasm in Node), same process, same timing policy (measure.mjs: median
// of clean reps after warm-up, reps disturbed by other processes retried), each timing covering the matmul and
// reading the result back (`await data()`). Ours runs on one thread (setThreads(1)) for the comparison, and
// again with every core (worker_threads over the shared memory) for reference.
// Prints GFLOP/s, the ratio ours / tfjs (above 1: we are faster) and the load other processes put on the
// machine meanwhile; GFLOP/s are also given as a share of the 200 GFLOP/s the 2-core machine reaches (OpenBLAS).
//
//   node bench/wasm-gemm.mjs [--sizes 256,512,1024] [--tiles] [--reps N] [--dist]
//   node --experimental-wasm-relaxed-simd bench/wasm-gemm.mjs     (Node 20: relaxed SIMD behind a flag)
// --tiles also times our GEMM with each register tile candidate (the measurement behind DEFAULT_TILE in
// kernels/wasm/gemm-kernel.ts).
//
// The library is core/ + kernels/cpu + kernels/wasm bundled from source (esbuild, as build.mjs) into
// node_modules/.cache/finercam-bench/, so the numbers are those of the working tree; --dist uses dist/index.js
// instead (build it first).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, readOptions } from './common.mjs';
import { measure, table } from './measure.mjs';

const o = { sizes: [256, 512, 1024], tiles: false, reps: 7 };
readOptions(process.argv.slice(2), new URL(import.meta.url).pathname, (a, next, int) => {
  if (a === '--sizes') o.sizes = next().split(',').map(Number);
  else if (a === '--tiles') o.tiles = true;
  else if (a === '--reps') o.reps = int();
  else if (a === '--dist') { /* read in loadLibrary */ }
  else return false;
  return true;
});

async function loadLibrary() {
  const dist = join(ROOT, 'dist', 'index.js');
  if (process.argv.includes('--dist') && existsSync(dist)) {
    const F = await import(dist);
    if (typeof F.createWasmBackend === 'function') return { F, from: 'dist/index.js' };
  }
  const { build } = await import('esbuild');
  const dir = join(ROOT, 'node_modules', '.cache', 'finercam-bench');
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, 'index-with-wasm.js');
  // only what a matmul needs (core and the two CPU-side backends), not the whole package
  await build({
    stdin: { contents: "export * from './kernels/cpu/index.ts';\nexport * from './kernels/wasm/index.ts';\nexport * from './core/index.ts';\n", resolveDir: ROOT, loader: 'ts', sourcefile: 'bench-wasm-entry.ts' },
    outfile, bundle: true, format: 'esm', platform: 'neutral', target: 'es2022', external: ['node:*', 'webgpu'], logLevel: 'warning',
  });
  return { F: await import(outfile), from: 'core + kernels/cpu + kernels/wasm, bundled from the working tree' };
}

// tfjs-core advises installing tfjs-node when it sees Node; comparing with the wasm backend is the point here.
const log = console.log, warn = console.warn;
const quiet = (fn) => (...a) => { if (!String(a[0]).includes('tfjs-node') && !String(a[0]).startsWith('====')) fn(...a); };
console.log = quiet(log);
console.warn = quiet(warn);
const tf = await import('@tensorflow/tfjs-core');
const tfw = await import('@tensorflow/tfjs-backend-wasm');
tfw.setWasmPaths(join(ROOT, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist') + '/');
if (!(await tf.setBackend('wasm'))) throw new Error("tf.setBackend('wasm') failed");
await tf.ready();
const tfSimd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
const tfThreads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
console.log = log;
console.warn = warn;

const { F, from } = await loadLibrary();
if ((await F.setDefaultDevice('wasm')) !== 'wasm') throw new Error('the wasm backend is not available here');
const ours = await F.getBackend('wasm');
console.log(`library: ${from}`);
await ours.ready();
const allThreads = ours.getThreads();
console.log(`ours: wasm backend, relaxed SIMD ${ours.relaxedSimd ? 'on (f32x4.relaxed_madd)' : 'off (mul + add)'}, tile ${ours.tile.mr}×${4 * ours.tile.nv}, 1 and ${allThreads} threads`);
console.log(`tfjs-wasm ${tf.version_core}: SIMD ${tfSimd}, threads ${tfThreads}`);
console.log(`node ${process.version}, ${(await import('node:os')).cpus()[0].model}, ${(await import('node:os')).availableParallelism()} cores\n`);

const MACHINE_GFLOPS = 200;
const opts = { warmup: 2, reps: o.reps, minRepMs: 100 };
const rows = [];
const fmtLoad = (r) => `${r.otherCores.toFixed(2)}${r.noisy ? '*' : ''}`;
for (const n of o.sizes) {
  const flops = 2 * n ** 3;
  const a = await F.randn([n, n]).toDevice('wasm');
  const b = await F.randn([n, n]).toDevice('wasm');
  const ta = tf.randomNormal([n, n]), tb = tf.randomNormal([n, n]);
  const runOurs = async () => { const c = F.matmul(a, b); await c.data(); c.dispose(); };
  const runTf = async () => { const c = tf.matMul(ta, tb); await c.data(); c.dispose(); };
  // interleave so a change in the machine's load hits both
  ours.setThreads(1);
  const rOurs = await measure(runOurs, opts);
  const rTf = await measure(runTf, opts);
  ours.setThreads(allThreads);
  const rOursN = await measure(runOurs, opts);
  const gTf = flops / rTf.ms / 1e6;
  for (const [label, r] of [['1 thread', rOurs], [`${allThreads} threads`, rOursN]]) {
    const g = flops / r.ms / 1e6;
    rows.push([`matmul ${n}², ours ${label}`, r.ms.toFixed(2), g.toFixed(1), `${((100 * g) / MACHINE_GFLOPS).toFixed(0)}%`, rTf.ms.toFixed(2), gTf.toFixed(1), (g / gTf).toFixed(2), fmtLoad(r), fmtLoad(rTf)]);
  }
  a.dispose(); b.dispose(); ta.dispose(); tb.dispose();
}
console.log(table(['case', 'ours ms', 'ours GFLOP/s', 'of 200', 'tfjs-wasm 1 thread ms', 'tfjs GFLOP/s', 'ours/tfjs speed', 'load ours', 'load tfjs'], rows));
ours.destroy();
console.log('load: cores used by other processes during the timed reps (* = not enough undisturbed reps)');

if (o.tiles) {
  // Tiles are compared by the fastest of many interleaved passes: on a shared machine other processes only
  // ever add time, so the minimum is the cleanest estimate and interleaving exposes every tile to the same load.
  const n = 1024, flops = 2 * n ** 3;
  const tiles = [{ mr: 4, nv: 2 }, { mr: 5, nv: 2 }, { mr: 6, nv: 2 }, { mr: 8, nv: 2 }, { mr: 4, nv: 3 }, { mr: 3, nv: 4 }];
  const runs = tiles.map((tile) => {
    const be = new F.WasmBackend({ tile, threads: 1 });
    const A = be.upload(Float32Array.from({ length: n * n }, () => Math.random() - 0.5));
    const B = be.upload(Float32Array.from({ length: n * n }, () => Math.random() - 0.5));
    const v = (s) => ({ storage: s, shape: [1, n, n], strides: [n * n, n, 1], offset: 0, dtype: 'float32' });
    return { tile, run: () => be.release(be.matmul(v(A), v(B))), best: Infinity, times: [] };
  });
  for (const r of runs) r.run(); // warm-up: compile and tier up
  for (let round = 0; round < 3 * o.reps; round++) {
    for (const r of runs) {
      const t0 = performance.now();
      r.run();
      const ms = performance.now() - t0;
      r.best = Math.min(r.best, ms);
      r.times.push(ms);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  console.log(`\nregister tiles, matmul ${n}², one thread, no read-back, ${3 * o.reps} interleaved passes each:`);
  console.log(table(['tile', 'best ms', 'best GFLOP/s', 'median ms'], runs.map((r) => [`${r.tile.mr}×${4 * r.tile.nv}`, r.best.toFixed(2), (flops / r.best / 1e6).toFixed(1), median(r.times).toFixed(2)])));
}
