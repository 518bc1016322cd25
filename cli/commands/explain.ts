// finercam explain <image>: one image → the three modes' strip as a PNG and the categories printed. With
// no --model it uses the built-in demo model, so a person can try the tool at once. Every option, the
// image and the output path are checked before a model is loaded or a file written.
import { mkdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import * as F from '../../index';
import { flag, list, num, parseArgs, str, UsageError, type OptionSpec, type Parsed } from '../args';
import { loadClassNames } from '../dataset';
import { loadModel, type LoadedModel } from '../model-spec';
import { MODES, type ModeSpec } from '../modes';
import { readImage, resizeCam, writePng } from '../image-io';
import { composeStrip } from '../util/strip';
import { checkOutputFile } from '../util/output-path';
import { chooseBackend } from '../backend-choice';
import { chooseNorm, describeNorm, NORM_HELP, parseNormOption } from '../norm';
import { METHODS } from './generate';
import { loadDemoModel } from '../demo/model';
import { writeTrace } from '../trace-out';
import { CLIP_CLI_OPTIONS, CLIP_MODEL_NAMES, isClipModelName, loadClipModel } from '../clip-model';
import { isSegmentationModel, loadSegmentationModel, readMask, RegionScores, resizeMask, SEGMENTATION_MODEL_NAMES } from '../segmentation-model';
import { checkGuidedModel, guidedBackprop, guidedTile } from '../guided-output';

const CMD = 'explain';

export const EXPLAIN_OPTIONS: Record<string, OptionSpec> = {
  model: { kind: 'string', help: `preset, options .json, or a zero-shot CLIP (${CLIP_MODEL_NAMES.join(', ')}) (default: the built-in demo model)` },
  weights: { kind: 'string', help: 'backbone state dict (.safetensors or .pth); needs --model' },
  'random-weights': { kind: 'boolean', help: 'run --model without --weights on its random initialisation (for trying things out)' },
  classifier: { kind: 'string', help: 'linear head file (ViT backbones); needs --model' },
  classes: { kind: 'string', help: 'class names: JSON array or one per line, as many as the model has outputs' },
  'target-layer': { kind: 'string', help: 'dotted layer name; needs --model' },
  ...CLIP_CLI_OPTIONS,
  method: { kind: 'string', help: 'base CAM method (guided-gradcam: Grad-CAM × guided backprop, ReLU models)', default: 'gradcam', choices: [...Object.keys(METHODS), 'guided-gradcam'] },
  alpha: { kind: 'number', help: 'α of the Finer modes', default: 1 },
  ranks: { kind: 'list', help: 'reference ranks of Finer-Default', default: ['1', '2', '3'] },
  target: { kind: 'number', help: 'class to explain (default: the top class)' },
  'target-class': { kind: 'number', help: 'the same as --target (the name pytorch-grad-cam\'s segmentation tutorial uses)' },
  mask: { kind: 'string', help: `segmentation models (${SEGMENTATION_MODEL_NAMES.join(', ')}): the region to explain, an image of the input's size whose non-black pixels form it` },
  'max-size': { kind: 'number', help: 'longer image side limit in pixels', default: 1000 },
  norm: { kind: 'string', help: NORM_HELP },
  out: { kind: 'string', help: 'output PNG, or a folder to write <image name>.finercam.png into (default: <image name>.finercam.png in the current folder)' },
  backend: { kind: 'string', help: 'compute backend (default: WebGPU on a hardware adapter, else wasm, else CPU)', choices: ['cpu', 'wasm', 'webgpu'] },
  trace: { kind: 'string', help: 'folder to write how the maps were made into: one PNG per step and mode, and trace.json' },
};

function positiveInt(p: Parsed, name: string): number {
  const v = num(p, name)!;
  if (!Number.isInteger(v) || v < 1) throw new UsageError(`${CMD}: --${name} must be a positive integer, got ${v}`);
  return v;
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Where the PNG goes: --out as a file, or into --out when it is a folder (existing, or written with a
 * trailing slash), else the current folder — never beside the image, where a later dataset scan would
 * find it.
 */
async function outputPath(given: string | undefined, imagePath: string): Promise<string> {
  const name = `${basename(imagePath, extname(imagePath))}.finercam.png`;
  let out: string;
  if (given === undefined) out = name;
  else if (/[\\/]$/.test(given) || (await isDir(given))) out = join(given, name);
  else {
    if (extname(given).toLowerCase() !== '.png') throw new UsageError(`${CMD}: --out must be a .png file or a folder, got '${given}'`);
    out = given;
  }
  if (resolve(out) === resolve(imagePath)) throw new UsageError(`${CMD}: --out '${out}' is the input image; choose another file`);
  await checkOutputFile(out, 'out', CMD);
  return out;
}

export async function explain(argv: string[]): Promise<number> {
  const p = parseArgs(argv, EXPLAIN_OPTIONS, CMD);
  if (p.positionals.length !== 1) throw new UsageError(`${CMD}: give exactly one image path`);
  const imagePath = p.positionals[0];
  const modelName = str(p, 'model');
  if (!modelName) {
    // without --model the demo model runs; these would be silently ignored
    for (const o of ['weights', 'classifier', 'target-layer', 'random-weights', 'tokenizer', 'prompts', 'template']) {
      if (p.options[o] !== undefined) throw new UsageError(`${CMD}: --${o} needs --model (without --model, explain uses the built-in demo model)`);
    }
  }
  const clipModel = isClipModelName(modelName);
  if (modelName && !clipModel) {
    for (const o of ['tokenizer', 'prompts', 'template']) {
      if (p.options[o] !== undefined) throw new UsageError(`${CMD}: --${o} is for CLIP models (--model ${CLIP_MODEL_NAMES.join('|')})`);
    }
  }
  if (clipModel && p.options.classifier !== undefined) throw new UsageError(`${CMD}: --classifier does not apply to CLIP: its classes come from --prompts or --classes`);
  const maxSize = positiveInt(p, 'max-size');
  const alpha = num(p, 'alpha')!;
  const ranks = list(p, 'ranks')!.map((r) => {
    const n = Number(r);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${CMD}: --ranks must be positive integers, got '${r}'`);
    return n;
  });
  if (ranks.length === 0) throw new UsageError(`${CMD}: --ranks needs at least one rank`);
  if (p.options.target !== undefined && p.options['target-class'] !== undefined) throw new UsageError(`${CMD}: give --target or --target-class, not both`);
  const target = num(p, 'target') ?? num(p, 'target-class');
  const segModel = await isSegmentationModel(modelName);
  if (segModel && str(p, 'mask') === undefined) throw new UsageError(`${CMD}: --model '${modelName}' is a segmentation model: give --mask <image> with the region to explain`);
  if (!segModel && str(p, 'mask') !== undefined) throw new UsageError(`${CMD}: --mask is for segmentation models (--model ${SEGMENTATION_MODEL_NAMES.join('|')} or a .json with "kind": "deeplabv3"/"fcn")`);
  if (target !== undefined && (!Number.isInteger(target) || target < 0)) throw new UsageError(`${CMD}: --target must be a class index (an integer ≥ 0), got ${target}`);
  const normOverride = parseNormOption(str(p, 'norm'), CMD);
  const out = await outputPath(str(p, 'out'), imagePath);
  let rgb;
  try {
    rgb = await readImage(imagePath);
  } catch (e) {
    throw new UsageError(`${CMD}: cannot read '${imagePath}': ${(e as Error).message}`);
  }
  const mask = segModel ? await readMask(str(p, 'mask')!, rgb.width, rgb.height, CMD) : null;
  const givenClasses = str(p, 'classes') ? await loadClassNames(str(p, 'classes')!, CMD) : null;

  const device = await chooseBackend(str(p, 'backend') as 'cpu' | 'webgpu' | undefined);
  let lm: LoadedModel;
  let classNames: string[] | null = null;
  if (clipModel) {
    lm = await loadClipModel({
      model: modelName!, weights: str(p, 'weights'), randomWeights: flag(p, 'random-weights'), tokenizer: str(p, 'tokenizer'),
      prompts: str(p, 'prompts'), classes: givenClasses, template: str(p, 'template'), targetLayer: str(p, 'target-layer'),
    }, CMD);
  } else if (segModel) {
    lm = await loadSegmentationModel({ model: modelName!, weights: str(p, 'weights'), targetLayer: str(p, 'target-layer'), randomWeights: flag(p, 'random-weights') }, CMD);
  } else if (modelName) {
    lm = await loadModel({ model: modelName, weights: str(p, 'weights'), classifier: str(p, 'classifier'), targetLayer: str(p, 'target-layer'), randomWeights: flag(p, 'random-weights') }, CMD);
  } else {
    const demo = await loadDemoModel();
    lm = demo.loaded;
    classNames = demo.classNames;
  }
  if (lm.classNames) classNames = lm.classNames;
  if (givenClasses) {
    if (givenClasses.length !== lm.numClasses) {
      throw new UsageError(`${CMD}: --classes lists ${givenClasses.length} names but the model has ${lm.numClasses} outputs`);
    }
    classNames = givenClasses;
  }
  if (target !== undefined && target >= lm.numClasses) {
    throw new UsageError(`${CMD}: --target must be a class index in 0..${lm.numClasses - 1}, got ${target}`);
  }
  const norm = chooseNorm(normOverride, lm);
  console.error(`${CMD}: model ${lm.describe}, layer ${lm.targetLayer}, norm ${describeNorm(norm)}, backend ${device}`);
  if (device !== 'cpu') await lm.model.to(device);
  const modes: ModeSpec[] = [
    { ...MODES[0] },
    { ...MODES[1], alpha, referenceCategoryRanks: ranks },
    { ...MODES[2], alpha },
  ];
  let pre: { tensor: F.Tensor; gridH: number; gridW: number };
  if (lm.clipInputSize) {
    // CLIP sees the centre crop at its resolution: the tiles show that crop, so the maps line up with it
    const cp = F.clipPreprocess(rgb, { size: lm.clipInputSize, norm: norm.norm, device });
    const g = lm.clipInputSize / lm.patchSize;
    pre = { tensor: cp.tensor, gridH: g, gridW: g };
    rgb = cp.image;
  } else pre = F.preprocess(rgb, { maxSize, patchSize: lm.patchSize, norm: norm.norm, device });
  const guided = str(p, 'method') === 'guided-gradcam';
  if (guided) checkGuidedModel(lm.model, CMD);
  // the region at the model input's size (preprocess may have shrunk the image)
  const region = mask ? resizeMask(mask, rgb.width, rgb.height, pre.tensor.shape[3], pre.tensor.shape[2]) : null;
  const cam = new F.FinerCAM({ model: lm.model, targetLayers: [lm.targetLayer], reshapeTransform: lm.reshapeTransform, baseMethod: guided ? F.GradCAM : METHODS[str(p, 'method')!] });
  try {
    const r = await cam.forwardModes({
      inputTensor: pre.tensor, targetIdx: target ?? null,
      H: lm.kind === 'vit' ? pre.gridH : undefined, W: lm.kind === 'vit' ? pre.gridW : undefined,
      modes: modes.map((m) => ({ alpha: m.alpha, referenceCategoryRanks: m.referenceCategoryRanks })),
      trace: str(p, 'trace') !== undefined,
      masks: region ? [region] : undefined,
    });
    const name = (k: number) => (classNames && classNames[k] !== undefined ? `${classNames[k]} (${k})` : String(k));
    const short = (k: number) => (classNames && classNames[k] !== undefined ? classNames[k] : `class ${k}`);
    // segmentation: the classes' probabilities from their mean logits over the region
    const probs = region
      ? await F.softmax(F.tensor(await F.maskedClassScores(r.outputs, [region], CMD), [1, lm.numClasses], { device: r.outputs.device }), 1).data()
      : await F.softmax(r.outputs, 1).data();
    const main0 = r.mainCategories[0][0];
    // a segmentation model's class score is its map summed over the region (what Grad-CAM explained)
    const gbModel = region ? new RegionScores(lm.model, region, pre.tensor.shape[2], pre.tensor.shape[3]) : lm.model;
    const gb = guided ? await guidedBackprop(gbModel, pre.tensor, main0) : null;
    const tiles = [rgb];
    const labels = [`Original\n${short(main0)}\np = ${probs[main0].toFixed(3)}`];
    for (let i = 0; i < modes.length; i++) {
      const c = r.cams[i];
      const full = resizeCam((await c.data()) as Float32Array, c.shape[1], c.shape[2], rgb.width, rgb.height);
      tiles.push(gb ? await guidedTile(gb, (await c.data()) as Float32Array, c.shape[1], c.shape[2]) : F.showCamOnImage(rgb, full, { style: 'finer-cam' }));
      const main = r.mainCategories[i][0];
      const refs = r.references[i][0];
      labels.push(modes[i].alpha === 0 ? `${modes[i].label}\n${short(main)}` : `${modes[i].label}\n${short(main)}\nvs ${refs.map(short).join(', ') || '-'}`);
      console.log(`${modes[i].label.padEnd(14)} main ${name(main)} p=${probs[main].toFixed(3)}  references ${refs.map(name).join(', ') || '(none)'}  α=${modes[i].alpha}`);
      c.dispose();
    }
    r.outputs.dispose();
    await mkdir(dirname(out), { recursive: true });
    await writePng(out, composeStrip(tiles, labels, { tileHeight: Math.min(256, Math.max(96, rgb.height)), legend: true }));
    console.log(`wrote ${out}`);
    const traceDir = str(p, 'trace');
    if (traceDir !== undefined && r.trace) console.log(`wrote ${await writeTrace(traceDir, r.trace, modes, classNames)} trace files into ${traceDir}`);
  } finally {
    pre.tensor.dispose();
    cam.dispose();
  }
  return 0;
}
