#!/usr/bin/env python3
"""Reference numbers for AblationCAM, FullGrad, KPCA-CAM and the CAM metrics, written independently of
our TypeScript (PyTorch autograd, numpy, OpenCV, scikit-learn, scipy).

Run with the system Python:  /usr/bin/python3 test/reference/cam_metrics.py
Writes test/fixtures/cam-metrics/methods.json and test/fixtures/cam-metrics/metrics.json.

Models: the tiny deterministic CNN of the peer vectors (test/fixtures/cam-peer/README.md) and a variant
with a BatchNorm2d after c1 (eval mode), built from det(shape, a, b, s)[i] = float32(sin(a*i + b)*s).

Methods follow pytorch-grad-cam (shared/notes/cam-semantics.md §2.5-2.7):
  map -> ReLU -> per image x - min, / (1e-7 + max) -> cv2.resize INTER_LINEAR to the input size.
  AblationCAM: channel k of the target layer set to 0 if the sample's minimum there is 0, else
      minimum - 1e7; w_k = (y - y_k) / y; cam = sum_k w_k A_k.
  FullGrad: |x * dy/dx| plus |b * dy/dz| for each Conv2d / BatchNorm2d output z (BN bias
      b - mean * gamma / sqrt(var + eps)); every (sample, channel) min-max scaled and resized, summed,
      then min-max scaled again (no ReLU).
  KPCA-CAM: sklearn KernelPCA(n_components=1, kernel='sigmoid') fit_transform on the centred hw x C matrix
      (sklearn's sign rule: the eigenvector's largest-magnitude entry is positive).

Metrics (definitions in cam/metrics/*.ts, implemented again here from those formulas):
  cam_mult: target(model(x * cam)) - target(model(x)), float32 scores.
  relative confidence drop: mask the round(k*H*W/100) top CAM pixels (stable order), fill with
      0 / the channel mean / a border-normalised Gaussian blur; (p_c - p*_c) - mean_r (p_r - p*_r).
  deletion / insertion: k_i = floor(i*H*W/steps) top pixels replaced (deletion) or restored (insertion);
      trapezoidal AUC over [0, 1].
  ROAD with noise 0: the noisy linear imputer's sparse system solved with scipy's spsolve.
"""
import json
import math
import os

import cv2
import numpy as np
import scipy.sparse
import scipy.sparse.linalg
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.decomposition import KernelPCA

torch.set_grad_enabled(True)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'fixtures', 'cam-metrics')


def det(shape, a, b, s):
    n = int(np.prod(shape))
    return torch.tensor(np.float32(np.sin(a * np.arange(n, dtype=np.float64) + b) * s).reshape(shape))


class TinyCNN(nn.Module):
    def __init__(self, bn=False):
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4) if bn else None
        self.r1 = nn.ReLU()
        self.c2 = nn.Conv2d(4, 5, 3, padding=1, stride=2)
        self.r2 = nn.ReLU()
        self.fc = nn.Linear(5, 6)
        with torch.no_grad():
            self.c1.weight.copy_(det((4, 3, 3, 3), 0.37, 0.11, 0.5))
            self.c1.bias.copy_(det((4,), 0.71, 0.3, 0.1))
            self.c2.weight.copy_(det((5, 4, 3, 3), 0.53, 0.7, 0.4))
            self.c2.bias.copy_(det((5,), 0.29, 0.2, 0.1))
            self.fc.weight.copy_(det((6, 5), 0.91, 0.05, 1.0))
            self.fc.bias.copy_(det((6,), 0.43, 0.9, 0.2))
            if bn:
                self.bn1.weight.copy_(det((4,), 0.61, 0.2, 0.5) + 1)
                self.bn1.bias.copy_(det((4,), 0.83, 0.4, 0.3))
                self.bn1.running_mean.copy_(det((4,), 0.47, 0.9, 0.2))
                self.bn1.running_var.copy_(det((4,), 0.39, 0.1, 0.5) + 1)
        self.eval()

    def forward(self, x):
        h = self.c1(x)
        if self.bn1 is not None:
            h = self.bn1(h)
        h = self.r2(self.c2(self.r1(h)))
        return self.fc(h.mean(dim=(2, 3)))


X2 = det((2, 3, 12, 10), 0.173, 0.4, 1.0)
CLASSES = [1, 4]


def flat(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


# ------------------------------------------------------------------------------------ CAM pipeline


def scale_cam(cam, size_wh=None):
    out = []
    for img in cam:
        img = img - np.min(img)
        img = img / (1e-7 + np.max(img))
        if size_wh is not None:
            img = cv2.resize(np.float32(img), size_wh)
        out.append(img)
    return np.float32(out)


def finish(cam, x):
    """ReLU, min-max, resize to the input (one target layer: the mean over layers is the map itself)."""
    cam = np.maximum(cam, 0)
    cam = scale_cam(cam, (x.shape[3], x.shape[2]))
    return scale_cam(np.maximum(cam, 0))


def layer_output(model, layer, x):
    box = {}
    h = layer.register_forward_hook(lambda m, i, o: box.__setitem__('a', o.detach().clone()))
    with torch.no_grad():
        z = model(x)
    h.remove()
    return box['a'], z


def ablation_cam(model, layer, x, classes):
    A, z = layer_output(model, layer, x)
    N, C = A.shape[:2]
    y = np.float32([z[n, c].item() for n, c in enumerate(classes)])
    yk = np.zeros((N, C), np.float32)
    for n in range(N):
        for k in range(C):
            def ablate(m, i, o, k=k):
                o = o.clone()
                lo = o.min()
                o[:, k] = 0.0 if lo.item() == 0 else lo - 1e7
                return o
            h = layer.register_forward_hook(ablate)
            with torch.no_grad():
                yk[n, k] = model(x[n:n + 1])[0, classes[n]].item()
            h.remove()
    w = (y[:, None] - yk) / y[:, None]
    cam = (w[:, :, None, None] * A.numpy()).sum(axis=1)
    return finish(cam, x), w


def fullgrad(model, x, classes):
    layers = [m for m in model.modules() if type(m) in (nn.Conv2d, nn.BatchNorm2d) and m.bias is not None]
    outs = []

    def keep(m, i, o):
        o.retain_grad()
        outs.append(o)

    hooks = [l.register_forward_hook(keep) for l in layers]
    xg = x.clone().requires_grad_(True)
    z = model(xg)
    sum(z[n, c] for n, c in enumerate(classes)).backward()
    for h in hooks:
        h.remove()
    size = (x.shape[3], x.shape[2])

    def per_channel(t):
        B, C = t.shape[:2]
        s = scale_cam(t.reshape(B * C, *t.shape[2:]), size)
        return s.reshape(B, C, size[1], size[0]).sum(axis=1)

    total = per_channel(np.abs(xg.grad.numpy() * x.numpy()))
    for l, o in zip(layers, outs):
        if isinstance(l, nn.BatchNorm2d):
            b = (l.bias - l.running_mean * l.weight / torch.sqrt(l.running_var + l.eps)).detach().numpy()
        else:
            b = l.bias.detach().numpy()
        total = total + per_channel(np.abs(b[None, :, None, None] * o.grad.numpy()))
    return scale_cam(total)


def kpca_projection(A):
    out = []
    for a in A.numpy():
        M = a.reshape(a.shape[0], -1).T
        M = M - M.mean(axis=0)
        # random_state only seeds ARPACK's start vector (used above 200 positions), so the fixture is
        # byte-for-byte reproducible; pytorch-grad-cam leaves it None (the result differs by ~1e-8)
        kpca = KernelPCA(n_components=1, kernel='sigmoid', random_state=0)
        out.append(kpca.fit_transform(M).reshape(a.shape[1:]))
    return np.float32(out)


def methods_fixture():
    out = {'input_shape': list(X2.shape), 'classes': CLASSES}
    m = TinyCNN()
    for name in ['r2', 'c2']:
        cam, w = ablation_cam(m, getattr(m, name), X2, CLASSES)
        out[f'AblationCAM_{name}'] = {'cam': flat(cam), 'weights': flat(w)}
    out['FullGrad'] = flat(fullgrad(TinyCNN(), X2, CLASSES))
    out['FullGrad_bn'] = flat(fullgrad(TinyCNN(bn=True), X2, CLASSES))
    # KPCA on r2 (6x5 = 30 positions) and, with a larger input, on r1 (32x30 = 960 positions: sklearn
    # switches to ARPACK, our code to subspace iteration)
    A, _ = layer_output(m, m.r2, X2)
    proj = kpca_projection(A)
    out['KPCA_r2'] = {'projection': flat(proj), 'cam': flat(finish(proj, X2))}
    xl = det((1, 3, 32, 30), 0.0731, 0.9, 1.0)
    A, _ = layer_output(m, m.r1, xl)
    proj = kpca_projection(A)
    out['KPCA_r1_large'] = {'input': {'shape': [1, 3, 32, 30], 'a': 0.0731, 'b': 0.9, 's': 1.0},
                            'projection': flat(proj), 'cam': flat(finish(proj, xl))}
    return out


# ------------------------------------------------------------------------------------ metrics


def metric_cams():
    n = 2 * 12 * 10
    return torch.tensor(np.float32((np.sin(0.37 * np.arange(n, dtype=np.float64) + 0.2) + 1) / 2).reshape(2, 12, 10))


def gaussian_blur(x, sigma):
    r = math.ceil(3 * sigma)
    taps = np.exp(-((np.arange(2 * r + 1) - r) ** 2) / (2 * sigma * sigma))
    taps = torch.tensor(np.float32(taps / taps.sum()))

    def blur(t):
        C = t.shape[1]
        kv = taps.reshape(1, 1, -1, 1).repeat(C, 1, 1, 1)
        kh = taps.reshape(1, 1, 1, -1).repeat(C, 1, 1, 1)
        return F.conv2d(F.conv2d(t, kv, padding=(r, 0), groups=C), kh, padding=(0, r), groups=C)

    return blur(x) / blur(torch.ones(1, 1, *x.shape[2:]))


def substrate(x, fill, sigma=5.0):
    if fill == 'zero':
        return torch.zeros_like(x)
    if fill == 'mean':
        return x.mean(dim=(2, 3), keepdim=True).expand_as(x)
    return gaussian_blur(x, sigma)


def rank_desc(cam):
    return np.argsort(-cam.ravel(), kind='stable')


def relative_drop(model, x, cams, mains, refs, percent, fill, sigma=5.0):
    N, _, H, W = x.shape
    k = max(1, int(math.floor(percent * H * W / 100 + 0.5)))
    mask = np.zeros((N, 1, H * W), np.float32)
    for n in range(N):
        mask[n, 0, rank_desc(cams[n].numpy())[:k]] = 1
    mask = torch.tensor(mask.reshape(N, 1, H, W)) > 0
    with torch.no_grad():
        p = torch.softmax(model(x), 1).numpy().astype(np.float64)
        q = torch.softmax(model(torch.where(mask, substrate(x, fill, sigma), x)), 1).numpy().astype(np.float64)
    main = [p[n, c] - q[n, c] for n, c in enumerate(mains)]
    ref = [float(np.mean([p[n, r] - q[n, r] for r in refs[n]])) if refs[n] else 0.0 for n in range(N)]
    return {'rd': [a - b for a, b in zip(main, ref)], 'mainDrop': main, 'referenceDrop': ref, 'maskedPixels': k}


def prob_scores(model, x, classes):
    with torch.no_grad():
        return np.float32([torch.softmax(o, 0)[c].item() for o, c in zip(model(x), classes)])


def deletion_insertion(model, x, cams, classes, steps, sub_del, sub_ins, sigma=5.0):
    N, _, H, W = x.shape
    P = H * W
    counts = [(i * P) // steps for i in range(steps + 1)]
    res = {'deletion': [], 'insertion': [], 'deletionCurves': [], 'insertionCurves': []}
    for n in range(N):
        xn = x[n:n + 1]
        rank = np.empty(P, np.int64)
        rank[rank_desc(cams[n].numpy())] = np.arange(P)
        masks = torch.tensor(np.stack([(rank < k).reshape(1, H, W) for k in counts]))
        d, i = substrate(xn, sub_del, sigma), substrate(xn, sub_ins, sigma)
        dc = prob_scores(model, torch.where(masks, d, xn), [classes[n]] * (steps + 1))
        ic = prob_scores(model, torch.where(masks, xn, i), [classes[n]] * (steps + 1))
        for key, c in (('deletion', dc), ('insertion', ic)):
            c64 = c.astype(np.float64)
            res[key].append(float((c64.sum() - (c64[0] + c64[-1]) / 2) / steps))
            res[key + 'Curves'].append(flat(c))
    return res


NEIGHBOURS = [((-1, -1), 1 / 12), ((-1, 0), 1 / 6), ((-1, 1), 1 / 12), ((0, -1), 1 / 6),
              ((0, 1), 1 / 6), ((1, -1), 1 / 12), ((1, 0), 1 / 6), ((1, 1), 1 / 12)]


def impute(img, removed):
    """Noise-free linear imputation: img (C, H, W) float32, removed (H, W) bool; scipy's direct solver."""
    C, H, W = img.shape
    idx = np.flatnonzero(removed.ravel())
    var = -np.ones(H * W, np.int64)
    var[idx] = np.arange(len(idx))
    A = scipy.sparse.lil_matrix((len(idx), len(idx)))
    b = np.zeros((len(idx), C))
    flat_img = img.reshape(C, -1).astype(np.float64)
    for i, p in enumerate(idx):
        h, w = divmod(p, W)
        s = 0.0
        for (dh, dw), wt in NEIGHBOURS:
            hh, ww = h + dh, w + dw
            if not (0 <= hh < H and 0 <= ww < W):
                continue
            s += wt
            q = hh * W + ww
            if var[q] >= 0:
                A[i, var[q]] = -wt
            else:
                b[i] += wt * flat_img[:, q]
        A[i, i] = s
    sol = scipy.sparse.linalg.spsolve(scipy.sparse.csc_matrix(A), b).reshape(len(idx), C)
    out = img.reshape(C, -1).copy()
    out[:, idx] = np.float32(sol.T)
    return out.reshape(C, H, W)


def road_noise_free(model, x, cams, classes, percentiles):
    N = x.shape[0]
    base = prob_scores(model, x, classes)

    def mean_change(ranking):
        total = np.zeros(N)
        for p in percentiles:
            imgs = []
            for n in range(N):
                v = ranking[n].ravel()
                thr = np.percentile(v.astype(np.float64), p)
                imgs.append(impute(x[n].numpy(), (v >= thr).reshape(ranking[n].shape)))
            s = prob_scores(model, torch.tensor(np.stack(imgs)), classes)
            total += np.float32(s - base)
        return total / len(percentiles)

    cam = cams.numpy()
    morf = mean_change(cam)
    lerf = mean_change(np.float32(1 - cam))
    return {'morf': flat(morf), 'lerf': flat(lerf), 'combined': flat((lerf - morf) / 2)}


def metrics_fixture():
    m = TinyCNN()
    cams = metric_cams()
    out = {'cams': {'a': 0.37, 'b': 0.2, 'rule': '(sin(a*i + b) + 1) / 2, float32, shape (2, 12, 10)'}, 'classes': CLASSES}
    with torch.no_grad():
        z0, z1 = m(X2), m(X2 * cams[:, None])
    out['cam_mult_softmax'] = flat(np.float32([torch.softmax(z1[n], 0)[c].item() for n, c in enumerate(CLASSES)])
                                   - np.float32([torch.softmax(z0[n], 0)[c].item() for n, c in enumerate(CLASSES)]))
    out['cam_mult_logit'] = flat(np.float32([z1[n, c].item() for n, c in enumerate(CLASSES)])
                                 - np.float32([z0[n, c].item() for n, c in enumerate(CLASSES)]))
    mains, refs = CLASSES, [[0, 2], [3]]
    out['rd_refs'] = refs
    out['rd'] = {}
    for percent, fill, sigma in [(5, 'zero', 5.0), (20, 'zero', 5.0), (20, 'mean', 5.0), (20, 'blur', 5.0), (12.5, 'blur', 1.5)]:
        out['rd'][f'{percent}_{fill}_{sigma}'] = {'percent': percent, 'fill': fill, 'blurSigma': sigma,
                                                   **relative_drop(m, X2, cams, mains, refs, percent, fill, sigma)}
    out['rd_no_refs'] = relative_drop(m, X2, cams, mains, [[], [5]], 10, 'zero')
    out['deletion_insertion'] = {
        'default_steps10': deletion_insertion(m, X2, cams, CLASSES, 10, 'zero', 'blur'),
        'mean_steps7': deletion_insertion(m, X2, cams, CLASSES, 7, 'mean', 'mean'),
    }
    # the imputer alone: the first image, the pixels with cam >= its 60th percentile removed
    v = cams[0].numpy()
    removed = v >= np.percentile(v.astype(np.float64), 60)
    out['impute'] = {'removed': [int(r) for r in removed.ravel()], 'image': flat(impute(X2[0].numpy(), removed))}
    out['road_noise0'] = {'percentiles': [20, 50, 80], **road_noise_free(m, X2, cams, CLASSES, [20, 50, 80])}
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, fn in (('methods.json', methods_fixture), ('metrics.json', metrics_fixture)):
        with open(os.path.join(OUT, name), 'w') as f:
            json.dump(fn(), f)
        print('wrote', os.path.join(OUT, name))


if __name__ == '__main__':
    main()
