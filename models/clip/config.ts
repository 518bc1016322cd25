// CLIP's constructor arguments (OpenAI's CLIP.__init__, camelCase), their checks, the released models' values, and
// build_model's inference of them from a state dict's shapes.
import { fmtShape } from '../../core/shape';

export interface ClipConfig {
  embedDim: number;
  imageResolution: number;
  /** A number: ViT depth. Four numbers ([3, 4, 6, 3]): a ModifiedResNet's Bottlenecks per stage. */
  visionLayers: number | readonly number[];
  visionWidth: number;
  /** ViT patch size; unused (null) for a ModifiedResNet. */
  visionPatchSize?: number | null;
  contextLength: number;
  vocabSize: number;
  transformerWidth: number;
  transformerHeads: number;
  transformerLayers: number;
  /** Image-tower heads. OpenAI fixes them to visionWidth / 64 (ViT) or visionWidth · 32 / 64 (ResNet); set this only
   *  for models trained otherwise (tiny test models). */
  visionHeads?: number;
}

export const CLIP_PRESETS = {
  'ViT-B/32': { embedDim: 512, imageResolution: 224, visionLayers: 12, visionWidth: 768, visionPatchSize: 32, contextLength: 77, vocabSize: 49408, transformerWidth: 512, transformerHeads: 8, transformerLayers: 12 },
  'ViT-B/16': { embedDim: 512, imageResolution: 224, visionLayers: 12, visionWidth: 768, visionPatchSize: 16, contextLength: 77, vocabSize: 49408, transformerWidth: 512, transformerHeads: 8, transformerLayers: 12 },
  'ViT-L/14': { embedDim: 768, imageResolution: 224, visionLayers: 24, visionWidth: 1024, visionPatchSize: 14, contextLength: 77, vocabSize: 49408, transformerWidth: 768, transformerHeads: 12, transformerLayers: 12 },
  'ViT-L/14@336px': { embedDim: 768, imageResolution: 336, visionLayers: 24, visionWidth: 1024, visionPatchSize: 14, contextLength: 77, vocabSize: 49408, transformerWidth: 768, transformerHeads: 12, transformerLayers: 12 },
  RN50: { embedDim: 1024, imageResolution: 224, visionLayers: [3, 4, 6, 3], visionWidth: 64, visionPatchSize: null, contextLength: 77, vocabSize: 49408, transformerWidth: 512, transformerHeads: 8, transformerLayers: 12 },
  RN101: { embedDim: 512, imageResolution: 224, visionLayers: [3, 4, 23, 3], visionWidth: 64, visionPatchSize: null, contextLength: 77, vocabSize: 49408, transformerWidth: 512, transformerHeads: 8, transformerLayers: 12 },
} as const satisfies Record<string, ClipConfig>;

export type ClipPresetName = keyof typeof CLIP_PRESETS;

const posInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;

/** Checks a config and returns its image tower's kind and head count. */
export function checkClipConfig(c: ClipConfig): { resnet: boolean; visionHeads: number } {
  if (c === null || typeof c !== 'object') throw new TypeError('clip: config must be an object of CLIP\'s constructor arguments');
  for (const k of ['embedDim', 'imageResolution', 'visionWidth', 'contextLength', 'vocabSize', 'transformerWidth', 'transformerHeads', 'transformerLayers'] as const) {
    if (!posInt(c[k])) throw new RangeError(`clip: config.${k} must be a positive integer, got ${JSON.stringify(c[k])}`);
  }
  const resnet = Array.isArray(c.visionLayers);
  if (resnet) {
    const l = c.visionLayers as readonly number[];
    if (l.length !== 4 || !l.every(posInt)) throw new RangeError(`clip: config.visionLayers must be a depth or four positive block counts, got ${JSON.stringify(l)}`);
  } else {
    if (!posInt(c.visionLayers)) throw new RangeError(`clip: config.visionLayers must be a depth or four positive block counts, got ${JSON.stringify(c.visionLayers)}`);
    if (!posInt(c.visionPatchSize)) throw new RangeError(`clip: config.visionPatchSize must be a positive integer for a ViT, got ${JSON.stringify(c.visionPatchSize)}`);
  }
  if (c.transformerWidth % c.transformerHeads !== 0) throw new RangeError(`clip: config.transformerHeads (${c.transformerHeads}) must divide transformerWidth (${c.transformerWidth})`);
  const visionHeads = c.visionHeads ?? (resnet ? Math.floor((c.visionWidth * 32) / 64) : Math.floor(c.visionWidth / 64));
  const dim = resnet ? c.visionWidth * 32 : c.visionWidth;
  if (!posInt(visionHeads) || dim % visionHeads !== 0) {
    throw new RangeError(`clip: the image tower needs a head count dividing its width ${dim}; got ${visionHeads}${c.visionHeads === undefined ? ' (OpenAI\'s width / 64): pass config.visionHeads' : ''}`);
  }
  return { resnet, visionHeads };
}

type Shaped = { readonly shape: readonly number[] };

/** OpenAI's build_model inference of the constructor arguments from a state dict (its tensors' shapes only). */
export function inferClipConfig(dict: Record<string, Shaped>, opts: { visionHeads?: number; transformerHeads?: number } = {}): ClipConfig {
  const keys = Object.keys(dict);
  const need = (k: string, rank: number): readonly number[] => {
    const t = Object.prototype.hasOwnProperty.call(dict, k) ? dict[k] : undefined;
    if (!t || !Array.isArray(t.shape)) throw new Error(`clipFromStateDict: the state dict has no '${k}'; expected OpenAI CLIP names (or Hugging Face CLIPModel names)`);
    if (t.shape.length !== rank) throw new Error(`clipFromStateDict: '${k}' has shape ${fmtShape(t.shape)}, expected ${rank} dimensions`);
    return t.shape;
  };
  const vit = keys.includes('visual.proj');
  let visionWidth: number;
  let visionLayers: number | number[];
  let visionPatchSize: number | null;
  let imageResolution: number;
  if (vit) {
    const conv = need('visual.conv1.weight', 4);
    visionWidth = conv[0];
    visionLayers = keys.filter((k) => k.startsWith('visual.') && k.endsWith('.attn.in_proj_weight')).length;
    visionPatchSize = conv[3];
    imageResolution = visionPatchSize * Math.round(Math.sqrt(need('visual.positional_embedding', 2)[0] - 1));
  } else {
    visionLayers = [1, 2, 3, 4].map((b) => new Set(keys.filter((k) => k.startsWith(`visual.layer${b}`)).map((k) => k.split('.')[2])).size);
    visionWidth = need('visual.layer1.0.conv1.weight', 4)[0];
    const n = need('visual.attnpool.positional_embedding', 2)[0];
    const out = Math.round(Math.sqrt(n - 1));
    if (out * out + 1 !== n) throw new Error(`clipFromStateDict: visual.attnpool.positional_embedding has ${n} rows, not a square grid + 1`);
    visionPatchSize = null;
    imageResolution = out * 32;
  }
  const transformerWidth = need('ln_final.weight', 1)[0];
  return {
    embedDim: need('text_projection', 2)[1],
    imageResolution, visionLayers, visionWidth, visionPatchSize,
    contextLength: need('positional_embedding', 2)[0],
    vocabSize: need('token_embedding.weight', 2)[0],
    transformerWidth,
    transformerHeads: opts.transformerHeads ?? Math.floor(transformerWidth / 64),
    transformerLayers: new Set(keys.filter((k) => k.startsWith('transformer.resblocks')).map((k) => k.split('.')[2])).size,
    ...(opts.visionHeads !== undefined ? { visionHeads: opts.visionHeads } : {}),
  };
}
