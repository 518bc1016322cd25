#!/usr/bin/env python3
"""Tiny seeded CLIPs run by OpenAI's clip/model.py (../shared/reference/openai-clip): weights, inputs and outputs.

Run:  /usr/bin/python3 test/reference/make_clip_model_fixtures.py      (deterministic; CPU, float32; ~20 s)

Writes test/fixtures/clip/<case>/{case.json, weights.safetensors, input.safetensors, expected.safetensors} for
  vit_tiny      ViT image tower (width 32, 4 heads, 2 layers, patch 8, 32×32 images), text tower (width 32, 4 heads,
                2 layers, context 12, vocabulary 64), embed 16
  rn_tiny       ModifiedResNet image tower (width 4, blocks [1, 2, 1, 1], 64×64 images, 2 heads), same text tower
and test/fixtures/clip/vit_tiny/hf_weights.safetensors (the vit_tiny weights under Hugging Face CLIPModel names,
laid out as transformers' convert_clip_original_pytorch_to_hf.py does), and presets.json (OpenAI's state-dict
shapes of the released models and the arguments build_model infers from them), and test/fixtures/clip/preprocess/
(clip._transform on PNG-stored images, see preprocess_fixtures).
OpenAI derives the image tower's heads from its width (width / 64); the tiny ViT has width 32, so its image tower
is built with OpenAI's own VisionTransformer class and 4 heads and put in place of model.visual.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clip_common as C  # noqa: E402

M = C.openai_model

TEXT = dict(context_length=12, vocab_size=64, transformer_width=32, transformer_heads=4, transformer_layers=2)


def randomise(model, gen):
    # Every parameter and BatchNorm statistic random (OpenAI's init zeros bn3 and biases): a wrong term shows.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == 'logit_scale':
                p.fill_(2.5)
            elif name.endswith('bias') or 'ln' in name or 'bn' in name or 'downsample.1' in name:
                base = 1.0 if name.endswith('weight') else 0.0
                p.copy_(base + 0.2 * torch.randn(p.shape, generator=gen))
            elif 'embedding' in name or p.dim() < 2:
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
            else:
                # unit-variance activations: std = fan_in^-0.5 (x @ proj reads proj's rows, the others are (out, in, ...))
                fan_in = p.shape[0] if name in ('visual.proj', 'text_projection') else p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) * fan_in ** -0.5)
        for name, b in model.named_buffers():
            if name.endswith('running_mean'):
                b.copy_(0.1 * torch.randn(b.shape, generator=gen))
            elif name.endswith('running_var'):
                b.copy_(0.5 + torch.rand(b.shape, generator=gen))


def text_ids(gen, n, ctx, vocab):
    # sot = vocab - 2, eot = vocab - 1 (the largest id, found by argmax as OpenAI does), zero padding after it
    ids = torch.zeros(n, ctx, dtype=torch.long)
    for i, length in enumerate([3, ctx - 2, 7][:n]):
        ids[i, 0] = vocab - 2
        ids[i, 1:length + 1] = torch.randint(1, vocab - 2, (length,), generator=gen)
        ids[i, length + 1] = vocab - 1
    return ids


def run_case(name, model, cfg, image_res, gen, target_layer):
    model.eval()
    d = os.path.join(C.OUT, name)
    os.makedirs(d, exist_ok=True)
    images = torch.randn(2, 3, image_res, image_res, generator=gen).requires_grad_()
    ids = text_ids(gen, 3, TEXT['context_length'], TEXT['vocab_size'])
    probe = torch.randn(2, 3, generator=gen)
    captured = {}
    layer = model.get_submodule(target_layer)
    h = layer.register_forward_hook(lambda m, i, o: captured.__setitem__('act', o))
    image_features = model.encode_image(images)
    h.remove()
    text_features = model.encode_text(ids)
    logits_per_image, logits_per_text = model(images, ids)
    loss = (logits_per_image * probe).sum()
    act = captured['act']
    if act.dim() == 3:
        act = act.permute(1, 0, 2)  # OpenAI's (L, N, D) → batch-first (N, L, D)
    grad_images, = torch.autograd.grad(loss, [images])
    C.write_safetensors(os.path.join(d, 'weights.safetensors'), model.state_dict())
    C.write_safetensors(os.path.join(d, 'input.safetensors'), {'images': images, 'ids': ids, 'probe': probe})
    C.write_safetensors(os.path.join(d, 'expected.safetensors'), {
        'image_features': image_features, 'text_features': text_features, 'logits_per_image': logits_per_image,
        'logits_per_text': logits_per_text, 'target_activation': act, 'loss': loss.reshape(1), 'grad_images': grad_images,
    })
    with open(os.path.join(d, 'case.json'), 'w') as f:
        json.dump({'config': cfg, 'target_layer': target_layer}, f, indent=1)
    return model


def hf_names(sd):
    """OpenAI → Hugging Face CLIPModel names, as transformers' convert_clip_original_pytorch_to_hf.py lays them out."""
    out = {}
    for k, v in sd.items():
        if k.startswith('visual.transformer.resblocks.') or k.startswith('transformer.resblocks.'):
            tower = 'vision_model' if k.startswith('visual.') else 'text_model'
            rest = k.split('resblocks.', 1)[1]
            n, sub = rest.split('.', 1)
            p = f'{tower}.encoder.layers.{n}.'
            if sub in ('attn.in_proj_weight', 'attn.in_proj_bias'):
                q, kk, vv = v.chunk(3, dim=0)
                kind = sub.rsplit('_', 1)[1]
                for nm, t in (('q', q), ('k', kk), ('v', vv)):
                    out[f'{p}self_attn.{nm}_proj.{kind}'] = t
                continue
            sub = (sub.replace('attn.out_proj', 'self_attn.out_proj').replace('ln_1', 'layer_norm1').replace('ln_2', 'layer_norm2')
                   .replace('mlp.c_fc', 'mlp.fc1').replace('mlp.c_proj', 'mlp.fc2'))
            out[p + sub] = v
            continue
        simple = {
            'visual.class_embedding': 'vision_model.embeddings.class_embedding',
            'visual.conv1.weight': 'vision_model.embeddings.patch_embedding.weight',
            'visual.positional_embedding': 'vision_model.embeddings.position_embedding.weight',
            'visual.ln_pre.weight': 'vision_model.pre_layrnorm.weight', 'visual.ln_pre.bias': 'vision_model.pre_layrnorm.bias',
            'visual.ln_post.weight': 'vision_model.post_layernorm.weight', 'visual.ln_post.bias': 'vision_model.post_layernorm.bias',
            'token_embedding.weight': 'text_model.embeddings.token_embedding.weight',
            'positional_embedding': 'text_model.embeddings.position_embedding.weight',
            'ln_final.weight': 'text_model.final_layer_norm.weight', 'ln_final.bias': 'text_model.final_layer_norm.bias',
            'logit_scale': 'logit_scale',
        }
        if k == 'visual.proj':
            out['visual_projection.weight'] = v.t()
        elif k == 'text_projection':
            out['text_projection.weight'] = v.t()
        else:
            out[simple[k]] = v
    out['vision_model.embeddings.position_ids'] = torch.arange(sd['visual.positional_embedding'].shape[0])[None]
    out['text_model.embeddings.position_ids'] = torch.arange(sd['positional_embedding'].shape[0])[None]
    return out


def presets():
    args = {
        'ViT-B/32': (512, 224, 12, 768, 32, 77, 49408, 512, 8, 12), 'ViT-B/16': (512, 224, 12, 768, 16, 77, 49408, 512, 8, 12),
        'ViT-L/14': (768, 224, 24, 1024, 14, 77, 49408, 768, 12, 12), 'ViT-L/14@336px': (768, 336, 24, 1024, 14, 77, 49408, 768, 12, 12),
        'RN50': (1024, 224, (3, 4, 6, 3), 64, None, 77, 49408, 512, 8, 12), 'RN101': (512, 224, (3, 4, 23, 3), 64, None, 77, 49408, 512, 8, 12),
    }
    out = {}
    for name, a in args.items():
        model = M.CLIP(*a)
        sd = model.state_dict()
        shapes = {k: list(v.shape) for k, v in sd.items()}
        # build_model's inference, run on the real state dict (its construction is skipped: only the arguments matter)
        seen = {}
        orig = M.CLIP.__init__

        def spy(self, *args_):
            seen['args'] = args_
            raise StopIteration
        M.CLIP.__init__ = spy
        try:
            M.build_model(dict(sd))
        except StopIteration:
            pass
        finally:
            M.CLIP.__init__ = orig
        inferred = [list(x) if isinstance(x, tuple) else x for x in seen['args']]
        out[name] = {'shapes': shapes, 'build_model_args': inferred, 'num_parameters': sum(p.numel() for p in model.parameters())}
        del model, sd
    with open(os.path.join(C.OUT, 'presets.json'), 'w') as f:
        json.dump(out, f, separators=(',', ':'))


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(20261207)

    vit_cfg = dict(embed_dim=16, image_resolution=32, vision_layers=2, vision_width=64, vision_patch_size=8, **TEXT)
    model = M.CLIP(**vit_cfg)
    model.visual = M.VisionTransformer(input_resolution=32, patch_size=8, width=32, layers=2, heads=4, output_dim=16)
    randomise(model, gen)
    cfg = dict(vit_cfg, vision_width=32, vision_heads=4)
    model = run_case('vit_tiny', model, cfg, 32, gen, 'visual.transformer.resblocks.1.ln_1')
    C.write_safetensors(os.path.join(C.OUT, 'vit_tiny', 'hf_weights.safetensors'), hf_names(model.state_dict()))

    rn_cfg = dict(embed_dim=16, image_resolution=64, vision_layers=(1, 2, 1, 1), vision_width=4, vision_patch_size=None, **TEXT)
    model = M.CLIP(**rn_cfg)
    randomise(model, gen)
    run_case('rn_tiny', model, dict(rn_cfg, vision_layers=[1, 2, 1, 1]), 64, gen, 'visual.layer4')
    presets()
    preprocess_fixtures()
    print('model fixtures written')




def preprocess_fixtures():
    """clip._transform(n_px) (torchvision Resize(n_px, BICUBIC), CenterCrop, ToTensor, Normalize) on PIL images whose
    pixels are stored losslessly as PNG, so both sides start from the same decoded image."""
    from PIL import Image
    d = os.path.join(C.OUT, 'preprocess')
    os.makedirs(d, exist_ok=True)
    gen = torch.Generator().manual_seed(7)
    cases = []
    # (width, height, n_px): portrait/landscape/square, a crop offset of x.5 (Python rounds half to even), no-op sizes
    for i, (w, h, n) in enumerate([(37, 53, 24), (55, 40, 24), (48, 48, 32), (40, 55, 24), (24, 30, 24), (61, 29, 16), (20, 20, 32)]):
        yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing='ij')
        base = torch.stack([xx, yy, 1 - xx * yy]) * 180 + 40 * torch.rand(3, h, w, generator=gen)
        arr = base.clamp(0, 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        img = Image.fromarray(arr, 'RGB')
        name = f'img{i}.png'
        img.save(os.path.join(d, name))
        out = C.openai_clip._transform(n)(Image.open(os.path.join(d, name)))
        cases.append({'image': name, 'size': n})
        C.write_safetensors(os.path.join(d, f'img{i}.expected.safetensors'), {'tensor': out})
    with open(os.path.join(d, 'cases.json'), 'w') as f:
        json.dump(cases, f, indent=1)


if __name__ == '__main__':
    main()
