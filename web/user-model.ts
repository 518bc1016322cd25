// A visitor's own model from dropped or picked files, as the command line's --model/--weights/--classifier/
// --classes (cli/model-spec.ts, which reads from disk): an options .json ({"model": preset, "targetLayer",
// "norm"}, or ResNet options {"block", "layers", "widths", ...} in place of a preset), weights (.safetensors/.pth), an optional linear head (a file whose name says classifier/head/
// probe) for ViT backbones, and optional class names (.txt one per line, or a JSON array). A CLIP ({"model": "clip"}
// or a CLIP preset) takes its tokenizer files and the prompts typed on the page instead (web/clip-model.ts).
import * as F from '../index';
import type { WebModel } from './engine';
import { CLIP_PRESETS, isClipModelName, loadClipModel, type ClipFiles, type ClipOptions } from './clip-model';

const RESNETS: Record<string, F.ResNetOptions> = {
  resnet18: { block: 'basic', layers: [2, 2, 2, 2] }, resnet34: { block: 'basic', layers: [3, 4, 6, 3] },
  resnet50: { block: 'bottleneck', layers: [3, 4, 6, 3] }, resnet101: { block: 'bottleneck', layers: [3, 4, 23, 3] },
  resnet152: { block: 'bottleneck', layers: [3, 8, 36, 3] },
};
const VITS: Record<string, () => F.VisionTransformer> = {
  dinov2_vits14: () => F.dinov2Vits14(), dinov2_vitb14: () => F.dinov2Vitb14(), dinov2_vitl14: () => F.dinov2Vitl14(),
  dinov2_vits14_reg: () => F.dinov2Vits14Reg(), dinov2_vitb14_reg: () => F.dinov2Vitb14Reg(),
};
export const PRESETS = [...Object.keys(RESNETS), ...Object.keys(VITS), 'clip', ...Object.keys(CLIP_PRESETS)];

interface Options {
  /** A preset; absent for ResNet options given directly. */
  model?: string;
  block?: 'basic' | 'bottleneck';
  targetLayer?: string;
  norm?: F.NormName | F.Normalization;
}

const ext = (f: File): string => (f.name.match(/\.[^.]+$/)?.[0] ?? '').toLowerCase();
/** CLIP tokenizer files, told apart from options (.json) and class names (.txt) by their names. */
const tokenizerFile = (f: File): keyof Omit<ClipFiles, 'weights'> | null =>
  /\.txt\.gz$/i.test(f.name) || /bpe.*\.txt$/i.test(f.name) ? 'bpe' : /vocab.*\.json(\.gz)?$/i.test(f.name) ? 'vocab' : /merges.*\.txt(\.gz)?$/i.test(f.name) ? 'merges' : null;

async function readDict(f: File): Promise<{ dict: F.StateDict; meta: Record<string, string> }> {
  const bytes = new Uint8Array(await f.arrayBuffer());
  try {
    if (ext(f) === '.safetensors') return { dict: await F.loadSafetensors(bytes), meta: await F.loadSafetensorsMetadata(bytes) };
    return { dict: await F.loadTorchCheckpoint(bytes), meta: {} };
  } catch (e) {
    throw new Error(`'${f.name}' cannot be read as weights: ${(e as Error).message}`);
  }
}

function parseOptions(text: string, file: string): Options | string[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`'${file}' is not valid JSON: ${(e as Error).message}`);
  }
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  if (v === null || typeof v !== 'object' || Array.isArray(v) || (typeof (v as Options).model !== 'string' && !('block' in v))) {
    throw new Error(`'${file}' must be model options {"model": one of ${PRESETS.join(', ')} (or ResNet options {"block", "layers", "widths"}), "targetLayer": ..., "norm": ...} or a JSON array of class names`);
  }
  return v as Options;
}

function fit(m: F.Module, dict: F.StateDict, what: string): void {
  try {
    m.loadStateDict(dict);
  } catch (e) {
    throw new Error(`${what} does not fit the model: ${(e as Error).message}`);
  }
}

export async function loadUserModel(files: File[], device: F.DeviceName, clipText: { prompts: string; template: string } = { prompts: '', template: '' }): Promise<WebModel> {
  let opts: Options | null = null;
  let names: string[] | null = null;
  const weightFiles: File[] = [];
  const tok: Omit<ClipFiles, 'weights'> = { bpe: null, vocab: null, merges: null };
  for (const f of files) {
    const e = ext(f);
    const t = tokenizerFile(f);
    if (t) tok[t] = f;
    else if (e === '.json') {
      const v = parseOptions(await f.text(), f.name);
      if (Array.isArray(v)) names = v;
      else opts = v;
    } else if (e === '.txt') names = (await f.text()).split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== '');
    else if (['.safetensors', '.pth', '.pt', '.bin'].includes(e)) weightFiles.push(f);
    else throw new Error(`'${f.name}': expected an options .json, weights (.safetensors/.pth), class names (.txt/.json), or a CLIP tokenizer (bpe_simple_vocab_16e6.txt.gz, vocab.json + merges.txt)`);
  }
  if (!opts) throw new Error(`give the model options as a .json file, e.g. {"model": "resnet50", "targetLayer": "layer4"} (presets: ${PRESETS.join(', ')})`);
  if (isClipModelName(opts.model)) {
    if (names) throw new Error(`a CLIP's classes are its prompts: type them in the prompts box instead of giving class names`);
    const wm = await loadClipModel(opts as ClipOptions, { weights: weightFiles[0] ?? null, ...tok }, clipText, device);
    try {
      wm.model.getSubmodule(wm.targetLayer);
    } catch (e) {
      wm.model.dispose();
      throw new Error(`target layer: ${(e as Error).message}`);
    }
    return wm;
  }
  const head = weightFiles.find((f) => /classifier|head|probe/i.test(f.name)) ?? null;
  const backbone = weightFiles.find((f) => f !== head) ?? null;
  const label = opts.model ?? `ResNet (${opts.block})`;
  if (!backbone) throw new Error(`'${label}' needs its weights (.safetensors or .pth): without them it would explain random numbers`);
  const weights = await readDict(backbone);
  const norm = opts.norm !== undefined ? F.resolveNorm(opts.norm) : null;
  let wm: WebModel;
  const custom = opts.model === undefined;
  if (custom || Object.hasOwn(RESNETS, opts.model!)) {
    const fc = weights.dict['fc.weight'];
    const K = fc ? fc.shape[0] : 1000;
    let model: F.ResNet;
    try {
      const { targetLayer: _t, norm: _n, model: _m, ...given } = opts as Options & Record<string, unknown>;
      model = F.resnet({ ...(custom ? (given as unknown as F.ResNetOptions) : RESNETS[opts.model!]), numClasses: K });
    } catch (e) {
      throw new Error(`the ResNet options: ${(e as Error).message}`);
    }
    fit(model, weights.dict, `'${backbone.name}'`);
    wm = { model, targetLayer: opts.targetLayer ?? 'layer4', classNames: [], norm: norm ?? F.NORMALIZATIONS.imagenet, patchSize: 1, reshapeTransform: null, isVit: false, describe: `${label} (${K} classes)` };
    wm.classNames = Array.from({ length: K }, (_, k) => `class ${k}`);
  } else if (Object.hasOwn(VITS, opts.model!)) {
    const vit = VITS[opts.model!]();
    fit(vit, weights.dict, `'${backbone.name}'`);
    if (!head) throw new Error(`${opts.model} needs a linear head (a .safetensors/.pth file with 'classifier', 'head' or 'probe' in its name)`);
    const cls = await readDict(head);
    const w = cls.dict.weight ?? cls.dict['classifier.weight'];
    const b = cls.dict.bias ?? cls.dict['classifier.bias'];
    if (!w || !b || w.rank !== 2 || w.shape[1] !== vit.embedDim) throw new Error(`'${head.name}' must hold 'weight' [classes, ${vit.embedDim}] and 'bias'`);
    const probe = new F.LinearProbe(vit, w.shape[0]);
    fit(probe.classifier, { weight: w, bias: b }, `'${head.name}'`);
    const stored = cls.meta.classes ? (JSON.parse(cls.meta.classes) as string[]) : null;
    wm = {
      model: probe, targetLayer: opts.targetLayer ?? 'backbone.blocks.-1.norm1', classNames: stored ?? Array.from({ length: w.shape[0] }, (_, k) => `class ${k}`),
      norm: norm ?? (cls.meta.norm === 'imagenet' ? F.NORMALIZATIONS.imagenet : F.NORMALIZATIONS.clip), patchSize: vit.patchSize,
      reshapeTransform: F.vitReshapeTransform({ prefixTokens: vit.numPrefixTokens }), isVit: true, describe: `${opts.model} + linear probe (${w.shape[0]} classes)`,
    };
  } else throw new Error(`unknown model '${opts.model}' in the options; use one of ${PRESETS.join(', ')}`);
  try {
    wm.model.getSubmodule(wm.targetLayer);
  } catch (e) {
    throw new Error(`target layer: ${(e as Error).message}`);
  }
  if (names) {
    if (names.length !== wm.classNames.length) throw new Error(`the class names list ${names.length} names but the model has ${wm.classNames.length} outputs`);
    wm.classNames = names;
  }
  wm.model.eval();
  if (device !== 'cpu') await wm.model.to(device);
  return wm;
}
