#!/usr/bin/env python3
"""Writes test/fixtures/models/hf_dinov2_registers.safetensors (and dinov2_tiny_forward.pth, below): the official tiny DINOv2 (registers case)
weights renamed to Hugging Face transformers' Dinov2 names (query/key/value split from qkv, layer_scale
lambda1, layernorm, ...), the way transformers' convert_dinov2_to_hf.py lays them out.

Run:  /usr/bin/python3 test/reference/make_hf_fixture.py
"""
import json
import os
import re
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, '..', 'fixtures', 'official-dinov2', 'dinov2_tiny_registers', 'weights.safetensors')
DST = os.path.join(HERE, '..', 'fixtures', 'models', 'hf_dinov2_registers.safetensors')


def read(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        a, b = v['data_offsets']
        out[k] = np.frombuffer(data[a:b], dtype='<f4').reshape(v['shape'])
    return out


def write(path, tensors):
    header, blobs, off = {}, [], 0
    for k, t in tensors.items():
        b = np.ascontiguousarray(t, dtype='<f4').tobytes()
        header[k] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def rename(sd):
    out = {}
    for k, t in sd.items():
        m = re.match(r'blocks\.(\d+)\.(.*)$', k)
        if not m:
            out[{'cls_token': 'embeddings.cls_token', 'mask_token': 'embeddings.mask_token',
                 'pos_embed': 'embeddings.position_embeddings', 'register_tokens': 'embeddings.register_tokens',
                 'patch_embed.proj.weight': 'embeddings.patch_embeddings.projection.weight',
                 'patch_embed.proj.bias': 'embeddings.patch_embeddings.projection.bias',
                 'norm.weight': 'layernorm.weight', 'norm.bias': 'layernorm.bias'}[k]] = t
            continue
        i, rest = m.group(1), m.group(2)
        p = f'encoder.layer.{i}.'
        if rest.startswith('attn.qkv.'):
            kind = rest.split('.')[-1]
            d = t.shape[0] // 3
            for j, name in enumerate(['query', 'key', 'value']):
                out[f'{p}attention.attention.{name}.{kind}'] = t[j * d:(j + 1) * d]
        elif rest.startswith('attn.proj.'):
            out[p + 'attention.output.dense.' + rest.split('.')[-1]] = t
        elif rest in ('ls1.gamma', 'ls2.gamma'):
            out[p + f'layer_scale{rest[2]}.lambda1'] = t
        else:
            out[p + rest] = t  # norm1, norm2, mlp.fc1, mlp.fc2
    return out




def write_pth(src_dir, dst):
    """The same official weights as a PyTorch checkpoint (torch.save of the state dict), so the ViT is also
    loaded through the .pth reader."""
    import torch
    sd = {k: torch.from_numpy(v.copy()) for k, v in read(os.path.join(src_dir, 'weights.safetensors')).items()}
    torch.save(sd, dst)


if __name__ == '__main__':
    write(DST, rename(read(SRC)))
    print('wrote', DST)
    write_pth(os.path.join(HERE, '..', 'fixtures', 'official-dinov2', 'dinov2_tiny_forward'),
              os.path.join(HERE, '..', 'fixtures', 'models', 'dinov2_tiny_forward.pth'))
    print('wrote dinov2_tiny_forward.pth')
