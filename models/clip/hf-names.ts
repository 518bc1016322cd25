// Hugging Face transformers' CLIPModel names → OpenAI's, so CLIP.loadStateDict and clipFromStateDict take either
// (a CLIPModel model.safetensors from a hub). Separate q/k/v projections are joined into in_proj (rows q, k, v), and
// the two projections, stored by HF as nn.Linear weights (out × in), are transposed into OpenAI's (in × out) matrices.
//
//   {vision,text}_model.encoder.layers.N.self_attn.{q,k,v}_proj → {visual.,}transformer.resblocks.N.attn.in_proj_*
//   ….self_attn.out_proj → ….attn.out_proj      ….layer_norm1/2 → ….ln_1/2      ….mlp.fc1/fc2 → ….mlp.c_fc/c_proj
//   vision_model.embeddings.{class_embedding, patch_embedding, position_embedding} → visual.{class_embedding, conv1,
//   positional_embedding};  vision_model.pre_layrnorm / post_layernorm → visual.ln_pre / ln_post
//   text_model.embeddings.{token_embedding, position_embedding} → token_embedding, positional_embedding
//   text_model.final_layer_norm → ln_final;  visual_projection.weight → visual.proj (ᵀ);  text_projection.weight →
//   text_projection (ᵀ);  logit_scale → logit_scale;  *.position_ids (an index buffer) is dropped.
import type { Tensor } from '../../core/tensor';
import { concat } from '../../core/ops/indexing';
import { contiguous, reshape, transpose } from '../../core/ops/views';

export function isHfClipStateDict(dict: Record<string, unknown>): boolean {
  return Object.keys(dict).some((k) => /^(vision_model|text_model)\./.test(k));
}

const SIMPLE: [RegExp, string][] = [
  [/^vision_model\.embeddings\.class_embedding$/, 'visual.class_embedding'],
  [/^vision_model\.embeddings\.patch_embedding\.weight$/, 'visual.conv1.weight'],
  [/^vision_model\.embeddings\.position_embedding\.weight$/, 'visual.positional_embedding'],
  [/^vision_model\.pre_layrnorm\.(weight|bias)$/, 'visual.ln_pre.$1'],
  [/^vision_model\.post_layernorm\.(weight|bias)$/, 'visual.ln_post.$1'],
  [/^text_model\.embeddings\.token_embedding\.weight$/, 'token_embedding.weight'],
  [/^text_model\.embeddings\.position_embedding\.weight$/, 'positional_embedding'],
  [/^text_model\.final_layer_norm\.(weight|bias)$/, 'ln_final.$1'],
];
const LAYER = /^(vision_model|text_model)\.encoder\.layers\.(\d+)\.(.+)$/;
const IN_LAYER: [RegExp, string][] = [
  [/^self_attn\.out_proj\.(weight|bias)$/, 'attn.out_proj.$1'],
  [/^layer_norm([12])\.(weight|bias)$/, 'ln_$1.$2'],
  [/^mlp\.fc1\.(weight|bias)$/, 'mlp.c_fc.$1'],
  [/^mlp\.fc2\.(weight|bias)$/, 'mlp.c_proj.$1'],
];

const T = (t: Tensor): Tensor => contiguous(transpose(t, 0, 1));

/** Renames a Hugging Face CLIPModel state dict to OpenAI names; keys it does not know are kept unchanged. */
export function fromHfClip(dict: Record<string, Tensor>): Record<string, Tensor> {
  const out: Record<string, Tensor> = Object.create(null);
  const qkv = new Map<string, Partial<Record<'q' | 'k' | 'v', Tensor>>>();
  for (const key of Object.keys(dict)) {
    const t = Object.getOwnPropertyDescriptor(dict, key)!.value as Tensor;
    if (/position_ids$/.test(key)) continue;
    if (key === 'visual_projection.weight') { out['visual.proj'] = T(t); continue; }
    if (key === 'text_projection.weight') { out['text_projection'] = T(t); continue; }
    if (key === 'logit_scale') { out[key] = t.rank === 0 ? t : reshape(t, []); continue; }
    const m = LAYER.exec(key);
    if (m) {
      const base = `${m[1] === 'vision_model' ? 'visual.' : ''}transformer.resblocks.${m[2]}.`;
      const a = /^self_attn\.([qkv])_proj\.(weight|bias)$/.exec(m[3]);
      if (a) {
        const slot = `${base}attn.in_proj_${a[2]}`;
        const parts = qkv.get(slot) ?? {};
        parts[a[1] as 'q' | 'k' | 'v'] = t;
        qkv.set(slot, parts);
        continue;
      }
      const rule = IN_LAYER.find(([re]) => re.test(m[3]));
      out[rule ? base + m[3].replace(rule[0], rule[1]) : key] = t;
      continue;
    }
    const rule = SIMPLE.find(([re]) => re.test(key));
    out[rule ? key.replace(rule[0], rule[1]) : key] = t;
  }
  for (const [slot, p] of qkv) {
    if (!p.q || !p.k || !p.v) throw new Error(`fromHfClip: ${slot} needs q_proj, k_proj and v_proj; found ${Object.keys(p).join(', ')}`);
    out[slot] = concat([p.q, p.k, p.v], 0);
  }
  return out;
}
