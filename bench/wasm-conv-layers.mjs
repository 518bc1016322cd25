// Every distinct convolution of ResNet-50 at 224×224 (batch 1, bias + relu epilogue, forward) on the wasm
// backend, timed alone: the fastest of --reps calls after a warm-up, on one thread and on --threads threads,
// with each algorithm the backend offers for that shape (`setConvAlgorithm`: 'gemm' = im2col/pointwise + GEMM,
// 'winograd' = F(2×2,3×3) for stride-1 3×3 layers; 'auto' = the backend's per-layer choice). It is how the
// per-layer choice in kernels/wasm/winograd.ts was made, and where a change to the conv path shows per layer.
// Weighted totals (× the layer's count in the network) are printed at the end.
//
//   node bench/wasm-conv-layers.mjs [--reps N] [--threads N] [--only 3x3] [--sweep]
//
// --sweep: instead of ResNet-50's layers, 3×3 stride-1 convolutions over a grid of channel counts (C = O) and
// sizes, to place the Winograd / GEMM boundary for narrow and small layers.
//
// Bundles the working tree itself (as wasm-profile.mjs) into node_modules/.cache/finercam-bench/.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, readOptions } from './common.mjs';

const o = { reps: 7, threads: 2, only: null, sweep: false };
readOptions(process.argv.slice(2), new URL(import.meta.url).pathname, (a, next, int) => {
  if (a === '--reps') o.reps = int();
  else if (a === '--threads') o.threads = int();
  else if (a === '--only') o.only = next();
  else if (a === '--sweep') o.sweep = true;
  else return false;
  return true;
});

const { build } = await import('esbuild');
const dir = join(ROOT, 'node_modules', '.cache', 'finercam-bench');
mkdirSync(dir, { recursive: true });
const outfile = join(dir, 'index-conv-layers.js');
await build({ entryPoints: [join(ROOT, 'index.ts')], outfile, bundle: true, format: 'esm', platform: 'neutral', target: 'es2022', external: ['node:*', 'webgpu'], logLevel: 'warning' });
const F = await import(outfile);
F.setCpuThreads(Math.max(1, o.threads));
if ((await F.setDefaultDevice('wasm')) !== 'wasm') throw new Error('no wasm backend here');
const wb = await F.getBackend('wasm');
await wb.ready();

// [C, O, H (input), k, stride, count in ResNet-50]
const RESNET50 = [
  [3, 64, 224, 7, 2, 1],
  [64, 64, 56, 1, 1, 1], [64, 64, 56, 3, 1, 3], [64, 256, 56, 1, 1, 4], [256, 64, 56, 1, 1, 2],
  [256, 128, 56, 1, 1, 1], [128, 128, 56, 3, 2, 1], [256, 512, 56, 1, 2, 1], [128, 512, 28, 1, 1, 4], [512, 128, 28, 1, 1, 3], [128, 128, 28, 3, 1, 3],
  [512, 256, 28, 1, 1, 1], [256, 256, 28, 3, 2, 1], [512, 1024, 28, 1, 2, 1], [256, 1024, 14, 1, 1, 6], [1024, 256, 14, 1, 1, 5], [256, 256, 14, 3, 1, 5],
  [1024, 512, 14, 1, 1, 1], [512, 512, 14, 3, 2, 1], [1024, 2048, 14, 1, 2, 1], [512, 2048, 7, 1, 1, 3], [2048, 512, 7, 1, 1, 2], [512, 512, 7, 3, 1, 2],
];

const SWEEP = [];
for (const c of [4, 8, 16, 32, 64]) for (const h of [4, 7, 14, 28, 56]) SWEEP.push([c, c, h, 3, 1, 1]);
const LAYERS = o.sweep ? SWEEP : RESNET50;

F.manualSeed(0);
const rows = [];
const totals = new Map();
for (const [C, O, H, k, s, count] of LAYERS) {
  const name = `${C}→${O} ${k}×${k}${s > 1 ? '/' + s : ''} @${H}`;
  if (o.only && !name.includes(o.only.replace('x', '×'))) continue;
  const x = F.randn([1, C, H, H]);
  const w = F.mul(F.randn([O, C, k, k]), 0.05);
  const b = F.randn([O]);
  const p = { stride: [s, s], padding: [(k - 1) / 2, (k - 1) / 2], dilation: [1, 1], groups: 1 };
  const algos = k === 3 && s === 1 ? ['gemm', 'winograd', 'auto'] : ['auto'];
  const row = { name, count };
  for (const threads of [...new Set([1, o.threads])]) {
    wb.setThreads(threads);
    for (const algo of algos) {
      if (wb.setConvAlgorithm) wb.setConvAlgorithm(algo);
      const call = () => wb.release(wb.conv2d(x, w, p, { bias: b, activation: 'relu' }));
      call();
      let best = Infinity;
      for (let r = 0; r < o.reps; r++) {
        const t0 = performance.now();
        call();
        best = Math.min(best, performance.now() - t0);
      }
      const key = `${algo} ${threads}t`;
      row[key] = best;
      totals.set(key, (totals.get(key) ?? 0) + best * count);
    }
  }
  if (wb.setConvAlgorithm) wb.setConvAlgorithm('auto');
  rows.push(row);
  for (const t of [x, w, b]) t.dispose();
}
const keys = [...totals.keys()];
const { loadavg } = await import('node:os');
console.log(`ResNet-50 convolutions on wasm, fastest of ${o.reps} (ms); load average ${loadavg()[0].toFixed(2)}`);
console.log(`| layer | × | ${keys.join(' | ')} |`);
console.log(`|---|---|${keys.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${r.name} | ${r.count} | ${keys.map((k) => (r[k] === undefined ? '' : r[k].toFixed(2))).join(' | ')} |`);
console.log(`| weighted total | | ${keys.map((k) => totals.get(k).toFixed(1)).join(' | ')} |`);
wb.destroy();
process.exit(0);
