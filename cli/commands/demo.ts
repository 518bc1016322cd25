// finercam demo: the built-in demonstrations. `npm start` runs `demo --lookalike`, Finer-CAM in the seed's
// own setting (cli/demo/lookalike.ts: a frozen ViT pre-trained on a broader procedural task + a linear probe
// trained by train-probe, 12 classes in look-alike pairs; table with an Oracle row; --split and
// --target-layer look at the validation images and at other layers). Plain `demo` explains the bundled
// ResNet trained end to end on procedural fine-grained birds (cli/demo/): accuracy on the generated test
// set, Baseline / Finer-Default / Finer-Compare strips and the evaluation table (RD@5% and the share of the
// map on the true discriminative part). With --train either demo first trains its model from scratch and
// writes the weights (then evaluates them). --clip runs the multi-modal demo (cli/demo/clip/).
import { stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { flag, num, parseArgs, str, UsageError, type OptionSpec } from '../args';
import { chooseBackend } from '../backend-choice';
import { loadDemoModel, demoWeightsPath, saveDemoWeights, type DemoModel } from '../demo/model';
import { checkOutputDir, checkOutputFile } from '../util/output-path';
import { DEFAULT_TRAIN_OPTIONS, trainDemoModel } from '../demo/train';
import { evaluateDemo, formatTable } from '../demo/evaluate';
import { CANDIDATE_LAYERS, loadLookalike, trainLookalike } from '../demo/lookalike';
import { chooseLayerOnValidation, evaluateLookalike, formatLookalikeTable } from '../demo/evaluate-lookalike';
import { runClipDemo } from '../demo/clip/run';

export const DEMO_OPTIONS: Record<string, OptionSpec> = {
  out: { kind: 'string', help: 'directory for the PNG strips and results.json', default: 'out/demo' },
  count: { kind: 'number', help: 'test images to draw as strips, 0..1000 (the first 6: one class per pair with its part visible; 12: all classes)', default: 12 },
  'eval-size': { kind: 'number', help: 'generated test images for the table (1..20000; with --lookalike the default is 480)', default: 240 },
  train: { kind: 'boolean', help: 'train the demo model from scratch first and write its weights (minutes on a CPU)' },
  epochs: { kind: 'number', help: 'training epochs (with --train; 1..1000)', default: DEFAULT_TRAIN_OPTIONS.epochs },
  seed: { kind: 'number', help: 'training seed (with --train)', default: DEFAULT_TRAIN_OPTIONS.seed },
  weights: { kind: 'string', help: 'demo weights file to read (or, with --train, to write) (default: the bundled cli/demo/weights/demo-resnet.safetensors)' },
  backend: { kind: 'string', help: 'compute backend (default: WebGPU on a hardware adapter, else cpu — the reference the README\'s table comes from; wasm is ~4× faster)', choices: ['cpu', 'wasm', 'webgpu'] },
  clip: { kind: 'boolean', help: 'the multi-modal demo: a tiny CLIP trained by this project explains attribute prompts ("a bird with an orange beak") against each other (cli/demo/clip/); with it: --out (default out/demo-clip), --count (default 6), --eval-size (test images × 6 parts, default 120), --backend, --weights-dir (its files, default cli/demo/weights/clip-*), --train [--steps N --seed S]' },
  'target-layer': { kind: 'string', help: 'with --lookalike: explain at this layer instead of the one chosen on validation images (a module name of the probe, e.g. backbone.blocks.2.norm2)' },
  split: { kind: 'string', help: 'with --lookalike: the generated images to evaluate: test (default) or val (those the target layer was chosen on)', choices: ['test', 'val'] },
  lookalike: { kind: 'boolean', help: "the look-alike demo (what `npm start` runs): a frozen ViT pre-trained on a broader bird task + a linear probe trained with train-probe (the seed's setting), 12 classes in look-alike pairs, evaluated on wasm without a hardware GPU; with --train, reproduce its files bit for bit (trained on the wasm backend: 10-20 minutes on 2 shared CPU cores)" },
};

// Upper bounds keep a typo from allocating gigabytes: 20000 generated 96×96 test images take about 550 MB.
function positiveInt(v: number | undefined, name: string, min: number, max: number): number {
  if (v === undefined || !Number.isInteger(v) || v < min || v > max) throw new UsageError(`demo: --${name} must be an integer in ${min}..${max}, got ${v}`);
  return v;
}

/** --weights to read: an existing finercam demo weights file, checked before anything runs. */
async function readableDemoWeights(path: string): Promise<DemoModel> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new UsageError(`demo: --weights '${path}' does not exist`);
  }
  if (!info.isFile()) throw new UsageError(`demo: --weights '${path}' is not a file`);
  try {
    return await loadDemoModel(path);
  } catch (e) {
    throw new UsageError(`demo: --weights '${path}' is not a finercam demo weights file (a .safetensors written by 'finercam demo --train'): ${(e as Error).message}`);
  }
}

export async function demo(argv: string[]): Promise<number> {
  if (argv.includes('--clip')) return runClipDemo(argv); // parses its own options (cli/demo/clip/run.ts)
  const p = parseArgs(argv, DEMO_OPTIONS, 'demo');
  if (p.positionals.length) throw new UsageError(`demo: unexpected argument '${p.positionals[0]}'`);
  const count = positiveInt(num(p, 'count'), 'count', 0, 1000);
  const evalSize = positiveInt(num(p, 'eval-size'), 'eval-size', 1, 20000);
  const epochs = positiveInt(num(p, 'epochs'), 'epochs', 1, 1000);
  const seed = num(p, 'seed')!;
  if (!Number.isInteger(seed)) throw new UsageError(`demo: --seed must be an integer, got ${seed}`);
  const train = flag(p, 'train');
  for (const o of ['epochs', 'seed']) {
    if (!train && argv.some((a) => a === `--${o}` || a.startsWith(`--${o}=`))) throw new UsageError(`demo: --${o} only applies with --train`);
  }
  const out = resolve(str(p, 'out')!);
  await checkOutputDir(out, 'out', 'demo');
  for (const o of ['target-layer', 'split']) {
    if (!flag(p, 'lookalike') && str(p, o) !== undefined) throw new UsageError(`demo: --${o} only applies with --lookalike`);
  }
  if (flag(p, 'lookalike')) {
    if (str(p, 'weights')) throw new UsageError('demo: --weights does not apply to --lookalike (its files are cli/demo/weights/lookalike-*)');
    if (argv.some((a) => a === '--epochs' || a.startsWith('--epochs='))) throw new UsageError('demo: --epochs does not apply to --lookalike');
    const evalArg = argv.some((a) => a === '--eval-size' || a.startsWith('--eval-size='));
    if (train && str(p, 'target-layer') !== undefined) throw new UsageError('demo: --target-layer does not apply with --train (training chooses the layer on validation images)');
    return lookalikeDemo({ train, seed, evalSize: evalArg ? evalSize : 480, count, out, backend: str(p, 'backend'), targetLayer: str(p, 'target-layer'), split: (str(p, 'split') ?? 'test') as 'test' | 'val' });
  }
  const weights = str(p, 'weights') ? resolve(str(p, 'weights')!) : undefined;
  if (train && weights) {
    if (extname(weights).toLowerCase() !== '.safetensors') throw new UsageError(`demo: --weights must be a .safetensors file to write, got '${str(p, 'weights')}'`);
    await checkOutputFile(weights, 'weights', 'demo');
  }
  // read (and so checked) before any work: a wrong file is a usage error, not a stack trace later
  let dm = !train && weights ? await readableDemoWeights(weights) : null;
  // without a hardware GPU the demo stays on the CPU reference: the committed weights and the README's table
  // are its bit-reproducible results (wasm sums in another order: the table moves in the third decimal)
  const device = await chooseBackend(str(p, 'backend') as 'cpu' | 'webgpu' | 'wasm' | undefined, { withoutGpu: 'cpu' });

  if (train) {
    const target = weights ?? demoWeightsPath();
    const { model, meta } = await trainDemoModel({ epochs, seed });
    const bytes = await saveDemoWeights(model, meta, target);
    console.log(`trained in ${meta.trainSeconds} s; test accuracy ${(100 * meta.testAccuracy).toFixed(1)}%; wrote ${target} (${(bytes / 1024).toFixed(0)} KiB)`);
  }

  const t0 = Date.now();
  dm ??= await loadDemoModel(weights);
  if (device !== 'cpu') await dm.loaded.model.to(device);
  console.log(`model: ${dm.loaded.describe}, target layer ${dm.loaded.targetLayer}, trained with seed ${dm.meta.seed} (${dm.path})`);
  const r = await evaluateDemo(dm, { evalSize, count, outDir: out, device, progress: true });
  console.log('');
  console.log(formatTable(r, { testAccuracy: dm.meta.testAccuracy, testPerClass: dm.meta.testPerClass, classes: dm.classNames.length }));
  console.log('');
  if (r.strips.length) console.log(`wrote ${r.strips.length} strips and results.json to ${out} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  else console.log(`wrote results.json to ${out} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return 0;
}

async function lookalikeDemo(o: { train: boolean; seed: number; evalSize: number; count: number; out: string; backend: string | undefined; targetLayer: string | undefined; split: 'test' | 'val' }): Promise<number> {
  // trained on wasm, so without a hardware GPU it is evaluated there too (the README's table is this run; wasm
  // gives the same bits on any number of threads)
  const device = await chooseBackend(o.backend as 'cpu' | 'webgpu' | 'wasm' | undefined, { withoutGpu: 'wasm' });
  const choose = (m: Parameters<typeof chooseLayerOnValidation>[0], perClass: number) => chooseLayerOnValidation(m, perClass, CANDIDATE_LAYERS);
  const t0 = Date.now();
  const m = o.train ? await trainLookalike({ seed: o.seed }, choose) : await loadLookalike(undefined, o.targetLayer);
  if (o.train) console.log(`trained in ${m.meta.trainSeconds.total} s (backbone ${m.meta.trainSeconds.backbone} s, probe ${m.meta.trainSeconds.probe} s, layer choice ${m.meta.trainSeconds.layerChoice} s); wrote ${m.paths.dir}/lookalike*`);
  if (device !== 'cpu') await m.loaded.model.to(device);
  const chosen = m.loaded.targetLayer === m.meta.targetLayer ? 'chosen on validation images' : `given by --target-layer; the one chosen on validation images is ${m.meta.targetLayer}`;
  console.log(`model: frozen ViT backbone ${m.paths.backbone} + linear probe ${m.paths.probe} (12 classes); target layer ${m.loaded.targetLayer}, ${chosen}`);
  const seed = o.split === 'val' ? m.meta.seeds.val : m.meta.seeds.test;
  const r = await evaluateLookalike(m, { evalSize: o.evalSize, count: o.count, outDir: o.out, device, progress: true, seed, split: o.split });
  console.log('');
  console.log(formatLookalikeTable(r));
  console.log('');
  console.log(`wrote ${r.strips.length ? `${r.strips.length} strips and ` : ''}results.json to ${o.out} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return 0;
}
