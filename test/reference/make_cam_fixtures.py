#!/usr/bin/env python3
"""Reference CAM fixtures for cam/: numbers our TypeScript code did not produce.

Regenerate (deterministic; the same bytes on every run):

    /usr/bin/python3 test/reference/make_cam_fixtures.py

Needs Debian's torch 1.13 / torchvision 0.14 / numpy / OpenCV 4.6 / scikit-learn 1.2. The CAM methods are
implemented independently in test/reference/cam_reference.py (PyTorch autograd + numpy, following
shared/notes/cam-semantics.md: pytorch-grad-cam's BaseCAM pipeline and the official Finer-CAM code).

Step 1 — validation (the script stops before writing anything if it fails):
  * the tiny CNN of shared/data/peer-vectors/README.md is rebuilt and every CAM in tv_upstream.json
    (pytorch-grad-cam @084273b) and tv_official.json (Imageomics/Finer-CAM @564ad2c) is recomputed;
    the largest |difference| must be <= 1e-6 (EigenCAM / EigenGradCAM / eigen_smooth: up to a per-sample
    sign, since the libraries keep LAPACK's sign; with LAPACK's sign they must also match);
  * test/fixtures/official-dinov2/dinov2_tiny_finer: the stored activations/gradients of the official
    ViT run go through our GradCAM pipeline and must give the stored cam_grid_<mode> / cam_<mode>;
    our automatic Finer target selection and objective must give the stored main/references/objective;
  * each ResNet is rebuilt from test/fixtures/models/<name>/ and must reproduce io.safetensors' logits
    and its layer4 activations and gradient through our hooks;
  * KPCA-CAM: sklearn's KernelPCA is compared with a by-hand kernel PCA (cam_reference.kpca_by_hand).
  The measured differences are written to test/fixtures/cam/validation.json.

Step 2 — fixtures test/fixtures/cam/<model>.json for model in {resnet18_small, bottleneck_small}:
  torchvision ResNets with reduced widths, rebuilt exactly as test/reference/make_model_fixtures.py does
  (its small_resnet() is imported) and loaded from test/fixtures/models/<model>/weights.safetensors
  (read by the tiny safetensors reader below). Inputs come from io.safetensors `input`:
     selection "first"      = input[0:1]
     selection "all"        = input (resnet18_small: 2 samples)
     selection "with_hflip" = cat([input, input.flip(-1)])  (bottleneck_small: its 1 sample + mirror)
  Top level: {"model": {...}, "input": {...}, "conventions": {...}, "cases": [...]}. Each case:
     name            unique id
     method          GradCAM | GradCAMPlusPlus | XGradCAM | HiResCAM | GradCAMElementWise | LayerCAM |
                     EigenCAM | EigenGradCAM | KPCA_CAM | ScoreCAM | AblationCAM | FullGrad | FinerCAM
     base_method     (FinerCAM only) the base CAM class
     target_layers   dotted module names (FullGrad: [] — it ignores them; `bias_layers` lists what it uses)
     input           the selection above; input_shape = [N, 3, H, W]
     options         exactly the arguments passed; an absent one took its default:
                       target_size [width, height] (cv2 order). Default: the input's (W, H) for the plain
                         methods (pytorch-grad-cam), the feature grid, i.e. no resize, for FinerCAM
                         (official code);
                       eigen_smooth (default false);
                       FinerCAM: alpha (default 1), reference_category_ranks (default [1,2,3]),
                         target_idx (default: each sample's argmax), objective ('weighted' official
                         softmax-weighted, default | 'mean' = z_n − α·mean_r z_r, the paper's form)
     targets         null = default targets (ClassifierOutputTarget(argmax) per sample; FinerCAM: its
                     automatic FinerWeightedTarget per sample) — else one object per sample:
                     {"type": ClassifierOutputTarget|ClassifierOutputSoftmaxTarget|ClassifierOutputReST,
                      "category"} or {"type": "FinerWeightedTarget", "main_category",
                      "reference_categories" (out-of-range ones are dropped by the target; none left → z[n]),
                      "alpha", "objective"}
     target_categories  the class each sample's target is about (argmax / category / main_category)
     main_categories, reference_categories, min_distance_gap, distance_gaps
                     (FinerCAM only) per sample: the main class, the references (out-of-range ranks
                     dropped), and the smallest gap between successive sorted distances |z_c − z_t|
                     over all classes (ties are broken by class index; all gaps here are > 1e-3)
     logits          N×K model output of the CAM's forward pass
     cam_shape, cam  N×h×w float32 map, row-major, flattened
     f64_max_abs_diff   max |cam − cam from the same computation in float64| (model, input and all
                     numpy steps in float64): how well-conditioned the case is (the min-max
                     normalisations amplify rounding where a map is nearly flat)
     eigen           (EigenCAM, EigenGradCAM, eigen_smooth, KPCA_CAM) the worst sign_margin (relative
                     distance of the largest-|P| entry from the largest entry of the opposite sign) and
                     sv_gap ((s1 − s2)/s1) over samples and layers
     ablation_values (AblationCAM) per layer, per sample: the value ablated channels were set to
                     (0 when the layer's output min is 0, else min − 1e7)
  Numbers: each float32 is written as the shortest decimal that reads back as the same float32.

Cases (59 per model, same list for both; see build_cases):
  * each of GradCAM, GradCAMPlusPlus, XGradCAM, HiResCAM, GradCAMElementWise, LayerCAM, EigenCAM,
    EigenGradCAM, KPCA_CAM, ScoreCAM, AblationCAM: batch 1 on layer4 at the default size (the input's),
    batch 2 on layer4 with target_size [33, 21], batch 1 on layer3 + layer4 with [33, 21]
    (KPCA_CAM on resnet18_small: layer3 / layer2 + layer3; KPCA_CAM and EigenGradCAM on bottleneck_small:
    two-layer case layer2 + layer4 — see LAYER_OVERRIDES); FullGrad: batch 1 default size, batch 2 [33, 21];
  * GradCAM extras (batch 2): explicit target_size = the input's [W, H]; eigen_smooth on layer4 and on
    layer3 + layer4; explicit ClassifierOutputTarget (non-argmax classes), ClassifierOutputSoftmaxTarget,
    ClassifierOutputReST and FinerWeightedTarget targets (one with an out-of-range reference, one whose
    references are all out of range → z[n]); ScoreCAM with softmax targets;
  * FinerCAM with base GradCAM (16 cases incl. LayerCAM/ScoreCAM bases): alpha 1 / 0 / 0.6; ranks [1,2,3],
    [1], [1, 99], [99] (no reference left → z[n]); target_idx (TARGET_IDX) and omitted; objective 'mean' (α 0.6);
    grid size (default), [33, 21] and the input size; layer3 alone and layer3 + layer4; base LayerCAM and
    base ScoreCAM once each (batch 2, grid size).
  Sizes: resnet18_small input 2×3×64×48 (layer3 grid 4×3, layer4 2×2, 10 classes); bottleneck_small
  input 1×3×56×72 (layer3 4×5, layer4 2×3, 7 classes).

validation.json: the max |differences| of step 1 (peer vectors per method, the ViT stored tensors, the
ResNet rebuild, sklearn-vs-hand KPCA and the activations where the KPCA sign is a tie).

Conventions fixed here (also in each file's "conventions"):
  * PCA sign (EigenCAM, EigenGradCAM, eigen_smooth): the projection is negated when its entry of largest
    absolute value (first such entry, row-major) is negative. pytorch-grad-cam keeps LAPACK's sign.
  * KPCA_CAM: sklearn KernelPCA(n_components=1, kernel='sigmoid', gamma=None → 1/C, coef0=1) on the centred
    (h·w)×C matrix; sklearn's svd_flip makes the eigenvector's largest-|·| entry positive — the same rule.
  * AblationCAM: the clean rule (value 0 if min(A_b) == 0 else min(A_b) − 1e7, A_b = that sample's output).
  * Batches: one target per sample, the backward runs on the sum of the per-sample target scores
    (upstream semantics; the official FinerCAM only runs with batch 1).
  * FinerCAM targets: per sample, t = z[target_idx] (or max z); classes sorted by |z − t| ascending, ties
    by class index; rank 0 = main, listed ranks < K = references; softmax weights not detached.
The ViT (test/fixtures/official-dinov2/dinov2_tiny_finer) is not re-run here: its official files already
hold Finer-CAM results (Baseline / Finer-Default / Finer-Compare at grid and input size).
"""
import copy
import json
import os
import re
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
from torchvision.models.resnet import BasicBlock, Bottleneck

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cam_reference as R  # noqa: E402
from make_model_fixtures import small_resnet  # noqa: E402
from cam_metrics import TinyCNN, det  # noqa: E402

REPO = os.path.normpath(os.path.join(HERE, '..', '..'))
OUT = os.path.join(REPO, 'test', 'fixtures', 'cam')
PEER = os.path.normpath(os.path.join(REPO, '..', 'shared', 'data', 'peer-vectors'))
if not os.path.isdir(PEER):
    PEER = '/work/shared/data/peer-vectors'


# ------------------------------------------------------------------------------------------------ io


def read_safetensors(path):
    """8-byte little-endian header length, JSON header, raw little-endian data (F32, I64)."""
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        a, b = v['data_offsets']
        dt = {'F32': '<f4', 'I64': '<i8'}[v['dtype']]
        out[k] = torch.from_numpy(np.frombuffer(data[a:b], dtype=dt).reshape(v['shape']).copy())
    return out


def f32(v):
    """The shortest decimal that reads back as the same float32 (as a Python float for json)."""
    x = np.float32(v)
    assert np.isfinite(x), v
    if x == 0:
        return 0.0
    d = float(str(x))
    assert np.float32(d) == x and np.float32(float(repr(d))) == x
    return d


def flat(a):
    return [f32(v) for v in np.asarray(a, dtype=np.float32).reshape(-1)]


def rnd(v, digits=3):
    """Diagnostics (not compared exactly): 3 significant digits."""
    return float('%.*g' % (digits, v))


def dump(path, obj):
    s = json.dumps(obj, separators=(',', ':'), sort_keys=False)
    s = re.sub(r'(?<=[\[,])0\.0(?=[,\]])', '0', s)        # zeros as 0 (saves ~15%)
    with open(path, 'w') as f:
        f.write(s + '\n')
    return len(s) + 1


# ---------------------------------------------------------------------------------------- validation


# The tiny CNN of shared/data/peer-vectors/README.md (target layer r2, two-layer case r1 + r2) is defined
# once, in cam_metrics.py.


def maxdiff(a, b):
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def validate_peer():
    up = json.load(open(os.path.join(PEER, 'tv_upstream.json')))
    off = json.load(open(os.path.join(PEER, 'tv_official.json')))
    m = TinyCNN().eval()
    x = det((2, 3, 12, 10), 0.173, 0.4, 1.0)
    res = {'logits': maxdiff(m(x).detach().numpy(), up['logits'])}
    T = [R.ClassifierOutputTarget(1), R.ClassifierOutputTarget(4)]

    def run(cls, layers, sign='rule', **kw):
        R.EIGEN_SIGN = sign
        try:
            with cls(m, layers) as c:
                return c(x, T, **kw)[0]
        finally:
            R.EIGEN_SIGN = 'rule'

    eig = {'EigenCAM': (R.EigenCAM, {}), 'EigenGradCAM': (R.EigenGradCAM, {}),
           'GradCAM_eigen_smooth': (R.GradCAM, {'eigen_smooth': True})}
    for name in ['GradCAM', 'GradCAMPlusPlus', 'XGradCAM', 'HiResCAM', 'GradCAMElementWise', 'LayerCAM',
                 'ScoreCAM']:
        res[name] = maxdiff(run(R.METHODS[name], [m.r2]), up['cams'][name])
    for name, (cls, kw) in eig.items():
        ref = np.asarray(up['cams'][name])
        a, b = run(cls, [m.r2], 'rule', **kw), run(cls, [m.r2], 'negated', **kw)
        res[name + ' (up to sign)'] = max(min(maxdiff(a[i], ref[i]), maxdiff(b[i], ref[i])) for i in range(2))
        res[name + ' (our sign rule, per sample)'] = [maxdiff(a[i], ref[i]) for i in range(2)]
        res[name + ' (LAPACK sign)'] = maxdiff(run(cls, [m.r2], 'lapack', **kw), ref)
    res['GradCAM_two_layers_r1_r2'] = maxdiff(run(R.GradCAM, [m.r1, m.r2]), up['cams']['GradCAM_two_layers_r1_r2'])
    with R.FinerCAM(m, [m.r2]) as f:
        cam, _, mains, refs = f(x, target_size='input')
    assert mains == [4, 4] and refs == [[0, 1, 3], [0, 1, 5]], (mains, refs)
    res['FinerCAM_auto_top1_refs123_alpha1 (upstream, B=2)'] = maxdiff(cam, up['cams']['FinerCAM_auto_top1_refs123_alpha1'])
    with R.FinerCAM(m, [m.r2]) as f:
        cam = f(x, targets=[R.FinerWeightedTarget(1, [0, 2], 0.6)] * 2, target_size='input')[0]
    res['FinerCAM_explicit_main1_refs_0_2_alpha0.6 (upstream, B=2)'] = maxdiff(cam, up['cams']['FinerCAM_explicit_main1_refs_0_2_alpha0.6'])
    official = {
        'FinerCAM_auto_top1_refs123_alpha1': ({}, off['official_main'], off['official_refs']),
        'FinerCAM_target2_refs123_99_alpha1': ({'target_idx': 2, 'reference_category_ranks': [1, 2, 3, 99]},
                                               off['official_main_t2'], off['official_refs_t2']),
        'FinerCAM_target2_alpha0': ({'target_idx': 2, 'alpha': 0}, off['official_main_t2'], off['official_refs_t2']),
    }
    for key, (kw, main, ref_cats) in official.items():
        with R.FinerCAM(m, [m.r2]) as f:
            cam, out, mains, refs = f(x[:1], **kw)
        assert mains == main and refs == ref_cats, (key, mains, refs)
        assert list(cam.shape) == [1, 6, 5]
        res[key + ' (official, B=1, grid)'] = maxdiff(cam, off['cams'][key])
    worst = max(v for k, v in res.items() if isinstance(v, float) and 'per sample' not in k)
    assert worst <= 1e-6, res
    return res


def validate_vit():
    d = os.path.join(REPO, 'test', 'fixtures', 'official-dinov2', 'dinov2_tiny_finer')
    e = read_safetensors(os.path.join(d, 'expected.safetensors'))
    case = json.load(open(os.path.join(d, 'case.json')))
    A = e['activations_0'].numpy()
    z = e['logits']
    res = {}
    for mode, cfg in case['modes'].items():
        G = e['gradients_0_' + mode].numpy()
        main, refs, _gap = R.finer_select(z[0].numpy(), None, cfg['reference_category_ranks'])
        assert [main] == cfg['main_categories'] and [refs] == cfg['references'], (mode, main, refs)
        obj = R.FinerWeightedTarget(main, refs, cfg['alpha'])(z[0])
        res['objective_' + mode] = maxdiff(obj.numpy(), e['objective_' + mode].numpy())
        w = np.mean(G, axis=(2, 3))
        raw = np.maximum((w[:, :, None, None] * A).sum(axis=1), 0).astype(np.float32)
        for ts, key in [(None, 'cam_grid_'), (tuple(case['target_size']), 'cam_')]:
            layer = R.scale_cam_image(raw, ts)[:, None]
            cam = R.scale_cam_image(np.mean(np.maximum(layer, 0), axis=1))
            res[key + mode] = maxdiff(cam, e[key + mode].numpy())
    assert max(res.values()) <= 1e-6, res
    return res


# ------------------------------------------------------------------------------------------ models


def load_model(name):
    d = os.path.join(REPO, 'test', 'fixtures', 'models', name)
    case = json.load(open(os.path.join(d, 'case.json')))
    block = {'basic': BasicBlock, 'bottleneck': Bottleneck}[case['block']]
    m = small_resnet(block, case['layers'], case['widths'], case['numClasses'])
    m.load_state_dict(read_safetensors(os.path.join(d, 'weights.safetensors')), strict=True)
    m.eval()
    io = read_safetensors(os.path.join(d, 'io.safetensors'))
    return m, io, case


def validate_model(name, m, io):
    """Logits, layer4 activations and d Σ_n logits[n, argmax_n] / d layer4 through our hooks."""
    x = io['input']
    with R.GradCAM(m, [m.layer4]) as c:
        _cam, out, _ = c(x)
        A = c.ag.activations[0].numpy()
        G = c.ag.gradients[0].numpy()
    res = {'logits': maxdiff(out.numpy(), io['logits'].numpy()), 'layer4': maxdiff(A, io['layer4'].numpy()),
           'grad_layer4': maxdiff(G, io['grad_layer4'].numpy())}
    assert max(res.values()) <= 1e-5, (name, res)
    return res


def validate_kpca(models):
    """sklearn KernelPCA (float32, as KPCA_CAM runs it) vs kpca_by_hand (float64) on layer1..layer4 of
    each model, per sample. Where the sign is a tie (margin < 1e-3) only |values| are compared."""
    worst, ties = 0.0, []
    for name, m, x in models:
        acts = {}
        keys = ['layer1', 'layer2', 'layer3', 'layer4']
        hs = [getattr(m, k).register_forward_hook(lambda mod, i, o, k=k: acts.__setitem__(k, o.detach()))
              for k in keys]
        with torch.no_grad():
            m(x)
        for h in hs:
            h.remove()
        for k in keys:
            a = acts[k].numpy()
            sk = R.get_2d_projection_kernel(a)
            for b in range(a.shape[0]):
                M = a[b].reshape(a.shape[1], -1).T
                hand = R.kpca_by_hand(M - M.mean(axis=0)).reshape(a.shape[2:])
                if R.eigen_diagnostics(hand, [1.0])['sign_margin'] < 1e-3:
                    ties.append(f'{name} {k} sample {b}')
                    worst = max(worst, maxdiff(np.abs(sk[b]), np.abs(hand)))
                else:
                    worst = max(worst, maxdiff(sk[b], hand))
    assert worst <= 1e-4, worst
    return {'sklearn_vs_by_hand_max_abs_diff': worst, 'sign_ties_(not_used_in_fixtures)': ties}


def module_name(model, module):
    for n, mod in model.named_modules():
        if mod is module:
            return n
    raise KeyError(module)


# --------------------------------------------------------------------------------------------- cases

TS_SMALL = [33, 21]
# Where the default layers make a PCA sign ill-posed, other layers are used (see eigen.sign_margin):
#  * KPCA_CAM on resnet18_small layer4 (2×2 grid, activations ~20): the sigmoid kernel saturates to ±1 and
#    the centred kernel's top eigenvector is exactly (1, 1, −1, −1)/2 — its sign is a coin flip;
#  * bottleneck_small layer3: the KPCA / EigenGradCAM projections of sample 0 have a sign margin of ~2e-3.
LAYER_OVERRIDES = {
    ('resnet18_small', 'KPCA_CAM'): (['layer3'], ['layer2', 'layer3']),
    ('bottleneck_small', 'KPCA_CAM'): (['layer4'], ['layer2', 'layer4']),
    ('bottleneck_small', 'EigenGradCAM'): (['layer4'], ['layer2', 'layer4']),
}
MIN_SIGN_MARGIN = 1e-2
# target_idx for the FinerCAM cases: a mid-ranked class whose references lie above and below it, whose
# distance gaps are > 0.05 in every sample, and whose maps are not all zero.
TARGET_IDX = {'resnet18_small': 7, 'bottleneck_small': 6}


def build_cases(name, x_all):
    """The case list for one model. Each spec: (name, method, layers, selection, options, targets, base)."""
    W, H = x_all.shape[-1], x_all.shape[-2]
    b2 = 'all' if x_all.shape[0] == 2 else 'with_hflip'
    t_idx = TARGET_IDX[name]
    specs = []
    plain = ['GradCAM', 'GradCAMPlusPlus', 'XGradCAM', 'HiResCAM', 'GradCAMElementWise', 'LayerCAM', 'EigenCAM',
             'EigenGradCAM', 'KPCA_CAM', 'ScoreCAM', 'AblationCAM', 'FullGrad']
    for meth in plain:
        key = meth.lower()
        one, two = LAYER_OVERRIDES.get((name, meth), (['layer4'], ['layer3', 'layer4']))
        if meth == 'FullGrad':
            one, two = [], None
        tag1 = '+'.join(one) or 'biaslayers'
        specs.append((f'{key}_b1_{tag1}', meth, one, 'first', {}, None, None))
        specs.append((f'{key}_b2_{tag1}_ts33x21', meth, one, b2, {'target_size': TS_SMALL}, None, None))
        if two:
            specs.append((f'{key}_b1_{"+".join(two)}_ts33x21', meth, two, 'first', {'target_size': TS_SMALL},
                          None, None))
    # GradCAM extras: explicit input size, eigen_smooth, target types
    specs += [
        ('gradcam_b2_layer4_ts_input', 'GradCAM', ['layer4'], b2, {'target_size': [W, H]}, None, None),
        ('gradcam_b2_layer4_eigen_smooth_ts33x21', 'GradCAM', ['layer4'], b2,
         {'target_size': TS_SMALL, 'eigen_smooth': True}, None, None),
        ('gradcam_b2_layer3+layer4_eigen_smooth_ts33x21', 'GradCAM', ['layer3', 'layer4'], b2,
         {'target_size': TS_SMALL, 'eigen_smooth': True}, None, None),
        ('gradcam_b2_layer4_target_class_ts33x21', 'GradCAM', ['layer4'], b2, {'target_size': TS_SMALL},
         'class', None),
        ('gradcam_b2_layer4_target_softmax_ts33x21', 'GradCAM', ['layer4'], b2, {'target_size': TS_SMALL},
         'softmax', None),
        ('gradcam_b2_layer4_target_rest_ts33x21', 'GradCAM', ['layer4'], b2, {'target_size': TS_SMALL},
         'rest', None),
        ('gradcam_b2_layer4_target_finer_explicit_ts33x21', 'GradCAM', ['layer4'], b2, {'target_size': TS_SMALL},
         'finer', None),
        ('scorecam_b2_layer4_target_softmax_ts33x21', 'ScoreCAM', ['layer4'], b2, {'target_size': TS_SMALL},
         'softmax', None),
    ]
    # FinerCAM
    F = 'FinerCAM'
    specs += [
        ('finer_gradcam_b1_default', F, ['layer4'], 'first', {}, None, 'GradCAM'),
        ('finer_gradcam_b1_alpha0', F, ['layer4'], 'first', {'alpha': 0}, None, 'GradCAM'),
        ('finer_gradcam_b1_alpha0.6', F, ['layer4'], 'first', {'alpha': 0.6}, None, 'GradCAM'),
        ('finer_gradcam_b2_default', F, ['layer4'], b2, {}, None, 'GradCAM'),
        ('finer_gradcam_b2_alpha0.6_ranks1', F, ['layer4'], b2, {'alpha': 0.6, 'reference_category_ranks': [1]},
         None, 'GradCAM'),
        ('finer_gradcam_b2_ranks1_99', F, ['layer4'], b2, {'reference_category_ranks': [1, 99]}, None, 'GradCAM'),
        ('finer_gradcam_b1_ranks99_fallback', F, ['layer4'], 'first', {'reference_category_ranks': [99]}, None,
         'GradCAM'),
        ('finer_gradcam_b2_target_idx_ts33x21', F, ['layer4'], b2, {'target_idx': t_idx, 'target_size': TS_SMALL},
         None, 'GradCAM'),
        ('finer_gradcam_b1_alpha0_target_idx', F, ['layer4'], 'first', {'alpha': 0, 'target_idx': t_idx}, None,
         'GradCAM'),
        ('finer_gradcam_b2_alpha0.6_target_idx_ranks123', F, ['layer4'], b2,
         {'alpha': 0.6, 'reference_category_ranks': [1, 2, 3], 'target_idx': t_idx}, None, 'GradCAM'),
        ('finer_gradcam_b2_mean_alpha0.6', F, ['layer4'], b2, {'alpha': 0.6, 'objective': 'mean'}, None, 'GradCAM'),
        ('finer_gradcam_b1_ts_input', F, ['layer4'], 'first', {'target_size': [W, H]}, None, 'GradCAM'),
        ('finer_gradcam_b2_layer3+layer4_ts33x21', F, ['layer3', 'layer4'], b2, {'target_size': TS_SMALL}, None,
         'GradCAM'),
        ('finer_gradcam_b2_layer3', F, ['layer3'], b2, {}, None, 'GradCAM'),
        ('finer_layercam_b2_default', F, ['layer4'], b2, {}, None, 'LayerCAM'),
        ('finer_scorecam_b2_default', F, ['layer4'], b2, {}, None, 'ScoreCAM'),
    ]
    return specs


def select_input(x_all, sel):
    if sel == 'first':
        return x_all[:1].clone()
    if sel == 'all':
        assert x_all.shape[0] == 2
        return x_all.clone()
    if sel == 'with_hflip':
        assert x_all.shape[0] == 1
        return torch.cat([x_all, x_all.flip(-1)]).contiguous()
    raise ValueError(sel)


def make_targets(kind, logits):
    """Explicit per-sample targets (chosen from the float32 logits of the plain forward)."""
    if kind is None:
        return None
    order = np.argsort(-logits, axis=1, kind='stable')
    out = []
    for n in range(logits.shape[0]):
        if kind == 'class':          # a mid-ranked class, not the argmax
            out.append(R.ClassifierOutputTarget(int(order[n, 2 + n])))
        elif kind == 'softmax':
            # sample 0: the argmax unless its probability is > 0.99 (then ∂p/∂z ∝ 1 − p cancels in float32),
            # else the runner-up; sample 1: the runner-up
            z = logits[n].astype(np.float64)
            p_top = 1.0 / np.exp(z - z.max()).sum()
            pick = 0 if n == 0 and p_top < 0.99 else 1
            out.append(R.ClassifierOutputSoftmaxTarget(int(order[n, pick])))
        elif kind == 'rest':
            out.append(R.ClassifierOutputReST(int(order[n, n])))
        elif kind == 'finer':        # sample 0: refs with one out of range; sample 1: all out of range → z[n]
            K = logits.shape[1]
            refs = [int(order[n, 1]), int(order[n, 3]), K + 5] if n == 0 else [K, 99]
            out.append(R.FinerWeightedTarget(int(order[n, 0]), refs, 1.0 if n == 0 else 0.6))
        else:
            raise ValueError(kind)
    return out


def run_case(model, spec, x_all, dtype):
    """Runs one case in the given dtype; returns (cam, logits, targets, extra)."""
    cname, meth, layer_names, sel, opts, tkind, base = spec
    m = model if dtype == torch.float32 else copy.deepcopy(model).double()
    x = select_input(x_all, sel).to(dtype)
    layers = [m.get_submodule(n) for n in layer_names]
    with torch.no_grad():
        plain_logits = model(select_input(x_all, sel)).numpy()
    targets = make_targets(tkind, plain_logits)
    extra = {}
    if meth == 'FinerCAM':
        kw = {k: (tuple(v) if k == 'target_size' else v) for k, v in opts.items()}
        with R.FinerCAM(m, layers, base_method=R.METHODS[base]) as f:
            cam, out, mains, refs = f(x, targets=targets, **kw)
            extra.update(main_categories=mains, reference_categories=refs, distance_gaps=f.gaps)
        return cam, out.numpy(), None, extra
    kw = {k: (tuple(v) if k == 'target_size' else v) for k, v in opts.items()}
    with R.METHODS[meth](m, layers) as c:
        cam, out, used = c(x, targets, **kw)
        if c.eigen_diag:
            extra['eigen'] = c.eigen_diag
        extra['used_targets'] = used
        if meth == 'FullGrad':
            extra['bias_layers'] = [module_name(m, L) for L in c.target_layers]
    return cam, out.numpy(), targets, extra


def ablation_values(model, layer_names, x):
    """The value each sample's ablated channels get, per layer (recomputed from the layer outputs)."""
    acts = {}
    hs = [model.get_submodule(n).register_forward_hook(lambda mod, i, o, n=n: acts.__setitem__(n, o.detach()))
          for n in layer_names]
    with torch.no_grad():
        model(x)
    for h in hs:
        h.remove()
    out = []
    for n in layer_names:
        a = acts[n]
        out.append([0.0 if float(a[b].min()) == 0.0 else float(a[b].min()) - 1e7 for b in range(a.shape[0])])
    return out


def kpca_diag(model, layer_names, x):
    """Sign margin and eigenvalue gap of the by-hand kernel PCA for each layer/sample."""
    acts = {}
    hs = [model.get_submodule(n).register_forward_hook(lambda mod, i, o, n=n: acts.__setitem__(n, o.detach()))
          for n in layer_names]
    with torch.no_grad():
        model(x)
    for h in hs:
        h.remove()
    diags = []
    for n in layer_names:
        a = acts[n].numpy().astype(np.float64)
        for b in range(a.shape[0]):
            M = a[b].reshape(a.shape[1], -1).T
            M = M - M.mean(axis=0)
            C = M.shape[1]
            K = np.tanh(M @ M.T / C + 1.0)
            one = np.full(K.shape, 1.0 / K.shape[0])
            Kc = K - one @ K - K @ one + one @ K @ one
            w = np.linalg.eigvalsh(Kc)[::-1]
            p = R.kpca_by_hand(M)
            diags.append(R.eigen_diagnostics(p, w))
    return diags


def make_model_file(name):
    model, io, mcase = load_model(name)
    x_all = io['input']
    val = validate_model(name, model, io)
    cases = []
    for spec in build_cases(name, x_all):
        cname, meth, layer_names, sel, opts, tkind, base = spec
        cam, logits, targets, extra = run_case(model, spec, x_all, torch.float32)
        cam64, logits64, _t, extra64 = run_case(model, spec, x_all, torch.float64)
        x = select_input(x_all, sel)
        c = {'name': cname, 'method': meth}
        if base:
            c['base_method'] = base
        c['target_layers'] = layer_names
        if meth == 'FullGrad':
            c['bias_layers'] = extra['bias_layers']
        c['input'] = sel
        c['input_shape'] = list(x.shape)
        c['options'] = opts
        c['targets'] = None if targets is None else [t.describe() for t in targets]
        if meth == 'FinerCAM':
            assert extra['main_categories'] == extra64['main_categories']
            assert extra['reference_categories'] == extra64['reference_categories']
            c['target_categories'] = extra['main_categories']
            c['main_categories'] = extra['main_categories']
            c['reference_categories'] = extra['reference_categories']
            gaps = extra['distance_gaps']
            c['min_distance_gap'] = rnd(min(gaps), 4)
            c['distance_gaps'] = [rnd(g, 4) for g in gaps]
            assert min(gaps) > 1e-3, (cname, gaps)
        else:
            used = extra['used_targets']
            c['target_categories'] = [t.main if isinstance(t, R.FinerWeightedTarget) else t.category for t in used]
        c['logits'] = [flat(row) for row in logits]
        c['cam_shape'] = list(cam.shape)
        c['cam'] = flat(cam)
        c['f64_max_abs_diff'] = rnd(maxdiff(cam, cam64), 2)
        diag = extra.get('eigen')
        if meth == 'KPCA_CAM':
            diag = kpca_diag(model, layer_names, x)
        if diag:
            c['eigen'] = {'sign_margin': rnd(min(d['sign_margin'] for d in diag)),
                          'sv_gap': rnd(min(d['sv_gap'] for d in diag))}
            assert min(c['eigen'].values()) >= MIN_SIGN_MARGIN, (cname, c['eigen'])
        if meth == 'AblationCAM':
            c['ablation_values'] = ablation_values(model, layer_names, x)
        cases.append(c)
    doc = {
        'generator': 'test/reference/make_cam_fixtures.py (+ cam_reference.py); see its header',
        'model': {'name': name, 'weights': f'test/fixtures/models/{name}/weights.safetensors',
                  'case': f'test/fixtures/models/{name}/case.json', 'block': mcase['block'], 'layers': mcase['layers'],
                  'widths': mcase['widths'], 'numClasses': mcase['numClasses']},
        'input': {'file': f'test/fixtures/models/{name}/io.safetensors', 'tensor': 'input',
                  'shape': list(x_all.shape),
                  'selections': {'first': 'input[0:1]', 'all': 'input',
                                 'with_hflip': 'cat([input, input.flip(-1)], 0)'}},
        'conventions': {
            'target_size': '[width, height]; absent = the input size for plain methods, the feature grid '
                           '(no resize) for FinerCAM',
            'pca_sign': 'projection negated when its entry of largest |value| (first, row-major) is negative',
            'kpca': "sklearn KernelPCA(n_components=1, kernel='sigmoid', gamma=1/C, coef0=1), svd_flip sign "
                    '(eigenvector largest-|.| entry positive)',
            'ablation': 'ablated channel = 0 if min(sample output) == 0 else min - 1e7; w = (y - y_k) / y',
            'batch': 'one target per sample; backward of the sum of per-sample target scores',
            'finer_sort': '|z_c - z_t| ascending, ties by class index; rank 0 = main; ranks >= K dropped',
        },
        'model_check': {k: rnd(v, 2) for k, v in val.items()},
        'cases': cases,
    }
    return doc, (model, x_all)


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT, exist_ok=True)
    validation = {'peer_vectors': validate_peer(), 'official_dinov2_tiny_finer_stored_tensors': validate_vit()}
    for k, v in validation['peer_vectors'].items():
        print('peer', k, v)
    for k, v in validation['official_dinov2_tiny_finer_stored_tensors'].items():
        print('vit ', k, v)
    docs, kmodels = {}, []
    for name in ['resnet18_small', 'bottleneck_small']:
        docs[name], (mm, xa) = make_model_file(name)
        kmodels.append((name, mm, select_input(xa, 'all' if xa.shape[0] == 2 else 'with_hflip')))
        validation['model_' + name] = docs[name]['model_check']
    validation['kpca'] = validate_kpca(kmodels)
    total = 0
    for name, doc in docs.items():
        n = dump(os.path.join(OUT, name + '.json'), doc)
        total += n
        counts = {}
        for c in doc['cases']:
            key = c['method'] + ('(' + c['base_method'] + ')' if 'base_method' in c else '')
            counts[key] = counts.get(key, 0) + 1
        print(name, len(doc['cases']), 'cases', n, 'bytes', counts)
        worst = sorted(doc['cases'], key=lambda c: -c['f64_max_abs_diff'])[:5]
        print('  worst f64 diffs', [(c['name'], c['f64_max_abs_diff']) for c in worst])
    validation = json.loads(json.dumps(validation), parse_float=lambda s: rnd(float(s), 2))
    total += dump(os.path.join(OUT, 'validation.json'), validation)
    print('total bytes', total)
    assert total < 2_000_000


if __name__ == '__main__':
    main()
