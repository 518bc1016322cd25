// What the page computes, without the DOM: the backend choice, the demo model, and one explanation (the
// three Finer-CAM modes of the command line's `explain`, with the trace, from a session that keeps one
// forward pass per image and model).
import * as F from '../index';

export const MODE_NAMES = ['baseline', 'finer-default', 'finer-compare'] as const;
export type ModeName = (typeof MODE_NAMES)[number];
export const MODE_LABELS: Record<ModeName, string> = { baseline: 'Baseline', 'finer-default': 'Finer-Default', 'finer-compare': 'Finer-Compare' };

/** The Grad-CAM family: the methods whose trace has gradients. */
export const METHODS: Record<string, F.CAMClass> = {
  gradcam: F.GradCAM,
  gradcamplusplus: F.GradCAMPlusPlus,
  xgradcam: F.XGradCAM,
  hirescam: F.HiResCAM,
  gradcamelementwise: F.GradCAMElementWise,
  layercam: F.LayerCAM,
};

export interface WebModel {
  model: F.Module;
  targetLayer: string;
  classNames: string[];
  norm: F.Normalization;
  patchSize: number;
  reshapeTransform: F.ReshapeTransform | null;
  /** ViT models need the patch grid passed to the reshape transform. */
  isVit: boolean;
  describe: string;
  /** CLIP: the image resolution; the model sees the centre crop at this size (CLIP's _transform). */
  clipSize?: number;
}

export interface Settings {
  alpha: number;
  ranks: number[];
  /** null: each image's top class. */
  targetIdx: number | null;
  method: string;
}

export interface MapData {
  width: number;
  height: number;
  data: number[];
}

export interface Explanation {
  width: number;
  height: number;
  /** One entry per mode, in MODE_NAMES order (the shape window.finercamResult exposes). */
  mainCategories: number[];
  references: number[][];
  cams: Record<ModeName, MapData>;
  probs: Float32Array;
  trace: F.CamTrace;
  timings: Record<string, number>;
  /** False when the session's forward pass was reused (only the backward passes ran). */
  forwardRan: boolean;
  /** The pixels the model saw when they are not the image resized (CLIP's centre crop), for the overlays. */
  seen: F.RgbImage | null;
}

export interface BackendChoice {
  device: F.DeviceName;
  label: string;
}

/**
 * WebGPU on a hardware adapter; on a software adapter (SwiftShader) or none, wasm, else the CPU backend —
 * the command line's policy (a software adapter is slower than the CPU code for this work). `forced` (the
 * page's ?backend=) overrides it.
 */
export async function chooseBackend(forced: string | null): Promise<BackendChoice> {
  if (forced !== null && !['webgpu', 'wasm', 'cpu'].includes(forced)) throw new Error(`unknown backend '${forced}' in ?backend= (use webgpu, wasm or cpu)`);
  let why = '';
  if (forced === null || forced === 'webgpu') {
    const hasGpu = typeof navigator !== 'undefined' && 'gpu' in navigator && navigator.gpu !== undefined;
    if (!hasGpu) why = 'this browser has no WebGPU (navigator.gpu is missing)';
    else {
      let info: Awaited<ReturnType<typeof F.getWebGPUInfo>> = null;
      try {
        info = await F.getWebGPUInfo();
      } catch (e) {
        why = `WebGPU failed to start: ${(e as Error).message}`;
      }
      if (info) {
        const name = [info.vendor, info.architecture, info.description || info.device].filter(Boolean).join(' ') || 'unnamed adapter';
        if (!info.isFallbackAdapter || forced === 'webgpu') {
          await F.setDefaultDevice('webgpu');
          return { device: 'webgpu', label: `webgpu — ${name}${info.isFallbackAdapter ? ' (software adapter)' : ''}` };
        }
        why = `the only WebGPU adapter is a software one (${name}), slower than the CPU code here`;
      } else if (!why) why = 'no WebGPU adapter was found';
    }
  }
  if (forced === null || forced === 'wasm' || forced === 'webgpu') {
    try {
      const got = await F.getBackend('wasm');
      if (got) {
        await F.setDefaultDevice('wasm');
        return { device: 'wasm', label: `wasm${why ? ` — ${why}` : ''}` };
      }
      why = `${why ? `${why}; ` : ''}the wasm backend is not available`;
    } catch (e) {
      why = `${why ? `${why}; ` : ''}the wasm backend failed to start: ${(e as Error).message}`;
    }
  }
  await F.setDefaultDevice('cpu');
  return { device: 'cpu', label: `cpu${why ? ` — ${why}` : forced === 'cpu' ? ' (chosen with ?backend=cpu)' : ''}` };
}

/** The demo ResNet from its safetensors bytes (architecture and class names are in the file's metadata). */
export async function loadDemoModel(bytes: Uint8Array, device: F.DeviceName): Promise<WebModel> {
  const meta = await F.loadSafetensorsMetadata(bytes);
  const classNames = JSON.parse(meta.class_names ?? 'null') as string[] | null;
  const arch = JSON.parse(meta.arch ?? 'null') as { block: 'basic' | 'bottleneck'; layers: [number, number, number, number]; widths: [number, number, number, number]; targetLayer: string } | null;
  if (!Array.isArray(classNames) || !arch) throw new Error('the demo weights have no class_names/arch metadata (not a finercam demo weights file)');
  const model = F.resnet({ block: arch.block, layers: arch.layers, widths: arch.widths, numClasses: classNames.length });
  model.loadStateDict(await F.loadSafetensors(bytes));
  model.eval();
  if (device !== 'cpu') await model.to(device);
  return { model, targetLayer: arch.targetLayer, classNames, norm: F.NORMALIZATIONS.imagenet, patchSize: 1, reshapeTransform: null, isVit: false, describe: `demo ResNet (${arch.widths.join('-')}, ${classNames.length} bird classes)` };
}

/** The modes as `finercam explain` runs them: α 0; α with the given ranks; α with rank 1. */
export function modeSpecs(s: Settings): { alpha: number; referenceCategoryRanks: number[] }[] {
  return [
    { alpha: 0, referenceCategoryRanks: s.ranks },
    { alpha: s.alpha, referenceCategoryRanks: s.ranks },
    { alpha: s.alpha, referenceCategoryRanks: [1] },
  ];
}

/** The longer side the page explains at (larger images are downscaled first, as `--max-size`). */
export const MAX_SIZE = 224;

/** The model's input, and the pixels it holds when they are not simply the image resized (CLIP's crop). */
export function preprocessFor(m: WebModel, img: F.RgbImage, device: F.DeviceName): F.Preprocessed & { seen: F.RgbImage | null } {
  if (m.clipSize) {
    const cp = F.clipPreprocess(img, { size: m.clipSize, norm: m.norm, device });
    const g = m.clipSize / m.patchSize;
    return { tensor: cp.tensor, width: m.clipSize, height: m.clipSize, gridH: g, gridW: g, seen: cp.image };
  }
  return { ...F.preprocess(img, { maxSize: MAX_SIZE, patchSize: m.patchSize, norm: m.norm, device }), seen: null };
}

/**
 * One image through one model: the forward pass runs once (cam/session.ts) and every later explanation of
 * the same image and model — another α, other ranks, another target class or method — is backward passes
 * only. The page makes a new one for a new image or model and disposes the old one.
 */
export interface PageSession {
  model: WebModel;
  img: F.RgbImage;
  pre: ReturnType<typeof preprocessFor>;
  session: F.CamSession;
  /** Milliseconds of the steps that ran once for this session. */
  preprocessMs: number;
  forwardMs: number;
}

export async function openSession(m: WebModel, img: F.RgbImage, device: F.DeviceName): Promise<PageSession> {
  let t0 = performance.now();
  const pre = preprocessFor(m, img, device);
  const preprocessMs = performance.now() - t0;
  try {
    t0 = performance.now();
    const session = await F.CamSession.create({
      model: m.model, targetLayers: [m.targetLayer], reshapeTransform: m.reshapeTransform, inputTensor: pre.tensor,
      H: m.isVit ? pre.gridH : undefined, W: m.isVit ? pre.gridW : undefined,
    });
    return { model: m, img, pre, session, preprocessMs, forwardMs: performance.now() - t0 };
  } catch (e) {
    pre.tensor.dispose();
    throw e;
  }
}

export function closeSession(ps: PageSession): void {
  ps.session.dispose();
  ps.pre.tensor.dispose();
}

/** The three modes of the settings from the session: backward passes only. `fresh`: the session was just made. */
export async function explain(ps: PageSession, s: Settings, fresh: boolean): Promise<Explanation> {
  const m = ps.model;
  const Base = METHODS[s.method];
  if (!Base) throw new Error(`unknown CAM method '${s.method}'`);
  if (s.targetIdx !== null && !(Number.isInteger(s.targetIdx) && s.targetIdx >= 0 && s.targetIdx < m.classNames.length)) {
    throw new Error(`the target class must be in 0..${m.classNames.length - 1}`);
  }
  const timings: Record<string, number> = {};
  if (fresh) {
    timings['preprocess (once per image)'] = ps.preprocessMs;
    timings['forward pass (once per image and model)'] = ps.forwardMs;
  }
  const pre = ps.pre;
  const t0 = performance.now();
  const r = await ps.session.finer({ method: Base, modes: modeSpecs(s), targetIdx: s.targetIdx, targetSize: [pre.width, pre.height], trace: true });
  timings['3 backward passes, maps, trace read-back'] = performance.now() - t0;
  const cams = {} as Record<ModeName, MapData>;
  for (let i = 0; i < MODE_NAMES.length; i++) {
    const c = r.cams[i];
    cams[MODE_NAMES[i]] = { width: c.shape[2], height: c.shape[1], data: Array.from(await c.data()) };
    c.dispose();
  }
  const p = F.softmax(ps.session.outputs, 1);
  const probs = Float32Array.from(await p.data());
  p.dispose();
  return {
    width: pre.width, height: pre.height, cams, probs, trace: r.trace!, timings, forwardRan: fresh, seen: pre.seen,
    mainCategories: r.mainCategories.map((x) => x[0]), references: r.references.map((x) => x[0]),
  };
}

/** The image at the size the model saw it (for the overlays). */
export function resizedImage(img: F.RgbImage, width: number, height: number): F.RgbImage {
  return img.width === width && img.height === height ? img : F.resizeBicubicPil(img, width, height);
}
