// Whole-model speed: forward, and forward + backward to one hooked activation, for resnet18, resnet50 and
// DINOv2 ViT-S/14 at 1×3×224×224 on each of our backends, beside PyTorch in the same run.
//
//   node build.mjs && node bench/models.mjs [options]
//
//   --models resnet18,resnet50,vits14   which models (default: all three)
//   --backends cpu,webgpu               which of our backends (default: both; webgpu only if an adapter exists)
//   --skip-webgpu                       same as --backends cpu
//   --webgpu-models LIST                models to run on WebGPU (default: all; on SwiftShader a resnet50 pass
//                                       takes many seconds: leave it out with --webgpu-models resnet18,vits14)
//   --reps N --warmup N                 timed and warm-up passes on the CPU backend (default 3 and 1)
//   --webgpu-reps N --webgpu-warmup N   the same on WebGPU (default 1 and 1: the warm-up compiles pipelines)
//   --torch-reps N --torch-warmup N     the same for PyTorch (default 5 and 2)
//   --no-torch                          skip PyTorch
//   --quiet-wait S                      wait up to S seconds before each timed pass for other processes to
//                                       use < 0.3 core (default 3; 0 disables)
//   --threads N                         threads for our CPU backend (F.setCpuThreads) and for PyTorch
//                                       (default: ours as the library defaults — all cores — and torch 2)
//   --json FILE                         also write every measurement as JSON
//
// What is timed (median of the timed passes, performance.now(), including the read-back that makes the
// work finish on the device):
//   fwd      noGrad(() => model.forward(x)), then await logits.data().
//   fwd+bwd  a forward hook keeps the target layer's output (ResNets: layer4; ViT: blocks.-1.norm1), the
//            forward runs with autograd on, score = logit 1, F.grad(score, [activation]) — pruned: only the
//            part of the graph between the activation and the score runs — then await gradient.data().
// Weights are random (seeded), eval mode; the ViT is dinov2Vits14({ numClasses: 1000 }) (a linear head on
// the class token), 257 tokens at 224. PyTorch (bench/torch_models.py, Debian's python3-torch, 2 threads)
// does the same with torchvision ResNets and a torch.nn ViT-S/14 equivalent (no DINOv2 package in Debian).
// The "other" column is how many cores other processes used during our timed passes: the machine is
// shared, and anything much above 0 inflates the times.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const ALL_MODELS = ['resnet18', 'resnet50', 'vits14'];
const TARGET = { resnet18: 'layer4', resnet50: 'layer4', vits14: 'blocks.-1.norm1' };

// ------------------------------------------------------------------ options
function parseArgs(argv) {
  const o = {
    models: ALL_MODELS, backends: ['cpu', 'webgpu'], webgpuModels: ALL_MODELS,
    reps: 3, warmup: 1, webgpuReps: 1, webgpuWarmup: 1, torchReps: 5, torchWarmup: 2,
    torch: true, quietWait: 3, json: null, threads: null,
  };
  const list = (v) => (v === 'all' ? ALL_MODELS : v.split(',').filter(Boolean));
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
    if (a === '--models') o.models = list(next());
    else if (a === '--backends') o.backends = next().split(',').filter(Boolean);
    else if (a === '--skip-webgpu') o.backends = o.backends.filter((b) => b !== 'webgpu');
    else if (a === '--webgpu-models') o.webgpuModels = list(next());
    else if (a === '--reps') o.reps = int();
    else if (a === '--warmup') o.warmup = int();
    else if (a === '--webgpu-reps') o.webgpuReps = int();
    else if (a === '--webgpu-warmup') o.webgpuWarmup = int();
    else if (a === '--torch-reps') o.torchReps = int();
    else if (a === '--torch-warmup') o.torchWarmup = int();
    else if (a === '--no-torch') o.torch = false;
    else if (a === '--quiet-wait') o.quietWait = Number(next());
    else if (a === '--json') o.json = next();
    else if (a === '--threads') o.threads = int();
    else if (a === '--help' || a === '-h') {
      console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\nimport ')[0]);
      process.exit(0);
    } else throw new Error(`unknown option ${a} (see --help)`);
  }
  for (const m of [...o.models, ...o.webgpuModels]) if (!ALL_MODELS.includes(m)) throw new Error(`unknown model ${m}; expected ${ALL_MODELS.join(', ')}`);
  for (const b of o.backends) if (b !== 'cpu' && b !== 'webgpu') throw new Error(`unknown backend ${b}; expected cpu or webgpu`);
  if (o.reps < 1 || o.webgpuReps < 1 || o.torchReps < 1) throw new Error('reps must be at least 1');
  return o;
}

// ------------------------------------------------------------------ shared machine
/** [busy jiffies of the whole machine, clock ticks per second], or null off Linux. */
function machineBusy() {
  try {
    const v = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
    return v.reduce((s, x) => s + x, 0) - v[3] - v[4];
  } catch {
    return null;
  }
}
const HZ = 100; // USER_HZ on Linux
function otherStart() {
  return { busy: machineBusy(), own: process.cpuUsage(), t: performance.now() };
}
/** Cores used by other processes since otherStart(). */
function otherStop(s) {
  const busy = machineBusy();
  if (busy === null || s.busy === null) return null;
  const own = process.cpuUsage(s.own);
  const dt = (performance.now() - s.t) / 1e3;
  if (dt <= 0) return null;
  return Math.max(0, ((busy - s.busy) / HZ - (own.user + own.system) / 1e6) / dt);
}
async function waitQuiet(maxS) {
  const end = performance.now() + maxS * 1e3;
  while (performance.now() < end) {
    const s = otherStart();
    await new Promise((r) => setTimeout(r, 250));
    const v = otherStop(s);
    if (v === null || v < 0.3) return;
  }
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
 */
async function timeReps(fn, reps, warmup, quietWait) {
  for (let i = 0; i < warmup; i++) await fn();
  const all = [];
  const t0All = performance.now();
  const more = (tries) => tries < reps * 3 || (tries < reps * 20 && performance.now() - t0All < 30_000);
  for (let tries = 0; more(tries) && all.filter((p) => p.kept).length < reps; tries++) {
    if (quietWait > 0) await waitQuiet(quietWait);
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
 * backend (kernels/ not yet exported from index.ts), bundle index.ts + kernels/index.ts from source into
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
    stdin: { contents: "export * from './index.ts';\nexport * from './kernels/index.ts';\n", resolveDir: ROOT, loader: 'ts', sourcefile: 'bench-entry.ts' },
    outfile, bundle: true, format: 'esm', platform: 'neutral', target: 'es2022', external: ['node:*', 'webgpu'], logLevel: 'warning',
  });
  return { F: await import(outfile), from: 'index.ts + kernels/index.ts (bundled by the bench: dist/index.js has no WebGPU backend)' };
}

// ------------------------------------------------------------------ PyTorch
function runTorch(o, mode, models) {
  const py = '/usr/bin/python3';
  if (!existsSync(py)) return Promise.resolve({ available: false, reason: `${py} not found` });
  const args = [join(HERE, 'torch_models.py'), '--mode', mode, '--models', models.join(','), '--reps', String(o.torchReps), '--warmup', String(o.torchWarmup), '--quiet-wait', String(o.quietWait), ...(o.threads ? ['--threads', String(o.threads)] : [])];
  return new Promise((resolve) => {
    const p = spawn(py, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
        resolve({ available: false, reason: `exit ${code}: ${(err || out).trim().split('\n').slice(-3).join(' | ')}` });
      }
    });
  });
}

// ------------------------------------------------------------------ our models
function buildModel(F, name) {
  F.manualSeed(0);
  if (name === 'resnet18') return F.resnet18();
  if (name === 'resnet50') return F.resnet50();
  return F.dinov2Vits14({ numClasses: 1000 });
}

async function benchOurs(F, name, backend, o) {
  const reps = backend === 'cpu' ? o.reps : o.webgpuReps;
  const warmup = backend === 'cpu' ? o.warmup : o.webgpuWarmup;
  const t0 = performance.now();
  const model = buildModel(F, name);
  model.eval();
  if (backend !== 'cpu') await model.to(backend);
  F.manualSeed(1);
  const xCpu = F.randn([1, 3, 224, 224]);
  const x = backend === 'cpu' ? xCpu : F.tensor(await xCpu.data(), [1, 3, 224, 224], { device: backend });
  const buildMs = performance.now() - t0;
  const layer = model.getSubmodule(TARGET[name]);
  let act = null;
  const hook = layer.registerForwardHook((_m, _inputs, out) => {
    act = out;
  });
  try {
    const fwd = async () => {
      const y = F.noGrad(() => F.tidy(() => model.forward(x)));
      await y.data();
      y.dispose();
    };
    const fwdbwd = async () => {
      const g = F.tidy(() => {
        const y = model.forward(x);
        const score = F.select(F.select(y, 0, 0), 0, 1);
        return F.grad(score, [act])[0];
      });
      act = null;
      await g.data();
      g.dispose();
    };
    const f = await timeReps(fwd, reps, warmup, o.quietWait);
    const fb = await timeReps(fwdbwd, reps, warmup, o.quietWait);
    return { fwd: f, fwdbwd: fb, buildMs: +buildMs.toFixed(0), reps, warmup };
  } finally {
    hook.remove();
  }
}

// ------------------------------------------------------------------ main
const fmt = (v) => (v == null ? '—' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
/** ms of a timeReps result, with * when a pass used was disturbed by other processes. */
const cell = (r) => (r == null ? '—' : `${fmt(r.ms)}${r.noisy ? '*' : ''}`);
const maxOther = (...rs) => {
  const v = rs.filter((r) => r && r.other != null).map((r) => r.other);
  return v.length ? Math.max(...v).toFixed(2) : '—';
};
const ratio = (a, b) => (a == null || b == null ? '—' : `${(a / b).toFixed(1)}×`);

async function main() {
  const o = parseArgs(process.argv.slice(2));
  process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const wantWebgpu = o.backends.includes('webgpu') && o.models.some((m) => o.webgpuModels.includes(m));
  const { F, from } = await loadLibrary(wantWebgpu);
  if (o.threads) F.setCpuThreads(o.threads);
  if (typeof F.startCpuWorkers === 'function') F.startCpuWorkers(); // else they start on the first large product (warm-up)
  console.log(`finercam from ${from}; node ${process.version}`);

  const backends = ['cpu'].filter((b) => o.backends.includes(b));
  const skipped = [];
  if (wantWebgpu) {
    let got = null;
    try {
      got = await F.setDefaultDevice('webgpu');
    } catch (e) {
      skipped.push(`webgpu: ${e.message}`);
    }
    if (got === 'webgpu') {
      const info = typeof F.getWebGPUInfo === 'function' ? await F.getWebGPUInfo() : null;
      console.log(`WebGPU adapter: ${info ? `${info.description} (${info.architecture}${info.isFallbackAdapter ? ', fallback adapter' : ''})` : 'yes'}`);
      backends.push('webgpu');
    } else if (got) skipped.push('webgpu: no adapter here');
    await F.setDefaultDevice('cpu');
  } else if (o.backends.includes('webgpu')) skipped.push('webgpu: not requested for these models');

  // PyTorch first, alone, so neither side competes with the other for the two cores.
  let torch = { available: false, reason: 'skipped (--no-torch)' };
  if (o.torch) {
    console.log(`PyTorch: ${o.models.join(', ')} (${o.torchWarmup} warm-up + ${o.torchReps} timed passes each)…`);
    torch = await runTorch(o, 'models', o.models);
    if (!torch.available) console.log(`PyTorch not available: ${torch.reason}`);
  }

  const rows = [];
  for (const name of o.models) {
    for (const backend of backends) {
      if (backend === 'webgpu' && !o.webgpuModels.includes(name)) {
        skipped.push(`${name} on webgpu (not in --webgpu-models)`);
        continue;
      }
      process.stdout.write(`ours: ${name} on ${backend}… `);
      try {
        await F.setDefaultDevice('cpu');
        const r = await benchOurs(F, name, backend, o);
        if (backend === 'cpu' && typeof F.getCpuThreads === 'function') r.cpuThreads = F.getCpuThreads();
        console.log(`fwd ${fmt(r.fwd.ms)} ms, fwd+bwd ${fmt(r.fwdbwd.ms)} ms`);
        rows.push({ model: name, backend, ...r });
      } catch (e) {
        console.log(`failed: ${e.message.split('\n')[0]}`);
        rows.push({ model: name, backend, error: e.message.split('\n')[0] });
      }
    }
  }

  console.log('');
  console.log(`PyTorch: ${torch.available ? `torch ${torch.torch}, ${torch.threads} threads` : `not available (${torch.reason})`}`);
  const head = ['model', 'backend', 'fwd ms', 'fwd+bwd ms', 'torch fwd ms', 'torch fwd+bwd ms', 'ratio fwd', 'ratio fwd+bwd', 'reps', 'other (ours/torch)'];
  const table = [head];
  for (const r of rows) {
    const t = torch.available ? torch.results?.[r.model] : null;
    const tf = t?.fwd?.ms ?? null;
    const tb = t?.fwdbwd?.ms ?? null;
    if (r.error) {
      table.push([r.model, r.backend, 'error', r.error.slice(0, 60), fmt(tf), fmt(tb), '—', '—', '—', '—']);
      continue;
    }
    const oth = `${maxOther(r.fwd, r.fwdbwd)}/${maxOther(t?.fwd, t?.fwdbwd)}`;
    table.push([r.model, r.backend, cell(r.fwd), cell(r.fwdbwd), torch.available ? cell(t?.fwd) : 'not available', torch.available ? cell(t?.fwdbwd) : 'not available',
      ratio(r.fwd.ms, tf), ratio(r.fwdbwd.ms, tb), `${r.reps}(+${r.warmup})`, oth]);
  }
  const widths = head.map((_, i) => Math.max(...table.map((row) => String(row[i]).length)));
  const line = (row) => `| ${row.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  console.log(line(table[0]));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of table.slice(1)) console.log(line(row));
  const th = rows.find((r) => r.cpuThreads)?.cpuThreads;
  if (th) console.log(`our CPU backend used ${th} thread(s) for matrix products.`);
  console.log('ratio = ours / PyTorch (higher is slower). other = most cores other processes used during the timed passes (median per');
  console.log('measurement, the larger of fwd and fwd+bwd); * = a pass in that median ran while others used > 0.25 core.');
  for (const r of rows.filter((x) => !x.error)) console.log(`  ${r.model} ${r.backend}: fwd ${r.fwd.times.join('/')} ms, fwd+bwd ${r.fwdbwd.times.join('/')} ms`);
  if (torch.available) for (const [m, t] of Object.entries(torch.results ?? {})) if (t.fwd) console.log(`  ${m} torch: fwd ${t.fwd.times.join('/')} ms, fwd+bwd ${t.fwdbwd.times.join('/')} ms`);
  if (skipped.length) console.log(`skipped: ${skipped.join('; ')}`);
  if (o.json) writeFileSync(o.json, JSON.stringify({ date: new Date().toISOString(), options: o, library: from, rows, torch, skipped }, null, 2));
}

try {
  await main();
} catch (e) {
  console.error(e);
  process.exitCode = 1;
}
process.exit(); // dawn.node keeps the process alive otherwise
