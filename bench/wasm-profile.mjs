// Where a Finer-CAM's time goes on the wasm backend, per backend op: every method of the backend instance is
// wrapped with a timer (performance.now() around the synchronous call; nested calls are not double counted
// because backend methods do not call each other through the instance's public surface), then one warm-up and
// --reps timed Finer-CAM passes (bench/cam.mjs's pass: forward, ranking, Finer target, pruned gradient, map,
// read-back). Prints ms per pass per op, its share of the pass, calls per pass, and what no op accounts for
// (JS autograd bookkeeping, hooks, allocation). Also prints the process's CPU time per pass (all threads): on
// a loaded machine it moves far less than the wall time, so compare kernel changes by it (with --threads 1).
//
//   node bench/wasm-profile.mjs [--model resnet50|vits14] [--reps N] [--threads N] [--dist]
//
// The library is index.ts bundled from the working tree (esbuild, as build.mjs) into
// node_modules/.cache/finercam-bench/; --dist uses dist/index.js instead.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, readOptions } from './common.mjs';

const o = { model: 'resnet50', reps: 3, threads: null, dist: false };
readOptions(process.argv.slice(2), new URL(import.meta.url).pathname, (a, next, int) => {
  if (a === '--model') o.model = next();
  else if (a === '--reps') o.reps = int();
  else if (a === '--threads') o.threads = int();
  else if (a === '--dist') o.dist = true;
  else return false;
  return true;
});

async function loadLibrary() {
  const dist = join(ROOT, 'dist', 'index.js');
  if (o.dist && existsSync(dist)) return import(dist);
  const { build } = await import('esbuild');
  const dir = join(ROOT, 'node_modules', '.cache', 'finercam-bench');
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, 'index-profile.js');
  await build({ entryPoints: [join(ROOT, 'index.ts')], outfile, bundle: true, format: 'esm', platform: 'neutral', target: 'es2022', external: ['node:*', 'webgpu'], logLevel: 'warning' });
  return import(outfile);
}

const F = await loadLibrary();
if (o.threads) F.setCpuThreads(o.threads);
if ((await F.setDefaultDevice('wasm')) !== 'wasm') throw new Error('no wasm backend here');
const wb = await F.getBackend('wasm');
await wb.ready();
await F.setDefaultDevice('cpu');

const stats = new Map();
let depth = 0;
const proto = Object.getPrototypeOf(wb);
for (const name of Object.getOwnPropertyNames(proto)) {
  const desc = Object.getOwnPropertyDescriptor(proto, name);
  if (name === 'constructor' || typeof desc.value !== 'function') continue;
  const orig = desc.value;
  wb[name] = function (...args) {
    if (depth > 0) return orig.apply(this, args);
    depth++;
    const t0 = performance.now();
    try {
      return orig.apply(this, args);
    } finally {
      depth--;
      let key = name;
      if (name.startsWith('conv2d')) {
        // conv2dScaled (BatchNorm folded, models/fold-batchnorm.ts) counts as conv2d
        const w = name === 'conv2dBackwardWeight' ? args[3] : args[1].shape;
        const p = name === 'conv2dScaled' ? args[3] : args[2];
        key = `${name === 'conv2dScaled' ? 'conv2d' : name} ${w[2]}×${w[3]}${p.stride[0] > 1 ? '/2' : ''}`;
      } else if (name === 'unary' || name === 'binary' || name === 'binaryScalar' || name === 'reduce') key = `${name} ${args[0]}`;
      const s = stats.get(key) ?? { ms: 0, calls: 0 };
      s.ms += performance.now() - t0;
      s.calls++;
      stats.set(key, s);
    }
  };
}

// dispatches to the worker threads (each wakes the workers and waits for the slowest): count and wall time
const dispatch = { n: 0, ms: 0 };
if (wb.pool) {
  const run = wb.pool.run.bind(wb.pool);
  wb.pool.run = (...a) => {
    const t0 = performance.now();
    try {
      return run(...a);
    } finally {
      dispatch.n++;
      dispatch.ms += performance.now() - t0;
    }
  };
}

F.manualSeed(0);
let model, cam;
if (o.model === 'resnet50') {
  model = F.resnet50();
  cam = () => new F.FinerCAM({ model, targetLayers: ['layer4'], baseMethod: F.GradCAM });
} else {
  model = new F.LinearProbe(F.dinov2Vits14(), 1000);
  cam = () => new F.FinerCAM({ model, targetLayers: ['backbone.blocks.-1.norm1'], baseMethod: F.GradCAM, reshapeTransform: F.vitReshapeTransform({ prefixTokens: 1, patchSize: 14 }) });
}
model.eval();
await model.to('wasm');
F.manualSeed(1);
const x = F.tensor(await F.randn([1, 3, 224, 224]).data(), [1, 3, 224, 224], { device: 'wasm' });
const c = cam();
const pass = async () => {
  const r = await c.forward({ inputTensor: x });
  await r.cam.data();
  r.cam.dispose();
  r.outputs.dispose();
};
await pass();
stats.clear();
dispatch.n = 0;
dispatch.ms = 0;
const t0 = performance.now();
const c0 = process.cpuUsage();
for (let i = 0; i < o.reps; i++) await pass();
const total = (performance.now() - t0) / o.reps;
const cpu = process.cpuUsage(c0);
const cpuMs = (cpu.user + cpu.system) / 1e3 / o.reps; // this process, worker threads included
const rows = [...stats.entries()].sort((a, b) => b[1].ms - a[1].ms);
const accounted = rows.reduce((s, [, v]) => s + v.ms, 0) / o.reps;
const { loadavg } = await import('node:os');
console.log(`Finer-CAM ${o.model} on wasm (${wb.getThreads()} threads): ${total.toFixed(1)} ms per pass (CPU time ${cpuMs.toFixed(1)} ms, all threads), ${o.reps} passes; load average ${loadavg()[0].toFixed(2)}`);
console.log('| op | ms/pass | share | calls/pass |');
console.log('|---|---|---|---|');
for (const [k, v] of rows) {
  if (v.ms / o.reps < 0.05) continue;
  console.log(`| ${k} | ${(v.ms / o.reps).toFixed(2)} | ${((100 * v.ms) / o.reps / total).toFixed(1)} % | ${v.calls / o.reps} |`);
}
if (dispatch.n) console.log(`| (of which in thread dispatches: ${dispatch.n / o.reps} per pass) | ${(dispatch.ms / o.reps).toFixed(2)} | ${((100 * dispatch.ms) / o.reps / total).toFixed(1)} % | |`);
console.log(`| (outside backend ops) | ${(total - accounted).toFixed(2)} | ${((100 * (total - accounted)) / total).toFixed(1)} % | |`);
c.dispose();
wb.destroy();
process.exit(0);
