#!/usr/bin/env python3
"""Writes test/fixtures/ops/spatial.json: PyTorch reference numbers for the spatial ops.

Run with the system Python (needs torch):  /usr/bin/python3 test/reference/ops_spatial.py

Every case holds float32 inputs, the options in our API's spelling (camelCase), torch's output, a seeded
random upstream gradient gy and the gradients of sum(y * gy) with respect to every input. Values are
written as the shortest decimal that reads back as the same float32.

Ops: conv2d (stride / padding / dilation / groups / bias, depthwise, 1x1, 'same' with even kernels,
non-square, unbatched), max_pool2d (ceil_mode, padding, dilation, overlap, ties, indices), avg_pool2d
(count_include_pad, ceil_mode, divisor_override), adaptive_avg_pool2d (non-divisible sizes) and
interpolate (nearest / nearest-exact / bilinear / bicubic / area, align_corners, size vs scale_factor,
antialias, DINOv2's positional-embedding resize).

Interpolate gradients: torch 1.13's CPU backward for 'nearest' and for non-antialiased 'bicubic' takes a
shortcut when an output size equals the input size (or twice it, for nearest) while its forward, given
a scale factor, does not: e.g. bicubic 4 -> 4 with scale_factor 1.025 (DINOv2) resamples in the forward
but its backward copies. There the autograd numbers are not the gradient of torch's own forward. For
every interpolate case we therefore also build the gradient from torch's forward alone (push each
basis image through it, then J^T gy) and store that one when the two disagree, marked
"gradReference": "forward-jacobian".

Nearest modes also use the shortcut in the forward for inputs that are channels-last contiguous (C == 1
counts); all cases here use C >= 2 NCHW tensors, torch's generic path.
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "ops", "spatial.json")

torch.set_num_threads(1)


def f32_list(t):
    """Shortest decimal per float32 value (parsed back to the same float32 by Float32Array)."""
    return [float(str(np.float32(v))) if math.isfinite(v) else str(v) for v in t.detach().float().reshape(-1).tolist()]


def tensor_json(t):
    if t.dtype in (torch.int64, torch.int32):
        return {"shape": list(t.shape), "data": [int(v) for v in t.reshape(-1).tolist()]}
    return {"shape": list(t.shape), "data": f32_list(t)}


CASES = []


def add_case(op, name, inputs, options, fn, jacobian_check=False):
    seed = len(CASES) + 1
    gen = torch.Generator().manual_seed(1000 + seed)
    leaves = {k: v.detach().clone().float().requires_grad_(True) for k, v in inputs.items() if v is not None}
    out = fn(**leaves)
    indices = None
    if isinstance(out, tuple):
        out, indices = out
    gy = torch.randn(out.shape, generator=gen)
    names = list(leaves)
    grads = torch.autograd.grad((out * gy).sum(), [leaves[k] for k in names], allow_unused=True)
    grads = {k: (g if g is not None else torch.zeros_like(leaves[k])) for k, g in zip(names, grads)}
    case = {
        "op": op,
        "name": name,
        "inputs": {k: tensor_json(v) for k, v in leaves.items()},
        "options": options,
        "output": tensor_json(out),
        "gradOutput": tensor_json(gy),
        "grads": {k: tensor_json(g) for k, g in grads.items()},
    }
    if indices is not None:
        case["indices"] = tensor_json(indices)
    if jacobian_check:
        gx = forward_jacobian_grad(lambda x: fn(x=x), leaves["x"].detach(), gy)
        diff = (gx - grads["x"].double()).abs().max().item()
        if diff > 1e-4:
            case["grads"]["x"] = tensor_json(gx)
            case["gradReference"] = "forward-jacobian"
            print(f"  {name}: torch's backward differs from its forward's transpose by {diff:.3g}; storing J^T gy")
    CASES.append(case)


def forward_jacobian_grad(fn, x, gy):
    """J^T gy for a linear map, J read off torch's float32 forward one basis image at a time."""
    flat = torch.zeros(x.numel())
    g = torch.zeros(x.numel(), dtype=torch.float64)
    gy64 = gy.double().reshape(-1)
    with torch.no_grad():
        for k in range(x.numel()):
            flat.zero_()
            flat[k] = 1.0
            col = fn(flat.reshape(x.shape).clone()).double().reshape(-1)
            g[k] = (col * gy64).sum()
    return g.reshape(x.shape)


def randn(*shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------------------------------- conv2d

def conv_case(name, x_shape, w_shape, bias=True, seed=0, **kw):
    x = randn(*x_shape, seed=seed)
    w = randn(*w_shape, seed=seed + 1) * 0.5
    b = randn(w_shape[0], seed=seed + 2) if bias else None
    opts = {k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()}
    inputs = {"x": x, "weight": w}
    if bias:
        inputs["bias"] = b
    add_case("conv2d", name, inputs, opts,
             lambda x, weight, bias=None: F.conv2d(x, weight, bias, **{k: (tuple(v) if isinstance(v, list) else v) for k, v in opts.items()}))


conv_case("3x3 plain + bias", (2, 3, 5, 6), (4, 3, 3, 3), seed=1)
conv_case("stride 2 padding 1 + bias", (2, 3, 7, 6), (4, 3, 3, 3), seed=2, stride=2, padding=1)
conv_case("stride (2,1) padding (1,2) dilation (2,1) no bias", (1, 3, 8, 7), (5, 3, 3, 3), bias=False, seed=3,
          stride=(2, 1), padding=(1, 2), dilation=(2, 1))
conv_case("groups 2 + bias", (1, 4, 7, 6), (6, 2, 3, 3), seed=4, groups=2, padding=1)
conv_case("depthwise groups=C padding 1", (2, 3, 6, 6), (3, 1, 3, 3), seed=5, groups=3, padding=1)
conv_case("depthwise multiplier 2 stride 2", (1, 3, 7, 7), (6, 1, 3, 3), seed=6, groups=3, stride=2, padding=1)
conv_case("1x1 pointwise + bias", (2, 3, 5, 4), (5, 3, 1, 1), seed=7)
conv_case("1x1 stride 2 (downsample shortcut)", (2, 4, 7, 6), (3, 4, 1, 1), bias=False, seed=8, stride=2)
conv_case("same, even kernel 4x2", (1, 3, 6, 5), (2, 3, 4, 2), seed=9, padding="same")
conv_case("same, even kernel dilation 3", (1, 2, 8, 7), (3, 2, 2, 4), seed=10, padding="same", dilation=3)
conv_case("same, kernel 2 dilation 2 (symmetric)", (1, 2, 5, 6), (2, 2, 2, 2), seed=11, padding="same", dilation=2)
conv_case("same, 3x3 dilation (2,3)", (1, 2, 7, 8), (3, 2, 3, 3), seed=12, padding="same", dilation=(2, 3))
conv_case("valid non-square kernel 2x5", (1, 3, 5, 8), (3, 3, 2, 5), seed=13, padding="valid")
conv_case("non-square everything", (2, 2, 6, 11), (4, 2, 3, 2), seed=14, stride=(1, 3), padding=(0, 2), dilation=(1, 2))
conv_case("groups 3 stride (1,2) dilation 2", (1, 6, 9, 9), (3, 2, 3, 3), seed=15, groups=3, stride=(1, 2), dilation=2, padding=2)
conv_case("kernel covers the padded input", (1, 2, 3, 4), (2, 2, 5, 4), seed=16, padding=(1, 0))
conv_case("patchify k4 s4 (ViT/DINOv2 stem)", (1, 3, 8, 8), (4, 3, 4, 4), seed=17, stride=4)
conv_case("resnet stem 7x7 s2 p3", (1, 2, 9, 8), (3, 2, 7, 7), bias=False, seed=18, stride=2, padding=3)
conv_case("unbatched 3-D input", (3, 5, 6), (2, 3, 3, 3), seed=19, padding=1)


# ---------------------------------------------------------------------------------------- max_pool2d

def max_case(name, x, **kw):
    opts = {"kernelSize": list(kw["kernel_size"]) if isinstance(kw["kernel_size"], tuple) else kw["kernel_size"]}
    for ours, theirs in [("stride", "stride"), ("padding", "padding"), ("dilation", "dilation"), ("ceilMode", "ceil_mode")]:
        if theirs in kw:
            opts[ours] = list(kw[theirs]) if isinstance(kw[theirs], tuple) else kw[theirs]
    opts["returnIndices"] = True
    add_case("maxPool2d", name, {"x": x}, opts, lambda x: F.max_pool2d(x, return_indices=True, **kw))


max_case("k2 s2", randn(2, 3, 6, 8, seed=30), kernel_size=2)
max_case("k3 s2 p1 (resnet stem)", randn(1, 2, 7, 8, seed=31), kernel_size=3, stride=2, padding=1)
max_case("ceil_mode k3 s2", randn(1, 2, 8, 7, seed=32), kernel_size=3, stride=2, ceil_mode=True)
max_case("ceil_mode k3 s2 p1 (last window rule)", randn(1, 2, 4, 6, seed=33), kernel_size=3, stride=2, padding=1, ceil_mode=True)
max_case("ceil_mode k2 s2 odd size", randn(1, 2, 5, 5, seed=34), kernel_size=2, ceil_mode=True)
max_case("dilation 2 k3 s1 p1", randn(1, 2, 7, 6, seed=35), kernel_size=3, stride=1, padding=1, dilation=2)
max_case("overlapping k3 s1", randn(2, 2, 5, 6, seed=36), kernel_size=3, stride=1)
max_case("ties (integer values)", torch.randint(0, 3, (2, 2, 6, 6), generator=torch.Generator().manual_seed(37)).float(),
         kernel_size=3, stride=1, padding=1)
max_case("non-square k (2,3) s (1,2) p (1,0)", randn(1, 3, 5, 9, seed=38), kernel_size=(2, 3), stride=(1, 2), padding=(1, 0))
max_case("dilation (2,1) ceil_mode p (1,1)", randn(1, 2, 8, 7, seed=39), kernel_size=3, stride=2, padding=1, dilation=(2, 1), ceil_mode=True)
max_case("unbatched 3-D input", randn(3, 6, 5, seed=40), kernel_size=2, stride=1)


# ---------------------------------------------------------------------------------------- avg_pool2d

def avg_case(name, x, **kw):
    opts = {"kernelSize": list(kw["kernel_size"]) if isinstance(kw["kernel_size"], tuple) else kw["kernel_size"]}
    for ours, theirs in [("stride", "stride"), ("padding", "padding"), ("ceilMode", "ceil_mode"),
                         ("countIncludePad", "count_include_pad"), ("divisorOverride", "divisor_override")]:
        if theirs in kw:
            opts[ours] = list(kw[theirs]) if isinstance(kw[theirs], tuple) else kw[theirs]
    add_case("avgPool2d", name, {"x": x}, opts, lambda x: F.avg_pool2d(x, **kw))


avg_case("k2 s2", randn(2, 3, 6, 8, seed=50), kernel_size=2)
avg_case("k3 s2 p1 count_include_pad", randn(1, 2, 7, 6, seed=51), kernel_size=3, stride=2, padding=1)
avg_case("k3 s2 p1 exclude pad", randn(1, 2, 7, 6, seed=52), kernel_size=3, stride=2, padding=1, count_include_pad=False)
avg_case("ceil_mode p1 include pad (window clipped at input+pad)", randn(1, 2, 4, 6, seed=53),
         kernel_size=3, stride=2, padding=1, ceil_mode=True)
avg_case("ceil_mode p1 exclude pad", randn(1, 2, 4, 6, seed=54), kernel_size=3, stride=2, padding=1, ceil_mode=True,
         count_include_pad=False)
avg_case("ceil_mode no padding, partial last window", randn(1, 2, 5, 7, seed=55), kernel_size=2, ceil_mode=True)
avg_case("divisor_override 5", randn(1, 2, 6, 6, seed=56), kernel_size=3, stride=2, padding=1, divisor_override=5)
avg_case("non-square k (3,2) s (2,1) p (1,0)", randn(2, 2, 7, 5, seed=57), kernel_size=(3, 2), stride=(2, 1), padding=(1, 0))
avg_case("overlapping k3 s1 p1 exclude pad", randn(1, 3, 5, 5, seed=58), kernel_size=3, stride=1, padding=1, count_include_pad=False)
avg_case("unbatched 3-D input", randn(2, 6, 6, seed=59), kernel_size=2, stride=2)


# ------------------------------------------------------------------------------- adaptive_avg_pool2d

def adaptive_case(name, x, out):
    add_case("adaptiveAvgPool2d", name, {"x": x}, {"outputSize": list(out) if isinstance(out, tuple) else out},
             lambda x: F.adaptive_avg_pool2d(x, out))


adaptive_case("7 -> 3", randn(2, 3, 7, 7, seed=70), 3)
adaptive_case("(5, 7) -> (2, 3)", randn(1, 2, 5, 7, seed=71), (2, 3))
adaptive_case("3 -> 5 (upsampling windows)", randn(1, 2, 3, 3, seed=72), 5)
adaptive_case("(6, 4) -> (4, 3)", randn(1, 3, 6, 4, seed=73), (4, 3))
adaptive_case("global (1, 1)", randn(2, 4, 5, 3, seed=74), 1)
adaptive_case("(None, 2) keeps H", randn(1, 2, 4, 5, seed=75), (None, 2))
adaptive_case("unbatched 3-D input", randn(2, 5, 6, seed=76), (2, 4))


# --------------------------------------------------------------------------------------- interpolate

def interp_case(name, x, **kw):
    assert x.dim() == 4 and x.shape[1] >= 2, "C >= 2 keeps torch on its generic NCHW path"
    opts = {}
    for ours, theirs in [("size", "size"), ("scaleFactor", "scale_factor"), ("mode", "mode"), ("alignCorners", "align_corners"),
                         ("antialias", "antialias"), ("recomputeScaleFactor", "recompute_scale_factor")]:
        if theirs in kw:
            opts[ours] = list(kw[theirs]) if isinstance(kw[theirs], tuple) else kw[theirs]
    add_case("interpolate", name, {"x": x}, opts, lambda x: F.interpolate(x, **kw), jacobian_check=True)


X57 = randn(1, 2, 5, 7, seed=90)
X66 = randn(1, 2, 6, 6, seed=91)
X98 = randn(1, 2, 9, 8, seed=92)
for mode in ["nearest", "nearest-exact"]:
    interp_case(f"{mode} size up (5,7)->(8,10)", X57, size=(8, 10), mode=mode)
    interp_case(f"{mode} size down (6,6)->(4,5)", X66, size=(4, 5), mode=mode)
    interp_case(f"{mode} scale 1.7", X57, scale_factor=1.7, mode=mode)
    interp_case(f"{mode} scale 0.55", X98, scale_factor=0.55, mode=mode)
    interp_case(f"{mode} scale (2, 0.75)", X57, scale_factor=(2.0, 0.75), mode=mode)
    interp_case(f"{mode} scale 1.7 recompute", X57, scale_factor=1.7, mode=mode, recompute_scale_factor=True)
    interp_case(f"{mode} scale 1.1 keeps the size", X57, scale_factor=1.1, mode=mode)
for mode in ["bilinear", "bicubic"]:
    for ac in [False, True]:
        interp_case(f"{mode} ac={ac} size up (5,7)->(9,11)", X57, size=(9, 11), mode=mode, align_corners=ac)
        interp_case(f"{mode} ac={ac} size down (9,8)->(4,3)", X98, size=(4, 3), mode=mode, align_corners=ac)
        interp_case(f"{mode} ac={ac} scale 1.7", X57, scale_factor=1.7, mode=mode, align_corners=ac)
        interp_case(f"{mode} ac={ac} scale 0.55", X98, scale_factor=0.55, mode=mode, align_corners=ac)
        interp_case(f"{mode} ac={ac} to 1x1", X57, size=(1, 1), mode=mode, align_corners=ac)
    interp_case(f"{mode} scale 1.7 recompute", X57, scale_factor=1.7, mode=mode, recompute_scale_factor=True)
    interp_case(f"{mode} scale (1.3, 2.5) mixed", X66, scale_factor=(1.3, 2.5), mode=mode)
    interp_case(f"{mode} scale 1.1 keeps the size", X57, scale_factor=1.1, mode=mode)
    for ac in [False, True]:
        interp_case(f"{mode} antialias ac={ac} size down (9,8)->(4,3)", X98, size=(4, 3), mode=mode, align_corners=ac, antialias=True)
    interp_case(f"{mode} antialias size down strong (9,8)->(2,2)", X98, size=(2, 2), mode=mode, antialias=True)
    interp_case(f"{mode} antialias scale 0.55", X98, scale_factor=0.55, mode=mode, antialias=True)
    interp_case(f"{mode} antialias scale 0.3 recompute", X98, scale_factor=0.3, mode=mode, antialias=True, recompute_scale_factor=True)
    interp_case(f"{mode} antialias up (5,7)->(9,11)", X57, size=(9, 11), mode=mode, antialias=True)
    interp_case(f"{mode} antialias scale 1.7", X57, scale_factor=1.7, mode=mode, antialias=True)
    interp_case(f"{mode} antialias mixed (6,6)->(3,10)", X66, size=(3, 10), mode=mode, antialias=True)
interp_case("area (9,8)->(4,3)", X98, size=(4, 3), mode="area")
interp_case("area scale 0.55", X98, scale_factor=0.55, mode="area")

# DINOv2's interpolate_pos_encoding: pos_embed [1, M*M, C] -> [1, C, M, M] (a channels-last view),
# scale_factor = (w0 + offset) / M, bicubic, with and without antialias.
M, C = 4, 3
pos = randn(1, M, M, C, seed=99).permute(0, 3, 1, 2)
for aa in [False, True]:
    for w0, h0 in [(4, 4), (6, 6), (3, 3), (6, 3)]:
        for offset in [0.1, 0.0]:
            sx, sy = float(w0 + offset) / M, float(h0 + offset) / M
            interp_case(f"dinov2 bicubic aa={aa} M=4 -> ({w0},{h0}) offset {offset}", pos, scale_factor=(sx, sy), mode="bicubic", antialias=aa)
    interp_case(f"dinov2 bicubic aa={aa} M=4 size (6,3)", pos, size=(6, 3), mode="bicubic", antialias=aa)

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump({"generator": "test/reference/ops_spatial.py", "torch": torch.__version__, "cases": CASES}, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {len(CASES)} cases to {os.path.relpath(OUT)} ({os.path.getsize(OUT) // 1024} KiB)")
