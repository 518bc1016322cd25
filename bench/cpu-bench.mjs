// CPU backend vs TensorFlow.js's pure-JS CPU backend (@tensorflow/tfjs-backend-cpu), same shapes, same run:
// matmul 256/512/1024, ResNet's 3×3 conv (1×64×56×56 → 64, padding 1) and its 7×7/2 stem (1×3×224×224 → 64,
// padding 3). Each timing covers the op and reading the result back (`await data()`), for both libraries.
// Ours runs with one thread and with the default thread count (worker threads, see kernels/cpu/workers.ts);
// tfjs-cpu is single-threaded. Convolutions are NCHW for us, NHWC for tfjs (its native layout).
//
//   node build.mjs && node bench/cpu-bench.mjs [--quick] [--json out.json]
// FINERCAM_LIB=/path/to/index.js benchmarks another build of the library (e.g. an older one, side by side).
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { pathToFileURL } from 'node:url';
import { measure, table, waitQuiet } from './measure.mjs';

const F = await import(process.env.FINERCAM_LIB ? pathToFileURL(process.env.FINERCAM_LIB).href : '../dist/index.js');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jsonPath = args.includes('--json') ? args[args.indexOf('--json') + 1] : null;

// tfjs-core advises installing tfjs-node when it sees Node; comparing with the pure-JS backend is the point here.
const log = console.log, warn = console.warn;
const quiet = (fn) => (...a) => { if (!String(a[0]).includes('tfjs-node') && !String(a[0]).startsWith('====')) fn(...a); };
console.log = quiet(log);
console.warn = quiet(warn);
const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-cpu');
await tf.setBackend('cpu');
await tf.ready();

const cases = [
  { name: 'matmul 256', flops: 2 * 256 ** 3, setup: () => matmulCase(256) },
  { name: 'matmul 512', flops: 2 * 512 ** 3, setup: () => matmulCase(512) },
  { name: 'matmul 1024', flops: 2 * 1024 ** 3, setup: () => matmulCase(1024), heavy: true },
  { name: 'conv3x3 1×64×56×56→64', flops: 2 * 64 * 56 * 56 * 64 * 9, setup: () => convCase(1, 64, 56, 64, 3, 1, 1) },
  { name: 'conv7x7/2 1×3×224×224→64', flops: 2 * 64 * 112 * 112 * 3 * 49, setup: () => convCase(1, 3, 224, 64, 7, 2, 3) },
];

function matmulCase(n) {
  const a = F.randn([n, n]), b = F.randn([n, n]);
  const ta = tf.randomNormal([n, n]), tb = tf.randomNormal([n, n]);
  return {
    ours: async () => { const y = F.matmul(a, b); await y.data(); y.dispose(); },
    tfjs: async () => { const y = tf.matMul(ta, tb); await y.data(); y.dispose(); },
    // Same inputs for both (ours copied into tfjs), so the outputs must agree.
    check: async () => {
      const [av, bv] = [await a.data(), await b.data()];
      return maxRelDiff(await F.matmul(a, b).data(), tf.tidy(() => tf.matMul(tf.tensor(av, a.shape), tf.tensor(bv, b.shape)).dataSync()));
    },
    dispose: () => { a.dispose(); b.dispose(); ta.dispose(); tb.dispose(); },
  };
}

function convCase(N, C, H, O, k, stride, pad) {
  const x = F.randn([N, C, H, H]), w = F.mul(F.randn([O, C, k, k]), 0.1);
  const tx = tf.randomNormal([N, H, H, C]), tw = tf.mul(tf.randomNormal([k, k, C, O]), 0.1);
  const tfPad = [[0, 0], [pad, pad], [pad, pad], [0, 0]];
  return {
    ours: async () => { const y = F.conv2d(x, w, null, { stride, padding: pad }); await y.data(); y.dispose(); },
    tfjs: async () => { const y = tf.conv2d(tx, tw, stride, tfPad); await y.data(); y.dispose(); },
    // Same inputs for both (tfjs gets ours transposed to NHWC / HWIO), so the outputs must agree.
    check: async () => {
      const [xv, wv] = [await x.data(), await w.data()];
      const ref = tf.tidy(() => {
        const xs = tf.transpose(tf.tensor(xv, x.shape), [0, 2, 3, 1]);
        const ws = tf.transpose(tf.tensor(wv, w.shape), [2, 3, 1, 0]);
        return tf.transpose(tf.conv2d(xs, ws, stride, tfPad), [0, 3, 1, 2]).dataSync();
      });
      return maxRelDiff(await F.conv2d(x, w, null, { stride, padding: pad }).data(), ref);
    },
    dispose: () => { x.dispose(); w.dispose(); tx.dispose(); tw.dispose(); },
  };
}

/** max |a − b| / max |b|: float32 results of different summation orders agree to ~1e-6 of the output scale. */
function maxRelDiff(a, b) {
  let scale = 0, d = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < b.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d / scale;
}

const threadsWanted = Math.min(availableParallelism(), 8);
F.setCpuThreads(threadsWanted);
F.startCpuWorkers(); // boot the workers now rather than on the first large product

const gf = (flops, ms) => flops / ms / 1e6;
const rows = [], results = [];
for (const c of cases) {
  if (quick && c.heavy) continue;
  const s = c.setup();
  const reps = c.heavy ? 3 : 5;
  const err = await s.check();
  await waitQuiet();
  F.setCpuThreads(1);
  const one = await measure(s.ours, { reps: c.heavy ? 5 : 9 });
  F.setCpuThreads(threadsWanted);
  const many = await measure(s.ours, { reps: c.heavy ? 5 : 9, warmup: 3 });
  const threads = F.getCpuThreads();
  await waitQuiet();
  const ref = await measure(s.tfjs, { reps, warmup: c.heavy ? 1 : 2 });
  s.dispose();
  const r = {
    case: c.name, gflop: c.flops / 1e9, maxRelDiffVsTfjs: err,
    ours1: { ...one, gflops: gf(c.flops, one.ms) },
    oursN: { threads, ...many, gflops: gf(c.flops, many.ms) },
    tfjs: { ...ref, gflops: gf(c.flops, ref.ms) },
  };
  const mark = (m) => (m.noisy ? '*' : '');
  results.push(r);
  rows.push([
    c.name,
    r.ours1.ms.toFixed(2) + mark(one), r.ours1.gflops.toFixed(2),
    `${r.oursN.ms.toFixed(2)}${mark(many)} (${threads})`, r.oursN.gflops.toFixed(2),
    r.tfjs.ms.toFixed(1) + mark(ref), r.tfjs.gflops.toFixed(2),
    (r.tfjs.ms / r.ours1.ms).toFixed(1) + '×', (r.tfjs.ms / r.oursN.ms).toFixed(1) + '×',
    err.toExponential(1),
  ]);
}

console.log(`cpu-bench: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, Node ${process.version}, tfjs ${tf.version_core} (cpu backend)`);
console.log('median ms of several reps after warm-up (op + read back); GF/s = GFLOP/s; speedup = tfjs ms / our ms\n');
console.log(table(
  ['case', 'ours 1 thr ms', 'GF/s', 'ours N thr ms', 'GF/s', 'tfjs-cpu ms', 'GF/s', 'speedup 1 thr', 'speedup N thr', 'max rel diff'],
  rows,
));
// CPU time barely moves when other processes compete for the cores (only cache sharing does), so on a busy
// machine it is the better guide for single-threaded code; with N threads it is the sum over the threads.
console.log('\nCPU time per call (this process, all threads), for a machine that is not idle:\n');
console.log(table(
  ['case', 'ours 1 thr cpu ms', 'ours N thr cpu ms', 'tfjs-cpu cpu ms', 'tfjs / ours 1 thr'],
  results.map((r) => [r.case, r.ours1.cpuMs.toFixed(2), r.oursN.cpuMs.toFixed(2), r.tfjs.cpuMs.toFixed(1), (r.tfjs.cpuMs / r.ours1.cpuMs).toFixed(1) + '×']),
));
const dropped = results.reduce((n, r) => n + r.ours1.dropped + r.oursN.dropped + r.tfjs.dropped, 0);
if (dropped) console.log(`\n${dropped} reps were retried because other processes were busy during them.`);
if (results.some((r) => r.ours1.noisy || r.oursN.noisy || r.tfjs.noisy)) {
  console.log('* = the machine never became quiet: the median of all reps, other processes included. Rerun when it is idle.');
}
if (jsonPath) writeFileSync(jsonPath, JSON.stringify({ date: new Date().toISOString(), node: process.version, cores: availableParallelism(), results }, null, 1));
