// Whole-model speed: forward, and forward + backward to one hooked activation, for resnet18, resnet50 and
// DINOv2 ViT-S/14 at 1×3×224×224 on each of our backends, beside PyTorch in the same run.
//
//   node build.mjs && node bench/models.mjs [options]
//
//   --models resnet18,resnet50,vits14   which models (default: all three)
//   --backends cpu,wasm,webgpu          which of our backends (default: all three; webgpu only if an adapter exists)
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
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fmt, openLibrary, passes, placeModel, printTable, readOptions, runMain, runTorch, timeReps } from './common.mjs';

const ALL_MODELS = ['resnet18', 'resnet50', 'vits14'];
const TARGET = { resnet18: 'layer4', resnet50: 'layer4', vits14: 'blocks.-1.norm1' };

// ------------------------------------------------------------------ options
function parseArgs(argv) {
  const o = {
    models: ALL_MODELS, backends: ['cpu', 'wasm', 'webgpu'], webgpuModels: ALL_MODELS,
    reps: 3, warmup: 1, webgpuReps: 1, webgpuWarmup: 1, torchReps: 5, torchWarmup: 2,
    torch: true, quietWait: 3, json: null, threads: null,
  };
  const list = (v) => (v === 'all' ? ALL_MODELS : v.split(',').filter(Boolean));
  readOptions(argv, fileURLToPath(import.meta.url), (a, next, int) => {
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
    else return false;
    return true;
  });
  for (const m of [...o.models, ...o.webgpuModels]) if (!ALL_MODELS.includes(m)) throw new Error(`unknown model ${m}; expected ${ALL_MODELS.join(', ')}`);
  for (const b of o.backends) if (b !== 'cpu' && b !== 'wasm' && b !== 'webgpu') throw new Error(`unknown backend ${b}; expected cpu, wasm or webgpu`);
  if (o.reps < 1 || o.webgpuReps < 1 || o.torchReps < 1) throw new Error('reps must be at least 1');
  return o;
}

// ------------------------------------------------------------------ our models
function buildModel(F, name) {
  F.manualSeed(0);
  if (name === 'resnet18') return F.resnet18();
  if (name === 'resnet50') return F.resnet50();
  return F.dinov2Vits14({ numClasses: 1000 });
}

async function benchOurs(F, name, backend, o) {
  const { reps, warmup } = passes(o, backend);
  const t0 = performance.now();
  const model = buildModel(F, name);
  const x = await placeModel(F, model, backend);
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
/** ms of a timeReps result, with * when a pass used was disturbed by other processes. */
const cell = (r) => (r == null ? '—' : `${fmt(r.ms)}${r.noisy ? '*' : ''}`);
const maxOther = (...rs) => {
  const v = rs.filter((r) => r && r.other != null).map((r) => r.other);
  return v.length ? Math.max(...v).toFixed(2) : '—';
};
const ratio = (a, b) => (a == null || b == null ? '—' : `${(a / b).toFixed(1)}×`);

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const { F, from, wantWebgpu, backends, skipped } = await openLibrary(o, 'webgpu');
  if (!wantWebgpu && o.backends.includes('webgpu')) skipped.push('webgpu: not requested for these models');

  // PyTorch first, alone, so neither side competes with the other for the two cores.
  let torch = { available: false, reason: 'skipped (--no-torch)' };
  if (o.torch) {
    console.log(`PyTorch: ${o.models.join(', ')} (${o.torchWarmup} warm-up + ${o.torchReps} timed passes each)…`);
    torch = await runTorch('models', o.models, { reps: o.torchReps, warmup: o.torchWarmup, quietWait: o.quietWait, threads: o.threads });
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
  printTable(table);
  const th = rows.find((r) => r.cpuThreads)?.cpuThreads;
  if (th) console.log(`our CPU backend used ${th} thread(s) for matrix products.`);
  console.log('ratio = ours / PyTorch (higher is slower). other = most cores other processes used during the timed passes (median per');
  console.log('measurement, the larger of fwd and fwd+bwd); * = a pass in that median ran while others used > 0.25 core.');
  for (const r of rows.filter((x) => !x.error)) console.log(`  ${r.model} ${r.backend}: fwd ${r.fwd.times.join('/')} ms, fwd+bwd ${r.fwdbwd.times.join('/')} ms`);
  if (torch.available) for (const [m, t] of Object.entries(torch.results ?? {})) if (t.fwd) console.log(`  ${m} torch: fwd ${t.fwd.times.join('/')} ms, fwd+bwd ${t.fwdbwd.times.join('/')} ms`);
  if (skipped.length) console.log(`skipped: ${skipped.join('; ')}`);
  if (o.json) writeFileSync(o.json, JSON.stringify({ date: new Date().toISOString(), options: o, library: from, rows, torch, skipped }, null, 2));
}

await runMain(main);
