#!/usr/bin/python3
"""PyTorch peer for bench/models.mjs and bench/cam.mjs: prints one JSON object on stdout.

Run with Debian's interpreter: /usr/bin/python3 bench/torch_models.py --mode models|cam [--models a,b] [--reps N]

Models (batch 1, 3x224x224, random weights, eval mode):
  resnet18, resnet50  torchvision, weights=None.
  vits14              a ViT-S/14 built with torch.nn to match DINOv2's dinov2_vits14 (no DINOv2 package in
                      Debian): patch 14, width 384, depth 12, 6 heads, MLP ratio 4 (GELU), LayerScale 1.0,
                      LayerNorm eps 1e-6, class token + 37x37 position grid resized bicubically to 16x16 on
                      every forward (offset 0.1, as DINOv2), so 257 tokens at 224. Plain softmax attention
                      (torch 1.13 has no scaled_dot_product_attention). Head: Linear(384, 1000) on the class
                      token (--mode models, like dinov2Vits14({numClasses: 1000})) or on the mean of the
                      normalised patch tokens (--mode cam, like LinearProbe(dinov2Vits14(), 1000)).

--mode models, per model:
  fwd_ms     forward under torch.no_grad() (parameters require grad as usual; nothing recorded).
  fwdbwd_ms  forward with autograd on, a forward hook keeps the target layer's output (resnets: layer4,
             vits14: blocks[-1].norm1), score = logit 1, torch.autograd.grad(score, [activation]), which
             like our pruned F.grad runs only the part of the graph between the activation and the score.
--mode cam, per model: Finer-CAM on the Grad-CAM "variant C" of shared/notes/baselines.md section 4:
  parameters frozen, the hook returns out.detach().requires_grad_() (backward only touches the head);
  forward, logits to numpy, classes ranked by |z_c - z_top| (stable), Finer "weighted" target with
  reference ranks 1-3 and alpha 1, torch.autograd.grad to the activation, w = mean over the grid,
  cam = relu(sum_c w_c A_c), per-image min-max at the grid size, .numpy().

Timing: median of --reps timed runs after --warmup runs, time.perf_counter(). The machine is shared, so each
rep also records how many cores other processes used meanwhile ("other", from /proc/stat minus our own CPU
time); before each rep we wait up to --quiet-wait seconds for a quiet moment, and a disturbed rep (other >
0.25 core) is retried (for up to 30 s or 3 x --reps passes); "noisy" says a disturbed rep is still in the median.
torch.set_num_threads(--threads) (default 2: this Debian build defaults to 1 OpenMP thread).
"""
import argparse
import json
import math
import os
import sys
import time


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def proc_busy():
    """(busy jiffies of the whole machine, our own CPU jiffies)."""
    try:
        with open("/proc/stat") as f:
            parts = f.readline().split()[1:]
        vals = [int(v) for v in parts]
        idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
        busy = sum(vals[:8]) - idle
        t = os.times()
        hz = os.sysconf("SC_CLK_TCK")
        return busy, (t.user + t.system) * hz, hz
    except OSError:
        return None


class Other:
    """Cores used by other processes between start() and stop()."""

    def start(self):
        self.s = proc_busy()
        self.t = time.perf_counter()

    def stop(self):
        e = proc_busy()
        dt = time.perf_counter() - self.t
        if not self.s or not e or dt <= 0:
            return None
        busy = e[0] - self.s[0]
        own = e[1] - self.s[1]
        return max(0.0, (busy - own) / e[2] / dt)


def wait_quiet(max_s, threshold=0.3):
    if max_s <= 0:
        return
    end = time.perf_counter() + max_s
    o = Other()
    while time.perf_counter() < end:
        o.start()
        time.sleep(0.25)
        v = o.stop()
        if v is None or v < threshold:
            return


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def timeit(fn, reps, warmup, quiet):
    """Median of `reps` clean passes (as bench/models.mjs: a pass during which other processes used more than
    0.25 core is retried for up to 30 s or 3 x reps passes, whichever allows more, unless it took over 10 s)."""
    for _ in range(warmup):
        fn()
    passes = []
    o = Other()
    tries = 0
    t_all = time.perf_counter()

    no_retry = os.environ.get("FINERCAM_BENCH_NO_RETRY") == "1"  # bench/cam-rounds.mjs: exactly reps passes

    def more():
        if no_retry:
            return tries < reps
        return tries < reps * 3 or (tries < reps * 20 and time.perf_counter() - t_all < 30)

    while more() and sum(p[2] for p in passes) < reps:
        tries += 1
        wait_quiet(quiet)
        o.start()
        t0 = time.perf_counter()
        fn()
        ms = (time.perf_counter() - t0) * 1e3
        v = o.stop()
        passes.append((ms, v, v is None or v <= 0.25 or ms > 10000))
    used = [p for p in passes if p[2]] or passes
    others = [p[1] for p in used if p[1] is not None]
    return {
        "ms": median([p[0] for p in used]),
        "times": [round(p[0], 2) for p in passes],
        "other": round(median(others), 2) if others else None,
        "noisy": any(p[1] is not None and p[1] > 0.25 for p in used),
    }


def build_vit(torch, nn, pool):
    F = nn.functional

    class Attention(nn.Module):
        def __init__(self, dim, heads):
            super().__init__()
            self.heads = heads
            self.scale = (dim // heads) ** -0.5
            self.qkv = nn.Linear(dim, dim * 3)
            self.proj = nn.Linear(dim, dim)

        def forward(self, x):
            B, N, C = x.shape
            qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
            attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)
            x = (attn @ v).transpose(1, 2).reshape(B, N, C)
            return self.proj(x)

    class LayerScale(nn.Module):
        def __init__(self, dim, init=1.0):
            super().__init__()
            self.gamma = nn.Parameter(init * torch.ones(dim))

        def forward(self, x):
            return x * self.gamma

    class Mlp(nn.Module):
        def __init__(self, dim, hidden):
            super().__init__()
            self.fc1 = nn.Linear(dim, hidden)
            self.act = nn.GELU()
            self.fc2 = nn.Linear(hidden, dim)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x)))

    class Block(nn.Module):
        def __init__(self, dim, heads):
            super().__init__()
            self.norm1 = nn.LayerNorm(dim, eps=1e-6)
            self.attn = Attention(dim, heads)
            self.ls1 = LayerScale(dim)
            self.norm2 = nn.LayerNorm(dim, eps=1e-6)
            self.mlp = Mlp(dim, dim * 4)
            self.ls2 = LayerScale(dim)

        def forward(self, x):
            x = x + self.ls1(self.attn(self.norm1(x)))
            return x + self.ls2(self.mlp(self.norm2(x)))

    class ViT(nn.Module):
        def __init__(self, img=518, patch=14, dim=384, depth=12, heads=6, classes=1000, pool="cls"):
            super().__init__()
            self.patch = patch
            self.pool = pool
            self.patch_embed = nn.Conv2d(3, dim, patch, patch)
            n = (img // patch) ** 2
            self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 1e-6)
            self.pos_embed = nn.Parameter(torch.randn(1, n + 1, dim) * 0.02)
            self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(depth)])
            self.norm = nn.LayerNorm(dim, eps=1e-6)
            self.head = nn.Linear(dim, classes)

        def interpolate_pos(self, h, w):
            N = self.pos_embed.shape[1] - 1
            M = int(math.sqrt(N))
            dim = self.pos_embed.shape[-1]
            cls_pos, patch_pos = self.pos_embed[:, :1], self.pos_embed[:, 1:]
            h0, w0 = h // self.patch + 0.1, w // self.patch + 0.1
            p = F.interpolate(patch_pos.reshape(1, M, M, dim).permute(0, 3, 1, 2),
                              scale_factor=(h0 / M, w0 / M), mode="bicubic")
            p = p.permute(0, 2, 3, 1).reshape(1, -1, dim)
            return torch.cat([cls_pos, p], 1)

        def forward(self, x):
            B, _, H, W = x.shape
            t = self.patch_embed(x).flatten(2).transpose(1, 2)
            t = torch.cat([self.cls_token.expand(B, -1, -1), t], 1)
            t = t + self.interpolate_pos(H, W)
            for b in self.blocks:
                t = b(t)
            t = self.norm(t)
            f = t[:, 0] if self.pool == "cls" else t[:, 1:].mean(1)
            return self.head(f)

    return ViT(pool=pool)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["models", "cam"], default="models")
    ap.add_argument("--models", default="resnet18,resnet50,vits14")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quiet-wait", type=float, default=3.0)
    a = ap.parse_args()
    try:
        import numpy as np
        import torch
        import torch.nn as nn
        import torchvision
    except Exception as e:  # noqa: BLE001
        emit({"available": False, "reason": f"{type(e).__name__}: {e}"})
        return
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    out = {
        "available": True,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "threads": torch.get_num_threads(),
        "mode": a.mode,
        "results": {},
    }
    x = torch.randn(1, 3, 224, 224)
    for name in [m for m in a.models.split(",") if m]:
        if name in ("resnet18", "resnet50"):
            model = getattr(torchvision.models, name)(weights=None)
            layer = model.layer4
            grid = None
        elif name == "vits14":
            model = build_vit(torch, nn, "cls" if a.mode == "models" else "patch-mean")
            layer = model.blocks[-1].norm1
            grid = (16, 16)
        else:
            out["results"][name] = {"error": f"unknown model {name}"}
            continue
        model.eval()
        r = {}
        if a.mode == "models":
            def fwd():
                with torch.no_grad():
                    model(x)

            store = {}
            h = layer.register_forward_hook(lambda m, i, o: store.__setitem__("a", o))

            def fwdbwd():
                y = model(x)
                (g,) = torch.autograd.grad(y[0, 1], [store["a"]])
                return g

            r["fwd"] = timeit(fwd, a.reps, a.warmup, a.quiet_wait)
            r["fwdbwd"] = timeit(fwdbwd, a.reps, a.warmup, a.quiet_wait)
            h.remove()
        else:
            for p in model.parameters():
                p.requires_grad_(False)
            store = {}

            def hook(m, i, o):
                o = o.detach().requires_grad_()
                store["a"] = o
                return o

            h = layer.register_forward_hook(hook)

            def cam():
                z = model(x)
                zn = z.detach().numpy()[0]
                top = int(zn.argmax())
                order = np.argsort(np.abs(zn - zn[top]), kind="stable")
                main_c, refs = int(order[0]), [int(c) for c in order[1:4]]
                zz = z[0]
                pr = zz.softmax(0)[refs]
                score = (pr * (zz[main_c] - zz[refs])).sum() / (pr.sum() + 1e-9)
                A = store["a"]
                (G,) = torch.autograd.grad(score, [A])
                with torch.no_grad():
                    if grid is not None:  # tokens N x T x C -> N x C x h x w, class token dropped
                        A = A[:, 1:].reshape(1, grid[0], grid[1], -1).permute(0, 3, 1, 2)
                        G = G[:, 1:].reshape(1, grid[0], grid[1], -1).permute(0, 3, 1, 2)
                    w = G.mean((2, 3), keepdim=True)
                    c = (w * A).sum(1).relu()
                    c = c - c.amin((1, 2), keepdim=True)
                    c = c / (c.amax((1, 2), keepdim=True) + 1e-7)
                    return c.numpy()

            r["cam"] = timeit(cam, a.reps, a.warmup, a.quiet_wait)
            h.remove()
        out["results"][name] = r
    emit(out)


if __name__ == "__main__":
    main()
