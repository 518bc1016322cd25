#!/usr/bin/env python3
"""Reference outputs and gradients for the core ops (core/ops/{elementwise,reduce,views,matmul}.ts).

Regenerate with the system Python (Debian's PyTorch 1.13 + numpy):

    /usr/bin/python3 test/reference/ops_core.py

It writes test/fixtures/ops/core.json, which test/core/reference.test.ts replays through the public API.

Format (one entry per case in "cases"):

  name      unique, "<op>/<what it exercises>"
  op        the op (see OPS below; the TS test has the same table)
  params    the op's non-tensor arguments, named as in the TS API (dim, keepDim, scalar, ...)
  inputs    list of tensor arguments. Each is either a leaf
                {"shape": [...], "data": [...], "dtype": "float"|"int32", "grad": bool, "view": [steps]}
            or a second use of an earlier leaf (residual graphs)
                {"ref": i, "view": [steps]}.
            "view" builds a (usually non-contiguous) view of the leaf before it reaches the op; each step is
            [name, *args] with the TS API's argument order: ["transpose", d0, d1], ["permute", dims],
            ["slice", dim, start, end|null, step], ["flip", dims], ["expand", shape], ["select", dim, i],
            ["narrow", dim, start, length], ["unsqueeze", dim], ["reshape", shape].
            A case with any "float" input is replayed twice, in float32 and in float64 (the inputs are exact
            in float32, so both runs see the same numbers); a case with only "int32" inputs runs once, and
            its "float" outputs are then float32 (integer division, promotion by a float scalar, cast).
  outputs   list of {"shape", "data", "kind"}; kind "float" = the dtype the case runs in, "int32" = integer
            (indices, integer arithmetic), "mask" = 0/1 in the float dtype of the run (comparisons: torch
            gives bool, our API gives float masks).
  gradOutput  {"shape", "data"}: upstream gradient of outputs[0], or null when the op is not differentiable.
  grads     one entry per leaf input: {"shape", "data"} = d(sum(outputs[0] * gradOutput))/d(leaf), or null
            when the leaf does not require grad.

Numbers: finite values as JSON numbers, non-finite ones as the strings "nan", "inf", "-inf". All references
are computed in float64 from the (float32-exact) inputs. Inputs and upstream gradients are drawn from
multiples of 1/64 (exact in float32, short in JSON); random inputs are pairwise distinct so that no
unintended ties appear; the cases about ties and special values spell their data out.
"""
import json
import math
import os
import zlib

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "ops", "core.json")
torch.set_default_dtype(torch.float64)

# --------------------------------------------------------------------------- inputs

DOMAINS = {
    "normal": (-3.0, 3.0),
    "positive": (0.25, 4.0),
    "unit": (-0.95, 0.95),
    "wide": (-6.0, 6.0),
    "exponent": (-2.0, 2.0),
}


class Gen:
    """Per-case generator seeded from the case name, so adding a case does not change the others."""

    def __init__(self, name):
        self.rng = np.random.default_rng(zlib.crc32(name.encode()))

    def distinct(self, n, domain="normal"):
        lo, hi = DOMAINS[domain]
        levels = np.arange(math.ceil(lo * 64), math.floor(hi * 64) + 1)
        assert n <= len(levels), (n, domain)
        return [float(v) / 64 for v in self.rng.choice(levels, size=n, replace=False)]

    def upstream(self, n):
        mags = self.rng.integers(4, 129, size=n)  # 1/16 .. 2
        signs = self.rng.choice([-1, 1], size=n)
        return [float(m * s) / 64 for m, s in zip(mags, signs)]


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def leaf(shape, domain="normal", data=None, view=None, grad=True, dtype="float"):
    """An input spec; data is filled in by make_case when not given."""
    return {"shape": list(shape), "domain": domain, "data": data, "view": view or [], "grad": grad, "dtype": dtype}


def ref(i, view=None):
    return {"ref": i, "view": view or []}


# --------------------------------------------------------------------------- views and ops (torch side)

def apply_view(t, steps):
    for s in steps:
        name, args = s[0], s[1:]
        if name == "transpose":
            t = t.transpose(args[0], args[1])
        elif name == "permute":
            t = t.permute(*args[0])
        elif name == "slice":
            dim, start, end, step = args
            idx = [slice(None)] * t.dim()
            idx[dim] = slice(start, end, step)
            t = t[tuple(idx)]
        elif name == "flip":
            t = t.flip(args[0])
        elif name == "expand":
            t = t.expand(*args[0])
        elif name == "select":
            t = t.select(args[0], args[1])
        elif name == "narrow":
            t = t.narrow(args[0], args[1], args[2])
        elif name == "unsqueeze":
            t = t.unsqueeze(args[0])
        elif name == "reshape":
            t = t.reshape(args[0])
        else:
            raise ValueError(name)
    return t


def dims_arg(d):
    return tuple(d) if isinstance(d, list) else d


def binary_op(fn):
    def run(ts, p):
        if "scalar" in p:
            return fn(p["scalar"], ts[0]) if p.get("scalarFirst") else fn(ts[0], p["scalar"])
        return fn(ts[0], ts[1])
    return run


def reduce_op(fn):
    def run(ts, p):
        d = p.get("dim")
        if d is None:
            return fn(ts[0])
        return fn(ts[0], dims_arg(d), keepdim=p.get("keepDim", False))
    return run


def var_like(fn):
    def run(ts, p):
        d = p.get("dim")
        return fn(ts[0], dim=dims_arg(d) if d is not None else None, correction=p.get("correction", 1),
                  keepdim=p.get("keepDim", False))
    return run


def max_min(fn):
    def run(ts, p):
        if "dim" not in p:
            return fn(ts[0])
        r = fn(ts[0], p["dim"], keepdim=p.get("keepDim", False))
        return [r.values, r.indices]
    return run


def arg_op(fn):
    def run(ts, p):
        return fn(ts[0], dim=p.get("dim"), keepdim=p.get("keepDim", False))
    return run


def where_op(ts, p):
    """inputs [condition, input, other], or [condition, input] with params.other a number."""
    cond = ts[0] != 0
    other = ts[2] if "other" not in p else torch.full_like(ts[1], p["other"])
    return torch.where(cond, ts[1], other)


def squeeze_op(ts, p):
    return ts[0].squeeze() if p.get("dim") is None else ts[0].squeeze(p["dim"])


def slice_op(ts, p):
    return apply_view(ts[0], [["slice", p["dim"], p["start"], p["end"], p["step"]]])


OPS = {
    "add": binary_op(lambda a, b: a + b),
    "sub": binary_op(lambda a, b: a - b),
    "mul": binary_op(lambda a, b: a * b),
    "div": binary_op(lambda a, b: a / b),
    "pow": binary_op(torch.pow),
    "maximum": binary_op(torch.maximum),
    "minimum": binary_op(torch.minimum),
    "eq": binary_op(lambda a, b: a == b),
    "ne": binary_op(lambda a, b: a != b),
    "lt": binary_op(lambda a, b: a < b),
    "le": binary_op(lambda a, b: a <= b),
    "gt": binary_op(lambda a, b: a > b),
    "ge": binary_op(lambda a, b: a >= b),
    "cast": lambda ts, p: ts[0].to({"int32": torch.int32, "float32": torch.float32}[p["dtype"]]),
    "neg": lambda ts, p: -ts[0],
    "exp": lambda ts, p: ts[0].exp(),
    "log": lambda ts, p: ts[0].log(),
    "sqrt": lambda ts, p: ts[0].sqrt(),
    "rsqrt": lambda ts, p: ts[0].rsqrt(),
    "abs": lambda ts, p: ts[0].abs(),
    "relu": lambda ts, p: torch.relu(ts[0]),
    "gelu": lambda ts, p: torch.nn.functional.gelu(ts[0], approximate=p.get("approximate", "none")),
    "sigmoid": lambda ts, p: torch.sigmoid(ts[0]),
    "tanh": lambda ts, p: torch.tanh(ts[0]),
    "erf": lambda ts, p: torch.erf(ts[0]),
    "sign": lambda ts, p: torch.sign(ts[0]),
    "square": lambda ts, p: torch.square(ts[0]),
    "reciprocal": lambda ts, p: torch.reciprocal(ts[0]),
    "sin": lambda ts, p: torch.sin(ts[0]),
    "cos": lambda ts, p: torch.cos(ts[0]),
    "floor": lambda ts, p: torch.floor(ts[0]),
    "ceil": lambda ts, p: torch.ceil(ts[0]),
    "round": lambda ts, p: torch.round(ts[0]),
    "isnan": lambda ts, p: torch.isnan(ts[0]),
    "silu": lambda ts, p: torch.nn.functional.silu(ts[0]),
    "logicalAnd": lambda ts, p: torch.logical_and(ts[0], ts[1]),
    "flatten": lambda ts, p: torch.flatten(ts[0], p.get("startDim", 0), p.get("endDim", -1)),
    "where": where_op,
    "clamp": lambda ts, p: torch.clamp(ts[0], p.get("min"), p.get("max")),
    "sum": reduce_op(torch.sum),
    "mean": reduce_op(torch.mean),
    "amax": lambda ts, p: torch.amax(ts[0], dims_arg(p["dim"]) if p.get("dim") is not None else (),
                                     keepdim=p.get("keepDim", False)),
    "amin": lambda ts, p: torch.amin(ts[0], dims_arg(p["dim"]) if p.get("dim") is not None else (),
                                     keepdim=p.get("keepDim", False)),
    "max": max_min(torch.max),
    "min": max_min(torch.min),
    "argmax": arg_op(torch.argmax),
    "argmin": arg_op(torch.argmin),
    "var": var_like(torch.var),
    "std": var_like(torch.std),
    "logsumexp": lambda ts, p: torch.logsumexp(ts[0], dims_arg(p["dim"]), keepdim=p.get("keepDim", False)),
    "prod": lambda ts, p: torch.prod(ts[0]) if p.get("dim") is None
    else torch.prod(ts[0], p["dim"], keepdim=p.get("keepDim", False)),
    "matmul": lambda ts, p: torch.matmul(ts[0], ts[1]),
    "bmm": lambda ts, p: torch.bmm(ts[0], ts[1]),
    "linear": lambda ts, p: torch.nn.functional.linear(ts[0], ts[1], ts[2] if len(ts) > 2 else None),
    "contiguous": lambda ts, p: ts[0].contiguous(),
    "reshape": lambda ts, p: ts[0].reshape(p["shape"]),
    "permute": lambda ts, p: ts[0].permute(*p["dims"]),
    "transpose": lambda ts, p: ts[0].transpose(p["dim0"], p["dim1"]),
    "expand": lambda ts, p: ts[0].expand(*p["shape"]),
    "slice": slice_op,
    "flip": lambda ts, p: ts[0].flip(p["dims"]),
    "squeeze": squeeze_op,
    "unsqueeze": lambda ts, p: ts[0].unsqueeze(p["dim"]),
    "select": lambda ts, p: ts[0].select(p["dim"], p["index"]),
    "narrow": lambda ts, p: ts[0].narrow(p["dim"], p["start"], p["length"]),
}

NOT_DIFFERENTIABLE = {"eq", "ne", "lt", "le", "gt", "ge", "argmax", "argmin"}

# --------------------------------------------------------------------------- encoding


def enc(v):
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == int(v) and abs(v) < 2**53:
        return -0.0 if v == 0 and math.copysign(1, v) < 0 else int(v)
    return float(repr(v)) if len(repr(v)) <= 12 else float("%.15g" % v)


def enc_tensor(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": [enc(v) for v in t.reshape(-1).tolist()]}


def kind_of(t):
    if t.dtype == torch.bool:
        return "mask"
    if t.dtype in (torch.int64, torch.int32):
        return "int32"
    return "float"


# --------------------------------------------------------------------------- building a case

CASES = []


def case(name, op, inputs, **params):
    CASES.append((name, op, inputs, params))


def make_case(name, op, inputs, params):
    g = Gen(name)
    leaves, spec = [], []
    for inp in inputs:
        if "ref" in inp:
            spec.append({"ref": inp["ref"], "view": inp["view"]})
            continue
        data = inp["data"]
        if data is None:
            data = g.distinct(numel(inp["shape"]), inp["domain"])
            if inp["dtype"] == "int32":
                data = [float(round(v * 4)) for v in data]
        assert len(data) == numel(inp["shape"]), name
        dt = torch.int64 if inp["dtype"] == "int32" else torch.float64
        t = torch.tensor([float(v) for v in data], dtype=dt).reshape(inp["shape"])
        # float inputs must be exact in float32 so float32 and float64 replays see the same numbers
        if inp["dtype"] == "float":
            assert torch.equal(t.float().double(), t) or torch.isnan(t).any(), name
        if inp["grad"]:
            t.requires_grad_(True)
        leaves.append(t)
        spec.append({"shape": inp["shape"], "data": [enc(v) for v in data], "dtype": inp["dtype"],
                     "grad": inp["grad"], "view": inp["view"]})
    # tensors reaching the op: each leaf (or an earlier leaf again, for "ref") through its view steps
    args, k = [], 0
    for s in spec:
        if "ref" in s:
            base = leaves[s["ref"]]
        else:
            base, k = leaves[k], k + 1
        args.append(apply_view(base, s["view"]))
    out = OPS[op](args, params)
    outs = out if isinstance(out, list) else [out]
    for o in outs:
        assert isinstance(o, torch.Tensor), name
    entry = {"name": name, "op": op, "params": params, "inputs": spec,
             "outputs": [dict(enc_tensor(o.double() if o.dtype == torch.bool else o), kind=kind_of(o)) for o in outs]}
    grad_leaves = [t for t in leaves if t.requires_grad]
    differentiable = op not in NOT_DIFFERENTIABLE and outs[0].requires_grad
    if differentiable:
        go = torch.tensor(g.upstream(outs[0].numel()), dtype=torch.float64).reshape(outs[0].shape)
        grads = torch.autograd.grad(outs[0], grad_leaves, go, allow_unused=True)
        it = iter(grads)
        entry["gradOutput"] = enc_tensor(go)
        entry["grads"] = [None if not t.requires_grad else enc_tensor(next(it)) for t in leaves]
    else:
        entry["gradOutput"] = None
        entry["grads"] = [None for _ in leaves]
    return entry


# --------------------------------------------------------------------------- the cases

NAN, INF = float("nan"), float("inf")
T01 = [["transpose", 0, 1]]

# ---- binary arithmetic: same shape, broadcasting, non-contiguous, scalars, residual use
for op in ["add", "sub", "mul", "div"]:
    dom = "positive" if op == "div" else "normal"
    case(f"{op}/same", op, [leaf([2, 3]), leaf([2, 3], dom)])
    case(f"{op}/broadcast", op, [leaf([2, 1, 3]), leaf([4, 1], dom)])
    case(f"{op}/broadcast_rank0", op, [leaf([3, 2]), leaf([], dom)])
    case(f"{op}/transposed", op, [leaf([3, 2], view=T01), leaf([2, 3], dom)])
    case(f"{op}/strided_slice_bcast", op, [leaf([4, 5], view=[["slice", 1, 0, None, 2]]), leaf([4, 1], dom, view=[["flip", [0]]])])
    case(f"{op}/scalar", op, [leaf([2, 3])], scalar=1.5)
    case(f"{op}/scalar_first", op, [leaf([2, 3], dom)], scalar=-2.5, scalarFirst=True)
    case(f"{op}/no_grad_other", op, [leaf([5]), leaf([5], dom, grad=False)])
case("add/residual_x_plus_xT", "add", [leaf([3, 3]), ref(0, T01)])
case("mul/residual_x_times_x", "mul", [leaf([2, 3]), ref(0)])
case("sub/residual_expand", "sub", [leaf([3, 1]), ref(0, [["expand", [3, 4]]])])
case("div/special", "div", [leaf([6], data=[1, -1, 0, 0, INF, 2]), leaf([6], data=[0, 0, 0, 2, 2, INF])])
case("add/special", "add", [leaf([4], data=[INF, -INF, NAN, 1]), leaf([4], data=[INF, INF, 1, -INF])])
case("mul/special", "mul", [leaf([4], data=[INF, 0, NAN, -2]), leaf([4], data=[0, 3, 1, INF])])
case("add/int32", "add", [leaf([2, 3], dtype="int32", grad=False), leaf([3], dtype="int32", grad=False)])
case("sub/int32_scalar", "sub", [leaf([4], dtype="int32", grad=False)], scalar=3)
case("mul/int32_float_promote", "mul", [leaf([2, 2], dtype="int32", grad=False), leaf([2, 2])])
case("add/int32_float_scalar_promotes", "add", [leaf([3], dtype="int32", grad=False, data=[1, -2, 3])], scalar=1.5)
case("mul/int32_int_scalar_stays_int", "mul", [leaf([3], dtype="int32", grad=False, data=[1, -2, 3])], scalar=3)
case("cast/float_to_int32_truncates", "cast", [leaf([6], data=[-2.5, -1.5, -0.5, 0.5, 1.75, 3])], dtype="int32")
case("cast/int32_to_float32", "cast", [leaf([3], dtype="int32", grad=False, data=[-3, 0, 7])], dtype="float32")
case("div/int32_true_division", "div", [leaf([4], dtype="int32", grad=False, data=[7, -7, 6, 1]), leaf([4], dtype="int32", grad=False, data=[2, 2, 3, 4])])

# ---- pow
case("pow/tensor_tensor", "pow", [leaf([2, 3], "positive"), leaf([2, 3], "exponent")])
case("pow/tensor_tensor_bcast", "pow", [leaf([3, 1], "positive"), leaf([4], "exponent")])
case("pow/special_bases", "pow", [leaf([9], data=[0, 0, 0, -2, -2, -1.5, 2, 0.5, 3]),
                                  leaf([9], data=[0, 2, -1, 3, 2, 0.5, 0, -2, 1])])
for s in [2, 3, 0.5, 0, -1, -2.5, 1]:
    dom = "normal" if float(s).is_integer() and s >= 0 else "positive"
    case(f"pow/scalar_exp_{s}", "pow", [leaf([2, 3], dom)], scalar=s)
case("pow/scalar_exp_2_negative_and_zero", "pow", [leaf([5], data=[-3, -0.5, 0, 0.5, 3])], scalar=2)
case("pow/scalar_exp_3_negative_bases", "pow", [leaf([4], data=[-2, -0.25, 0, 1.5])], scalar=3)
case("pow/scalar_exp_-1_zero_base", "pow", [leaf([3], data=[0, -2, 4])], scalar=-1)
case("pow/scalar_exp_0.5_zero_base", "pow", [leaf([3], data=[0, 1, 4])], scalar=0.5)
case("pow/scalar_exp_0_special", "pow", [leaf([4], data=[0, -2, INF, NAN])], scalar=0)
case("pow/scalar_base_2", "pow", [leaf([2, 3], "exponent")], scalar=2, scalarFirst=True)
case("pow/scalar_base_0.5", "pow", [leaf([4], "exponent")], scalar=0.5, scalarFirst=True)
case("pow/scalar_base_0", "pow", [leaf([4], data=[2, 0, 0.5, 3])], scalar=0, scalarFirst=True)
case("pow/scalar_base_0_negative_exp", "pow", [leaf([3], data=[-1, -2, 1])], scalar=0, scalarFirst=True)
case("pow/transposed", "pow", [leaf([3, 2], "positive", view=T01), leaf([2, 3], "exponent")])

# ---- maximum / minimum (with ties: the gradient is split)
for op in ["maximum", "minimum"]:
    case(f"{op}/same", op, [leaf([2, 4]), leaf([2, 4])])
    case(f"{op}/ties", op, [leaf([6], data=[1, 2, 3, -1, 0, 5]), leaf([6], data=[1, 0, 3, -1, 0, 6])])
    case(f"{op}/broadcast_ties", op, [leaf([2, 3], data=[0.5, 1, 2, 0.5, -1, 0.5]), leaf([3], data=[0.5, 1, 0])])
    case(f"{op}/nan_inf", op, [leaf([4], data=[NAN, 1, INF, -INF]), leaf([4], data=[1, NAN, 2, -INF])])
    case(f"{op}/transposed", op, [leaf([3, 2], view=T01), leaf([2, 3])])

# ---- comparisons (not differentiable; ties and NaN)
for op in ["eq", "ne", "lt", "le", "gt", "ge"]:
    case(f"{op}/ties_nan", op, [leaf([7], data=[1, 2, 3, NAN, INF, -INF, 0]), leaf([7], data=[1, 3, 2, NAN, INF, 0, -0.0])])
    case(f"{op}/broadcast", op, [leaf([2, 3], data=[1, 2, 3, 4, 5, 6]), leaf([3, 1, 1], data=[2, 3, 4], view=[["flip", [0]]])])
    case(f"{op}/scalar", op, [leaf([5], data=[-1, 0, 0.5, 1, NAN])], scalar=0.5)
case("lt/int32", "lt", [leaf([4], dtype="int32", grad=False, data=[1, 2, 3, 4]), leaf([4], dtype="int32", grad=False, data=[2, 2, 2, 2])])

# ---- unary
UNARY = {"neg": "normal", "exp": "normal", "log": "positive", "sqrt": "positive", "rsqrt": "positive",
         "abs": "normal", "relu": "normal", "sigmoid": "wide", "tanh": "normal", "erf": "normal"}
for op, dom in UNARY.items():
    case(f"{op}/random", op, [leaf([3, 4], dom)])
    case(f"{op}/strided", op, [leaf([4, 3], dom, view=[["transpose", 0, 1], ["slice", 1, 1, None, 2]])])
for approx in ["none", "tanh"]:
    case(f"gelu/{approx}", "gelu", [leaf([3, 5], "wide")], approximate=approx)
    case(f"gelu/{approx}_strided", "gelu", [leaf([4, 3], view=[["flip", [1]], ["transpose", 0, 1]])], approximate=approx)
case("abs/zero_kink", "abs", [leaf([4], data=[0, -0.0, -2, 2])])
case("relu/zero_kink", "relu", [leaf([4], data=[0, -1, 1, -0.0])])
case("log/special", "log", [leaf([5], data=[0, -1, INF, 1, NAN])])
case("sqrt/special", "sqrt", [leaf([4], data=[0, -1, INF, 4])])
case("rsqrt/special", "rsqrt", [leaf([3], data=[0, INF, 0.25])])
case("exp/special", "exp", [leaf([4], data=[-INF, INF, 0, 80])])
case("sigmoid/saturated", "sigmoid", [leaf([4], data=[-800, 800, -INF, INF])])
case("tanh/saturated", "tanh", [leaf([4], data=[-30, 30, -INF, INF])])
case("erf/tails", "erf", [leaf([6], data=[-6, -3.5, -0.0009765625, 0.0009765625, 3.5, 6])])
case("gelu/tails", "gelu", [leaf([6], data=[-10, -4, 0, 0.0009765625, 4, 10])])
case("neg/int32", "neg", [leaf([2, 2], dtype="int32", grad=False)])
case("abs/int32", "abs", [leaf([5], dtype="int32", grad=False)])
case("relu/int32", "relu", [leaf([5], dtype="int32", grad=False)])
case("exp/int32_promotes", "exp", [leaf([3], dtype="int32", grad=False, data=[0, 1, -2])])

# the other unary ops of elementwise.ts (rounding: torch.round rounds half to even)
# sign(NaN) is left out: torch gives 0 ((0 < x) - (x < 0)), our CPU and WGSL kernels give NaN (reported).
case("sign/special", "sign", [leaf([5], data=[-2, -0.0, 0, 3, -INF])])
case("square/random", "square", [leaf([2, 3], view=T01)])
case("reciprocal/special", "reciprocal", [leaf([5], data=[0.5, -4, 0, INF, -0.25])])
case("sin/random", "sin", [leaf([2, 3], "wide")])
case("cos/random", "cos", [leaf([2, 3], "wide", view=[["flip", [1]]])])
ROUNDING = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -1.25, 1.75, 3, -0.0, INF]
for op in ["floor", "ceil", "round"]:
    case(f"{op}/halves", op, [leaf([len(ROUNDING)], data=ROUNDING)])
case("isnan/special", "isnan", [leaf([5], data=[NAN, 0, INF, -INF, 1])])
case("silu/random", "silu", [leaf([3, 4], "wide")])
case("logicalAnd/special", "logicalAnd", [leaf([6], data=[0, 1, -2, 0, NAN, 0.5], grad=False), leaf([3, 1], data=[1, 0, NAN], grad=False)])
case("flatten/all", "flatten", [leaf([2, 3, 4], view=[["transpose", 0, 2]])])
case("flatten/middle", "flatten", [leaf([2, 3, 4, 2])], startDim=1, endDim=2)

# ---- where / clamp
case("where/same", "where", [leaf([2, 3], data=[1, 0, 1, 0, 0, 1], grad=False), leaf([2, 3]), leaf([2, 3])])
case("where/broadcast", "where", [leaf([3, 1], data=[1, 0, 1], grad=False), leaf([1, 4]), leaf([3, 4], view=[["flip", [0]]])])
case("where/transposed_cond", "where", [leaf([3, 2], data=[1, 0, 0, 1, 1, 1], grad=False, view=T01), leaf([2, 3]), leaf([])])
case("where/scalar_other", "where", [leaf([4], data=[0, 1, 1, 0], grad=False), leaf([4])], other=0.0)
case("where/nan_unselected", "where", [leaf([3], data=[1, 0, 1], grad=False), leaf([3], data=[1, NAN, 2]), leaf([3], data=[NAN, 5, INF])])
case("clamp/both", "clamp", [leaf([3, 4])], min=-1.0, max=1.0)
case("clamp/ties_at_bounds", "clamp", [leaf([6], data=[-1, 1, -0.5, 0.5, -2, 2])], min=-1.0, max=1.0)
case("clamp/min_only", "clamp", [leaf([2, 3], view=T01)], min=0.25)
case("clamp/max_only", "clamp", [leaf([5], data=[-1, 0, 0.5, 1, 2])], max=0.5)
case("clamp/special", "clamp", [leaf([4], data=[NAN, INF, -INF, 0])], min=-1.0, max=1.0)
case("clamp/min_above_max", "clamp", [leaf([5], data=[-2, 0, 3, 5, 8])], min=4.0, max=2.0)

# ---- reductions
X234 = lambda **kw: leaf([2, 3, 4], **kw)
for op in ["sum", "mean"]:
    case(f"{op}/all", op, [X234()])
    case(f"{op}/dim1", op, [X234()], dim=1)
    case(f"{op}/dim_neg_keep", op, [X234()], dim=-1, keepDim=True)
    case(f"{op}/dims_list", op, [X234()], dim=[0, 2])
    case(f"{op}/dims_list_keep_permuted", op, [X234(view=[["permute", [2, 0, 1]]])], dim=[0, 2], keepDim=True)
    case(f"{op}/strided", op, [leaf([5, 6], view=[["slice", 0, 1, None, 2], ["flip", [1]]])], dim=0)
    case(f"{op}/expanded", op, [leaf([3, 1], view=[["expand", [3, 5]]])], dim=1)
    case(f"{op}/rank0", op, [leaf([])])
case("sum/int32", "sum", [leaf([2, 3], dtype="int32", grad=False)], dim=1)
case("sum/special", "sum", [leaf([2, 3], data=[INF, 1, 2, INF, -INF, 3])], dim=1)
for op in ["amax", "amin"]:
    case(f"{op}/all", op, [X234()])
    case(f"{op}/dim", op, [X234()], dim=1)
    case(f"{op}/dims_keep", op, [X234(view=[["transpose", 0, 2]])], dim=[0, 1], keepDim=True)
    case(f"{op}/ties", op, [leaf([2, 4], data=[3, 1, 3, 3, -1, -1, 0, -1])], dim=1)
    case(f"{op}/ties_all", op, [leaf([2, 3], data=[2, 1, 2, -2, 2, -2])])
    case(f"{op}/nan", op, [leaf([2, 3], data=[1, NAN, 3, -1, 0, 2])], dim=1)
for op in ["max", "min"]:
    case(f"{op}/all", op, [X234()])
    case(f"{op}/all_ties", op, [leaf([2, 3], data=[2, -2, 2, -2, 2, 0])])
    case(f"{op}/all_strided", op, [leaf([4, 5], view=[["slice", 1, 0, None, 2], ["transpose", 0, 1]])])
    case(f"{op}/dim", op, [X234()], dim=1)
    case(f"{op}/dim_keep_neg", op, [X234()], dim=-1, keepDim=True)
    case(f"{op}/dim_transposed", op, [leaf([3, 4], view=T01)], dim=1)
    case(f"{op}/dim_ties", op, [leaf([3, 4], data=[1, 5, 5, 0, -2, -2, -2, -2, 7, 1, 7, 7])], dim=1)
    case(f"{op}/dim_nan", op, [leaf([2, 3], data=[1, NAN, 3, -INF, INF, 0])], dim=1)
    case(f"{op}/all_nan", op, [leaf([4], data=[1, NAN, 3, 2])])
    case(f"{op}/dim_rank1", op, [leaf([5])], dim=0)
for op in ["argmax", "argmin"]:
    case(f"{op}/all", op, [X234()])
    case(f"{op}/dim", op, [X234()], dim=2)
    case(f"{op}/dim_keep", op, [X234()], dim=0, keepDim=True)
    case(f"{op}/ties_first", op, [leaf([2, 4], data=[1, 3, 3, 0, 2, 2, -1, 2])], dim=1)
    case(f"{op}/nan", op, [leaf([2, 3], data=[1, NAN, 3, 0, 2, NAN])], dim=1)
    case(f"{op}/strided", op, [leaf([4, 3], view=[["flip", [0]], ["transpose", 0, 1]])], dim=1)
    case(f"{op}/int32", op, [leaf([3, 3], dtype="int32", grad=False)], dim=0)
for op in ["var", "std"]:
    case(f"{op}/all", op, [X234()])
    case(f"{op}/all_correction0", op, [X234()], correction=0)
    case(f"{op}/dim", op, [X234()], dim=1)
    case(f"{op}/dim_keep_correction0", op, [X234()], dim=[0, 2], keepDim=True, correction=0)
    case(f"{op}/transposed", op, [leaf([4, 3], view=T01)], dim=-1)
case("std/constant_row", "std", [leaf([2, 3], data=[1.5, 1.5, 1.5, 0, 1, 2])], dim=1)
case("var/constant_row", "var", [leaf([2, 3], data=[1.5, 1.5, 1.5, 0, 1, 2])], dim=1)
case("logsumexp/dim", "logsumexp", [X234()], dim=1)
case("logsumexp/dims_keep", "logsumexp", [X234()], dim=[0, 2], keepDim=True)
case("logsumexp/large", "logsumexp", [leaf([2, 3], data=[500, 499, 498, -500, -501, -499.5])], dim=1)
case("logsumexp/neg_inf", "logsumexp", [leaf([2, 3], data=[-INF, 0, 1, -INF, 2, -INF])], dim=1)
case("logsumexp/all_neg_inf_row", "logsumexp", [leaf([2, 3], data=[-INF, -INF, -INF, 0.5, 1, -1])], dim=1)
case("logsumexp/pos_inf", "logsumexp", [leaf([2, 2], data=[INF, 1, 0, 2])], dim=1)
case("logsumexp/transposed", "logsumexp", [leaf([4, 3], view=T01)], dim=0)
case("prod/all", "prod", [leaf([2, 3], "positive")])
case("prod/dim", "prod", [X234()], dim=1)
case("prod/dim_keep", "prod", [X234()], dim=2, keepDim=True)
case("prod/one_zero", "prod", [leaf([2, 3], data=[2, 0, 3, 1, -2, 0.5])], dim=1)
case("prod/two_zeros", "prod", [leaf([2, 3], data=[0, 4, 0, 1.5, 0, 2])], dim=1)
case("prod/all_one_zero", "prod", [leaf([4], data=[3, -1, 0, 2])])
case("prod/strided", "prod", [leaf([3, 4], view=[["transpose", 0, 1], ["slice", 0, 0, None, 2]])], dim=0)

# ---- matmul / bmm / linear
case("matmul/dot_1d", "matmul", [leaf([5]), leaf([5])])
case("matmul/vec_mat", "matmul", [leaf([3]), leaf([3, 4])])
case("matmul/vec_mat_n1", "matmul", [leaf([3]), leaf([3, 1])])
case("matmul/mat_vec_m1", "matmul", [leaf([1, 3]), leaf([3])])
case("matmul/vec_times_batch1", "matmul", [leaf([4]), leaf([1, 4, 2])])
case("matmul/mat_vec", "matmul", [leaf([4, 3]), leaf([3])])
case("matmul/2d", "matmul", [leaf([3, 5]), leaf([5, 2])])
case("matmul/2d_odd_4rows", "matmul", [leaf([7, 3]), leaf([3, 5])])
case("matmul/2d_transposed_both", "matmul", [leaf([5, 3], view=T01), leaf([2, 5], view=T01)])
case("matmul/batched", "matmul", [leaf([2, 3, 4]), leaf([2, 4, 2])])
case("matmul/batched_broadcast", "matmul", [leaf([2, 1, 3, 4]), leaf([3, 4, 2])])
case("matmul/batched_times_2d", "matmul", [leaf([2, 3, 4]), leaf([4, 5])])
case("matmul/2d_times_batched", "matmul", [leaf([3, 4]), leaf([2, 4, 5])])
case("matmul/vec_times_batched", "matmul", [leaf([4]), leaf([2, 4, 3])])
case("matmul/batched_times_vec", "matmul", [leaf([2, 3, 4]), leaf([4])])
case("matmul/strided_batch", "matmul", [leaf([4, 2, 3], view=[["slice", 0, 0, None, 2], ["transpose", 1, 2]]), leaf([2, 2, 3])])
case("matmul/residual_xxT", "matmul", [leaf([3, 4]), ref(0, T01)])
case("bmm/basic", "bmm", [leaf([3, 2, 4]), leaf([3, 4, 5])])
case("bmm/transposed", "bmm", [leaf([2, 4, 3], view=[["transpose", 1, 2]]), leaf([2, 4, 5], view=[["flip", [0]]])])
case("bmm/expanded_batch", "bmm", [leaf([3, 2, 4]), leaf([4, 5], view=[["unsqueeze", 0], ["expand", [3, 4, 5]]])])
case("linear/bias", "linear", [leaf([4, 3]), leaf([5, 3]), leaf([5])])
case("linear/no_bias", "linear", [leaf([4, 3]), leaf([2, 3])])
case("linear/3d_input", "linear", [leaf([2, 3, 4]), leaf([5, 4]), leaf([5])])
case("linear/1d_input", "linear", [leaf([3]), leaf([2, 3]), leaf([2])])
case("linear/transposed_input", "linear", [leaf([3, 4], view=T01), leaf([2, 3]), leaf([2], grad=False)])

# ---- views (values through the view, gradient back to the base)
case("contiguous/contiguous_input", "contiguous", [leaf([2, 3])])
case("contiguous/transposed", "contiguous", [leaf([3, 4], view=T01)])
case("reshape/contiguous", "reshape", [leaf([2, 6])], shape=[3, 4])
case("reshape/infer", "reshape", [leaf([2, 3, 2])], shape=[-1, 3])
case("reshape/transposed_copy", "reshape", [leaf([3, 4], view=T01)], shape=[12])
case("reshape/transposed_view", "reshape", [leaf([2, 3, 4], view=[["transpose", 0, 1]])], shape=[3, 2, 2, 2])
case("reshape/sliced", "reshape", [leaf([4, 6], view=[["slice", 1, 1, 5, 1]])], shape=[2, 2, 4])
case("reshape/to_rank0", "reshape", [leaf([1, 1])], shape=[])
case("permute/3d", "permute", [X234()], dims=[2, 0, 1])
case("permute/negative_dims", "permute", [X234()], dims=[-1, -3, -2])
case("transpose/2d", "transpose", [leaf([3, 5])], dim0=0, dim1=1)
case("transpose/3d_neg", "transpose", [X234()], dim0=-1, dim1=0)
case("expand/new_dims", "expand", [leaf([3, 1])], shape=[2, 3, 4])
case("expand/keep_minus1", "expand", [leaf([1, 4])], shape=[3, -1])
case("expand/of_transposed", "expand", [leaf([1, 3], view=T01)], shape=[3, 2])
case("slice/step2", "slice", [leaf([7, 3])], dim=0, start=1, end=None, step=2)
case("slice/step3_neg_start", "slice", [leaf([3, 10])], dim=1, start=-8, end=-1, step=3)
case("slice/end_clamped", "slice", [leaf([5])], dim=0, start=2, end=100, step=1)
case("slice/of_flipped", "slice", [leaf([6, 2], view=[["flip", [0]]])], dim=0, start=0, end=5, step=2)
case("flip/one_dim", "flip", [X234()], dims=[1])
case("flip/two_dims_neg", "flip", [X234()], dims=[0, -1])
case("flip/of_sliced", "flip", [leaf([4, 6], view=[["slice", 1, 0, None, 2]])], dims=[1])
case("squeeze/all", "squeeze", [leaf([1, 3, 1, 2])])
case("squeeze/dim", "squeeze", [leaf([1, 3, 1, 2])], dim=2)
case("squeeze/dim_not_one", "squeeze", [leaf([1, 3, 1, 2])], dim=1)
case("unsqueeze/front", "unsqueeze", [leaf([2, 3])], dim=0)
case("unsqueeze/back_neg", "unsqueeze", [leaf([2, 3], view=T01)], dim=-1)
case("unsqueeze/middle", "unsqueeze", [leaf([2, 3])], dim=1)
case("select/first_dim", "select", [X234()], dim=0, index=1)
case("select/neg_index", "select", [X234()], dim=2, index=-1)
case("select/of_transposed", "select", [leaf([3, 4], view=T01)], dim=1, index=2)
case("narrow/basic", "narrow", [X234()], dim=2, start=1, length=2)
case("narrow/neg_start", "narrow", [leaf([6, 2])], dim=0, start=-4, length=3)


def main():
    cases = [make_case(n, op, inputs, params) for n, op, inputs, params in CASES]
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    doc = {"generator": "test/reference/ops_core.py", "torch": torch.__version__, "cases": cases}
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print(f"wrote {len(cases)} cases, {os.path.getsize(OUT)} bytes to {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
