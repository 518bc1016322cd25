// finercam generate: the seed's generate_cams.py. For every image and mode it saves the CAM resized to
// the original image size (float16 .npy) and a JSON sidecar with the categories and settings. One
// forward pass per image serves all modes (the graph is kept; one pruned backward per mode).
// Each image's .npy files are written first and its sidecar last, each atomically, so a sidecar implies
// complete CAMs; names and --resume follow the source paths the sidecars record (cli/sidecar.ts).
// Segmentation models explain a region of every image: --mask (one region for all images) or --mask-dir
// (<dir>/<the image's path under the dataset>.png); a missing or wrongly sized mask fails that image only.
import { mkdir, stat, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import * as F from '../../index';
import { flag, list, num, parseArgs, required, str, UsageError, type OptionSpec, type Parsed } from '../args';
import { assignNames, listDataset, loadClassNames, matchClass, sourceOf } from '../dataset';
import { recordedNames, untrustedReason, type SidecarMask } from '../sidecar';
import { writeFileAtomic } from '../util/atomic-write';
import { checkOutputDir } from '../util/output-path';
import { loadModel, type LoadedModel } from '../model-spec';
import { chooseNorm, describeNorm, NORM_HELP, normRecord, parseNormOption } from '../norm';
import { MODES, pickModes } from '../modes';
import { readImage, resizeCam } from '../image-io';
import { encodeNpy } from '../util/npy';
import { Progress } from '../progress';
import { chooseBackend } from '../backend-choice';
import { CLIP_CLI_OPTIONS, CLIP_MODEL_NAMES, isClipModelName, loadClipModel, uncropCam } from '../clip-model';
import { checkGuidedModel, guidedBackprop, guidedComplete, guidedTile } from '../guided-output';
import { isSegmentationModel, loadSegmentationModel, maskPathFor, maskValues, RegionScores, resizeMask, SEGMENTATION_MODEL_NAMES } from '../segmentation-model';

export const GENERATE_OPTIONS: Record<string, OptionSpec> = {
  dataset: { kind: 'string', help: 'dataset folder (<class>/<image>) or a text file of image paths' },
  save: { kind: 'string', help: 'output folder' },
  model: { kind: 'string', help: `preset (dinov2_vitb14, resnet50, ...), an options .json, a zero-shot CLIP (${CLIP_MODEL_NAMES.join(', ')}) or a segmentation model (${SEGMENTATION_MODEL_NAMES.join(', ')})` },
  weights: { kind: 'string', help: 'backbone state dict (.safetensors or .pth)' },
  classifier: { kind: 'string', help: "linear head on the mean patch token (the seed's classifier file)" },
  classes: { kind: 'string', help: 'class names: JSON array or one per line' },
  modes: { kind: 'list', help: 'modes to compute', default: MODES.map((m) => m.name) },
  'target-layer': { kind: 'string', help: 'dotted layer name (default: blocks.-1.norm1 for ViTs, layer4 for ResNets)' },
  'max-size': { kind: 'number', help: 'longer image side limit before patch rounding', default: 1000 },
  norm: { kind: 'string', help: NORM_HELP },
  'random-weights': { kind: 'boolean', help: 'run --model without --weights on its random initialisation (for trying things out)' },
  backend: { kind: 'string', help: 'compute backend (default: WebGPU on a hardware adapter, else wasm, else CPU)', choices: ['cpu', 'wasm', 'webgpu'] },
  resume: { kind: 'boolean', help: 'skip images whose complete outputs exist for the same unchanged file' },
  ...CLIP_CLI_OPTIONS,
  method: { kind: 'string', help: 'base CAM method (guided-gradcam: Grad-CAM, plus <name>.<mode>.guided.png = Grad-CAM × guided backprop; ReLU models)', default: 'gradcam', choices: ['gradcam', 'gradcam++', 'xgradcam', 'hirescam', 'layercam', 'gradcamelementwise', 'guided-gradcam'] },
  mask: { kind: 'string', help: "segmentation models: one region for every image — an image of their size whose non-black pixels form it" },
  'mask-dir': { kind: 'string', help: "segmentation models: one mask per image, <mask-dir>/<the image's path under the dataset, extension .png>, of the image's size" },
  'target-class': { kind: 'number', help: "segmentation models: the class to explain in every region (default: the class matched from the folder name with --classes, else the region's top class)" },
};

export const METHODS: Record<string, F.CAMClass> = {
  gradcam: F.GradCAM, 'gradcam++': F.GradCAMPlusPlus, xgradcam: F.XGradCAM, hirescam: F.HiResCAM,
  layercam: F.LayerCAM, gradcamelementwise: F.GradCAMElementWise,
};

export async function generate(argv: string[]): Promise<number> {
  const p = parseArgs(argv, GENERATE_OPTIONS, 'generate');
  if (p.positionals.length) throw new UsageError(`generate: unexpected argument '${p.positionals[0]}'`);
  const dataset = required(p, 'dataset', 'generate');
  const save = required(p, 'save', 'generate');
  const modelName = required(p, 'model', 'generate');
  const clipModel = isClipModelName(modelName);
  for (const o of ['tokenizer', 'prompts', 'template']) {
    if (!clipModel && p.options[o] !== undefined) throw new UsageError(`generate: --${o} is for CLIP models (--model ${CLIP_MODEL_NAMES.join('|')})`);
  }
  if (clipModel && p.options.classifier !== undefined) throw new UsageError('generate: --classifier does not apply to CLIP: its classes come from --prompts or --classes');
  const modes = pickModes(list(p, 'modes'), 'generate', UsageError);
  const maxSize = num(p, 'max-size')!;
  if (!Number.isInteger(maxSize) || maxSize < 1) throw new UsageError(`generate: --max-size must be a positive integer (pixels), got ${maxSize}`);
  const normOverride = parseNormOption(str(p, 'norm'), 'generate');
  const seg = await segmentationOptions(p, modelName, dataset, save);
  await checkOutputDir(save, 'save', 'generate');
  const ds = await listDataset(dataset, 'generate', { exclude: seg?.maskDir ? [save, seg.maskDir] : [save] });
  // the --mask file is never taken for an image of the dataset
  if (seg?.maskFile) ds.images = ds.images.filter((img) => resolve(img.path) !== resolve(seg.maskFile!.path));
  // Names earlier runs recorded stay with their images, whatever was added to the dataset since.
  const recorded = await recordedNames(save, ds.root);
  const images = assignNames(ds.images, recorded.bySource, recorded.taken);
  if (images.length === 0) throw new UsageError(`generate: no images (.jpg .jpeg .png .bmp) found in '${dataset}'`);
  const givenClasses = str(p, 'classes') ? await loadClassNames(str(p, 'classes')!, 'generate') : null;
  const device = await chooseBackend(str(p, 'backend') as 'cpu' | 'webgpu' | undefined);
  const lm: LoadedModel = clipModel
    ? await loadClipModel({ model: modelName, weights: str(p, 'weights'), randomWeights: flag(p, 'random-weights'), tokenizer: str(p, 'tokenizer'), prompts: str(p, 'prompts'), classes: givenClasses, template: str(p, 'template'), targetLayer: str(p, 'target-layer') }, 'generate')
    : seg
      ? await loadSegmentationModel({ model: modelName, weights: str(p, 'weights'), targetLayer: str(p, 'target-layer'), randomWeights: flag(p, 'random-weights') }, 'generate')
      : await loadModel({ model: modelName, weights: str(p, 'weights'), classifier: str(p, 'classifier'), targetLayer: str(p, 'target-layer'), randomWeights: flag(p, 'random-weights') }, 'generate');
  if (seg && seg.targetClass !== null && seg.targetClass >= lm.numClasses) {
    throw new UsageError(`generate: --target-class must be a class index in 0..${lm.numClasses - 1}, got ${seg.targetClass}`);
  }
  if (device !== 'cpu') await lm.model.to(device);
  // --classes wins; otherwise the names train-probe stored with the classifier
  const classNames = clipModel ? lm.classNames ?? null : givenClasses ?? lm.classNames ?? null;
  if (givenClasses && givenClasses.length !== lm.numClasses) {
    throw new UsageError(`generate: --classes lists ${givenClasses.length} names but the model has ${lm.numClasses} outputs`);
  }
  const normChoice = chooseNorm(normOverride, lm);
  const norm = normChoice.norm;
  await mkdir(save, { recursive: true });
  const guided = str(p, 'method') === 'guided-gradcam';
  if (guided) checkGuidedModel(lm.model, 'generate');
  const cam = new F.FinerCAM({ model: lm.model, targetLayers: [lm.targetLayer], reshapeTransform: lm.reshapeTransform, baseMethod: guided ? F.GradCAM : METHODS[str(p, 'method')!] });
  const regionNote = seg ? `, regions from ${seg.maskFile ? `--mask '${seg.maskFile.path}'` : `--mask-dir '${seg.maskDir}'`}${seg.targetClass !== null ? `, class ${seg.targetClass}` : ''}` : '';
  console.error(`generate: ${images.length} images, model ${lm.describe}, layer ${lm.targetLayer}, norm ${describeNorm(normChoice)}, backend ${device}, modes ${modes.map((m) => m.name).join(', ')}${regionNote}`);
  const progress = new Progress(images.length, 'generate');
  const failures: string[] = [];
  let skipped = 0;
  for (const img of images) {
    const jsonPath = join(save, `${img.key}.json`);
    try {
      const { size, mtimeMs } = await stat(img.path);
      // segmentation: which mask file this image's region comes from (a missing one fails this image)
      const maskFile = seg ? (seg.maskFile ?? (await maskDirEntry(seg.maskDir!, img.source, ds.root))) : null;
      const expect = { mask: maskFile?.record ?? null, targetClass: seg?.targetClass ?? null };
      if (flag(p, 'resume') && (await untrustedReason(save, img.key, { source: img.source, size, mtimeMs }, modes.map((m) => m.name), expect)) === null
        && (!guided || (await guidedComplete(save, img.key, modes.map((m) => m.name))))) {
        skipped++;
        progress.tick(true, img.key);
        continue;
      }
      const rgb = await readImage(img.path);
      const mask = maskFile ? await regionOf(maskFile, rgb, seg!.maskFile !== null) : null;
      // CLIP sees its centre crop at its resolution; the maps are put back into the image's frame below
      const cp = lm.clipInputSize ? F.clipPreprocess(rgb, { size: lm.clipInputSize, norm, device }) : null;
      const g = lm.clipInputSize ? lm.clipInputSize / lm.patchSize : 0;
      const pre = cp ? { tensor: cp.tensor, gridH: g, gridW: g } : F.preprocess(rgb, { maxSize, patchSize: lm.patchSize, norm, device });
      const targetIdx = seg?.targetClass ?? (classNames ? matchClass(img.className, classNames) : null);
      // the region at the model input's size (preprocess may have shrunk the image)
      const [inH, inW] = [pre.tensor.shape[2], pre.tensor.shape[3]];
      const region = mask ? resizeMask(mask, rgb.width, rgb.height, inW, inH) : null;
      const r = await cam.forwardModes({
        inputTensor: pre.tensor, targetIdx, H: lm.kind === 'vit' ? pre.gridH : undefined, W: lm.kind === 'vit' ? pre.gridW : undefined,
        modes: modes.map((m) => ({ alpha: m.alpha, referenceCategoryRanks: m.referenceCategoryRanks })),
        masks: region ? [region] : undefined,
      });
      const sidecar: Record<string, unknown> = { image: img.path, source: img.source, size, mtimeMs, width: rgb.width, height: rgb.height, targetIdx, norm: normRecord(normChoice), modes: {} };
      if (seg) Object.assign(sidecar, { mask: maskFile!.record, targetClass: seg.targetClass });
      const npys: { name: string; bytes: Uint8Array }[] = [];
      // guided PNGs are written with the .npy files, before the sidecar that names them; for a segmentation
      // model, guided backprop of the main class's score summed over the region
      const gbModel = region ? new RegionScores(lm.model, region, inH, inW) : lm.model;
      const gb = guided ? await guidedBackprop(gbModel, pre.tensor, r.mainCategories[0][0]) : null;
      for (let i = 0; i < modes.length; i++) {
        const c = r.cams[i];
        const [, h, w] = c.shape;
        const full = cp ? uncropCam(await c.data() as Float32Array, h, w, cp, rgb.width, rgb.height) : resizeCam(await c.data() as Float32Array, h, w, rgb.width, rgb.height);
        const npyName = `${img.key}.${modes[i].name}.npy`;
        npys.push({ name: npyName, bytes: encodeNpy({ dtype: 'float16', shape: [rgb.height, rgb.width], data: full }) });
        (sidecar.modes as Record<string, unknown>)[modes[i].name] = {
          alpha: modes[i].alpha, referenceCategoryRanks: modes[i].referenceCategoryRanks,
          mainCategory: r.mainCategories[i][0], referenceCategories: r.references[i][0], cam: npyName,
          ...(classNames ? { mainName: classNames[r.mainCategories[i][0]] ?? null, referenceNames: r.references[i][0].map((k) => classNames[k] ?? null) } : {}),
        };
        if (gb) {
          const name = `${img.key}.${modes[i].name}.guided.png`;
          npys.push({ name, bytes: F.encodePng(await guidedTile(gb, await c.data() as Float32Array, h, w)) });
          ((sidecar.modes as Record<string, Record<string, unknown>>)[modes[i].name]).guided = name;
        }
        c.dispose();
      }
      gb?.dispose();
      // segmentation: the classes' mean logits over the region (what the modes ranked), not the per-pixel maps
      sidecar.logits = Array.from(region ? await F.maskedClassScores(r.outputs, [region], 'generate') : await r.outputs.data());
      // An earlier sidecar goes first: until the new one is in place, no sidecar vouches for .npy files
      // that are being replaced.
      await unlink(jsonPath).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
      for (const n of npys) await writeFileAtomic(join(save, n.name), n.bytes);
      await writeFileAtomic(jsonPath, JSON.stringify(sidecar, null, 1));
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

interface SegmentationRun {
  /** --mask: one region for every image (its record is the same for all). */
  maskFile: MaskFile | null;
  /** --mask-dir, as given. */
  maskDir: string | null;
  targetClass: number | null;
}

interface MaskFile {
  path: string;
  record: SidecarMask;
  /** --mask is decoded once; --mask-dir masks per image. */
  image?: F.RgbImage;
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** `inner` is `outer` or lies inside it. */
function within(inner: string, outer: string): boolean {
  const r = relative(resolve(outer), resolve(inner));
  return r === '' || (!isAbsolute(r) && r !== '..' && !r.startsWith(`..${sep}`));
}

/** The segmentation options, checked before any model or image is read; null for other models. */
async function segmentationOptions(p: Parsed, modelName: string, dataset: string, save: string): Promise<SegmentationRun | null> {
  const seg = await isSegmentationModel(modelName);
  const given = (['mask', 'mask-dir', 'target-class'] as const).filter((o) => p.options[o] !== undefined);
  if (!seg) {
    if (given.length) throw new UsageError(`generate: --${given[0]} is for segmentation models (--model ${SEGMENTATION_MODEL_NAMES.join('|')} or a .json with "kind": "deeplabv3"/"fcn")`);
    return null;
  }
  const maskOpt = str(p, 'mask');
  const maskDir = str(p, 'mask-dir');
  if (maskOpt === undefined && maskDir === undefined) {
    throw new UsageError(`generate: --model '${modelName}' is a segmentation model: give --mask <image> (one region for every image) or --mask-dir <folder> (one mask per image) with the regions to explain`);
  }
  if (maskOpt !== undefined && maskDir !== undefined) throw new UsageError('generate: give --mask (one region for every image) or --mask-dir (one mask per image), not both');
  if (p.options.classifier !== undefined) throw new UsageError('generate: --classifier does not apply to segmentation models: their classifier is part of --weights');
  const targetClass = num(p, 'target-class') ?? null;
  if (targetClass !== null && (!Number.isInteger(targetClass) || targetClass < 0)) throw new UsageError(`generate: --target-class must be a class index (an integer ≥ 0), got ${targetClass}`);
  const root = (await isDir(dataset)) ? dataset : dirname(resolve(dataset));
  if (maskDir !== undefined) {
    if (!(await isDir(maskDir))) throw new UsageError(`generate: --mask-dir '${maskDir}' is not a folder (it holds one mask per image: <mask-dir>/<the image's path under the dataset, extension .png>)`);
    if (within(root, maskDir)) throw new UsageError(`generate: --mask-dir '${maskDir}' holds the dataset's folder; give the masks a folder of their own (their PNGs would be taken for images)`);
    if (within(save, maskDir)) throw new UsageError(`generate: --save '${save}' is inside --mask-dir '${maskDir}'; write the outputs elsewhere`);
    return { maskFile: null, maskDir, targetClass };
  }
  let image: F.RgbImage, st;
  try {
    st = await stat(maskOpt!);
    image = await readImage(maskOpt!);
  } catch (e) {
    throw new UsageError(`generate: cannot read --mask '${maskOpt}': ${(e as Error).message}`);
  }
  if (!maskValues(image).some((v) => v)) throw new UsageError(`generate: --mask '${maskOpt}' is all black: the region to explain is empty`);
  return { maskFile: { path: maskOpt!, record: { path: sourceOf(root, maskOpt!), size: st.size, mtimeMs: st.mtimeMs }, image }, maskDir: null, targetClass };
}

/** An image's mask in --mask-dir, with its record; an Error (this image fails) when it is missing. */
async function maskDirEntry(maskDir: string, source: string, root: string): Promise<MaskFile> {
  const path = maskPathFor(maskDir, source);
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new Error(`no mask for this image: '${path}' does not exist (--mask-dir '${maskDir}' holds one mask per image: <mask-dir>/<the image's path under the dataset, extension .png>)`);
  }
  if (!st.isFile()) throw new Error(`its mask '${path}' is not a file`);
  return { path, record: { path: sourceOf(root, path), size: st.size, mtimeMs: st.mtimeMs } };
}

/** The region (H·W, 1 inside) of one image; its size must be the image's. Errors fail this image only. */
async function regionOf(m: MaskFile, rgb: F.RgbImage, shared: boolean): Promise<Float32Array> {
  let img = m.image;
  if (!img) {
    try {
      img = await readImage(m.path);
    } catch (e) {
      throw new Error(`cannot read its mask '${m.path}': ${(e as Error).message}`);
    }
  }
  if (img.width !== rgb.width || img.height !== rgb.height) {
    throw new Error(shared
      ? `--mask '${m.path}' is ${img.width}×${img.height} but this image is ${rgb.width}×${rgb.height}: --mask is one region for every image, so each must have its size (--mask-dir gives one mask per image)`
      : `its mask '${m.path}' is ${img.width}×${img.height} but the image is ${rgb.width}×${rgb.height}; a mask must have its image's size`);
  }
  const v = maskValues(img);
  if (!v.some((x) => x)) throw new Error(`its mask '${m.path}' is all black: the region to explain is empty`);
  return v;
}
