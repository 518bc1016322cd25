// finercam generate: the seed's generate_cams.py. For every image and mode it saves the CAM resized to
// the original image size (float16 .npy) and a JSON sidecar with the categories and settings. One
// forward pass per image serves all modes (the graph is kept; one pruned backward per mode).
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as F from '../../index';
import { flag, list, num, parseArgs, required, str, UsageError, type OptionSpec } from '../args';
import { listImages, loadClassNames, matchClass } from '../dataset';
import { loadModel } from '../model-spec';
import { MODES, pickModes } from '../modes';
import { readImage, resizeCam } from '../image-io';
import { encodeNpy } from '../util/npy';
import { Progress } from '../progress';
import { chooseBackend } from '../backend-choice';

export const GENERATE_OPTIONS: Record<string, OptionSpec> = {
  dataset: { kind: 'string', help: 'dataset folder (<class>/<image>) or a text file of image paths' },
  save: { kind: 'string', help: 'output folder' },
  model: { kind: 'string', help: 'preset (dinov2_vitb14, resnet50, ...) or an options .json' },
  weights: { kind: 'string', help: 'backbone state dict (.safetensors or .pth)' },
  classifier: { kind: 'string', help: "linear head on the mean patch token (the seed's classifier file)" },
  classes: { kind: 'string', help: 'class names: JSON array or one per line' },
  modes: { kind: 'list', help: 'modes to compute', default: MODES.map((m) => m.name) },
  'target-layer': { kind: 'string', help: 'dotted layer name (default: blocks.-1.norm1 for ViTs, layer4 for ResNets)' },
  'max-size': { kind: 'number', help: 'longer image side limit before patch rounding', default: 1000 },
  norm: { kind: 'string', help: 'input normalisation (default: the classifier\'s, else clip)', choices: ['clip', 'imagenet'] },
  backend: { kind: 'string', help: 'compute backend (default: WebGPU on a hardware adapter, else CPU)', choices: ['cpu', 'webgpu'] },
  resume: { kind: 'boolean', help: 'skip images whose outputs already exist' },
  method: { kind: 'string', help: 'base CAM method', default: 'gradcam', choices: ['gradcam', 'gradcam++', 'xgradcam', 'hirescam', 'layercam', 'gradcamelementwise'] },
};

export const METHODS: Record<string, F.CAMClass> = {
  gradcam: F.GradCAM, 'gradcam++': F.GradCAMPlusPlus, xgradcam: F.XGradCAM, hirescam: F.HiResCAM,
  layercam: F.LayerCAM, gradcamelementwise: F.GradCAMElementWise,
};

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

export async function generate(argv: string[]): Promise<number> {
  const p = parseArgs(argv, GENERATE_OPTIONS, 'generate');
  if (p.positionals.length) throw new UsageError(`generate: unexpected argument '${p.positionals[0]}'`);
  const dataset = required(p, 'dataset', 'generate');
  const save = required(p, 'save', 'generate');
  const modelName = required(p, 'model', 'generate');
  const modes = pickModes(list(p, 'modes'), 'generate', UsageError);
  const images = await listImages(dataset, 'generate');
  if (images.length === 0) throw new UsageError(`generate: no images (.jpg .jpeg .png .bmp) found in '${dataset}'`);
  const givenClasses = str(p, 'classes') ? await loadClassNames(str(p, 'classes')!, 'generate') : null;
  const device = await chooseBackend(str(p, 'backend') as 'cpu' | 'webgpu' | undefined);
  const lm = await loadModel({ model: modelName, weights: str(p, 'weights'), classifier: str(p, 'classifier'), targetLayer: str(p, 'target-layer') }, 'generate');
  if (device !== 'cpu') await lm.model.to(device);
  // --classes wins; otherwise the names train-probe stored with the classifier
  const classNames = givenClasses ?? lm.classNames ?? null;
  if (classNames && classNames.length !== lm.numClasses) {
    console.error(`warning: --classes lists ${classNames.length} names but the model has ${lm.numClasses} outputs`);
  }
  const norm = str(p, 'norm') ? F.resolveNorm(str(p, 'norm') as F.NormName) : lm.norm ?? F.NORMALIZATIONS.clip;
  await mkdir(save, { recursive: true });
  const cam = new F.FinerCAM({ model: lm.model, targetLayers: [lm.targetLayer], reshapeTransform: lm.reshapeTransform, baseMethod: METHODS[str(p, 'method')!] });
  console.error(`generate: ${images.length} images, model ${lm.describe}, layer ${lm.targetLayer}, backend ${device}, modes ${modes.map((m) => m.name).join(', ')}`);
  const progress = new Progress(images.length, 'generate');
  const failures: string[] = [];
  let skipped = 0;
  for (const img of images) {
    const jsonPath = join(save, `${img.key}.json`);
    if (flag(p, 'resume') && (await exists(jsonPath)) && (await Promise.all(modes.map((m) => exists(join(save, `${img.key}.${m.name}.npy`))))).every(Boolean)) {
      skipped++;
      progress.tick(true, img.key);
      continue;
    }
    try {
      const rgb = await readImage(img.path);
      const pre = F.preprocess(rgb, { maxSize: num(p, 'max-size'), patchSize: lm.patchSize, norm, device });
      const targetIdx = classNames ? matchClass(img.className, classNames) : null;
      const r = await cam.forwardModes({
        inputTensor: pre.tensor, targetIdx, H: lm.kind === 'vit' ? pre.gridH : undefined, W: lm.kind === 'vit' ? pre.gridW : undefined,
        modes: modes.map((m) => ({ alpha: m.alpha, referenceCategoryRanks: m.referenceCategoryRanks })),
      });
      const sidecar: Record<string, unknown> = { image: img.path, width: rgb.width, height: rgb.height, targetIdx, modes: {} };
      for (let i = 0; i < modes.length; i++) {
        const c = r.cams[i];
        const [, h, w] = c.shape;
        const full = resizeCam(await c.data() as Float32Array, h, w, rgb.width, rgb.height);
        const npyName = `${img.key}.${modes[i].name}.npy`;
        await writeFile(join(save, npyName), encodeNpy({ dtype: 'float16', shape: [rgb.height, rgb.width], data: full }));
        (sidecar.modes as Record<string, unknown>)[modes[i].name] = {
          alpha: modes[i].alpha, referenceCategoryRanks: modes[i].referenceCategoryRanks,
          mainCategory: r.mainCategories[i][0], referenceCategories: r.references[i][0], cam: npyName,
          ...(classNames ? { mainName: classNames[r.mainCategories[i][0]] ?? null, referenceNames: r.references[i][0].map((k) => classNames[k] ?? null) } : {}),
        };
        c.dispose();
      }
      sidecar.logits = Array.from(await r.outputs.data());
      await writeFile(jsonPath, JSON.stringify(sidecar, null, 1));
      pre.tensor.dispose();
      r.outputs.dispose();
      progress.tick(true, img.key);
    } catch (e) {
      failures.push(`${img.path}: ${(e as Error).message}`);
      progress.note(`error: ${img.path}: ${(e as Error).message}`);
      progress.tick(false, img.key);
    }
  }
  cam.dispose();
  const okCount = images.length - failures.length - skipped;
  console.error(`generate: done — ${okCount} written, ${skipped} skipped (--resume), ${failures.length} failed, results in ${save}`);
  for (const f of failures) console.error(`  failed: ${f}`);
  return failures.length ? 1 : 0;
}
