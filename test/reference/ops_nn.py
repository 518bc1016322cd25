#!/usr/bin/env python3
"""Writes test/fixtures/ops/nn.json: PyTorch reference values for the nn front-end ops
(softmax, logSoftmax, crossEntropy, nllLoss, layerNorm, batchNorm, gather, indexSelect, embedding,
scatterAdd, concat, stack, pad, scaledDotProductAttention).

Run with the system Python (needs torch):  /usr/bin/python3 test/reference/ops_nn.py

Every case lists its inputs, options, outputs and the gradients w.r.t. every differentiable input for
the scalar sum(y * gy), gy a seeded random upstream gradient of y's shape. Values are float32 written as
exact JSON numbers (a float32 widened to a double prints in full); +-inf and NaN are written as the
strings "inf", "-inf" and "nan" (test/helpers/fixtures.ts decodes them).

A tensor entry is {"shape", "dtype", "data"} and optionally "perm": then data/shape describe a base tensor
and the op's input is base.permute(perm) -- a non-contiguous view; its gradient is given w.r.t. the base.

scaled_dot_product_attention does not exist in torch 1.13; its reference is torch's documented math path
(softmax(q @ k^T * scale + bias) @ v, bias from the mask / causal tril), evaluated with torch ops.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "ops", "nn.json")

gen = torch.Generator().manual_seed(1234)


def randn(*shape, scale=1.0):
    return (torch.randn(shape, generator=gen) * scale).float()


def randint(lo, hi, *shape):
    return torch.randint(lo, hi, tuple(shape), generator=gen).int()


def num(v):
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def enc(t, perm=None):
    t = t.detach()
    if t.dtype in (torch.int32, torch.int64):
        return {"shape": list(t.shape), "dtype": "int32", "data": [int(v) for v in t.reshape(-1).tolist()]}
    out = {"shape": list(t.shape), "dtype": "float32", "data": [num(v) for v in t.float().reshape(-1).tolist()]}
    if perm is not None:
        out["perm"] = perm
    return out


cases = []


NOT_DIFFERENTIABLE = ("target", "runningMean", "runningVar", "attnMask")


def case(name, op, fn, inputs, options=None, grad=True, perms=None, extra_outputs=None):
    """inputs: dict name -> tensor (float ones get gradients, except NOT_DIFFERENTIABLE ones and a loss's
    class weight, which torch does not differentiate). fn(**views) -> output tensor."""
    frozen = NOT_DIFFERENTIABLE + (("weight",) if op in ("crossEntropy", "nllLoss") else ())
    perms = perms or {}
    leaves = {}
    views = {}
    for k, v in inputs.items():
        if v is None:
            views[k] = None
            continue
        leaf = v.clone()
        if grad and leaf.is_floating_point() and k not in frozen:
            leaf.requires_grad_(True)
        leaves[k] = leaf
        views[k] = leaf.permute(*perms[k]) if k in perms else leaf
    y = fn(**views)
    entry = {
        "name": name,
        "op": op,
        "inputs": {k: enc(v, perms.get(k)) for k, v in leaves.items()},
        "options": options or {},
        "outputs": {"y": enc(y)},
    }
    if extra_outputs:
        for k, v in extra_outputs().items():
            entry["outputs"][k] = enc(v)
    diff = [k for k, v in leaves.items() if v.requires_grad]
    if grad and diff:
        gy = randn(*y.shape)
        entry["gy"] = enc(gy)
        gs = torch.autograd.grad((y * gy).sum(), [leaves[k] for k in diff], allow_unused=True)
        entry["grads"] = {k: enc(g if g is not None else torch.zeros_like(leaves[k])) for k, g in zip(diff, gs)}
    cases.append(entry)


# ------------------------------------------------------------------ softmax / logSoftmax

for op, f in (("softmax", F.softmax), ("logSoftmax", F.log_softmax)):
    case(f"{op}_2d_dim1", op, lambda x, f=f: f(x, dim=1), {"x": randn(3, 5)}, {"dim": 1})
    case(f"{op}_2d_dim0", op, lambda x, f=f: f(x, dim=0), {"x": randn(3, 5)}, {"dim": 0})
    case(f"{op}_3d_last_large", op, lambda x, f=f: f(x, dim=-1), {"x": randn(2, 3, 4, scale=300.0)}, {"dim": -1})
    case(f"{op}_3d_dim1_large", op, lambda x, f=f: f(x, dim=1), {"x": randn(2, 3, 4, scale=80.0) + 1000}, {"dim": 1})
    case(f"{op}_transposed_dim0", op, lambda x, f=f: f(x, dim=0), {"x": randn(4, 3)}, {"dim": 0}, perms={"x": [1, 0]})
    case(f"{op}_transposed_dim1", op, lambda x, f=f: f(x, dim=1), {"x": randn(4, 3)}, {"dim": 1}, perms={"x": [1, 0]})
    case(f"{op}_1d_odd", op, lambda x, f=f: f(x, dim=0), {"x": randn(7)}, {"dim": 0})
    case(f"{op}_permuted_3d_dim1", op, lambda x, f=f: f(x, dim=1), {"x": randn(3, 2, 5)}, {"dim": 1}, perms={"x": [2, 0, 1]})
x_inf = randn(2, 4)
x_inf[0, 1] = -math.inf
x_inf[1, 3] = -math.inf
case("softmax_with_neg_inf", "softmax", lambda x: F.softmax(x, dim=1), {"x": x_inf}, {"dim": 1})

# ------------------------------------------------------------------ crossEntropy / nllLoss


def ce(**o):
    def fn(input, target, weight=None):
        target = target if target.is_floating_point() else target.long()
        return F.cross_entropy(input, target, weight=weight, ignore_index=o.get("ignoreIndex", -100),
                               reduction=o.get("reduction", "mean"), label_smoothing=o.get("labelSmoothing", 0.0))
    return fn


def nll(**o):
    def fn(input, target, weight=None):
        return F.nll_loss(input, target.long(), weight=weight, ignore_index=o.get("ignoreIndex", -100),
                          reduction=o.get("reduction", "mean"))
    return fn


t5 = torch.tensor([1, 0, 3, 3, 2], dtype=torch.int32)
t5_ign = torch.tensor([1, -100, 3, 3, 2], dtype=torch.int32)
w4 = (torch.rand(4, generator=gen) + 0.2).float()
for red in ("mean", "sum", "none"):
    o = {"reduction": red}
    case(f"ce_basic_{red}", "crossEntropy", ce(**o), {"input": randn(5, 4), "target": t5}, o)
    o = {"reduction": red, "ignoreIndex": -100}
    case(f"ce_weight_ignore_{red}", "crossEntropy", ce(**o), {"input": randn(5, 4), "target": t5_ign, "weight": w4}, o)
    o = {"reduction": red, "labelSmoothing": 0.15}
    case(f"ce_smooth_weight_ignore_{red}", "crossEntropy", ce(**o), {"input": randn(5, 4), "target": t5_ign, "weight": w4}, o)
    case(f"ce_smooth_ignore_{red}", "crossEntropy", ce(**o), {"input": randn(5, 4), "target": t5_ign}, o)
    o = {"reduction": red}
    case(f"ce_prob_{red}", "crossEntropy", ce(**o), {"input": randn(4, 3), "target": F.softmax(randn(4, 3), 1)}, o)
    o = {"reduction": red, "labelSmoothing": 0.2}
    case(f"ce_prob_smooth_weight_{red}", "crossEntropy", ce(**o),
         {"input": randn(4, 3), "target": F.softmax(randn(4, 3), 1), "weight": (torch.rand(3, generator=gen) + 0.5).float()}, o)
    o = {"reduction": red, "ignoreIndex": -100}
    case(f"nll_weight_ignore_{red}", "nllLoss", nll(**o),
         {"input": F.log_softmax(randn(5, 4), 1), "target": t5_ign, "weight": w4}, o)
o = {"ignoreIndex": 2}
case("ce_ignore_index_2", "crossEntropy", ce(**o), {"input": randn(5, 4), "target": t5}, o)
o = {"ignoreIndex": 2, "labelSmoothing": 0.1, "reduction": "mean"}
case("ce_ignore_index_2_smooth", "crossEntropy", ce(**o), {"input": randn(5, 4), "target": t5, "weight": w4}, o)
case("ce_transposed_input", "crossEntropy", ce(), {"input": randn(4, 5), "target": t5}, {}, perms={"input": [1, 0]})
case("ce_1d_input", "crossEntropy", ce(), {"input": randn(4), "target": torch.tensor(2, dtype=torch.int32)}, {})
o = {"reduction": "none"}
case("ce_spatial_3d_none", "crossEntropy", ce(**o), {"input": randn(2, 3, 4), "target": randint(0, 3, 2, 4)}, o)
t_sp = randint(0, 3, 2, 2, 2)
t_sp[0, 1, 0] = -100
o = {"labelSmoothing": 0.1}
case("ce_spatial_4d_smooth_weight_ignore", "crossEntropy", ce(**o),
     {"input": randn(2, 3, 2, 2), "target": t_sp, "weight": (torch.rand(3, generator=gen) + 0.5).float()}, o)
case("ce_prob_spatial", "crossEntropy", ce(), {"input": randn(2, 3, 4), "target": F.softmax(randn(2, 3, 4), 1)}, {})
case("ce_all_ignored_mean", "crossEntropy", ce(), {"input": randn(3, 4), "target": torch.full((3,), -100, dtype=torch.int32)}, {})
o = {"reduction": "sum"}
case("nll_spatial_sum", "nllLoss", nll(**o), {"input": randn(2, 3, 4), "target": randint(0, 3, 2, 4)}, o)

# ------------------------------------------------------------------ layerNorm


def ln(shape, eps=1e-5):
    return lambda x, weight=None, bias=None: F.layer_norm(x, shape, weight, bias, eps)


case("layerNorm_last_affine", "layerNorm", ln([5]), {"x": randn(3, 5), "weight": randn(5), "bias": randn(5)}, {"normalizedShape": [5]})
case("layerNorm_last_plain", "layerNorm", ln([5]), {"x": randn(3, 5) * 3 + 2}, {"normalizedShape": [5]})
case("layerNorm_two_dims_affine", "layerNorm", ln([3, 4]), {"x": randn(2, 3, 4), "weight": randn(3, 4), "bias": randn(3, 4)}, {"normalizedShape": [3, 4]})
case("layerNorm_two_dims_plain_eps", "layerNorm", ln([3, 4], 1e-3), {"x": randn(2, 3, 4)}, {"normalizedShape": [3, 4], "eps": 1e-3})
case("layerNorm_transposed_weight_only", "layerNorm", ln([3]), {"x": randn(3, 4), "weight": randn(3)}, {"normalizedShape": [3]}, perms={"x": [1, 0]})
case("layerNorm_odd_row", "layerNorm", ln([7]), {"x": randn(1, 7), "weight": randn(7), "bias": randn(7)}, {"normalizedShape": [7]})

# ------------------------------------------------------------------ batchNorm


def bn_case(name, x, C, affine, training, momentum=0.1, eps=1e-5, perms=None):
    rm0 = randn(C) * 0.5
    rv0 = torch.rand(C, generator=gen).float() + 0.5
    state = {}

    def fn(x, runningMean, runningVar, weight=None, bias=None):
        rm, rv = runningMean.clone(), runningVar.clone()
        y = F.batch_norm(x, rm, rv, weight, bias, training=training, momentum=momentum, eps=eps)
        state["rm"], state["rv"] = rm, rv
        return y

    inputs = {"x": x, "runningMean": rm0, "runningVar": rv0}
    if affine:
        inputs["weight"] = randn(C)
        inputs["bias"] = randn(C)
    opts = {"training": training, "momentum": momentum, "eps": eps}
    case(name, "batchNorm", fn, inputs, opts, perms=perms,
         extra_outputs=lambda: {"runningMean": state["rm"], "runningVar": state["rv"]})


bn_case("batchNorm_eval_2d_affine", randn(4, 3), 3, True, False)
bn_case("batchNorm_eval_3d_plain", randn(2, 3, 5), 3, False, False)
bn_case("batchNorm_eval_4d_affine", randn(2, 3, 2, 2), 3, True, False)
bn_case("batchNorm_train_2d_affine", randn(4, 3) * 2 + 1, 3, True, True)
bn_case("batchNorm_train_3d_plain", randn(2, 3, 4), 3, False, True)
bn_case("batchNorm_train_4d_affine_momentum", randn(2, 3, 2, 3), 3, True, True, momentum=0.3, eps=1e-3)
bn_case("batchNorm_train_4d_channels_last_view", randn(2, 2, 3, 4), 4, True, True, perms={"x": [0, 3, 1, 2]})

# ------------------------------------------------------------------ gather / indexSelect / embedding / scatterAdd

case("gather_dim1_repeats", "gather", lambda x, index: torch.gather(x, 1, index.long()),
     {"x": randn(3, 4), "index": torch.tensor([[0, 0], [3, 1], [2, 2]], dtype=torch.int32)}, {"dim": 1})
case("gather_dim0_wider", "gather", lambda x, index: torch.gather(x, 0, index.long()),
     {"x": randn(3, 4), "index": torch.tensor([[2, 0, 1, 2], [2, 2, 0, 1], [0, 0, 0, 0], [1, 1, 2, 2]], dtype=torch.int32)}, {"dim": 0})
case("gather_transposed_3d", "gather", lambda x, index: torch.gather(x, -1, index.long()),
     {"x": randn(4, 2, 3), "index": randint(0, 4, 2, 3, 5)}, {"dim": -1}, perms={"x": [1, 2, 0]})
case("indexSelect_dim0_repeats", "indexSelect", lambda x, index: torch.index_select(x, 0, index.long()),
     {"x": randn(4, 3), "index": torch.tensor([3, 0, 3, 3, 1], dtype=torch.int32)}, {"dim": 0})
case("indexSelect_dim1_transposed", "indexSelect", lambda x, index: torch.index_select(x, 1, index.long()),
     {"x": randn(5, 3), "index": torch.tensor([4, 4, 0], dtype=torch.int32)}, {"dim": 1}, perms={"x": [1, 0]})
case("indexSelect_3d_last", "indexSelect", lambda x, index: torch.index_select(x, -1, index.long()),
     {"x": randn(2, 3, 4), "index": torch.tensor([1, 1], dtype=torch.int32)}, {"dim": -1})
case("embedding_repeats", "embedding", lambda indices, weight: F.embedding(indices.long(), weight),
     {"indices": torch.tensor([[1, 4, 1], [0, 1, 4]], dtype=torch.int32), "weight": randn(5, 3)}, {})
case("embedding_padding_idx", "embedding", lambda indices, weight: F.embedding(indices.long(), weight, padding_idx=2),
     {"indices": torch.tensor([2, 0, 2, 3, 0], dtype=torch.int32), "weight": randn(4, 2)}, {"paddingIdx": 2})
# torch 1.13's scatter_add backward fails when src is larger than index (returns an index-shaped
# gradient); scatter_add only reads src's index-shaped corner, so narrowing src first is the same function.
case("scatterAdd_dim1_repeats_larger_src", "scatterAdd",
     lambda x, index, src: torch.scatter_add(x, 1, index.long(), src[: index.shape[0], : index.shape[1]]),
     {"x": randn(3, 4), "index": torch.tensor([[0, 0], [3, 1], [2, 2]], dtype=torch.int32), "src": randn(3, 3)}, {"dim": 1})
case("scatterAdd_dim0", "scatterAdd", lambda x, index, src: torch.scatter_add(x, 0, index.long(), src),
     {"x": randn(2, 3), "index": torch.tensor([[1, 0, 1], [1, 1, 0], [0, 0, 0]], dtype=torch.int32), "src": randn(3, 3)}, {"dim": 0})

# ------------------------------------------------------------------ concat / stack / pad

case("concat_dim0", "concat", lambda a, b, c: torch.cat([a, b, c], 0), {"a": randn(2, 3), "b": randn(1, 3), "c": randn(3, 3)}, {"dim": 0})
case("concat_dim1_transposed", "concat", lambda a, b: torch.cat([a, b], 1), {"a": randn(2, 3), "b": randn(4, 2)}, {"dim": 1}, perms={"b": [1, 0]})
case("concat_last_3d", "concat", lambda a, b: torch.cat([a, b], -1), {"a": randn(2, 3, 1), "b": randn(2, 3, 4)}, {"dim": -1})
case("stack_dim0", "stack", lambda a, b, c: torch.stack([a, b, c], 0), {"a": randn(2, 3), "b": randn(2, 3), "c": randn(2, 3)}, {"dim": 0})
case("stack_dim1", "stack", lambda a, b: torch.stack([a, b], 1), {"a": randn(2, 3), "b": randn(3, 2)}, {"dim": 1}, perms={"b": [1, 0]})
case("stack_dim_last", "stack", lambda a, b: torch.stack([a, b], 2), {"a": randn(2, 3), "b": randn(2, 3)}, {"dim": 2})
case("pad_last_dim", "pad", lambda x: F.pad(x, (1, 2)), {"x": randn(2, 3)}, {"pad": [1, 2], "value": 0})
case("pad_two_dims_value", "pad", lambda x: F.pad(x, (1, 1, 2, 0), value=1.5), {"x": randn(2, 3, 4)}, {"pad": [1, 1, 2, 0], "value": 1.5})
case("pad_negative_mixed", "pad", lambda x: F.pad(x, (-1, 2, 0, -1)), {"x": randn(3, 4)}, {"pad": [-1, 2, 0, -1], "value": 0})
case("pad_three_dims_crop", "pad", lambda x: F.pad(x, (-1, -1, -1, 1, 1, 0), value=-2.0), {"x": randn(2, 3, 4)},
     {"pad": [-1, -1, -1, 1, 1, 0], "value": -2.0})
case("pad_transposed", "pad", lambda x: F.pad(x, (2, -1)), {"x": randn(4, 3)}, {"pad": [2, -1], "value": 0}, perms={"x": [1, 0]})

# ------------------------------------------------------------------ attention (torch's math path)


def sdpa(attn_mask=None, is_causal=False, scale=None, bool_mask=False):
    def fn(q, k, v, attnMask=None):
        L, S, E = q.shape[-2], k.shape[-2], q.shape[-1]
        s = 1 / math.sqrt(E) if scale is None else scale
        bias = torch.zeros(L, S, dtype=q.dtype)
        if is_causal:
            bias = bias.masked_fill(~torch.ones(L, S, dtype=torch.bool).tril(0), -math.inf)
        if attnMask is not None:
            bias = bias.masked_fill(attnMask == 0, -math.inf) if bool_mask else bias + attnMask
        w = torch.softmax(q @ k.transpose(-2, -1) * s + bias, dim=-1)
        return w @ v
    return fn


qkv = lambda B, L, S, E, Ev: {"q": randn(*B, L, E), "k": randn(*B, S, E), "v": randn(*B, S, Ev)}
case("attention_plain", "attention", sdpa(), qkv([2], 3, 5, 4, 6), {})
case("attention_scale", "attention", sdpa(scale=0.3), qkv([2], 3, 5, 4, 2), {"scale": 0.3})
case("attention_causal_square", "attention", sdpa(is_causal=True), qkv([2, 2], 4, 4, 3, 3), {"isCausal": True})
case("attention_causal_rect", "attention", sdpa(is_causal=True), qkv([1], 3, 5, 4, 2), {"isCausal": True})
fmask = randn(3, 5)
fmask[0, 2] = -math.inf
fmask[2, 0] = -math.inf
case("attention_float_mask", "attention", sdpa(), {**qkv([2], 3, 5, 4, 3), "attnMask": fmask}, {})
bmask = torch.tensor([[[1, 0, 1, 1, 0]], [[0, 1, 1, 1, 1]]], dtype=torch.int32)
case("attention_bool_mask_broadcast", "attention", sdpa(bool_mask=True), {**qkv([2], 3, 5, 4, 3), "attnMask": bmask}, {"attnMaskKind": "boolean"})
case("attention_batch_broadcast", "attention", sdpa(),
     {"q": randn(2, 2, 3, 4), "k": randn(1, 2, 5, 4), "v": randn(2, 1, 5, 3)}, {})
case("attention_transposed_heads", "attention", sdpa(), {"q": randn(3, 2, 4), "k": randn(5, 2, 4), "v": randn(5, 2, 3)}, {},
     perms={"q": [1, 0, 2], "k": [1, 0, 2], "v": [1, 0, 2]})
full_masked = torch.tensor([[1, 1, 0], [0, 0, 0]], dtype=torch.int32)
case("attention_fully_masked_row_nan", "attention", sdpa(bool_mask=True),
     {**qkv([1], 2, 3, 2, 2), "attnMask": full_masked}, {"attnMaskKind": "boolean"}, grad=False)

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump({"torch": torch.__version__, "generator": "test/reference/ops_nn.py", "cases": cases}, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {len(cases)} cases to {os.path.normpath(OUT)}")
