#!/usr/bin/env python3
"""Reference fixtures for issue 15 (the rest of the seed's CAM package), made by the package itself.

Regenerate (deterministic; the same bytes on every run):

    /usr/bin/python3 test/reference/make_cam_extras_fixtures.py PGC_SOURCE

PGC_SOURCE is the public Imageomics/Finer-CAM repository (commit 564ad2c): a work tree, or a bare git
directory (its `pytorch_grad_cam/` is extracted with `git archive` into a temporary folder, imported from
there and deleted; it is never committed here). Needs Debian's torch 1.13 / torchvision 0.14 / numpy /
OpenCV 4.6 / scikit-learn 1.2 / scipy / matplotlib. The package imports `ttach` (only for aug_smooth,
unused here): a stand-in module with do-nothing classes is registered before the import.

Writes test/fixtures/cam-extras/:
  seg_<name>.safetensors  torchvision segmentation models (DeepLabV3 / FCN with their real classes:
                          IntermediateLayerGetter over a ResNet with replace_stride_with_dilation
                          [False, True, True], ASPP, DeepLabHead's layer list, FCNHead, aux heads), with the
                          stage widths and the ASPP width reduced so the files stay small; keys `model.*` are
                          the state dict, `input`, `out`, `aux` the forward pass, `cam_<case>` the CAMs.
  seg.json                configs and the CAM cases (method, target layers, targets with their masks).
  seg_keys.json           state-dict names and shapes of the full-size torchvision models (untrained).
  generate_seg.safetensors / generate_seg.json
                          `finercam generate` on a segmentation model (test/cli/generate-segmentation.test.ts):
                          three small RGB images of different sizes and their region masks (u8), the seed's
                          three modes for --target-class 4 and for the region's top class — Finer-CAM on the
                          region's mean logits as make_seg_finer, Grad-CAM at the feature grid resized with
                          cv2.resize INTER_LINEAR to the image's size, stored as float16 as generate's .npy —,
                          the region scores, and for the top class Guided Grad-CAM (the package's
                          GuidedBackpropReLUModel on the model seen as a classifier of the region, Σ out·mask,
                          times the map, deprocess_image) — generate's --method guided-gradcam.
  guided.safetensors      GuidedBackpropReLUModel on test/fixtures/models/resnet18_small, for the top class
                          and for class 3, deprocess_image of it, Guided Grad-CAM (cam.py's recipe:
                          deprocess_image(cam_mask * gb)), and the logits before and after.
  sobel.json              sobel_cam bytes of two RGB uint8 images.
  metrics.json            the perturbation metrics on resnet18_small.
  dff.json                sklearn NMF (init 'random', random_state 0, and init 'custom'), the first numpy
                          RandomState(0) normals, DeepFeatureFactorization on resnet18_small (layer4 + fc head,
                          layer3 alone; the fork's capture needs H/W, so DFF runs with a capture whose H/W
                          default to None), and show_factorization_on_image without the matplotlib legend.
  misc.json               swinT_reshape_transform of a random tensor; find_layer_types_recursive /
                          find_layer_predicate_recursive / replace_all_layer_type_recursive on resnet18_small
                          (layers named by their first dotted name).

How the CAMs are made (the vendored BaseCAM.forward is broken — see shared/notes/cam-semantics.md §1.7 — and
FinerCAM hands the target the whole batch output): `cam.activations_and_grads(x, None, None)`, then the
loss Σ_n target_n(output_n) per sample (upstream's semantics), `loss.backward()`, then the package's own
`compute_cam_per_layer(x, targets, (W, H), False)` and `aggregate_multi_layers`.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import types

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_model_fixtures import write_safetensors, randomize  # noqa: E402

REPO = os.path.normpath(os.path.join(HERE, '..', '..'))
OUT = os.path.join(REPO, 'test', 'fixtures', 'cam-extras')


def import_package(src, tmp):
    if os.path.isdir(os.path.join(src, 'pytorch_grad_cam')):
        shutil.copytree(os.path.join(src, 'pytorch_grad_cam'), os.path.join(tmp, 'pytorch_grad_cam'))
    else:
        tar = subprocess.run(['git', '--git-dir', src, 'archive', 'HEAD', 'pytorch_grad_cam'], check=True, capture_output=True).stdout
        subprocess.run(['tar', '-x', '-C', tmp], input=tar, check=True)
    tta = types.ModuleType('ttach')
    class Stub:
        def __init__(self, *a, **k):
            pass
    tta.Compose = tta.HorizontalFlip = tta.Multiply = Stub
    sys.modules.setdefault('ttach', tta)
    sys.path.insert(0, tmp)
    import pytorch_grad_cam  # noqa: F401


def read_safetensors(path):
    import struct
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
    x = np.float32(v)
    if x == 0:
        return 0.0
    d = float(str(x))
    assert np.float32(d) == x
    return d


def flat(a):
    return [f32(v) for v in np.asarray(a, dtype=np.float32).reshape(-1)]


def dump(path, obj):
    s = json.dumps(obj, separators=(',', ':'))
    s = re.sub(r'(?<=[\[,])0\.0(?=[,\]])', '0', s)
    with open(path, 'w') as f:
        f.write(s + '\n')


# ------------------------------------------------------------------------------------ segmentation

def small_dilated_resnet(layers, widths):
    """torchvision's ResNet with Bottleneck blocks, re-made with small stage widths by its own _make_layer,
    the last two stages dilated as replace_stride_with_dilation=[False, True, True] does."""
    from torchvision.models.resnet import ResNet, Bottleneck
    m = ResNet(Bottleneck, [1, 1, 1, 1], replace_stride_with_dilation=[False, True, True])
    m.inplanes, m.dilation = widths[0], 1
    m.conv1 = nn.Conv2d(3, widths[0], kernel_size=7, stride=2, padding=3, bias=False)
    m.bn1 = nn.BatchNorm2d(widths[0])
    m.layer1 = m._make_layer(Bottleneck, widths[0], layers[0])
    m.layer2 = m._make_layer(Bottleneck, widths[1], layers[1], stride=2)
    m.layer3 = m._make_layer(Bottleneck, widths[2], layers[2], stride=2, dilate=True)
    m.layer4 = m._make_layer(Bottleneck, widths[3], layers[3], stride=2, dilate=True)
    return m


def small_segmentation(kind, layers, widths, num_classes, aspp_channels, rates):
    from torchvision.models._utils import IntermediateLayerGetter
    from torchvision.models.segmentation.deeplabv3 import DeepLabV3, ASPP
    from torchvision.models.segmentation.fcn import FCN, FCNHead
    body = IntermediateLayerGetter(small_dilated_resnet(layers, widths), return_layers={'layer4': 'out', 'layer3': 'aux'})
    c4, c3 = widths[3] * 4, widths[2] * 4
    aux = FCNHead(c3, num_classes)
    if kind == 'deeplabv3':
        c = aspp_channels
        # DeepLabHead(in, classes) with its 256 channels made `c`: the same layer list
        head = nn.Sequential(ASPP(c4, rates, c), nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, num_classes, 1))
        return DeepLabV3(body, head, aux)
    return FCN(body, FCNHead(c4, num_classes), aux)


class OutWrapper(nn.Module):
    """pytorch-grad-cam's segmentation tutorial: the model returns a dict; CAMs explain ['out']."""
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)['out']


def package_cam(method_cls, model, layers, x, targets, target_size='input'):
    cam = method_cls(model=model, target_layers=layers)
    out = cam.activations_and_grads(x, None, None)
    model.zero_grad()
    loss = sum(t(o) for t, o in zip(targets, out))
    loss.backward(retain_graph=True)
    per = cam.compute_cam_per_layer(x, targets, (x.shape[3], x.shape[2]) if target_size == 'input' else target_size, False)
    res = cam.aggregate_multi_layers(per)
    cam.activations_and_grads.release()
    return res


def make_seg_finer(model, x, tensors):
    """Finer-CAM on a segmentation model, as defined in cam/finer-segmentation.ts: the mask-weighted mean
    logits s_c = Σ out[c]·mask / Σ mask replace the logits. The package's own FinerWeightedTarget is applied to s, the
    references are chosen by the official selection code's rule (argsort |s − s_t|, rank 0 = main), and the
    maps stay at the feature grid (target_size None), as the official FinerCAM returns them."""
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import FinerWeightedTarget
    N = x.shape[0]
    masks = [tensors[f'mask_GradCAM_backbone-layer4_{n}'].numpy() for n in range(N)]
    with torch.no_grad():
        out = model(x)
    scores = np.stack([((out[n] * torch.from_numpy(masks[n])).sum((1, 2)) / torch.from_numpy(masks[n]).sum()).numpy() for n in range(N)])
    cases = []
    for name, target_idx, alpha, ranks in [('default', None, 1.0, [1, 2, 3]), ('compare_t2', 2, 1.0, [1]), ('baseline_t2', 2, 0.0, [1, 2, 3]), ('alpha06_t0', 0, 0.6, [1, 2, 9])]:
        mains, refs, targets = [], [], []
        for n in range(N):
            z = scores[n]
            t = z[np.argmax(z)] if target_idx is None else z[target_idx]
            order = np.argsort(np.abs(z - t))
            gaps = np.diff(np.sort(np.abs(z - t)))
            assert gaps.min() > 1e-3, gaps  # no near-ties: the order is unambiguous
            main = int(order[0])
            r = [int(order[k]) for k in ranks if k < len(z)]
            mains.append(main)
            refs.append(r)
            fw = FinerWeightedTarget(main, r, alpha)
            targets.append(lambda o, m=torch.from_numpy(masks[n]), fw=fw: fw((o * m).sum((1, 2)) / m.sum()))
        cam = package_cam(GradCAM, model, [model.model.backbone.layer4], x, targets, target_size=None)
        tensors[f'finer_{name}'] = torch.from_numpy(np.float32(cam))
        cases.append({'name': name, 'targetIdx': target_idx, 'alpha': alpha, 'ranks': ranks, 'mains': mains, 'references': refs})
    tensors['finer_scores'] = torch.from_numpy(np.float32(scores))
    return cases


def make_seg():
    from pytorch_grad_cam import GradCAM, HiResCAM, GradCAMPlusPlus
    from pytorch_grad_cam.utils.model_targets import SemanticSegmentationTarget
    import torchvision.models.segmentation as S
    methods = {'GradCAM': GradCAM, 'HiResCAM': HiResCAM, 'GradCAMPlusPlus': GradCAMPlusPlus}
    configs = [
        dict(name='deeplabv3_tiny', kind='deeplabv3', layers=[1, 1, 2, 2], widths=[4, 4, 8, 8], numClasses=5, asppChannels=8, atrousRates=[2, 3, 5], seed=11, input=[2, 3, 24, 28]),
        dict(name='fcn_tiny', kind='fcn', layers=[1, 1, 2, 1], widths=[4, 4, 8, 8], numClasses=4, seed=12, input=[1, 3, 21, 27]),
    ]
    meta = {'models': [], 'cases': []}
    for cfg in configs:
        g = torch.Generator().manual_seed(cfg['seed'])
        torch.manual_seed(cfg['seed'])
        m = small_segmentation(cfg['kind'], cfg['layers'], cfg['widths'], cfg['numClasses'], cfg.get('asppChannels'), cfg.get('atrousRates'))
        randomize(m, g)
        m.eval()
        x = torch.randn(cfg['input'], generator=g)
        with torch.no_grad():
            r = m(x)
        tensors = {f'model.{k}': v for k, v in m.state_dict().items()}
        tensors.update(input=x, out=r['out'], aux=r['aux'])
        wrapped = OutWrapper(m)
        N, _, H, W = cfg['input']
        argmax = r['out'].argmax(1)
        cases = []
        # masks that are not the argmax region: a rectangle (and, for sample 1, a diagonal band)
        for method, layer_names, cats in [('GradCAM', ['backbone.layer4'], [1, 3]), ('HiResCAM', ['backbone.layer4'], [2, 0]),
                                          ('GradCAMPlusPlus', ['backbone.layer3', 'classifier.0' if cfg['kind'] == 'deeplabv3' else 'classifier.1'], [0, 2])]:
            masks = []
            for n in range(N):
                mk = np.zeros((H, W), np.float32)
                if n == 0:
                    mk[H // 4: H // 4 + H // 3, W // 5: W // 5 + W // 2] = 1
                else:
                    yy, xx = np.mgrid[0:H, 0:W]
                    mk[np.abs(yy - xx * H / W) < 6] = 1
                masks.append(mk)
                assert not np.array_equal(mk, (argmax[n].numpy() == cats[n]).astype(np.float32))
            targets = [SemanticSegmentationTarget(cats[n], masks[n]) for n in range(N)]
            layers = [wrapped.model.get_submodule(l) for l in layer_names]
            cam = package_cam(methods[method], wrapped, layers, x, targets)
            cname = f'{method}_{"_".join(l.replace(".", "-") for l in layer_names)}'
            tensors[f'cam_{cname}'] = torch.from_numpy(np.float32(cam))
            for n in range(N):
                tensors[f'mask_{cname}_{n}'] = torch.from_numpy(masks[n])
            cases.append({'name': cname, 'method': method, 'targetLayers': layer_names, 'categories': cats[:N]})
        if cfg['kind'] == 'deeplabv3':
            meta['finer'] = make_seg_finer(wrapped, x, tensors)
        write_safetensors(os.path.join(OUT, f'seg_{cfg["name"]}.safetensors'), tensors)
        meta['models'].append({**cfg, 'params': sum(p.numel() for p in m.parameters())})
        meta['cases'].append({'model': cfg['name'], 'cases': cases})
    dump(os.path.join(OUT, 'seg.json'), meta)
    # full-size names/shapes: our constructors must give torchvision's state dicts
    keys = {}
    for fn, kw in [('deeplabv3_resnet50', dict(num_classes=21, aux_loss=True)), ('fcn_resnet50', dict(num_classes=21, aux_loss=True)),
                   ('deeplabv3_resnet101', dict(num_classes=21, aux_loss=False))]:
        mm = getattr(S, fn)(weights=None, weights_backbone=None, **kw)
        keys[fn] = [[k, list(v.shape)] for k, v in mm.state_dict().items()]
    dump(os.path.join(OUT, 'seg_keys.json'), keys)


# ------------------------------------------------------------------- generate on a segmentation model

def write_safetensors_typed(path, tensors):
    """write_safetensors plus float16 and uint8 (numpy arrays), for fixtures stored at generate's precision."""
    import struct
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(a)
        dtype = {np.dtype('float32'): 'F32', np.dtype('float16'): 'F16', np.dtype('uint8'): 'U8'}[a.dtype]
        data = a.astype(a.dtype.newbyteorder('<')).tobytes()
        header[name] = {'dtype': dtype, 'shape': list(a.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


GENERATE_MODES = [('baseline', 0.0, [1, 2, 3]), ('finer-default', 1.0, [1, 2, 3]), ('finer-compare', 1.0, [1])]


def make_generate_seg():
    """What `finercam generate --model <deeplabv3_tiny .json> --mask-dir masks` writes for three images of
    different sizes (no resizing: they are below --max-size, and a ResNet needs no patch rounding). The input
    is torchvision's ToTensor + Normalize(ImageNet); the region of each image is its mask (non-black pixels)."""
    import cv2
    from pytorch_grad_cam import GradCAM, GuidedBackpropReLUModel
    from pytorch_grad_cam.utils.image import deprocess_image
    from pytorch_grad_cam.utils.model_targets import FinerWeightedTarget
    cfg = [c for c in json.load(open(os.path.join(OUT, 'seg.json')))['models'] if c['name'] == 'deeplabv3_tiny'][0]
    m = small_segmentation(cfg['kind'], cfg['layers'], cfg['widths'], cfg['numClasses'], cfg['asppChannels'], cfg['atrousRates'])
    sd = read_safetensors(os.path.join(OUT, 'seg_deeplabv3_tiny.safetensors'))
    m.load_state_dict({k[6:]: v for k, v in sd.items() if k.startswith('model.')}, strict=True)
    m.eval()
    wrapped = OutWrapper(m)
    K = cfg['numClasses']
    mean = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float32)[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225], dtype=torch.float32)[:, None, None]
    rng = np.random.RandomState(21)
    images = [('A/a.png', 30, 26), ('A/b.png', 24, 33), ('B/c.png', 35, 22)]
    tensors, meta = {}, {'model': 'deeplabv3_tiny', 'modes': [m_[0] for m_ in GENERATE_MODES], 'images': [], 'runs': []}
    xs, masks = [], []
    for i, (src, W, H) in enumerate(images):
        yy, xx = np.mgrid[0:H, 0:W]
        smooth = np.stack([128 + 90 * np.sin(xx / (3 + i) + c) * np.cos(yy / (4 + c)) for c in range(3)], -1)
        img = np.uint8(np.clip(smooth + rng.randint(-30, 31, size=(H, W, 3)), 0, 255))
        mk = np.zeros((H, W), np.uint8)
        if i == 0:
            mk[H // 4: H // 4 + H // 2, W // 5: W // 5 + W // 2] = 1          # a rectangle
        elif i == 1:
            mk[(yy - H / 2) ** 2 / (H / 3) ** 2 + (xx - W / 3) ** 2 / (W / 4) ** 2 < 1] = 1   # an ellipse
        else:
            mk[np.abs(yy - xx * H / W) < 5] = 1                            # a diagonal band
        tensors[f'image_{i}'], tensors[f'mask_{i}'] = img, mk
        x = ((torch.from_numpy(img).permute(2, 0, 1).contiguous().float().div(255) - mean) / std)[None]
        xs.append(x)
        masks.append(torch.from_numpy(np.float32(mk)))
        with torch.no_grad():
            assert not torch.equal(wrapped(x)[0].argmax(0), masks[i] > 0)
        meta['images'].append({'source': src, 'width': W, 'height': H})
    for run, target_class in [('t4', 4), ('top', None)]:
        entry = {'name': run, 'targetClass': target_class, 'mains': [], 'references': []}
        for i, (x, mk) in enumerate(zip(xs, masks)):
            H, W = mk.shape
            with torch.no_grad():
                out = wrapped(x)
            z = ((out[0] * mk).sum((1, 2)) / mk.sum()).numpy()
            t = int(np.argmax(z)) if target_class is None else target_class
            d = np.abs(z - z[t])
            assert np.diff(np.sort(d)).min() > 1e-3, d  # no near-ties: the order is unambiguous
            order = np.argsort(d, kind='stable')
            mains, refs, fulls = [], [], []
            for name, alpha, ranks in GENERATE_MODES:
                main, r = int(order[0]), [int(order[k]) for k in ranks if k < K]
                fw = FinerWeightedTarget(main, r, alpha)
                target = lambda o, m_=mk, fw=fw: fw((o * m_).sum((1, 2)) / m_.sum())  # noqa: E731
                cam = package_cam(GradCAM, wrapped, [wrapped.model.backbone.layer4], x, [target], target_size=None)[0]
                # the region's top class gives maps with something in them (class 4 is all-zero in some modes)
                assert target_class is not None or cam.max() > cam.min()
                full = cv2.resize(np.float32(cam), (W, H), interpolation=cv2.INTER_LINEAR)
                tensors[f'{run}_{i}_{name}'] = np.float16(full)
                mains.append(main)
                refs.append(r)
                fulls.append(full)
            tensors[f'{run}_{i}_scores'] = np.float32(z)
            entry['mains'].append(mains)
            entry['references'].append(refs)
            if run == 'top':
                # --method guided-gradcam: the package's Guided Backprop of the main class on Σ out·mask
                class RegionSums(nn.Module):
                    def __init__(self, model, mask):
                        super().__init__()
                        self.model, self.mask = model, mask

                    def forward(self, x):
                        return (self.model(x) * self.mask).sum((2, 3))
                gb = GuidedBackpropReLUModel(RegionSums(wrapped, mk), 'cpu')(x.clone(), target_category=mains[0])
                for (name, _, _), full in zip(GENERATE_MODES, fulls):
                    tensors[f'guided_{i}_{name}'] = deprocess_image(np.stack([full] * 3, axis=-1) * gb)
        meta['runs'].append(entry)
    write_safetensors_typed(os.path.join(OUT, 'generate_seg.safetensors'), tensors)
    dump(os.path.join(OUT, 'generate_seg.json'), meta)


# ------------------------------------------------------------------------------ guided backprop

def load_resnet18_small():
    from make_model_fixtures import small_resnet
    from torchvision.models.resnet import BasicBlock
    d = os.path.join(REPO, 'test', 'fixtures', 'models', 'resnet18_small')
    m = small_resnet(BasicBlock, [2, 2, 2, 2], [4, 8, 16, 32], 10)
    m.load_state_dict(read_safetensors(os.path.join(d, 'weights.safetensors')), strict=True)
    m.eval()
    io = read_safetensors(os.path.join(d, 'io.safetensors'))
    return m, io['input'][:, :, 8:40, 10:34].contiguous()  # a 32×24 crop keeps the files small


def make_guided():
    from pytorch_grad_cam import GuidedBackpropReLUModel, GradCAM
    from pytorch_grad_cam.utils.image import deprocess_image
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    m, x_all = load_resnet18_small()
    x = x_all[0:1].clone()
    with torch.no_grad():
        before = m(x_all)
    gbm = GuidedBackpropReLUModel(m, 'cpu')
    gb_top = gbm(x.clone(), target_category=None)
    gb_3 = gbm(x.clone(), target_category=3)
    with torch.no_grad():
        after = m(x_all)
    assert torch.equal(before, after)
    top = int(before[0].argmax())
    targets = [ClassifierOutputTarget(3)]
    cam = package_cam(GradCAM, m, [m.layer4], x, targets)[0]
    cam_mask = np.stack([cam] * 3, axis=-1)  # cv2.merge([cam, cam, cam])
    tensors = {
        'input': x, 'logits_before': before, 'logits_after': after, 'top': torch.tensor([top]), 'input_all': x_all,
        'gb_top': torch.from_numpy(np.float32(gb_top)), 'gb_3': torch.from_numpy(np.float32(gb_3)),
        'deprocess_gb_3': torch.from_numpy(deprocess_image(gb_3).astype(np.float32)),
        'gradcam_3': torch.from_numpy(np.float32(cam)),
        'guided_gradcam_3': torch.from_numpy(deprocess_image(cam_mask * gb_3).astype(np.float32)),
    }
    write_safetensors(os.path.join(OUT, 'guided.safetensors'), tensors)


# -------------------------------------------------------------------------------------- sobel

def make_sobel():
    from pytorch_grad_cam.sobel_cam import sobel_cam
    rng = np.random.RandomState(5)
    a = rng.randint(0, 256, size=(11, 14, 3)).astype(np.uint8)
    yy, xx = np.mgrid[0:17, 0:23]
    b = np.stack([(xx * 11) % 256, (yy * 15) % 256, ((xx + yy) * 7) % 256], -1).astype(np.uint8)
    b[5:12, 6:15] = 255 - b[5:12, 6:15]
    cases = []
    for name, img in [('random', a), ('pattern', b)]:
        s = sobel_cam(img)
        cases.append({'name': name, 'height': img.shape[0], 'width': img.shape[1], 'rgb': img.reshape(-1).tolist(), 'sobel': s.reshape(-1).tolist()})
    dump(os.path.join(OUT, 'sobel.json'), {'cases': cases})


# ------------------------------------------------------------------------------------ metrics

def make_metrics():
    import pytorch_grad_cam.metrics.road as road
    from pytorch_grad_cam.metrics.cam_mult_image import DropInConfidence, IncreaseInConfidence, CamMultImageConfidenceChange
    from pytorch_grad_cam.metrics.perturbation_confidence import PerturbationConfidenceMetric, RemoveMostRelevantFirst, RemoveLeastRelevantFirst, AveragerAcrossThresholds
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget, ClassifierOutputTarget, SoftmaxOutputTarget, RawScoresOutputTarget
    m, x = load_resnet18_small()
    N, _, H, W = x.shape
    i = np.arange(N * H * W, dtype=np.float64)
    cams = np.float32((np.sin(0.37 * i + 0.2) * np.cos(0.05 * i) + 1) / 2).reshape(N, H, W)
    with torch.no_grad():
        logits = m(x)
    classes = [int(c) for c in logits.argmax(1)]
    soft = [ClassifierOutputSoftmaxTarget(c) for c in classes]
    logit_t = [ClassifierOutputTarget(c) for c in [3, 7]]
    out = {'classes': classes, 'cams': flat(cams), 'camShape': [N, H, W]}
    out['drop_softmax'] = flat(DropInConfidence()(x, cams, soft, m))
    out['increase_softmax'] = flat(IncreaseInConfidence()(x, cams, soft, m))
    out['drop_logit'] = flat(DropInConfidence()(x, cams, logit_t, m))
    out['increase_logit'] = flat(IncreaseInConfidence()(x, cams, logit_t, m))
    # vector-valued targets: the change of every softmax probability / raw score
    out['cam_mult_softmax_output'] = flat(CamMultImageConfidenceChange()(x, cams, [SoftmaxOutputTarget()] * N, m))
    out['cam_mult_raw_scores'] = flat(CamMultImageConfidenceChange()(x, cams, [RawScoresOutputTarget()] * N, m))
    # RemoveMost/LeastRelevantFirst with a plain imputer (x · keep-mask), at a percentile and with 'auto' (Otsu)
    mult = lambda img, mask: img * mask  # noqa: E731
    for p in [30, 75, 'auto']:
        out[f'morf_mult_{p}'] = flat(PerturbationConfidenceMetric(RemoveMostRelevantFirst(p, mult))(x, cams, soft, m))
        out[f'lerf_mult_{p}'] = flat(PerturbationConfidenceMetric(RemoveLeastRelevantFirst(p, mult))(x, cams, soft, m))
    out['morf_mult_75_nodiff'] = flat(PerturbationConfidenceMetric(RemoveMostRelevantFirst(75, mult))(x, cams, soft, m, return_diff=False))
    # ROAD with the imputation noise set to 0 (the package draws it from torch.randn_like: not reproducible
    # across libraries): NoisyLinearImputer is replaced in the module by one with noise=0.
    orig = road.NoisyLinearImputer
    class NoiseFree(orig):
        def __init__(self, noise=0.01, weighting=road.neighbors_weights):
            super().__init__(noise=0.0)
    road.NoisyLinearImputer = NoiseFree
    try:
        pcts = [20, 50, 80]
        out['road_percentiles'] = pcts
        out['road_morf_avg'] = flat(road.ROADMostRelevantFirstAverage(pcts)(x, cams, soft, m))
        out['road_lerf_avg'] = flat(road.ROADLeastRelevantFirstAverage(pcts)(x, cams, soft, m))
        out['road_combined'] = flat(road.ROADCombined(pcts)(x, cams, soft, m))
        out['averager_morf_mult'] = flat(AveragerAcrossThresholds(lambda p: PerturbationConfidenceMetric(RemoveMostRelevantFirst(p, mult)), pcts)(x, cams, soft, m))
    finally:
        road.NoisyLinearImputer = orig
    dump(os.path.join(OUT, 'metrics.json'), out)


# ------------------------------------------------------------------------------- swin / find_layers

def make_misc():
    from pytorch_grad_cam.utils.reshape_transforms import swinT_reshape_transform
    from pytorch_grad_cam.utils.find_layers import find_layer_types_recursive, find_layer_predicate_recursive, replace_all_layer_type_recursive
    g = torch.Generator().manual_seed(3)
    t = torch.randn((2, 12, 5), generator=g)
    out = {'swin': {'input': flat(t), 'inputShape': list(t.shape), 'height': 3, 'width': 4,
                    'output': flat(swinT_reshape_transform(t, 3, 4)), 'outputShape': list(swinT_reshape_transform(t, 3, 4).shape)}}
    m, _ = load_resnet18_small()
    names = {id(mod): n for n, mod in m.named_modules(remove_duplicate=False)}
    out['find_types_conv_bn'] = [names[id(l)] for l in find_layer_types_recursive(m, [nn.Conv2d, nn.BatchNorm2d])]
    out['find_predicate_1x1'] = [names[id(l)] for l in find_layer_predicate_recursive(m, lambda l: isinstance(l, nn.Conv2d) and l.kernel_size == (1, 1))]
    out['find_types_relu'] = [names[id(l)] for l in find_layer_types_recursive(m, [nn.ReLU])]
    replace_all_layer_type_recursive(m, nn.BatchNorm2d, nn.Identity())
    out['after_replace_bn_identity'] = [n for n, mod in m.named_modules() if isinstance(mod, nn.Identity)]
    dump(os.path.join(OUT, 'misc.json'), out)


# ------------------------------------------------------------------------------------------- DFF

def make_dff():
    from pytorch_grad_cam import DeepFeatureFactorization
    from pytorch_grad_cam.utils.image import show_factorization_on_image
    from sklearn.decomposition import NMF
    from make_model_fixtures import small_resnet
    from torchvision.models.resnet import BasicBlock
    out = {}
    # sklearn's NMF alone: random init (RandomState(0)) and a given start (init='custom')
    g = torch.Generator().manual_seed(9)
    X = torch.rand((12, 20), generator=g).numpy() ** 2
    nm = NMF(n_components=4, init='random', random_state=0)
    W = nm.fit_transform(X)
    out['nmf'] = {'X': flat(X), 'shape': [12, 20], 'k': 4, 'W': flat(W), 'H': flat(nm.components_), 'nIter': int(nm.n_iter_)}
    rs = np.random.RandomState(0)
    out['numpy_normals'] = [float(v) for v in rs.standard_normal(7)]
    W0 = np.float32(np.abs(rs.standard_normal((12, 3))) * 0.5)
    H0 = np.float32(np.abs(rs.standard_normal((3, 20))) * 0.5)
    nm = NMF(n_components=3, init='custom')
    W = nm.fit_transform(X, W=W0.copy(), H=H0.copy())
    out['nmf_custom'] = {'W0': flat(W0), 'H0': flat(H0), 'k': 3, 'W': flat(W), 'H': flat(nm.components_), 'nIter': int(nm.n_iter_)}
    # DFF on resnet18_small (the full 64×48 input, batch 2; the explanation maps, 2×k×64×48, are stored as every 7th value): layer4 with the fc head on the concepts,
    # and layer3 without one
    d = os.path.join(REPO, 'test', 'fixtures', 'models', 'resnet18_small')
    m = small_resnet(BasicBlock, [2, 2, 2, 2], [4, 8, 16, 32], 10)
    m.load_state_dict(read_safetensors(os.path.join(d, 'weights.safetensors')), strict=True)
    m.eval()
    x = read_safetensors(os.path.join(d, 'io.safetensors'))['input']
    from pytorch_grad_cam.activations_and_gradients import ActivationsAndGradients

    class CaptureWithoutGrid(ActivationsAndGradients):
        def __call__(self, x, H=None, W=None):
            return super().__call__(x, H, W)
    cases = []
    for layer, k, head in [('layer4', 3, True), ('layer3', 5, False)]:
        dff = DeepFeatureFactorization(model=m, target_layer=m.get_submodule(layer), computation_on_concepts=m.fc if head else None)
        # the vendored ActivationsAndGradients needs H and W (cam-semantics §1.7: DFF is broken in the fork):
        # DFF's own code runs with a capture whose H and W default to None (no reshape transform is used)
        dff.activations_and_grads.release()
        dff.activations_and_grads = CaptureWithoutGrid(m, [m.get_submodule(layer)], None)
        r = dff(x, k)
        concepts, expl = r[0], np.float32(r[1])
        if not cases:
            explanations0 = expl
        case = {'layer': layer, 'k': k, 'concepts': flat(concepts), 'conceptsShape': list(concepts.shape),
                'explanationsEvery7th': flat(expl.reshape(-1)[::7]), 'explanationsShape': list(expl.shape)}
        if head:
            case['conceptOutputs'] = flat(r[2])
            case['conceptOutputsShape'] = list(r[2].shape)
        cases.append(case)
        dff.activations_and_grads.release()
    out['dff'] = cases
    # show_factorization_on_image without a legend (the legend is drawn by matplotlib)
    rng = np.random.RandomState(4)
    img = np.float32(rng.randint(0, 256, size=(32, 24, 3)) / 255)
    e = np.float32(explanations0[0][:, ::2, ::2]).copy()
    vis = show_factorization_on_image(img, e.copy(), image_weight=0.3)
    out['show'] = {'image': [int(v) for v in np.uint8(np.round(img * 255)).reshape(-1)], 'imageWeight': 0.3,
                   'explanations': flat(e), 'shape': list(e.shape), 'result': vis.reshape(-1).tolist()}
    dump(os.path.join(OUT, 'dff.json'), out)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='pgc-')
    try:
        import_package(sys.argv[1], tmp)
        make_seg()
        make_generate_seg()
        make_guided()
        make_sobel()
        make_metrics()
        make_misc()
        make_dff()
    finally:
        shutil.rmtree(tmp)
    for f in sorted(os.listdir(OUT)):
        print(f, os.path.getsize(os.path.join(OUT, f)))


if __name__ == '__main__':
    main()
