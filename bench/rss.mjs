// Peak resident memory (RSS) of a Finer-CAM process: ours (ResNet-50 or ViT-S/14, each backend in its own
// process) beside PyTorch's (bench/torch_models.py --mode cam, the same CAM), each a fresh process that builds
// the model with random weights and runs a warm-up plus --passes Finer-CAM passes at 1×3×224×224.
// Peak RSS is the kernel's maxrss of the process (getrusage; for PyTorch read through GNU time's %M), so it
// includes each runtime's own baseline (Node + V8 about 45 MB; Python + torch about 150 MB) and, for ours on
// wasm, every touched page of the wasm memory (its heap keeps freed blocks for reuse and never shrinks).
//
//   node build.mjs && node bench/rss.mjs [--models resnet50,vits14] [--backends wasm,cpu] [--passes N] [--no-torch]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HERE, ROOT, printTable, readOptions } from './common.mjs';

const SELF = fileURLToPath(import.meta.url);
const o = { models: ['resnet50'], backends: ['wasm', 'cpu'], passes: 3, torch: true, child: null };
readOptions(process.argv.slice(2), SELF, (a, next, int) => {
  if (a === '--models') o.models = next().split(',');
  else if (a === '--backends') o.backends = next().split(',');
  else if (a === '--passes') o.passes = int();
  else if (a === '--no-torch') o.torch = false;
  else if (a === '--child') o.child = next();
  else return false;
  return true;
});

async function child(spec) {
  const [model, backend] = spec.split(':');
  const F = await import(join(ROOT, 'dist', 'index.js'));
  // the model is built on the backend itself (its default device), as an application that picked a device
  // would: building on the CPU and moving it would hold both copies of the weights for a moment
  await F.setDefaultDevice(backend);
  if (backend === 'wasm') await (await F.getBackend('wasm')).ready();
  F.manualSeed(0);
  let m, cam;
  if (model === 'resnet50') {
    m = F.resnet50();
    cam = () => new F.FinerCAM({ model: m, targetLayers: ['layer4'], baseMethod: F.GradCAM });
  } else {
    m = new F.LinearProbe(F.dinov2Vits14(), 1000);
    cam = () => new F.FinerCAM({ model: m, targetLayers: ['backbone.blocks.-1.norm1'], baseMethod: F.GradCAM, reshapeTransform: F.vitReshapeTransform({ prefixTokens: 1, patchSize: 14 }) });
  }
  m.eval();
  F.manualSeed(1);
  const x = F.tensor(await F.randn([1, 3, 224, 224]).data(), [1, 3, 224, 224], { device: backend });
  const c = cam();
  for (let i = 0; i < o.passes + 1; i++) {
    const r = await c.forward({ inputTensor: x });
    await r.cam.data();
    r.cam.dispose();
    r.outputs.dispose();
  }
  const stats = backend === 'wasm' ? (await F.getBackend('wasm')).stats() : null;
  process.stdout.write(JSON.stringify({ maxRssMB: process.resourceUsage().maxRSS / 1024, wasmMemoryMB: stats ? stats.memoryBytes / 2 ** 20 : null, wasmInUseMB: stats ? stats.bytesInUse / 2 ** 20 : null }) + '\n');
  process.exit(0);
}

if (o.child) await child(o.child);
else {
  const rows = [['model', 'process', 'peak RSS MB', 'wasm memory MB', 'ours / torch']];
  for (const model of o.models) {
    let torchMB = null;
    if (o.torch && existsSync('/usr/bin/python3') && existsSync('/usr/bin/time')) {
      const r = spawnSync('/usr/bin/time', ['-f', 'MAXRSS %M', '/usr/bin/python3', join(HERE, 'torch_models.py'), '--mode', 'cam', '--models', model, '--reps', String(o.passes), '--warmup', '1', '--quiet-wait', '0'], { encoding: 'utf8' });
      const m = /MAXRSS (\d+)/.exec(r.stderr);
      const ok = r.stdout.includes('"available": true');
      torchMB = m && ok ? Number(m[1]) / 1024 : null;
      rows.push([model, 'torch', torchMB == null ? `not available (${r.stdout.slice(0, 80)})` : torchMB.toFixed(0), '—', '—']);
    }
    for (const b of o.backends) {
      const r = spawnSync(process.execPath, [SELF, '--child', `${model}:${b}`, '--passes', String(o.passes)], { encoding: 'utf8' });
      try {
        const j = JSON.parse(r.stdout.trim().split('\n').pop());
        rows.push([model, `ours ${b}`, j.maxRssMB.toFixed(0), j.wasmMemoryMB == null ? '—' : j.wasmMemoryMB.toFixed(0), torchMB ? `${(j.maxRssMB / torchMB).toFixed(2)}×` : '—']);
      } catch {
        rows.push([model, `ours ${b}`, `failed: ${(r.stderr || r.stdout).trim().split('\n').pop()?.slice(0, 80)}`, '—', '—']);
      }
    }
  }
  printTable(rows);
  console.log(`passes: 1 warm-up + ${o.passes}; peak RSS includes each runtime's baseline.`);
}
