#!/usr/bin/env python3
"""An independent reference implementation of the CAM methods our TypeScript cam/ layer provides.

Written from the semantics in shared/notes/cam-semantics.md (§1 official Finer-CAM, §2 pytorch-grad-cam's
BaseCAM pipeline, §3.5 targets), on top of PyTorch autograd + numpy + OpenCV + scikit-learn — it shares
no code with our TypeScript. pytorch-grad-cam itself is not installed; this file re-implements it.
test/reference/make_cam_fixtures.py checks it against the peer vectors (outputs of the real libraries,
shared/data/peer-vectors/) before it writes any fixture.

Pipeline (pytorch-grad-cam BaseCAM):
  forward hooks on the target layers keep each layer's output (after `reshape_transform`) and register a
  tensor hook that keeps d(Σ_n target_n(logits_n))/d(output) (per-sample targets, summed);
  per layer: map = method(A, G) → ReLU → per image x − min, / (1e-7 + max) → cv2.resize INTER_LINEAR to
  target_size = (width, height) (None: no resize);
  layers: stack → max(·, 0) → mean over layers → per image min-max again (no resize).
All arithmetic follows the library: float32 numpy after the autograd step (or float64 when the model and
input are float64 — used only to measure conditioning).

Deterministic sign rule for the PCA projections (EigenCAM, EigenGradCAM, eigen_smooth): PC1 of the
centred (h·w)×C matrix, projection P = M·v₁; P is negated when its entry of largest absolute value (first
such entry in row-major order) is negative. pytorch-grad-cam keeps whatever sign LAPACK returns. This is
the same rule as sklearn's svd_flip, which KernelPCA (KPCA-CAM) applies to its eigenvectors.
"""
import numpy as np
import cv2
import torch
import torch.nn as nn
import torch.nn.functional as F

# --------------------------------------------------------------------------------------------- targets
# Each target maps ONE sample's output (1-D logits) to a scalar tensor.


class ClassifierOutputTarget:
    def __init__(self, category):
        self.category = int(category)

    def __call__(self, z):
        return z[..., self.category]

    def describe(self):
        return {'type': 'ClassifierOutputTarget', 'category': self.category}


class ClassifierOutputSoftmaxTarget:
    def __init__(self, category):
        self.category = int(category)

    def __call__(self, z):
        return torch.softmax(z, dim=-1)[..., self.category]

    def describe(self):
        return {'type': 'ClassifierOutputSoftmaxTarget', 'category': self.category}


class ClassifierOutputReST:
    """z[c] − CrossEntropy(z, c) = 2·z[c] − logsumexp(z) for one sample."""

    def __init__(self, category):
        self.category = int(category)

    def __call__(self, z):
        assert z.dim() == 1
        return z[self.category] - F.cross_entropy(z[None], torch.tensor([self.category]))

    def describe(self):
        return {'type': 'ClassifierOutputReST', 'category': self.category}


class FinerWeightedTarget:
    """Official Finer-CAM objective (Imageomics/Finer-CAM model_targets.py):
        R = [r for r in refs if r < K];  R empty → z[n]
        'weighted': Σ_r p_r (z_n − α z_r) / (Σ_r p_r + 1e-9),  p = softmax(z)  (NOT detached)
        'mean'    : z_n − α · mean_r z_r   (the paper's Eq. 8 form)"""

    def __init__(self, main_category, reference_categories, alpha=1.0, objective='weighted'):
        assert objective in ('weighted', 'mean')
        self.main = int(main_category)
        self.refs = [int(r) for r in reference_categories]
        self.alpha = alpha
        self.objective = objective

    def __call__(self, z):
        assert z.dim() == 1
        K = z.shape[0]
        refs = [r for r in self.refs if r < K]
        zn = z[self.main]
        if not refs:
            return zn
        zr = z[refs]
        if self.objective == 'mean':
            return zn - self.alpha * zr.mean()
        p = torch.softmax(z, dim=-1)[refs]
        return (p * (zn - self.alpha * zr)).sum() / (p.sum() + 1e-9)

    def describe(self):
        return {'type': 'FinerWeightedTarget', 'main_category': self.main, 'reference_categories': self.refs,
                'alpha': self.alpha, 'objective': self.objective}


# ---------------------------------------------------------------------------------- hooks and helpers


class ActivationsAndGradients:
    """Forward hooks on the target layers: keep the (reshaped, detached) output, and register a tensor
    hook on the output that keeps the (reshaped, detached) gradient. Gradients arrive in reverse layer
    order during backward and are prepended, so both lists follow target-layer order."""

    def __init__(self, model, target_layers, reshape_transform=None):
        self.model = model
        self.reshape_transform = reshape_transform
        self.activations, self.gradients = [], []
        self.grad_by_layer = {}   # the same gradients keyed by target-layer index (checks the ordering)
        self.enabled = True
        self.handles = []
        for idx, layer in enumerate(target_layers):
            self.handles.append(layer.register_forward_hook(self._save_activation))
            self.handles.append(layer.register_forward_hook(
                lambda m, i, o, idx=idx: self._save_gradient(idx, m, i, o)))

    def _reshape(self, t):
        return self.reshape_transform(t) if self.reshape_transform is not None else t

    def _save_activation(self, module, inp, out):
        if self.enabled:
            self.activations.append(self._reshape(out).detach().clone())

    def _save_gradient(self, idx, module, inp, out):
        if not self.enabled or not out.requires_grad:
            return

        def store(grad):
            g = self._reshape(grad).detach().clone()
            self.gradients = [g] + self.gradients
            assert idx not in self.grad_by_layer, 'a target layer ran twice'
            self.grad_by_layer[idx] = g
        out.register_hook(store)

    def __call__(self, x):
        self.activations, self.gradients, self.grad_by_layer = [], [], {}
        return self.model(x)

    def release(self):
        for h in self.handles:
            h.remove()
        self.handles = []


def vit_reshape_transform(tokens, height, width, prefix_tokens=1):
    """(B, T, C) tokens → (B, C, h, w): drop the prefix tokens, lay the rest row-major onto the grid."""
    B, T, C = tokens.shape
    return tokens[:, prefix_tokens:, :].reshape(B, height, width, C).permute(0, 3, 1, 2)


def scale_cam_image(cam, target_size=None, dt=np.float32):
    """Per image: x − min, then / (1e-7 + max); cv2.resize (INTER_LINEAR) to target_size = (w, h)."""
    out = []
    for img in cam:
        img = img - np.min(img)
        img = img / (1e-7 + np.max(img))
        if target_size is not None:
            img = cv2.resize(np.asarray(img, dtype=dt), tuple(int(v) for v in target_size),
                             interpolation=cv2.INTER_LINEAR)
        out.append(img)
    return np.asarray(out, dtype=dt)


def scale_across_batch_and_channels(t, target_size, dt=np.float32):
    B, C = t.shape[:2]
    r = scale_cam_image(t.reshape(B * C, *t.shape[2:]), target_size, dt)
    return r.reshape(B, C, r.shape[-2], r.shape[-1])


def sign_fix(p):
    """Negate p when its entry of largest |value| (first one, row-major) is negative."""
    flat = p.reshape(-1)
    i = int(np.argmax(np.abs(flat)))
    return -p if flat[i] < 0 else p


def eigen_diagnostics(p, S):
    """How far the sign rule and PC1 are from a tie: (|P|max − largest |P| of the opposite sign)/|P|max,
    and the relative gap between the first two singular values."""
    flat = p.reshape(-1)
    i = int(np.argmax(np.abs(flat)))
    top = abs(flat[i])
    opp = np.abs(flat[np.sign(flat) == -np.sign(flat[i])])
    sign_margin = float((top - (opp.max() if opp.size else 0.0)) / top) if top > 0 else 0.0
    sv_gap = float((S[0] - S[1]) / S[0]) if len(S) > 1 and S[0] > 0 else 1.0
    return {'sign_margin': sign_margin, 'sv_gap': sv_gap}


# 'rule' (the fixtures), 'lapack' (keep numpy's sign, as pytorch-grad-cam) or 'negated' (−rule); the last
# two exist only to compare with the peer vectors up to sign.
EIGEN_SIGN = 'rule'


def get_2d_projection(batch, dt=np.float32, diag=None):
    """PC1 projection per sample: M = X.reshape(C, h·w).T, NaN → 0, centre columns, SVD, P = M @ Vᵀ[0]."""
    batch = np.array(batch, copy=True)
    batch[np.isnan(batch)] = 0
    projections = []
    for act in batch:
        M = act.reshape(act.shape[0], -1).T
        M = M - M.mean(axis=0)
        _U, S, VT = np.linalg.svd(M, full_matrices=True)
        p = (M @ VT[0, :]).reshape(act.shape[1:])
        if EIGEN_SIGN != 'lapack':
            p = sign_fix(p)
            if EIGEN_SIGN == 'negated':
                p = -p
        if diag is not None:
            diag.append(eigen_diagnostics(p, S))
        projections.append(p)
    return np.asarray(projections, dtype=dt)


def get_2d_projection_kernel(batch, kernel='sigmoid', gamma=None, dt=np.float32):
    """KPCA-CAM: sklearn KernelPCA(n_components=1, kernel, gamma).fit_transform on the centred (h·w)×C
    matrix. sklearn fixes the sign itself (svd_flip: the eigenvector's largest-|·| entry is positive)."""
    from sklearn.decomposition import KernelPCA
    batch = np.array(batch, copy=True)
    batch[np.isnan(batch)] = 0
    projections = []
    for act in batch:
        M = act.reshape(act.shape[0], -1).T
        M = M - M.mean(axis=0)
        p = KernelPCA(n_components=1, kernel=kernel, gamma=gamma).fit_transform(M)
        projections.append(p.reshape(act.shape[1:]))
    return np.asarray(projections, dtype=dt)


def kpca_by_hand(M, coef0=1.0):
    """sklearn's KernelPCA (sigmoid kernel, gamma=1/C, dense eigh, svd_flip), by hand in float64 —
    used only to cross-check and to document the algorithm for the TypeScript port."""
    M = np.asarray(M, dtype=np.float64)
    n, C = M.shape
    K = np.tanh(M @ M.T / C + coef0)
    one = np.full((n, n), 1.0 / n)
    Kc = K - one @ K - K @ one + one @ K @ one
    w, V = np.linalg.eigh(Kc)
    v, lam = V[:, -1], max(w[-1], 0.0)
    v = sign_fix(v)
    return v * np.sqrt(lam)


# ------------------------------------------------------------------------------------------- BaseCAM


class BaseCAM:
    uses_gradients = True
    compute_input_gradient = False

    def __init__(self, model, target_layers, reshape_transform=None):
        self.model = model.eval()
        self.target_layers = list(target_layers)
        self.reshape_transform = reshape_transform
        self.ag = ActivationsAndGradients(model, self.target_layers, reshape_transform)
        self.eigen_diag = []

    def release(self):
        self.ag.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

    # dtype follows the model (float32 normally; float64 for the conditioning rerun)
    @property
    def dt(self):
        return np.float64 if next(self.model.parameters()).dtype == torch.float64 else np.float32

    def get_cam_weights(self, input_tensor, layer, targets, A, G):
        raise NotImplementedError

    def get_cam_image(self, input_tensor, layer, targets, A, G, eigen_smooth):
        w = self.get_cam_weights(input_tensor, layer, targets, A, G)
        wa = w[:, :, None, None] * A
        if eigen_smooth:
            return get_2d_projection(wa, self.dt, diag=self.eigen_diag)
        return wa.sum(axis=1)

    def run_model(self, x):
        """Forward passes that must not touch the hook lists (score-based methods)."""
        self.ag.enabled = False
        try:
            with torch.no_grad():
                return self.model(x)
        finally:
            self.ag.enabled = True

    def compute_cam_per_layer(self, input_tensor, targets, target_size, eigen_smooth):
        acts = [a.cpu().numpy() for a in self.ag.activations]
        grads = self.checked_gradients()
        out = []
        for i, layer in enumerate(self.target_layers):
            A = acts[i]
            G = grads[i] if i < len(grads) else None
            cam = self.get_cam_image(input_tensor, layer, targets, A, G, eigen_smooth)
            cam = np.maximum(cam, 0).astype(self.dt)
            out.append(scale_cam_image(cam, target_size, self.dt)[:, None])
        return out

    def aggregate_multi_layers(self, cam_per_layer):
        c = np.concatenate(cam_per_layer, axis=1)
        c = np.maximum(c, 0)
        return scale_cam_image(np.mean(c, axis=1), None, self.dt)

    def resolve_target_size(self, input_tensor, target_size):
        if isinstance(target_size, str) and target_size == 'input':
            return (input_tensor.shape[-1], input_tensor.shape[-2])
        return target_size

    def checked_gradients(self):
        """The prepended gradient list, checked against the per-layer record."""
        grads = [g.cpu().numpy() for g in self.ag.gradients]
        if grads:
            assert len(grads) == len(self.target_layers)
            for i, g in enumerate(grads):
                assert np.array_equal(g, self.ag.grad_by_layer[i].cpu().numpy()), 'gradient order'
        return grads

    def backward(self, input_tensor, outputs, targets):
        assert len(targets) == outputs.shape[0], 'one target per sample'
        self.model.zero_grad()
        if input_tensor.grad is not None:
            input_tensor.grad = None
        loss = sum(t(o) for t, o in zip(targets, outputs))
        loss.backward(retain_graph=True)

    def forward(self, input_tensor, targets=None, target_size='input', eigen_smooth=False):
        """target_size: 'input' (pytorch-grad-cam: the input's (W, H)), None (grid size), or (w, h)."""
        self.eigen_diag = []
        if self.compute_input_gradient:
            input_tensor = input_tensor.detach().clone().requires_grad_(True)
        outputs = self.ag(input_tensor)
        if targets is None:
            targets = [ClassifierOutputTarget(int(c)) for c in outputs.argmax(-1)]
        if self.uses_gradients:
            self.backward(input_tensor, outputs, targets)
        ts = self.resolve_target_size(input_tensor, target_size)
        cams = self.compute_cam_per_layer(input_tensor, targets, ts, eigen_smooth)
        return self.aggregate_multi_layers(cams), outputs.detach(), targets

    __call__ = forward


class GradCAM(BaseCAM):
    def get_cam_weights(self, input_tensor, layer, targets, A, G):
        return np.mean(G, axis=(2, 3))


class GradCAMPlusPlus(BaseCAM):
    def get_cam_weights(self, input_tensor, layer, targets, A, G):
        g2 = G ** 2
        g3 = g2 * G
        s = np.sum(A, axis=(2, 3))
        aij = g2 / (2 * g2 + s[:, :, None, None] * g3 + 1e-6)
        aij = np.where(G != 0, aij, 0)
        return np.sum(np.maximum(G, 0) * aij, axis=(2, 3))


class XGradCAM(BaseCAM):
    def get_cam_weights(self, input_tensor, layer, targets, A, G):
        s = np.sum(A, axis=(2, 3))
        return (G * A / (s[:, :, None, None] + 1e-7)).sum(axis=(2, 3))


class HiResCAM(BaseCAM):
    def get_cam_image(self, input_tensor, layer, targets, A, G, eigen_smooth):
        m = G * A
        return get_2d_projection(m, self.dt, diag=self.eigen_diag) if eigen_smooth else m.sum(axis=1)


class GradCAMElementWise(BaseCAM):
    def get_cam_image(self, input_tensor, layer, targets, A, G, eigen_smooth):
        m = np.maximum(G * A, 0)
        return get_2d_projection(m, self.dt, diag=self.eigen_diag) if eigen_smooth else m.sum(axis=1)


class LayerCAM(BaseCAM):
    def get_cam_image(self, input_tensor, layer, targets, A, G, eigen_smooth):
        m = np.maximum(G, 0) * A
        return get_2d_projection(m, self.dt, diag=self.eigen_diag) if eigen_smooth else m.sum(axis=1)


class EigenCAM(BaseCAM):
    uses_gradients = False

    def get_cam_image(self, input_tensor, layer, targets, A, G, eigen_smooth):
        return get_2d_projection(A, self.dt, diag=self.eigen_diag)


class EigenGradCAM(BaseCAM):
    def get_cam_image(self, input_tensor, layer, targets, A, G, eigen_smooth):
        return get_2d_projection(G * A, self.dt, diag=self.eigen_diag)


class KPCA_CAM(BaseCAM):
    uses_gradients = False

    def get_cam_image(self, input_tensor, layer, targets, A, G, eigen_smooth):
        return get_2d_projection_kernel(A, 'sigmoid', None, self.dt)


class ScoreCAM(BaseCAM):
    uses_gradients = False
    batch_size = 16

    def get_cam_weights(self, input_tensor, layer, targets, A, G):
        x = input_tensor.detach()
        with torch.no_grad():
            a = torch.from_numpy(A)
            up = F.interpolate(a, size=tuple(x.shape[-2:]), mode='bilinear', align_corners=True)
            flat = up.reshape(up.shape[0], up.shape[1], -1)
            mx = flat.max(dim=-1)[0][:, :, None, None]
            mn = flat.min(dim=-1)[0][:, :, None, None]
            up = (up - mn) / (mx - mn + 1e-8)
            masked = x[:, None] * up[:, :, None]           # B × C × 3 × H × W
            scores = []
            for target, tensors in zip(targets, masked):
                for i in range(0, tensors.shape[0], self.batch_size):
                    out = self.run_model(tensors[i:i + self.batch_size])
                    scores.extend(float(target(o)) for o in out)
            scores = torch.tensor(scores, dtype=x.dtype).reshape(A.shape[0], A.shape[1])
            return torch.softmax(scores, dim=-1).numpy()


class AblationCAM(BaseCAM):
    """Each channel k of the layer's (raw) output is replaced by 0 if min(A_b) == 0 else min(A_b) − 1e7
    (A_b = that sample's whole output), the rest of the network re-run; w_k = (y − y_k) / y."""
    uses_gradients = False
    batch_size = 32

    def get_cam_weights(self, input_tensor, layer, targets, A, G):
        x = input_tensor.detach()
        raw = {}
        h = layer.register_forward_hook(lambda m, i, o: raw.__setitem__('out', o.detach().clone()))
        try:
            outputs = self.run_model(x)
        finally:
            h.remove()
        original = np.asarray([float(t(o)) for t, o in zip(targets, outputs)], dtype=self.dt)
        raw = raw['out']
        C = A.shape[1]
        self.ablation_values = []
        weights = []
        for b, target in enumerate(targets):
            src = raw[b]
            value = 0.0 if float(src.min()) == 0.0 else float(src.min()) - 1e7
            self.ablation_values.append(value)
            new_scores = []
            for i in range(0, C, self.batch_size):
                chans = list(range(i, min(C, i + self.batch_size)))
                rep = src[None].repeat(len(chans), *([1] * src.dim())).clone()
                for j, k in enumerate(chans):
                    rep[j, k] = value

                def replace(m, inp, out, rep=rep):
                    return rep
                h = layer.register_forward_hook(replace)
                try:
                    out = self.run_model(x[b:b + 1].repeat(len(chans), 1, 1, 1))
                finally:
                    h.remove()
                new_scores.extend(float(target(o)) for o in out)
            weights.append(np.asarray(new_scores, dtype=self.dt))
        weights = np.stack(weights)
        return (original[:, None] - weights) / original[:, None]


class FullGrad(BaseCAM):
    """Ignores target_layers: uses the input gradient and every Conv2d/BatchNorm2d that has a bias.
    map = Σ_ch minmax↑(|x · ∂y/∂x|) + Σ_layers Σ_ch minmax↑(|bias · ∂y/∂out|), then min-max.
    BN bias = b − μ·γ/√(σ² + ε). minmax↑ = per (sample, channel) min-max then resize."""
    compute_input_gradient = True

    def __init__(self, model, target_layers=(), reshape_transform=None):
        bias_layers = [m for m in model.modules()
                       if type(m) in (nn.Conv2d, nn.BatchNorm2d) and m.bias is not None]
        super().__init__(model, bias_layers, reshape_transform)

    @staticmethod
    def bias_of(layer):
        if isinstance(layer, nn.BatchNorm2d):
            return (layer.bias - layer.running_mean * layer.weight /
                    torch.sqrt(layer.running_var + layer.eps)).detach().cpu().numpy()
        return layer.bias.detach().cpu().numpy()

    def compute_cam_per_layer(self, input_tensor, targets, target_size, eigen_smooth):
        assert not eigen_smooth
        dt = self.dt
        x = input_tensor.detach().cpu().numpy()
        gx = input_tensor.grad.detach().cpu().numpy()
        grads = self.checked_gradients()
        parts = [scale_across_batch_and_channels(np.abs(gx * x), target_size, dt)]
        for layer, G in zip(self.target_layers, grads):
            bias = self.bias_of(layer)[None, :, None, None]
            r = scale_across_batch_and_channels(np.abs(bias * G), target_size, dt)
            parts.append(np.sum(r, axis=1)[:, None])
        return np.sum(np.concatenate(parts, axis=1), axis=1)[:, None]

    def aggregate_multi_layers(self, cam_per_layer):
        return scale_cam_image(np.sum(cam_per_layer, axis=1), None, self.dt)


METHODS = {c.__name__: c for c in [GradCAM, GradCAMPlusPlus, XGradCAM, HiResCAM, GradCAMElementWise, LayerCAM,
                                   EigenCAM, EigenGradCAM, KPCA_CAM, ScoreCAM, AblationCAM, FullGrad]}


# ----------------------------------------------------------------------------------------- Finer-CAM


def finer_select(z, target_idx, ranks):
    """Per sample: t = z[target_idx] (or the top logit); classes sorted by |z − t| ascending, ties by
    class index; rank 0 = main, the listed ranks (< K) = references. Also returns the smallest gap
    between successive sorted distances."""
    z = np.asarray(z, dtype=np.float64)
    K = z.shape[0]
    t = z[int(np.argmax(z))] if target_idx is None else z[int(target_idx)]
    d = np.abs(z - t)
    order = sorted(range(K), key=lambda c: (d[c], c))
    main = order[0]
    refs = [order[r] for r in ranks if r < K]
    ds = d[order]
    gap = float(np.min(np.diff(ds))) if K > 1 else float('inf')
    return main, refs, gap


class FinerCAM:
    """Finer-CAM with per-sample automatic targets (batch-capable, summed per-sample scores). The default
    target_size is None: the map stays at the feature-grid size, as in the official code."""

    def __init__(self, model, target_layers, reshape_transform=None, base_method=GradCAM):
        self.base_cam = base_method(model, target_layers, reshape_transform)

    def release(self):
        self.base_cam.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

    def forward(self, input_tensor, targets=None, target_size=None, eigen_smooth=False, alpha=1.0,
                reference_category_ranks=(1, 2, 3), target_idx=None, objective='weighted'):
        base = self.base_cam
        base.eigen_diag = []
        if base.compute_input_gradient:
            input_tensor = input_tensor.detach().clone().requires_grad_(True)
        outputs = base.ag(input_tensor)
        mains, refs, gaps = [], [], []
        if targets is None:
            targets = []
            for z in outputs.detach().cpu().numpy():
                m, r, g = finer_select(z, target_idx, reference_category_ranks)
                mains.append(m)
                refs.append(r)
                gaps.append(g)
                targets.append(FinerWeightedTarget(m, r, alpha, objective))
        if base.uses_gradients:
            base.backward(input_tensor, outputs, targets)
        ts = base.resolve_target_size(input_tensor, target_size)
        cams = base.compute_cam_per_layer(input_tensor, targets, ts, eigen_smooth)
        self.gaps = gaps
        return base.aggregate_multi_layers(cams), outputs.detach(), mains, refs

    __call__ = forward
