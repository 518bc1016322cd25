// finercam explain <image>: one image → the three modes' strip as a PNG and the categories printed. With
// no --model it uses the built-in demo model, so a person can try the tool at once.
import { mkdir } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import * as F from '../../index';
import { list, num, parseArgs, str, UsageError, type OptionSpec } from '../args';
import { loadClassNames } from '../dataset';
import { loadModel, type LoadedModel } from '../model-spec';
import { MODES, type ModeSpec } from '../modes';
import { readImage, resizeCam, writePng } from '../image-io';
import { overlayCam } from '../overlay';
import { composeStrip } from '../util/strip';
import { chooseBackend } from '../backend-choice';
import { METHODS } from './generate';
import { loadDemoModel } from '../demo/model';

export const EXPLAIN_OPTIONS: Record<string, OptionSpec> = {
  model: { kind: 'string', help: 'preset or options .json (default: the built-in demo model)' },
  weights: { kind: 'string', help: 'backbone state dict (.safetensors or .pth)' },
  classifier: { kind: 'string', help: 'linear head file (ViT backbones)' },
  classes: { kind: 'string', help: 'class names: JSON array or one per line' },
  'target-layer': { kind: 'string', help: 'dotted layer name' },
  method: { kind: 'string', help: 'base CAM method', default: 'gradcam', choices: Object.keys(METHODS) },
  alpha: { kind: 'number', help: 'α of the Finer modes', default: 1 },
  ranks: { kind: 'list', help: 'reference ranks of Finer-Default', default: ['1', '2', '3'] },
  target: { kind: 'number', help: 'class to explain (default: the top class)' },
  'max-size': { kind: 'number', help: 'longer image side limit', default: 1000 },
  norm: { kind: 'string', help: 'input normalisation', choices: ['clip', 'imagenet'] },
  out: { kind: 'string', help: 'output PNG (default: <image>.finercam.png next to the image)' },
  backend: { kind: 'string', help: 'compute backend', choices: ['cpu', 'webgpu'] },
};

export async function explain(argv: string[]): Promise<number> {
  const p = parseArgs(argv, EXPLAIN_OPTIONS, 'explain');
  if (p.positionals.length !== 1) throw new UsageError('explain: give exactly one image path');
  const imagePath = p.positionals[0];
  const device = await chooseBackend(str(p, 'backend') as 'cpu' | 'webgpu' | undefined);
  let lm: LoadedModel;
  let classNames: string[] | null = null;
  if (str(p, 'model')) {
    lm = await loadModel({ model: str(p, 'model')!, weights: str(p, 'weights'), classifier: str(p, 'classifier'), targetLayer: str(p, 'target-layer') }, 'explain');
  } else {
    const demo = await loadDemoModel();
    lm = demo.loaded;
    classNames = demo.classNames;
  }
  if (lm.classNames) classNames = lm.classNames;
  if (str(p, 'classes')) classNames = await loadClassNames(str(p, 'classes')!, 'explain');
  if (device !== 'cpu') await lm.model.to(device);
  const ranks = list(p, 'ranks')!.map((r) => {
    const n = Number(r);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`explain: --ranks must be positive integers, got '${r}'`);
    return n;
  });
  const alpha = num(p, 'alpha')!;
  const modes: ModeSpec[] = [
    { ...MODES[0] },
    { ...MODES[1], alpha, referenceCategoryRanks: ranks },
    { ...MODES[2], alpha },
  ];
  let rgb;
  try {
    rgb = await readImage(imagePath);
  } catch (e) {
    throw new UsageError(`explain: cannot read '${imagePath}': ${(e as Error).message}`);
  }
  const norm = str(p, 'norm') ? F.resolveNorm(str(p, 'norm') as F.NormName) : lm.norm ?? F.NORMALIZATIONS.clip;
  const pre = F.preprocess(rgb, { maxSize: num(p, 'max-size'), patchSize: lm.patchSize, norm, device });
  const target = num(p, 'target');
  if (target !== undefined && (!Number.isInteger(target) || target < 0 || target >= lm.numClasses)) {
    throw new UsageError(`explain: --target must be a class index in 0..${lm.numClasses - 1}, got ${target}`);
  }
  const cam = new F.FinerCAM({ model: lm.model, targetLayers: [lm.targetLayer], reshapeTransform: lm.reshapeTransform, baseMethod: METHODS[str(p, 'method')!] });
  const r = await cam.forwardModes({
    inputTensor: pre.tensor, targetIdx: target ?? null,
    H: lm.kind === 'vit' ? pre.gridH : undefined, W: lm.kind === 'vit' ? pre.gridW : undefined,
    modes: modes.map((m) => ({ alpha: m.alpha, referenceCategoryRanks: m.referenceCategoryRanks })),
  });
  const name = (k: number) => (classNames && classNames[k] !== undefined ? `${classNames[k]} (${k})` : String(k));
  const probs = await F.softmax(r.outputs, 1).data();
  const tiles = [rgb];
  const labels = ['Original'];
  for (let i = 0; i < modes.length; i++) {
    const c = r.cams[i];
    const full = resizeCam((await c.data()) as Float32Array, c.shape[1], c.shape[2], rgb.width, rgb.height);
    tiles.push(overlayCam(rgb, full));
    labels.push(modes[i].label);
    const main = r.mainCategories[i][0];
    console.log(`${modes[i].label.padEnd(14)} main ${name(main)} p=${probs[main].toFixed(3)}  references ${r.references[i][0].map(name).join(', ') || '(none)'}  α=${modes[i].alpha}`);
  }
  const out = str(p, 'out') ?? join(dirname(imagePath), `${basename(imagePath, extname(imagePath))}.finercam.png`);
  await mkdir(dirname(out) || '.', { recursive: true });
  await writePng(out, composeStrip(tiles, labels, { tileHeight: Math.min(256, Math.max(96, rgb.height)) }));
  console.log(`wrote ${out}`);
  cam.dispose();
  return 0;
}
