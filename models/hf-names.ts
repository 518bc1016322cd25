// DINOv2 weights on model hubs are often saved with Hugging Face transformers' Dinov2Model names
// (separate query/key/value, layer_scale1.lambda1, ...). This maps them to DINOv2's own names, which
// VisionTransformer uses, so `loadStateDict` accepts either.
//
//   embeddings.cls_token                                → cls_token
//   embeddings.mask_token                               → mask_token
//   embeddings.position_embeddings                      → pos_embed
//   embeddings.register_tokens                          → register_tokens
//   embeddings.patch_embeddings.projection.{weight,bias} → patch_embed.proj.{weight,bias}
//   encoder.layer.N.norm1 / norm2                        → blocks.N.norm1 / norm2
//   encoder.layer.N.attention.attention.{query,key,value} → blocks.N.attn.qkv (rows q, then k, then v)
//   encoder.layer.N.attention.output.dense              → blocks.N.attn.proj
//   encoder.layer.N.layer_scale{1,2}.lambda1            → blocks.N.ls{1,2}.gamma
//   encoder.layer.N.mlp.fc1 / fc2                        → blocks.N.mlp.fc1 / fc2
//   encoder.layer.N.mlp.weights_in / weights_out         → blocks.N.mlp.w12 / w3   (SwiGLU, ViT-g)
//   layernorm                                           → norm
// A leading `dinov2.` (Dinov2ForImageClassification) is dropped; its `classifier.*` keys are kept as they are.
import type { Tensor } from '../core/tensor';
import { concat } from '../core/ops/indexing';

function keysOf(dict: Record<string, unknown> | Map<string, unknown>): string[] {
  return dict instanceof Map ? [...dict.keys()] : Object.keys(dict);
}

export function isHfDinov2StateDict(dict: Record<string, unknown> | Map<string, unknown>): boolean {
  return keysOf(dict).some((k) => /^(dinov2\.)?embeddings\.(cls_token|patch_embeddings)/.test(k));
}

const SIMPLE: [RegExp, string][] = [
  [/^embeddings\.cls_token$/, 'cls_token'],
  [/^embeddings\.mask_token$/, 'mask_token'],
  [/^embeddings\.position_embeddings$/, 'pos_embed'],
  [/^embeddings\.register_tokens$/, 'register_tokens'],
  [/^embeddings\.patch_embeddings\.projection\.(weight|bias)$/, 'patch_embed.proj.$1'],
  [/^encoder\.layer\.(\d+)\.norm([12])\.(weight|bias)$/, 'blocks.$1.norm$2.$3'],
  [/^encoder\.layer\.(\d+)\.attention\.output\.dense\.(weight|bias)$/, 'blocks.$1.attn.proj.$2'],
  [/^encoder\.layer\.(\d+)\.layer_scale([12])\.lambda1$/, 'blocks.$1.ls$2.gamma'],
  [/^encoder\.layer\.(\d+)\.mlp\.(fc1|fc2)\.(weight|bias)$/, 'blocks.$1.mlp.$2.$3'],
  [/^encoder\.layer\.(\d+)\.mlp\.weights_in\.(weight|bias)$/, 'blocks.$1.mlp.w12.$2'],
  [/^encoder\.layer\.(\d+)\.mlp\.weights_out\.(weight|bias)$/, 'blocks.$1.mlp.w3.$2'],
  [/^layernorm\.(weight|bias)$/, 'norm.$1'],
];

/** Renames a Hugging Face Dinov2Model state dict to DINOv2 names; unknown keys are kept unchanged. */
export function fromHfDinov2(dict: Record<string, Tensor> | Map<string, Tensor>): Record<string, Tensor> {
  // Keys come from files: a null-prototype object keeps a key such as '__proto__' an ordinary entry.
  const out: Record<string, Tensor> = Object.create(null);
  const qkv = new Map<string, Partial<Record<'query' | 'key' | 'value', Tensor>>>();
  const entries = dict instanceof Map ? [...dict] : Object.keys(dict).map((k): [string, Tensor] => [k, Object.getOwnPropertyDescriptor(dict, k)!.value]);
  for (const [key0, t] of entries) {
    const key = key0.startsWith('dinov2.') ? key0.slice('dinov2.'.length) : key0;
    const m = /^encoder\.layer\.(\d+)\.attention\.attention\.(query|key|value)\.(weight|bias)$/.exec(key);
    if (m) {
      const slot = `blocks.${m[1]}.attn.qkv.${m[3]}`;
      const parts = qkv.get(slot) ?? {};
      parts[m[2] as 'query' | 'key' | 'value'] = t;
      qkv.set(slot, parts);
      continue;
    }
    let name = key;
    for (const [re, to] of SIMPLE) {
      if (re.test(key)) {
        name = key.replace(re, to);
        break;
      }
    }
    out[name] = t;
  }
  for (const [slot, p] of qkv) {
    if (!p.query || !p.key || !p.value) {
      throw new Error(`fromHfDinov2: ${slot} needs query, key and value; found ${Object.keys(p).join(', ')}`);
    }
    out[slot] = concat([p.query, p.key, p.value], 0);
  }
  // HF stores mask_token as [1, D] like DINOv2; older exports used [1, 1, D].
  return out;
}
