#!/usr/bin/env python3
"""Reference fixtures for models/: torchvision ResNets with seeded random weights.

Run:  /usr/bin/python3 test/reference/make_model_fixtures.py
Writes test/fixtures/models/<case>/{weights.safetensors, weights.pth, io.safetensors, case.json}.

The models are torchvision's own classes (BasicBlock / Bottleneck / ResNet); only the stage widths are
reduced, by re-running torchvision's `_make_layer` with smaller planes, so the files stay small while
the code paths are torchvision's. BatchNorm affine parameters and running statistics are re-randomised
so that a skipped or mis-ordered layer cannot pass by luck.
"""
import json
import os
import struct

import torch
import torch.nn as nn
import torchvision
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'models')


def write_safetensors(path, tensors):
    """The safetensors format by hand (Debian has no safetensors package): u64 header length, JSON, data."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if t.dtype == torch.float32:
            dtype, data = 'F32', t.numpy().astype('<f4').tobytes()
        elif t.dtype in (torch.int64, torch.int32):
            dtype, data = 'I64', t.to(torch.int64).numpy().astype('<i8').tobytes()
        else:
            raise ValueError(t.dtype)
        header[name] = {'dtype': dtype, 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def small_resnet(block, layers, widths, num_classes):
    m = ResNet(block, layers, num_classes=num_classes)
    m.inplanes = widths[0]
    m.conv1 = nn.Conv2d(3, widths[0], kernel_size=7, stride=2, padding=3, bias=False)
    m.bn1 = nn.BatchNorm2d(widths[0])
    m.layer1 = m._make_layer(block, widths[0], layers[0])
    m.layer2 = m._make_layer(block, widths[1], layers[1], stride=2)
    m.layer3 = m._make_layer(block, widths[2], layers[2], stride=2)
    m.layer4 = m._make_layer(block, widths[3], layers[3], stride=2)
    m.fc = nn.Linear(widths[3] * block.expansion, num_classes)
    return m


def randomize(m, g):
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.Conv2d):
                fan_in = mod.weight[0].numel()
                mod.weight.copy_(torch.randn(mod.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
            elif isinstance(mod, nn.BatchNorm2d):
                mod.weight.copy_(torch.rand(mod.weight.shape, generator=g) + 0.5)
                mod.bias.copy_(torch.randn(mod.bias.shape, generator=g) * 0.1)
                mod.running_mean.copy_(torch.randn(mod.running_mean.shape, generator=g) * 0.1)
                mod.running_var.copy_(torch.rand(mod.running_var.shape, generator=g) + 0.5)
                mod.num_batches_tracked.fill_(7)
            elif isinstance(mod, nn.Linear):
                mod.weight.copy_(torch.randn(mod.weight.shape, generator=g) / mod.weight.shape[1] ** 0.5)
                mod.bias.copy_(torch.randn(mod.bias.shape, generator=g) * 0.1)


def make_case(name, block, layers, widths, num_classes, input_shape, seed):
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    m = small_resnet(block, layers, widths, num_classes)
    randomize(m, g)
    m.eval()
    x = torch.randn(input_shape, generator=g)

    acts = {}
    def keep(key):
        def hook(_mod, _inp, out):
            out.retain_grad()
            acts[key] = out
        return hook
    for key in ['layer1', 'layer3', 'layer4']:
        getattr(m, key).register_forward_hook(keep(key))
    logits = m(x)
    # d(logit of class t for each sample)/d layer4 output — the Grad-CAM gradient
    targets = logits.argmax(dim=1)
    score = logits.gather(1, targets[:, None]).sum()
    score.backward()

    out = os.path.join(ROOT, name)
    os.makedirs(out, exist_ok=True)
    sd = m.state_dict()
    write_safetensors(os.path.join(out, 'weights.safetensors'), sd)
    torch.save(sd, os.path.join(out, 'weights.pth'))
    write_safetensors(os.path.join(out, 'io.safetensors'), {
        'input': x,
        'logits': logits,
        'layer1': acts['layer1'],
        'layer3': acts['layer3'],
        'layer4': acts['layer4'],
        'grad_layer4': acts['layer4'].grad,
    })
    with open(os.path.join(out, 'case.json'), 'w') as f:
        json.dump({
            'block': 'basic' if block is BasicBlock else 'bottleneck',
            'layers': layers, 'widths': widths, 'numClasses': num_classes,
            'input': list(input_shape), 'seed': seed, 'targets': targets.tolist(),
            'torch': torch.__version__, 'torchvision': torchvision.__version__,
            'note': 'grad_layer4 = d sum_n logits[n, argmax_n] / d layer4 output',
        }, f, indent=1)
    print(name, 'params', sum(p.numel() for p in m.parameters()))


if __name__ == '__main__':
    torch.set_num_threads(1)
    make_case('resnet18_small', BasicBlock, [2, 2, 2, 2], [4, 8, 16, 32], 10, (2, 3, 64, 48), 1)
    make_case('bottleneck_small', Bottleneck, [1, 2, 1, 1], [4, 8, 8, 16], 7, (1, 3, 56, 72), 2)
