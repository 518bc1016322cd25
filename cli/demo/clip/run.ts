// `finercam demo --clip`: the multi-modal demo. Loads the tiny CLIP trained by this project (cli/demo/weights/clip-*,
// or trains it first with --train), prints its zero-shot accuracy on the attribute prompts, explains test images'
// attribute prompts against each other with Baseline / Finer-Default / Finer-Compare, prints the table and its
// reading, and writes the strips and results.json to --out (default out/demo-clip).
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as F from '../../../index';
import { flag, num, parseArgs, str, UsageError, type OptionSpec } from '../../args';
import { chooseBackend } from '../../backend-choice';
import { checkOutputDir } from '../../util/output-path';
import { writeFilesAtomic } from '../../util/atomic-write';
import { fmtTime } from '../../progress';
import { evaluateClipDemo } from './evaluate';
import { clipDemoPaths, loadClipDemo, type ClipDemoPaths } from './model';
import { formatClipTable } from './report';
import { DEFAULT_CLIP_TRAIN, trainTinyClip, type ClipTrainResult } from './train';
import { demoTokenizerFiles } from './vocab';

export const CLIP_DEMO_OPTIONS: Record<string, OptionSpec> = {
  clip: { kind: 'boolean', help: 'the multi-modal demo (this one)' },
  out: { kind: 'string', help: 'directory for the PNG strips and results.json', default: 'out/demo-clip' },
  count: { kind: 'number', help: 'strips to draw, 0..1000 (the first 6: one class per pair with its part visible)', default: 6 },
  'eval-size': { kind: 'number', help: 'test images for the table, each explained for its 6 parts (1..5000)', default: 120 },
  train: { kind: 'boolean', help: 'train the tiny CLIP from scratch first (on the wasm backend) and write its files (about 15 minutes on 2 shared CPU cores)' },
  steps: { kind: 'number', help: 'training steps of 32 images (with --train; 1..100000)', default: DEFAULT_CLIP_TRAIN.steps },
  seed: { kind: 'number', help: 'training seed (with --train)', default: DEFAULT_CLIP_TRAIN.seed },
  'weights-dir': { kind: 'string', help: 'folder of the tiny CLIP\'s files clip-tiny.safetensors, clip-tiny.json and clip-tokenizer/ to read (or, with --train, write) (default: the bundled cli/demo/weights)' },
  backend: { kind: 'string', help: 'compute backend of the explanations (default: WebGPU on a hardware adapter, else wasm)', choices: ['cpu', 'wasm', 'webgpu'] },
};

function intIn(v: number | undefined, name: string, min: number, max: number): number {
  if (v === undefined || !Number.isInteger(v) || v < min || v > max) throw new UsageError(`demo --clip: --${name} must be an integer in ${min}..${max}, got ${v}`);
  return v;
}

/** The trained model's files: weights (no metadata, so equal seeds give equal bytes), meta JSON, tokenizer folder. */
export async function saveClipDemo(r: ClipTrainResult, paths: ClipDemoPaths): Promise<void> {
  const tok = demoTokenizerFiles();
  await mkdir(paths.tokenizer, { recursive: true });
  await writeFilesAtomic([
    { path: paths.weights, data: await F.saveSafetensors(r.clip.stateDict()) },
    { path: paths.meta, data: `${JSON.stringify(r.meta, null, 2)}\n` },
    { path: join(paths.tokenizer, 'vocab.json'), data: tok.vocabJson },
    { path: join(paths.tokenizer, 'merges.txt'), data: tok.mergesTxt },
  ]);
}

export async function runClipDemo(argv: string[]): Promise<number> {
  const p = parseArgs(argv, CLIP_DEMO_OPTIONS, 'demo');
  if (p.positionals.length) throw new UsageError(`demo --clip: unexpected argument '${p.positionals[0]}'`);
  const count = intIn(num(p, 'count'), 'count', 0, 1000);
  const evalSize = intIn(num(p, 'eval-size'), 'eval-size', 1, 5000);
  const steps = intIn(num(p, 'steps'), 'steps', 1, 100000);
  const seed = num(p, 'seed')!;
  if (!Number.isInteger(seed)) throw new UsageError(`demo --clip: --seed must be an integer, got ${seed}`);
  const train = flag(p, 'train');
  for (const o of ['steps', 'seed']) {
    if (!train && argv.some((a) => a === `--${o}` || a.startsWith(`--${o}=`))) throw new UsageError(`demo --clip: --${o} only applies with --train`);
  }
  const out = resolve(str(p, 'out')!);
  await checkOutputDir(out, 'out', 'demo --clip');
  const dir = str(p, 'weights-dir');
  if (dir !== undefined) await checkOutputDir(resolve(dir), 'weights-dir', 'demo --clip');
  const paths = clipDemoPaths(dir !== undefined ? resolve(dir) : undefined);

  if (train) {
    // training always runs on wasm: it is bit-reproducible there whatever the thread count (and far faster than cpu)
    if ((await F.setDefaultDevice('wasm')) !== 'wasm') throw new Error('demo --clip --train: the wasm backend is not available here (it needs WebAssembly SIMD)');
    const r = await trainTinyClip({ steps, seed });
    await saveClipDemo(r, paths);
    console.log(`trained in ${fmtTime(r.seconds)} (${r.seconds.toFixed(0)} s); wrote ${paths.weights}, ${paths.meta} and ${paths.tokenizer}/`);
  }
  const device = await chooseBackend(str(p, 'backend') as 'cpu' | 'webgpu' | 'wasm' | undefined);
  let m;
  try {
    m = await loadClipDemo(paths);
  } catch (e) {
    throw new UsageError(`demo --clip: ${(e as Error).message}`);
  }
  if (device !== 'cpu') await m.clip.to(device);
  const t0 = Date.now();
  const c = m.clip.config;
  const tower = Array.isArray(c.visionLayers) ? `ModifiedResNet ${c.visionLayers.join('-')}, width ${c.visionWidth}` : `ViT patch ${c.visionPatchSize}, ${c.visionLayers} blocks`;
  console.log(
    `model: tiny CLIP (${tower}, ${c.imageResolution}×${c.imageResolution}; text ${c.transformerLayers} blocks), trained by this project ` +
      `(seed ${m.meta.seed}, ${m.meta.steps} steps; ${m.paths.weights}); target layer ${m.meta.targetLayer} (chosen on validation images); backend ${device}`,
  );
  const r = await evaluateClipDemo(m, { evalSize, count, outDir: out, device, progress: true });
  console.log('');
  console.log(formatClipTable(r));
  console.log('');
  console.log(`wrote ${r.strips.length ? `${r.strips.length} strips and ` : ''}results.json to ${out} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return 0;
}
