// `finercam generate` throughput: images per second on each backend, one run per backend, over a folder of
// procedural birds (the demo's generator, cli/demo/birds.ts: the demo's test-set seed, 96×96 PNGs in
// <class>/<image>.png folders), all three modes (Baseline, Finer-Default, Finer-Compare), written as .npy +
// sidecars like any generate run. Models: the demo ResNet with its bundled weights (--model demo) and/or a
// ResNet-50 on random weights (--model resnet50, 224×224 birds). Wall time of the whole command (start-up,
// weight loading and output writing included) and the per-image rate after the first image (from generate's
// own progress clock is not available, so: (total − the time of a 1-image run) / (n − 1)).
//
//   node build.mjs && node bench/generate-speed.mjs [--images N] [--backends cpu,wasm] [--models demo,resnet50]
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg, tmpdir } from 'node:os';
import { ROOT, printTable, readOptions } from './common.mjs';

const SELF = fileURLToPath(import.meta.url);
const o = { images: 48, backends: ['cpu', 'wasm'], models: ['demo', 'resnet50'] };
readOptions(process.argv.slice(2), SELF, (a, next, int) => {
  if (a === '--images') o.images = int();
  else if (a === '--backends') o.backends = next().split(',');
  else if (a === '--models') o.models = next().split(',');
  else return false;
  return true;
});

const { build } = await import('esbuild');
const birdsJs = join(ROOT, 'node_modules', '.cache', 'finercam-bench', 'birds.js');
await build({ entryPoints: [join(ROOT, 'cli', 'demo', 'birds.ts')], outfile: birdsJs, bundle: true, format: 'esm', platform: 'node', target: 'node20', logLevel: 'warning' });
const birds = await import(birdsJs);
const F = await import(join(ROOT, 'dist', 'index.js'));

const work = join(tmpdir(), `finercam-generate-bench-${process.pid}`);
function writeBirds(size, n) {
  const dir = join(work, `birds-${size}-${n}`);
  const classes = birds.BIRD_CLASS_NAMES;
  const per = Math.ceil(n / classes.length);
  const ds = birds.makeDataset({ perClass: per, seed: 2, size }); // seed 2: the demo's test set (not its training seed)
  for (let i = 0; i < n; i++) {
    const cdir = join(dir, classes[ds.labels[i]].replace(/[^\w-]+/g, '_'));
    mkdirSync(cdir, { recursive: true });
    writeFileSync(join(cdir, `${String(i).padStart(4, '0')}.png`), F.encodePng(ds.images[i]));
  }
  return dir;
}

const demoJson = join(work, 'demo-model.json');
mkdirSync(work, { recursive: true });
writeFileSync(demoJson, JSON.stringify({ block: 'basic', layers: [1, 1, 1, 1], widths: [16, 32, 64, 128], numClasses: 12 }));
const modelArgs = {
  demo: { size: 96, args: ['--model', demoJson, '--weights', join(ROOT, 'cli', 'demo', 'weights', 'demo-resnet.safetensors'), '--target-layer', 'layer3', '--norm', 'imagenet'] },
  resnet50: { size: 224, args: ['--model', 'resnet50', '--random-weights'] },
};

function run(model, backend, dataset) {
  const save = join(work, `out-${model}-${backend}-${Math.random().toString(36).slice(2)}`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'generate', '--dataset', dataset, '--save', save, ...modelArgs[model].args, '--backend', backend], { encoding: 'utf8' });
  const s = (performance.now() - t0) / 1000;
  rmSync(save, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`generate ${model} ${backend} failed (${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ')}`);
  return s;
}

const rows = [['model', 'backend', 'images', 'total s', '1-image run s', 'images/s (after start-up)', 'load before']];
const rates = {};
for (const model of o.models) {
  const one = writeBirds(modelArgs[model].size, 1);
  const many = writeBirds(modelArgs[model].size, o.images);
  for (const backend of o.backends) {
    const load = loadavg()[0].toFixed(2);
    const t1 = run(model, backend, one);
    const tn = run(model, backend, many);
    const rate = (o.images - 1) / Math.max(1e-9, tn - t1);
    rates[`${model} ${backend}`] = rate;
    rows.push([model, backend, o.images, tn.toFixed(1), t1.toFixed(1), rate.toFixed(2), load]);
  }
}
rmSync(work, { recursive: true, force: true });
printTable(rows);
for (const model of o.models) if (rates[`${model} cpu`] && rates[`${model} wasm`]) console.log(`${model}: wasm / cpu = ${(rates[`${model} wasm`] / rates[`${model} cpu`]).toFixed(2)}× images per second`);
