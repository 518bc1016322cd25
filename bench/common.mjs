// What bench/models.mjs and bench/cam.mjs share: option reading, timing on a shared machine, loading the
// library (with its WebGPU backend when wanted), child processes for the peers, and the result table.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineBusyMs, waitQuiet } from './measure.mjs';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(HERE, '..');

// ------------------------------------------------------------------ options
/**
 * Calls handle(a, next, int) for each option; handle returns false for one it does not know. --help prints the
 * script's header comment (everything before its first import).
 */
export function readOptions(argv, self, handle) {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    const int = () => {
      const n = Number(next());
      if (!Number.isInteger(n) || n < 0) throw new Error(`${a} needs a non-negative integer`);
      return n;
    };
    if (a === '--help' || a === '-h') {
      console.log(readFileSync(self, 'utf8').split('\nimport ')[0]);
      process.exit(0);
    }
    if (!handle(a, next, int)) throw new Error(`unknown option ${a} (see --help)`);
  }
}

// ------------------------------------------------------------------ shared machine
function otherStart() {
  return { busy: machineBusyMs(), own: process.cpuUsage(), t: performance.now() };
}
/** Cores used by other processes since otherStart(), or null off Linux. */
function otherStop(s) {
  const busy = machineBusyMs();
  if (busy === null || s.busy === null) return null;
  const own = process.cpuUsage(s.own);
  const dt = (performance.now() - s.t) / 1e3;
  if (dt <= 0) return null;
  return Math.max(0, ((busy - s.busy) / 1e3 - (own.user + own.system) / 1e6) / dt);
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

/**
 * Median ms of `reps` clean passes of fn after `warmup` passes. A pass during which other processes used more
 * than 0.25 core is retried — for up to 30 s, or 3 × reps passes, whichever allows more (20 × reps at most) —
 * unless it took over 10 s (then it is kept: retrying costs too much); if no clean pass came, the median of
 * all passes is reported. noisy: some pass used was disturbed. other: the median load of the passes used.
 * Unlike measure() a pass is one call: a whole model pass lasts far longer than /proc/stat's 10 ms tick.
 */
export async function timeReps(fn, reps, warmup, quietWait) {
  for (let i = 0; i < warmup; i++) await fn();
  const all = [];
  const t0All = performance.now();
  // FINERCAM_BENCH_NO_RETRY=1 (bench/cam-rounds.mjs): exactly `reps` passes, disturbed or not
  const noRetry = process.env.FINERCAM_BENCH_NO_RETRY === '1';
  const more = (tries) => (noRetry ? tries < reps : tries < reps * 3 || (tries < reps * 20 && performance.now() - t0All < 30_000));
  for (let tries = 0; more(tries) && all.filter((p) => p.kept).length < reps; tries++) {
    if (quietWait > 0) await waitQuiet({ maxMs: quietWait * 1e3, maxOther: 0.3 });
    const s = otherStart();
    const t0 = performance.now();
    await fn();
    const ms = performance.now() - t0;
    const other = otherStop(s);
    all.push({ ms, other, kept: other === null || other <= 0.25 || ms > 10_000 });
  }
  const used = all.some((p) => p.kept) ? all.filter((p) => p.kept) : all;
  const others = used.map((p) => p.other).filter((v) => v !== null);
  return {
    ms: median(used.map((p) => p.ms)),
    times: all.map((p) => +p.ms.toFixed(1)),
    other: others.length ? +median(others).toFixed(2) : null,
    noisy: used.some((p) => p.other !== null && p.other > 0.25),
    reps,
    warmup,
  };
}

// ------------------------------------------------------------------ the library
/**
 * dist/index.js (built by `node build.mjs`). If WebGPU is wanted and that bundle does not include the WebGPU
 * backend (kernels/ not yet exported from index.ts), bundle index.ts + kernels/webgpu/index.ts from source into
 * node_modules/.cache/finercam-bench/ instead (esbuild, the same settings as build.mjs) and use that for
 * every backend, so both run the same code.
 */
async function loadLibrary(wantWebgpu) {
  const distPath = join(ROOT, 'dist', 'index.js');
  if (!existsSync(distPath)) throw new Error('dist/index.js is missing: run `node build.mjs` first');
  const F = await import(distPath);
  if (!wantWebgpu || typeof F.getWebGPUInfo === 'function') return { F, from: 'dist/index.js' };
  const { build } = await import('esbuild');
  const dir = join(ROOT, 'node_modules', '.cache', 'finercam-bench');
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, 'index-with-webgpu.js');
  await build({
    stdin: { contents: "export * from './index.ts';\nexport * from './kernels/webgpu/index.ts';\n", resolveDir: ROOT, loader: 'ts', sourcefile: 'bench-entry.ts' },
    outfile, bundle: true, format: 'esm', platform: 'neutral', target: 'es2022', external: ['node:*', 'webgpu'], logLevel: 'warning',
  });
  return { F: await import(outfile), from: 'index.ts + kernels/webgpu/index.ts (bundled by the bench: dist/index.js has no WebGPU backend)' };
}

/**
 * Loads the library for options o ({ models, backends, webgpuModels, threads }) and finds which of our backends
 * can run: backends is ['cpu'] if asked for, plus 'webgpu' if an adapter answered; why WebGPU was left out goes
 * to skipped, each reason after `label: `. The default device is left on the CPU.
 */
export async function openLibrary(o, label) {
  process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const wantWebgpu = o.backends.includes('webgpu') && o.models.some((m) => o.webgpuModels.includes(m));
  const { F, from } = await loadLibrary(wantWebgpu);
  if (o.threads) F.setCpuThreads(o.threads);
  if (typeof F.startCpuWorkers === 'function') F.startCpuWorkers(); // else they start on the first large product (warm-up)
  console.log(`finercam from ${from}; node ${process.version}`);
  const backends = o.backends.includes('cpu') ? ['cpu'] : [];
  const skipped = [];
  if (o.backends.includes('wasm')) {
    // the wasm backend (kernels/wasm): WebAssembly SIMD, worker_threads over shared memory; its workers boot
    // before any timing (ready()), and setCpuThreads (--threads) bounds its threads as it does the CPU's
    const got = typeof F.createWasmBackend === 'function' ? await F.setDefaultDevice('wasm') : null;
    if (got === 'wasm') {
      const wb = await F.getBackend('wasm');
      await wb.ready();
      console.log(`wasm backend: ${wb.getThreads()} threads, relaxed SIMD ${wb.relaxedSimd ? 'on' : 'off (mul + add)'}, tile ${wb.tile.mr}×${4 * wb.tile.nv}`);
      backends.push('wasm');
    } else skipped.push(`wasm: ${got === null ? 'this build has no wasm backend' : 'no WebAssembly SIMD here'}`);
    await F.setDefaultDevice('cpu');
  }
  if (wantWebgpu) {
    let got = null;
    try {
      got = await F.setDefaultDevice('webgpu');
    } catch (e) {
      skipped.push(`${label}: ${e.message}`);
    }
    if (got === 'webgpu') {
      const info = typeof F.getWebGPUInfo === 'function' ? await F.getWebGPUInfo() : null;
      console.log(`WebGPU adapter: ${info ? `${info.description} (${info.architecture}${info.isFallbackAdapter ? ', fallback adapter' : ''})` : 'yes'}`);
      backends.push('webgpu');
    } else if (got) skipped.push(`${label}: no adapter here`);
    await F.setDefaultDevice('cpu');
  }
  return { F, from, wantWebgpu, backends, skipped };
}

export const passes = (o, backend) => (backend !== 'webgpu' ? { reps: o.reps, warmup: o.warmup } : { reps: o.webgpuReps, warmup: o.webgpuWarmup });

/**
 * Puts model (just built, seeded 0) in eval mode on backend and returns the seeded 1×3×224×224 input there:
 * drawn on the CPU and copied, so every backend sees the same numbers.
 */
export async function placeModel(F, model, backend) {
  model.eval();
  if (backend !== 'cpu') await model.to(backend);
  F.manualSeed(1);
  const xCpu = F.randn([1, 3, 224, 224]);
  return backend === 'cpu' ? xCpu : F.tensor(await xCpu.data(), [1, 3, 224, 224], { device: backend });
}

// ------------------------------------------------------------------ peers (child processes)
/**
 * Runs a peer and resolves with the JSON object on its last line of stdout; if there is none, with
 * { available: false, reason } carrying the exit code and the end of its output (reasonChars at most).
 */
export function runChild(cmd, args, { cwd, reasonChars = Infinity } = {}) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', (e) => resolve({ available: false, reason: e.message }));
    p.on('close', (code) => {
      const line = out.trim().split('\n').pop();
      try {
        resolve(JSON.parse(line));
      } catch {
        resolve({ available: false, reason: `exit ${code}: ${(err || out).trim().split('\n').slice(-3).join(' | ').slice(0, reasonChars)}` });
      }
    });
  });
}

/** bench/torch_models.py --mode mode over models, with Debian's python3 (Debian's python3-torch). */
export function runTorch(mode, models, { reps, warmup, quietWait, threads }, childOptions) {
  const py = '/usr/bin/python3';
  if (!existsSync(py)) return Promise.resolve({ available: false, reason: `${py} not found` });
  const args = [join(HERE, 'torch_models.py'), '--mode', mode, '--models', models.join(','), '--reps', String(reps), '--warmup', String(warmup), '--quiet-wait', String(quietWait), ...(threads ? ['--threads', String(threads)] : [])];
  return runChild(py, args, childOptions);
}

// ------------------------------------------------------------------ output
export const fmt = (v) => (v == null ? '—' : v >= 100 ? v.toFixed(0) : v.toFixed(1));

/** rows[0] is the header; Markdown, so the tables paste into bench/README.md as they are. */
export function printTable(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
  const line = (row) => `| ${row.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  console.log(line(rows[0]));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows.slice(1)) console.log(line(row));
}

/** Runs main; an error is printed and sets exit code 1. Exits either way: dawn.node keeps the process alive otherwise. */
export async function runMain(main) {
  try {
    await main();
  } catch (e) {
    console.error(e);
    process.exitCode = 1;
  }
  process.exit();
}
