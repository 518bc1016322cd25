#!/usr/bin/env python3
"""Zero-shot CLIP classes from text prompts, and Finer-CAM over them, computed by OpenAI's code and the reference
Finer-CAM (test/reference/cam_reference.py, written from the official Finer-CAM semantics and checked against the
official code's outputs by make_cam_fixtures.py).

Run:  /usr/bin/python3 test/reference/make_clip_zeroshot_fixtures.py      (deterministic; CPU, float32)

The model is a tiny CLIP (ViT tower as vit_tiny: width 32, 4 heads, 2 layers, patch 8, 32×32 images; text tower width
32, 4 heads, 1 layer) with the real context length 77 and vocabulary 49,408, so that prompts go through OpenAI's real
tokenizer and clip.tokenize. The 49,408×32 token embedding is not stored: it is det(k) = float32(sin(0.0137·k + 0.4)·0.5)
over the flat row-major index k (computed in float64), which the test rebuilds. The other weights are stored.
The zero-shot head is CLIP's prompt-engineering notebook: per class, encode_text of every template, normalise, mean,
normalise; logits = exp(logit_scale) · normalise(encode_image) · text_featuresᵀ.
Writes test/fixtures/clip/zeroshot/{case.json, weights.safetensors, input.safetensors, expected.safetensors}.
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clip_common as C  # noqa: E402
import cam_reference as R  # noqa: E402
from make_clip_model_fixtures import randomise  # noqa: E402

M = C.openai_model
CLASSES = ['red crown', 'brown crown', 'orange beak', 'black eye ring', 'white wing bar', 'yellow throat']
TEMPLATES = ['a photo of a bird with a {}.', 'a {} bird.', 'a close-up of the {} of a finch']
PROMPTS = ['a bird with a red crown', 'a bird with a brown crown', 'a finch & its orange beak', "it's a bird"]
MODES = {'baseline': (0, [1, 2, 3]), 'default': (1, [1, 2, 3]), 'compare': (1, [1])}


def det_embedding(shape):
    k = np.arange(int(np.prod(shape)), dtype=np.float64)
    return torch.from_numpy((np.sin(0.0137 * k + 0.4) * 0.5).astype(np.float32).reshape(shape))


class ZeroShot(torch.nn.Module):
    def __init__(self, model, text_features):
        super().__init__()
        self.clip = model
        self.text_features = text_features

    def forward(self, images):
        f = self.clip.encode_image(images)
        f = f / f.norm(dim=1, keepdim=True)
        return self.clip.logit_scale.exp() * f @ self.text_features.t()


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(424242)
    cfg = dict(embed_dim=16, image_resolution=32, vision_layers=2, vision_width=64, vision_patch_size=8,
               context_length=77, vocab_size=49408, transformer_width=32, transformer_heads=4, transformer_layers=1)
    model = M.CLIP(**cfg)
    model.visual = M.VisionTransformer(input_resolution=32, patch_size=8, width=32, layers=2, heads=4, output_dim=16)
    randomise(model, gen)
    with torch.no_grad():
        model.token_embedding.weight.copy_(det_embedding(model.token_embedding.weight.shape))
    model.eval()

    with torch.no_grad():
        class_features = []
        for name in CLASSES:
            e = model.encode_text(C.openai_clip.tokenize([t.format(name) for t in TEMPLATES]))
            e = e / e.norm(dim=-1, keepdim=True)
            e = e.mean(dim=0)
            class_features.append(e / e.norm())
        class_features = torch.stack(class_features)
        p = model.encode_text(C.openai_clip.tokenize(PROMPTS))
        prompt_features = p / p.norm(dim=-1, keepdim=True)

    images = torch.randn(1, 3, 32, 32, generator=gen)
    zs = ZeroShot(model, class_features).eval()
    logits = zs(images).detach()
    expected = {'class_text_features': class_features, 'prompt_text_features': prompt_features, 'logits': logits}
    modes = {}
    layer = model.visual.transformer.resblocks[-1].ln_1
    # OpenAI's blocks run sequence-first (L, N, D): to batch-first, drop the class token, onto the 4×4 grid
    reshape = lambda t: R.vit_reshape_transform(t.permute(1, 0, 2), 4, 4)  # noqa: E731
    for mode, (alpha, ranks) in MODES.items():
        for ts, key in ((None, 'cam_grid_'), ('input', 'cam_')):
            with R.FinerCAM(zs, [layer], reshape_transform=reshape) as f:
                cam, _out, mains, refs = f(images, alpha=alpha, reference_category_ranks=ranks, target_size=ts)
            expected[key + mode] = torch.from_numpy(np.ascontiguousarray(cam))
            modes[mode] = {'alpha': alpha, 'reference_category_ranks': ranks, 'main_categories': mains, 'references': refs}
    _m, _r, gap = R.finer_select(logits[0].numpy(), None, [1, 2, 3])

    d = os.path.join(C.OUT, 'zeroshot')
    os.makedirs(d, exist_ok=True)
    sd = {k: v for k, v in model.state_dict().items() if k != 'token_embedding.weight'}
    C.write_safetensors(os.path.join(d, 'weights.safetensors'), sd)
    C.write_safetensors(os.path.join(d, 'input.safetensors'), {'images': images})
    C.write_safetensors(os.path.join(d, 'expected.safetensors'), expected)
    with open(os.path.join(d, 'case.json'), 'w') as f:
        json.dump({'config': dict(cfg, vision_width=32, vision_heads=4), 'classes': CLASSES, 'templates': TEMPLATES,
                   'prompts': PROMPTS, 'target_layer': 'clip.visual.transformer.resblocks.1.ln_1', 'grid': [4, 4],
                   'target_size': [32, 32], 'modes': modes, 'min_logit_gap': gap,
                   'token_embedding': 'float32(sin(0.0137*k + 0.4)*0.5), k = flat row-major index, computed in float64'},
                  f, indent=1)
    print('zero-shot fixtures written; logits', logits.numpy().round(3).tolist(), 'modes', modes, 'gap', gap)


if __name__ == '__main__':
    main()
