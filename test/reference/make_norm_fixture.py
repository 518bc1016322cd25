#!/usr/bin/env python3
"""Writes test/fixtures/cli-norm/: what torchvision computes for one image under each normalisation.

Run with the system Python:  /usr/bin/python3 test/reference/make_norm_fixture.py

* tiny-resnet.pth - a torchvision-structured ResNet (BasicBlock, one block per stage, widths 4-8-8-8,
  3 classes; conv1/bn1/layerN.0.*/fc as torchvision names them), seeded random weights and BatchNorm
  running statistics, saved with torch.save.
* tiny-resnet.json - the same architecture as finercam model options.
* image.png - a 40x32 RGB image (seeded noise over a gradient, so every channel matters).
* expected.json - for 'imagenet', 'clip' and a custom mean/std: torchvision's ToTensor + Normalize
  output (first values and a checksum) and the model's logits and softmax in eval mode.
Deterministic: the files are byte-identical on every run.
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn
from PIL import Image
from torchvision import transforms
from torchvision.models.resnet import BasicBlock, conv1x1

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "cli-norm")
WIDTHS = [4, 8, 8, 8]
CLASSES = 3

NORMS = {
    "imagenet": ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    "clip": ([0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]),
    "custom": ([0.5, 0.25, 0.75], [0.5, 0.125, 0.25]),
}


class TinyResNet(nn.Module):
    """torchvision.models.ResNet with configurable widths (torchvision fixes them at 64-512)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, WIDTHS[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(WIDTHS[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes = WIDTHS[0]
        for i, w in enumerate(WIDTHS):
            stride = 1 if i == 0 else 2
            down = None
            if stride != 1 or inplanes != w:
                down = nn.Sequential(conv1x1(inplanes, w, stride), nn.BatchNorm2d(w))
            setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(inplanes, w, stride, down)))
            inplanes = w
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inplanes, CLASSES)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(7)
    net = TinyResNet()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
        net.fc.weight.mul_(4)
    net.eval()
    torch.save(net.state_dict(), os.path.join(OUT, "tiny-resnet.pth"))
    with open(os.path.join(OUT, "tiny-resnet.json"), "w") as f:
        json.dump({"block": "basic", "layers": [1, 1, 1, 1], "widths": WIDTHS, "numClasses": CLASSES}, f)
        f.write("\n")

    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:32, 0:40]
    base = np.stack([xx * 6, yy * 7, (xx + yy) * 3], axis=-1)
    arr = np.clip(base + rng.integers(-40, 41, size=base.shape), 0, 255).astype(np.uint8)
    Image.fromarray(arr, "RGB").save(os.path.join(OUT, "image.png"))
    img = Image.open(os.path.join(OUT, "image.png")).convert("RGB")

    expected = {"torch": torch.__version__, "size": [40, 32], "norms": {}}
    for name, (mean, std) in NORMS.items():
        x = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])(img).unsqueeze(0)
        with torch.no_grad():
            z = net(x)
        expected["norms"][name] = {
            "mean": mean,
            "std": std,
            "inputFirst": [float(v) for v in x.flatten()[:8]],
            "inputSum": float(x.double().sum()),
            "logits": [float(v) for v in z[0]],
            "probs": [float(v) for v in torch.softmax(z, 1)[0]],
        }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
