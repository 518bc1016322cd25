#!/usr/bin/python3
"""Regenerates test/fixtures/images/: inputs and the exact outputs that PIL / OpenCV / NumPy give for them.

Run from anywhere:  /usr/bin/python3 test/reference/make_image_fixtures.py

References (Debian bookworm): python3-pil 9.4 (libjpeg62-turbo 2.1.5, zlib 1.2.13), python3-opencv 4.6, numpy 1.24.
Everything the TypeScript tests compare against comes from these libraries:
  * JPEG/PNG decoding:  PIL.Image.open(f).convert('RGB')
  * bicubic resize:     PIL Image.resize((w, h), Image.BICUBIC)
  * bilinear resize:    cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR)   (float32 and uint8)
  * JET colormap:       cv2.applyColorMap(arange(256), cv2.COLORMAP_JET)
  * overlay:            pytorch-grad-cam's show_cam_on_image(..., use_rgb=True), copied below (not installed here)

Test inputs are made three ways: PIL's and OpenCV's own encoders (what users meet), and two tiny writers in this
file -- a baseline JPEG encoder (for sampling factors, scan layouts, colour spaces and restart intervals that PIL
cannot write) and a PNG writer (every colour type, bit depth, filter type, Adam7 interlacing). Those writers only
have to produce *valid* files: the expected pixels always come from PIL decoding them.

Layout: manifest.json lists every case; inputs live in jpeg/, png/; expected pixels are raw files in expected/
(RGB uint8 interleaved, or little-endian float32), or a SHA-256 where the raw pixels would be too big.
"""
import hashlib
import io
import json
import math
import os
import shutil
import struct
import sys
import zlib

import cv2
import numpy as np
import PIL
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'images')
SHARED_IMAGES = os.environ.get('FINERCAM_SHARED_IMAGES', '/work/shared/data/images')
BIRDS = ['BLUE_GROSBEAK.jpg', 'GRANDALA.jpg']

manifest = {
    'generator': {
        'script': 'test/reference/make_image_fixtures.py',
        'pillow': PIL.__version__,
        'opencv': cv2.__version__,
        'numpy': np.__version__,
        'libjpeg': 'libjpeg-turbo (Debian libjpeg62-turbo), default islow IDCT + fancy upsampling',
    },
    'decode': [],
    'decodeErrors': [],
    'bicubic': [],
    'linearF32': [],
    'linearU8': [],
    'colormap': None,
    'showCam': [],
}


def compact_json(obj, depth=0):
    """JSON with one list item per line (readable diffs) but no indentation inside the items (small file)."""
    if isinstance(obj, dict) and depth < 2:
        inner = ',\n'.join(f'{json.dumps(k)}: {compact_json(v, depth + 1)}' for k, v in obj.items())
        return '{\n' + inner + '\n}'
    if isinstance(obj, list) and depth < 3 and obj and isinstance(obj[0], dict):
        return '[\n' + ',\n'.join(json.dumps(v, separators=(',', ':')) for v in obj) + '\n]'
    return json.dumps(obj, separators=(',', ':'))


def write(rel, data):
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)
    return rel


def sha256(data):
    return hashlib.sha256(bytes(data)).hexdigest()


def pil_rgb(data):
    im = Image.open(io.BytesIO(data))
    im.load()
    mode = im.mode
    return mode, np.asarray(im.convert('RGB'), dtype=np.uint8)


def add_decode(name, ext, data, note, store='raw'):
    """Stores an encoded file and PIL's decoding of it."""
    rel = write(f'{"jpeg" if ext == "jpg" else ext}/{name}.{ext}', data)
    mode, rgb = pil_rgb(data)
    h, w = rgb.shape[:2]
    case = {'file': rel, 'width': w, 'height': h, 'pilMode': mode, 'note': note}
    if store == 'raw':
        case['expected'] = write(f'expected/{name}.rgb', rgb.tobytes())
    else:
        case['sha256'] = sha256(rgb.tobytes())
    manifest['decode'].append(case)
    return rgb


# ----------------------------------------------------------------------------------------------------------------
# Source pictures: a photo (the two birds, shrunk) and synthetic content with hard edges and noise, which drives the
# IDCT into clipping and makes chroma upsampling errors visible.

def load_bird(name):
    src = os.path.join(SHARED_IMAGES, name)
    dst = os.path.join(OUT, 'jpeg', name)
    if os.path.exists(src):
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)
    with open(dst, 'rb') as f:
        return f.read()


def synthetic(w, h, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255 * x / max(w - 1, 1)
    g = 255 * y / max(h - 1, 1)
    b = 127.5 + 127.5 * np.sin(x * 0.7) * np.cos(y * 0.5)
    img = np.stack([r, g, b], -1)
    img[(x // 5 + y // 4) % 2 == 0] *= 0.4  # checkerboard edges
    img += rng.normal(0, 18, img.shape)
    img[h // 3, :, :] = [255, 0, 0]  # saturated lines
    img[:, w // 2, :] = [0, 0, 255]
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def gen_u32(n, seed):
    """Deterministic test data, re-implemented in test/image/fixtures.ts (genU32)."""
    x = (np.arange(n, dtype=np.uint64) * 2654435761 + seed * 40503) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 2246822519) & 0xFFFFFFFF
    x ^= x >> 13
    return x.astype(np.uint32)


def pil_jpeg(arr, **kw):
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, 'JPEG', **kw)
    return buf.getvalue()


def cv2_jpeg(arr_rgb, params):
    ok, enc = cv2.imencode('.jpg', cv2.cvtColor(arr_rgb, cv2.COLOR_RGB2BGR), params)
    assert ok
    return enc.tobytes()


# ----------------------------------------------------------------------------------------------------------------
# A small baseline JPEG encoder (sequential DCT, Huffman). Huffman and quantisation tables are lifted from a JPEG that
# PIL wrote (libjpeg's standard Annex K tables), so only the block layout is ours.

ZIGZAG = [0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14,
          21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53,
          60, 61, 54, 47, 55, 62, 63]


def segments(data):
    """(marker, payload) pairs up to and including the first SOS."""
    out, i = [], 2
    while i < len(data):
        m = data[i + 1]
        n = struct.unpack('>H', data[i + 2:i + 4])[0]
        out.append((m, data[i + 4:i + 2 + n]))
        if m == 0xDA:
            break
        i += 2 + n
    return out


def parse_dht(payload):
    tables, i = [], 0
    while i < len(payload):
        tc_th = payload[i]
        bits = list(payload[i + 1:i + 17])
        n = sum(bits)
        vals = list(payload[i + 17:i + 17 + n])
        code, k, codes = 0, 0, {}
        for length in range(1, 17):
            for _ in range(bits[length - 1]):
                codes[vals[k]] = (code, length)
                k += 1
                code += 1
            code <<= 1
        tables.append((tc_th, payload[i:i + 17 + n], codes))
        i += 17 + n
    return tables


def tables_from_pil(quality):
    data = pil_jpeg(np.zeros((8, 8, 3), np.uint8), quality=quality, subsampling=0)
    qt, huff = {}, {}
    for m, p in segments(data):
        if m == 0xDB:
            i = 0
            while i < len(p):
                pq_tq = p[i]
                assert pq_tq >> 4 == 0
                zz = list(p[i + 1:i + 65])
                nat = [0] * 64
                for k in range(64):
                    nat[ZIGZAG[k]] = zz[k]
                qt[pq_tq & 15] = (p[i:i + 65], np.array(nat, np.float64).reshape(8, 8))
                i += 65
        if m == 0xC4:
            for tc_th, raw, codes in parse_dht(p):
                huff[tc_th] = (raw, codes)
    return qt, huff


class BitWriter:
    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def bits(self, code, length):
        self.acc = (self.acc << length) | code
        self.n += length
        while self.n >= 8:
            self.n -= 8
            b = (self.acc >> self.n) & 0xFF
            self.out.append(b)
            if b == 0xFF:
                self.out.append(0)  # byte stuffing
        self.acc &= (1 << self.n) - 1

    def flush(self):
        if self.n:
            self.bits((1 << (8 - self.n)) - 1, 8 - self.n)  # pad with 1-bits


DCT = np.array([[math.sqrt((1 if u == 0 else 2) / 8) * math.cos((2 * x + 1) * u * math.pi / 16) for x in range(8)]
                for u in range(8)])


def encode_jpeg(planes, samp, quality=85, interleaved=True, restart=0, marker='jfif', ids=None, qsel=None,
                quant=None, coef_hook=None):
    """planes: full-resolution float arrays (one per component, already in the JPEG colour space, 0..255);
    samp: [(h, v)] per component. marker: 'jfif', 'adobe0' (Adobe APP14 transform 0 = RGB), 'adobe1', or None.
    quant: optional {table index: 64 natural-order values} replacing PIL's tables (16-bit precision if any value >
    255, written in an SOF1 file); coef_hook(ci, q) may rewrite the quantised coefficients (hostile-but-legal data)."""
    H, W = planes[0].shape
    nc = len(planes)
    ids = ids or list(range(1, nc + 1))
    qsel = qsel or [0] + [1] * (nc - 1)
    hmax = max(h for h, _ in samp)
    vmax = max(v for _, v in samp)
    mcux = -(-W // (8 * hmax))
    mcuy = -(-H // (8 * vmax))
    qt, huff = tables_from_pil(quality)
    sof_marker = 0xC0
    if quant:
        for t, vals in quant.items():
            nat = np.array(vals, np.float64).reshape(8, 8)
            wide = int(nat.max()) > 255
            zz = [int(vals[ZIGZAG[k]]) for k in range(64)]
            raw = bytes([0x10 | t if wide else t]) + (struct.pack('>64H', *zz) if wide else bytes(zz))
            qt[t] = (raw, nat)
            if wide:
                sof_marker = 0xC1
    coefs = []
    for ci, plane in enumerate(planes):
        h, v = samp[ci]
        fx, fy = hmax // h, vmax // v
        assert fx * h == hmax and fy * v == vmax
        cw, ch = -(-W * h // hmax), -(-H * v // vmax)
        pad = np.pad(plane, ((0, ch * fy - H), (0, cw * fx - W)), mode='edge')
        comp = pad.reshape(ch, fy, cw, fx).mean(axis=(1, 3))
        comp = np.pad(comp, ((0, mcuy * v * 8 - ch), (0, mcux * h * 8 - cw)), mode='edge')
        by, bx = comp.shape[0] // 8, comp.shape[1] // 8
        blocks = comp.reshape(by, 8, bx, 8).transpose(0, 2, 1, 3) - 128
        f = DCT @ blocks @ DCT.T
        q = np.round(f / qt[qsel[ci]][1]).astype(np.int64)
        if coef_hook:
            q = coef_hook(ci, q)
        coefs.append((q, -(-cw // 8), -(-ch // 8)))

    out = bytearray(b'\xff\xd8')

    def seg(m, payload):
        out.extend(struct.pack('>BBH', 0xFF, m, len(payload) + 2))
        out.extend(payload)

    if marker == 'jfif':
        seg(0xE0, b'JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00')
    elif marker in ('adobe0', 'adobe1'):
        seg(0xEE, b'Adobe' + struct.pack('>HHHB', 100, 0, 0, int(marker[-1])))
    for t in sorted(set(qsel)):
        seg(0xDB, qt[t][0])
    sof = struct.pack('>BHHB', 8, H, W, nc)
    for ci in range(nc):
        sof += struct.pack('>BBB', ids[ci], samp[ci][0] << 4 | samp[ci][1], qsel[ci])
    seg(sof_marker, sof)
    dht = b''.join(huff[k][0] for k in (0x00, 0x10, 0x01, 0x11))
    seg(0xC4, dht)
    if restart:
        seg(0xDD, struct.pack('>H', restart))
    tsel = [0] + [1] * (nc - 1)

    def block(bw, blk, pred, t):
        dc_codes, ac_codes = huff[t][1], huff[0x10 | t][1]
        zz = [int(blk.flat[ZIGZAG[k]]) for k in range(64)]
        diff = zz[0] - pred
        size = abs(diff).bit_length()
        bw.bits(*dc_codes[size])
        if size:
            bw.bits(diff if diff > 0 else diff + (1 << size) - 1, size)
        run = 0
        for k in range(1, 64):
            a = zz[k]
            if a == 0:
                run += 1
                continue
            while run > 15:
                bw.bits(*ac_codes[0xF0])
                run -= 16
            size = abs(a).bit_length()
            bw.bits(*ac_codes[run << 4 | size])
            bw.bits(a if a > 0 else a + (1 << size) - 1, size)
            run = 0
        if run:
            bw.bits(*ac_codes[0x00])
        return zz[0]

    def scan(comp_list, mcus):
        """mcus: list of MCUs, each a list of (component index, block row, block col)."""
        sos = struct.pack('>B', len(comp_list))
        for ci in comp_list:
            sos += struct.pack('>BB', ids[ci], tsel[ci] << 4 | tsel[ci])
        sos += b'\x00\x3f\x00'
        seg(0xDA, sos)
        bw = BitWriter()
        preds = [0] * nc
        for n, mcu in enumerate(mcus):
            if restart and n and n % restart == 0:
                bw.flush()
                out.extend(bw.out)
                bw.out = bytearray()
                out.extend(bytes([0xFF, 0xD0 + ((n // restart - 1) % 8)]))
                preds = [0] * nc
            for ci, r, c in mcu:
                preds[ci] = block(bw, coefs[ci][0][r, c], preds[ci], tsel[ci])
        bw.flush()
        out.extend(bw.out)

    if interleaved and nc > 1:
        mcus = []
        for my in range(mcuy):
            for mx in range(mcux):
                mcus.append([(ci, my * samp[ci][1] + yy, mx * samp[ci][0] + xx)
                             for ci in range(nc) for yy in range(samp[ci][1]) for xx in range(samp[ci][0])])
        scan(list(range(nc)), mcus)
    else:
        for ci in range(nc):
            _, bw_, bh_ = coefs[ci]
            scan([ci], [[(ci, r, c)] for r in range(bh_) for c in range(bw_)])
    out.extend(b'\xff\xd9')
    return bytes(out)


def to_ycc(rgb):
    r, g, b = [rgb[..., i].astype(np.float64) for i in range(3)]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b + 128
    return [np.clip(p, 0, 255) for p in (y, cb, cr)]


# ----------------------------------------------------------------------------------------------------------------
# A PNG writer: any colour type / bit depth, each row's filter chosen by `filters`, optional Adam7, IDAT split.

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def png_chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xFFFFFFFF)


def pack_row(samples, depth):
    if depth == 16:
        return b''.join(struct.pack('>H', int(s)) for s in samples)
    if depth == 8:
        return bytes(int(s) for s in samples)
    out, acc, n = bytearray(), 0, 0
    for s in samples:
        acc = (acc << depth) | int(s)
        n += depth
        if n == 8:
            out.append(acc)
            acc, n = 0, 0
    if n:
        out.append(acc << (8 - n))
    return bytes(out)


def filter_rows(rows, bpp, filters):
    out = bytearray()
    prev = bytes(len(rows[0])) if rows else b''
    for i, row in enumerate(rows):
        ft = filters(i)
        out.append(ft)
        for x in range(len(row)):
            a = row[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ft == 0:
                p = 0
            elif ft == 1:
                p = a
            elif ft == 2:
                p = b
            elif ft == 3:
                p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            out.append((row[x] - p) & 0xFF)
        prev = row
    return bytes(out)


def encode_png(samples, depth, ctype, interlace=False, filters=lambda i: i % 5, level=6, plte=None, trns=None,
               idat_parts=1, extra_chunks=()):
    """samples: (H, W, C) integer array in the PNG's sample range."""
    H, W, C = samples.shape
    assert C == CHANNELS[ctype]
    bpp = max(1, depth * C // 8)
    raw = bytearray()
    if interlace:
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] == 0 or sub.shape[1] == 0:
                continue
            raw += filter_rows([pack_row(r.reshape(-1), depth) for r in sub], bpp, filters)
    else:
        raw += filter_rows([pack_row(r.reshape(-1), depth) for r in samples], bpp, filters)
    z = zlib.compress(bytes(raw), level)
    s = b'\x89PNG\r\n\x1a\n' + png_chunk(b'IHDR', struct.pack('>IIBBBBB', W, H, depth, ctype, 0, 0, 1 if interlace else 0))
    for t, d in extra_chunks:
        s += png_chunk(t, d)
    if plte is not None:
        s += png_chunk(b'PLTE', bytes(plte))
    if trns is not None:
        s += png_chunk(b'tRNS', bytes(trns))
    step = -(-len(z) // idat_parts)
    for i in range(0, len(z), step):
        s += png_chunk(b'IDAT', z[i:i + step])
    return s + png_chunk(b'IEND', b'')


# ----------------------------------------------------------------------------------------------------------------
# pytorch-grad-cam utils/image.py show_cam_on_image (upstream 084273b), copied verbatim in substance.

def show_cam_on_image(img, mask, use_rgb=False, colormap=cv2.COLORMAP_JET, image_weight=0.5):
    heatmap = cv2.applyColorMap(np.uint8(255 * mask), colormap)
    if use_rgb:
        heatmap = cv2.cvtColor(heatmap, cv2.COLOR_BGR2RGB)
    heatmap = np.float32(heatmap) / 255
    if np.max(img) > 1:
        raise Exception('The input image should np.float32 in the range [0, 1]')
    if image_weight < 0 or image_weight > 1:
        raise Exception(f'image_weight should be in the range [0, 1]. Got: {image_weight}')
    cam = (1 - image_weight) * heatmap + image_weight * img
    cam = cam / np.max(cam)
    return np.uint8(255 * cam)


def main():
    if os.path.isdir(OUT):
        for sub in ('png', 'expected', 'resize', 'colormap'):
            shutil.rmtree(os.path.join(OUT, sub), ignore_errors=True)
        jdir = os.path.join(OUT, 'jpeg')
        if os.path.isdir(jdir):
            for f in os.listdir(jdir):
                if f not in BIRDS:
                    os.remove(os.path.join(jdir, f))
    os.makedirs(OUT, exist_ok=True)

    # --- the two bird photos, as given (224x224, 4:2:0 baseline) ------------------------------------------------
    birds = {}
    for name in BIRDS:
        data = load_bird(name)
        mode, rgb = pil_rgb(data)
        birds[name] = rgb
        manifest['decode'].append({'file': f'jpeg/{name}', 'width': rgb.shape[1], 'height': rgb.shape[0],
                                   'pilMode': mode, 'note': 'shared bird photo',
                                   'expected': write(f'expected/{name[:-4]}.rgb', rgb.tobytes())})

    photo = birds['GRANDALA.jpg']
    small = np.asarray(Image.fromarray(birds['BLUE_GROSBEAK.jpg']).resize((160, 120), Image.BICUBIC))
    crop = np.ascontiguousarray(photo[60:83, 90:127])  # 37x23
    synth = synthetic(61, 47, 1)
    sources = {'photo37x23': crop, 'synth61x47': synth}

    # --- PIL baseline: quality x subsampling ------------------------------------------------------------------------
    for sname, arr in sources.items():
        for q in ((50, 90, 100) if sname == 'photo37x23' else (50, 90)):
            for sub in (0, 1, 2):
                add_decode(f'pil_{sname}_q{q}_s{sub}', 'jpg', pil_jpeg(arr, quality=q, subsampling=sub),
                           f'PIL baseline quality={q} subsampling={sub}')
        for sub in (0, 1, 2):
            add_decode(f'pil_{sname}_prog_s{sub}', 'jpg', pil_jpeg(arr, quality=75, subsampling=sub, progressive=True),
                       f'PIL progressive quality=75 subsampling={sub}')
        add_decode(f'pil_{sname}_opt', 'jpg', pil_jpeg(arr, quality=85, optimize=True), 'PIL optimized Huffman')
        add_decode(f'pil_{sname}_prog_opt_q100', 'jpg',
                   pil_jpeg(arr, quality=100, subsampling=0, progressive=True, optimize=True),
                   'PIL progressive+optimize quality=100 4:4:4')
    # Larger photo, both modes, and grayscale.
    add_decode('pil_bird160x120_base', 'jpg', pil_jpeg(small, quality=85), 'PIL baseline 160x120 4:2:0')
    add_decode('pil_bird160x120_prog', 'jpg', pil_jpeg(small, quality=85, progressive=True),
               'PIL progressive 160x120 4:2:0', store='sha')
    gray = np.asarray(Image.fromarray(synth).convert('L'))
    add_decode('pil_gray_q90', 'jpg', pil_jpeg(gray, quality=90), 'PIL grayscale baseline')
    add_decode('pil_gray_prog', 'jpg', pil_jpeg(gray, quality=60, progressive=True), 'PIL grayscale progressive')
    add_decode('pil_gray_photo_q100', 'jpg', pil_jpeg(np.asarray(Image.fromarray(crop).convert('L')), quality=100),
               'PIL grayscale quality=100')
    # Tiny sizes: chroma width <= 2 switches libjpeg from fancy to box upsampling.
    for (w, h) in [(1, 1), (2, 2), (3, 3), (4, 1), (5, 3), (1, 9), (17, 2), (9, 17)]:
        for sub in (1, 2):
            add_decode(f'pil_tiny_{w}x{h}_s{sub}', 'jpg', pil_jpeg(synth[:h, :w], quality=80, subsampling=sub),
                       f'PIL tiny {w}x{h} subsampling={sub}')
    # Random small images with random settings.
    rng = np.random.default_rng(7)
    for i in range(16):
        w, h = int(rng.integers(1, 41)), int(rng.integers(1, 41))
        y0, x0 = int(rng.integers(0, 224 - h)), int(rng.integers(0, 224 - w))
        arr = np.ascontiguousarray(birds[BIRDS[i % 2]][y0:y0 + h, x0:x0 + w])
        q, sub, prog = int(rng.integers(20, 101)), int(rng.integers(0, 3)), bool(rng.integers(0, 2))
        add_decode(f'pil_rand{i:02d}', 'jpg', pil_jpeg(arr, quality=q, subsampling=sub, progressive=prog),
                   f'PIL random {w}x{h} q={q} subsampling={sub} progressive={prog}')

    # --- OpenCV: restart intervals (PIL 9.4 cannot write them) --------------------------------------------------------
    add_decode('cv2_rst1', 'jpg', cv2_jpeg(synth, [cv2.IMWRITE_JPEG_QUALITY, 80, cv2.IMWRITE_JPEG_RST_INTERVAL, 1]),
               'OpenCV baseline, restart every MCU')
    add_decode('cv2_rst3', 'jpg', cv2_jpeg(crop, [cv2.IMWRITE_JPEG_QUALITY, 92, cv2.IMWRITE_JPEG_RST_INTERVAL, 3]),
               'OpenCV baseline, restart every 3 MCUs')
    add_decode('cv2_prog_rst2', 'jpg', cv2_jpeg(synth, [cv2.IMWRITE_JPEG_QUALITY, 70, cv2.IMWRITE_JPEG_PROGRESSIVE, 1,
                                                        cv2.IMWRITE_JPEG_RST_INTERVAL, 2]),
               'OpenCV progressive, restart every 2 MCUs (EOB runs reset at restarts)')
    add_decode('cv2_prog_opt', 'jpg', cv2_jpeg(small, [cv2.IMWRITE_JPEG_QUALITY, 95, cv2.IMWRITE_JPEG_PROGRESSIVE, 1,
                                                       cv2.IMWRITE_JPEG_OPTIMIZE, 1]),
               'OpenCV progressive optimized', store='sha')
    add_decode('cv2_luma_chroma_q', 'jpg', cv2_jpeg(crop, [cv2.IMWRITE_JPEG_LUMA_QUALITY, 40,
                                                           cv2.IMWRITE_JPEG_CHROMA_QUALITY, 95]),
               'OpenCV separate luma/chroma quality')

    # --- Our encoder: sampling factors, scan layouts, colour spaces ---------------------------------------------------
    ycc = to_ycc(synth)
    ycc_photo = to_ycc(crop)
    layouts = {
        '440': [(1, 2), (1, 1), (1, 1)],
        '411': [(4, 1), (1, 1), (1, 1)],
        '311': [(3, 1), (1, 1), (1, 1)],
        'mixed': [(2, 2), (1, 2), (2, 1)],
        '41x21': [(4, 1), (2, 1), (2, 1)],
        'all21': [(2, 1), (2, 1), (2, 1)],
        '22x22x11': [(2, 2), (2, 2), (1, 1)],
        '14': [(1, 4), (1, 1), (1, 2)],
    }
    for lname, samp in layouts.items():
        add_decode(f'enc_{lname}_synth', 'jpg', encode_jpeg(ycc, samp, quality=88), f'encoder sampling {samp}')
        add_decode(f'enc_{lname}_photo', 'jpg', encode_jpeg(ycc_photo, samp, quality=95), f'encoder sampling {samp}')
    add_decode('enc_420_noninterleaved_rst', 'jpg',
               encode_jpeg(ycc, [(2, 2), (1, 1), (1, 1)], interleaved=False, restart=5),
               'encoder 4:2:0, one scan per component, restart every 5 blocks')
    add_decode('enc_440_noninterleaved', 'jpg', encode_jpeg(ycc_photo, [(1, 2), (1, 1), (1, 1)], interleaved=False),
               'encoder 4:4:0, one scan per component')
    add_decode('enc_422_rst7', 'jpg', encode_jpeg(ycc, [(2, 1), (1, 1), (1, 1)], restart=7),
               'encoder 4:2:2, restart every 7 MCUs (wraps RST0..7)')
    rgbp = [synth[..., i].astype(np.float64) for i in range(3)]
    add_decode('enc_rgb_adobe', 'jpg', encode_jpeg(rgbp, [(1, 1)] * 3, marker='adobe0', qsel=[0, 0, 0]),
               'encoder RGB colour space (Adobe transform 0)')
    add_decode('enc_rgb_ids', 'jpg', encode_jpeg(rgbp, [(1, 1)] * 3, marker=None, ids=[82, 71, 66], qsel=[0, 0, 0]),
               "encoder RGB colour space (component ids 'R','G','B', no JFIF/Adobe)")
    add_decode('enc_ycc_nomarker', 'jpg', encode_jpeg(ycc, [(2, 1), (1, 1), (1, 1)], marker=None, ids=[1, 2, 3]),
               'encoder YCbCr without JFIF marker (ids 1,2,3)')
    add_decode('enc_ycc_adobe1', 'jpg', encode_jpeg(ycc_photo, [(2, 2), (1, 1), (1, 1)], marker='adobe1'),
               'encoder YCbCr with Adobe transform 1')
    add_decode('enc_gray_22', 'jpg', encode_jpeg([ycc[0]], [(2, 2)]), 'encoder grayscale declaring 2x2 sampling')
    add_decode('enc_gray_rst', 'jpg', encode_jpeg([ycc_photo[0]], [(1, 1)], restart=2, quality=30),
               'encoder grayscale, restart every 2 blocks')

    # Hostile but legal coefficients: dequantised values overflow 16 bits, which is where libjpeg-turbo's SIMD IDCT
    # (what PIL runs on x86-64) and jidctint.c part ways; PIL decodes these files without any warning.
    hrng = np.random.default_rng(21)

    def wild(ci, q):
        q = hrng.integers(-1023, 1024, q.shape)
        q[..., 0, 0] = hrng.integers(-1000, 1001, q.shape[:2])
        return q

    def dc_only(ci, q):
        q = np.zeros_like(q)
        q[..., 0, 0] = hrng.choice([-1000, -600, 600, 1000], q.shape[:2])
        return q

    add_decode('enc_overflow_q255', 'jpg',
               encode_jpeg(ycc_photo, [(2, 2), (1, 1), (1, 1)], quant={0: [255] * 64, 1: [200] * 64}, coef_hook=wild),
               'random large coefficients x quantiser 255: 16-bit overflow inside the IDCT')
    add_decode('enc_overflow_q16bit', 'jpg',
               encode_jpeg(ycc_photo, [(1, 1), (1, 1), (1, 1)],
                           quant={0: list(hrng.integers(1, 65536, 64)), 1: [40000] * 64}, coef_hook=wild),
               '16-bit quantisation tables (SOF1), values above 32767 (ISLOW_MULT_TYPE is a short)')
    add_decode('enc_overflow_dc_only', 'jpg',
               encode_jpeg([ycc[0]], [(1, 1)], quant={0: [255] * 64}, coef_hook=dc_only),
               'DC-only blocks whose dequantised DC overflows 16 bits (the SIMD DC-only shortcut)')

    # --- Incomplete progressive files (scans dropped before EOI): libjpeg's block smoothing --------------------------
    def drop_scans(data, keep):
        """Keeps the first `keep` scans (and the tables before them) of a progressive JPEG, then EOI."""
        i = 2
        while True:
            m, n = data[i + 1], struct.unpack('>H', data[i + 2:i + 4])[0]
            if m == 0xDA:
                break
            i += 2 + n
        marks = [p for p in range(i, len(data) - 1)
                 if data[p] == 0xFF and data[p + 1] not in (0, 0xFF) and not 0xD0 <= data[p + 1] <= 0xD7]
        sos = [p for p in marks if data[p + 1] == 0xDA]
        end = marks[marks.index(sos[keep - 1]) + 1]
        while data[end + 1] != 0xDA and data[end + 1] != 0xD9:  # tables belonging to the next scan
            end = marks[marks.index(end) + 1]
        return data[:end] + b'\xff\xd9'

    prog_sources = [('420', crop, dict(subsampling=2)), ('444', crop, dict(subsampling=0)),
                    ('422w2', np.ascontiguousarray(photo[10:43, 60:80]), dict(subsampling=1)),
                    ('gray', gray, {}), ('420big', small, dict(subsampling=2))]
    for pname, arr, kw in prog_sources:
        full = pil_jpeg(arr, quality=80, progressive=True, **kw)
        for keep in ((1, 2, 3, 5) if pname != '420big' else (1, 4)):
            add_decode(f'prog_partial_{pname}_{keep}scans', 'jpg', drop_scans(full, keep),
                       f'progressive {pname}: only the first {keep} scans, then EOI (block smoothing)',
                       store='sha' if pname == '420big' else 'raw')

    # --- Decode errors PIL also refuses or we do not support -------------------------------------------------------
    cmyk = Image.fromarray(crop).convert('CMYK')
    buf = io.BytesIO()
    cmyk.save(buf, 'JPEG', quality=90)
    manifest['decodeErrors'].append({'file': write('jpeg/err_cmyk.jpg', buf.getvalue()), 'message': 'CMYK'})

    # --- PNG: every colour type and bit depth, filters, interlacing ------------------------------------------------
    prng = np.random.default_rng(11)

    def pattern(w, h, maxval, c, seed):
        r = np.random.default_rng(seed)
        y, x = np.mgrid[0:h, 0:w]
        base = ((x * 7 + y * 13)[..., None] + np.arange(c)[None, None, :] * 37) % (maxval + 1)
        noise = r.integers(0, maxval + 1, (h, w, c))
        return np.where(r.random((h, w, c)) < 0.3, noise, base).astype(np.int64)

    png_cases = []
    for depth in (1, 2, 4, 8, 16):
        png_cases.append((f'gray{depth}', 0, depth, 1))
    for depth in (8, 16):
        png_cases += [(f'graya{depth}', 4, depth, 2), (f'rgb{depth}', 2, depth, 3), (f'rgba{depth}', 6, depth, 4)]
    for depth in (1, 2, 4, 8):
        png_cases.append((f'pal{depth}', 3, depth, 1))
    sizes = [(13, 7), (1, 1), (3, 2), (9, 10)]
    for name, ctype, depth, c in png_cases:
        for interlace in (False, True):
            for si, (w, h) in enumerate(sizes if interlace else sizes[:1] + [(33, 5)]):
                samples = pattern(w, h, (1 << depth) - 1, c, si + depth)
                plte = None
                if ctype == 3:
                    n = 1 << depth
                    plte = prng.integers(0, 256, 3 * n).astype(np.uint8).tobytes()
                tag = f'png_{name}_{"i" if interlace else "n"}_{w}x{h}'
                add_decode(tag, 'png', encode_png(samples, depth, ctype, interlace=interlace, plte=plte,
                                                  level=[0, 1, 6, 9][si % 4], idat_parts=1 + si % 3),
                           f'png colour type {ctype} depth {depth} interlace={interlace}')
    # Palette shorter than the index range, tRNS, ancillary chunks, filters all of one type.
    idx = pattern(11, 6, 255, 1, 99)
    add_decode('png_pal8_short_trns', 'png',
               encode_png(idx, 8, 3, plte=bytes(range(0, 30)), trns=bytes([0, 128, 255]),
                          extra_chunks=[(b'gAMA', struct.pack('>I', 45455)), (b'tEXt', b'Comment\x00hello')]),
               'palette of 10 entries indexed up to 255 (PIL pads with a grey ramp), tRNS, ancillary chunks')
    for ft in range(5):
        add_decode(f'png_rgb8_filter{ft}', 'png',
                   encode_png(pattern(17, 9, 255, 3, ft), 8, 2, filters=lambda i, ft=ft: ft),
                   f'every row filter type {ft}')
    add_decode('png_gray16_trns', 'png', encode_png(pattern(8, 8, 65535, 1, 3), 16, 0, trns=struct.pack('>H', 300)),
               '16-bit grey: PIL clips to 0..255 (mode I), it does not take the high byte')
    # PIL-written PNGs.
    for mode in ('RGB', 'RGBA', 'L', 'LA', 'P', 'I', '1'):
        im = Image.fromarray(crop)
        if mode == 'P':
            im = im.quantize(17)
        elif mode == 'I':
            im = Image.fromarray((crop[..., 0].astype(np.int32) * 3)).convert('I')
        else:
            im = im.convert(mode)
        buf = io.BytesIO()
        im.save(buf, 'PNG', optimize=(mode == 'RGB'))
        add_decode(f'pilpng_{mode}', 'png', buf.getvalue(), f'PIL-written PNG mode {mode}')

    # --- PIL bicubic resize -----------------------------------------------------------------------------------------
    def add_bicubic(src_name, src, sizes_, src_rel=None):
        h, w = src.shape[:2]
        src_rel = src_rel or write(f'expected/bicubic_src_{src_name}.rgb', src.tobytes())
        for (dw, dh) in sizes_:
            out = np.asarray(Image.fromarray(src).resize((dw, dh), Image.BICUBIC))
            case = {'src': src_rel, 'srcWidth': w, 'srcHeight': h, 'width': dw, 'height': dh}
            if dw * dh <= 64 * 64:
                case['expected'] = write(f'expected/bicubic_{src_name}_{dw}x{dh}.rgb', out.tobytes())
            else:
                case['sha256'] = sha256(out.tobytes())
            manifest['bicubic'].append(case)

    add_bicubic('photo37x23', crop, [(80, 50), (17, 11), (37, 40), (60, 23), (37, 10), (5, 3), (1, 1), (200, 7),
                                     (3, 90), (37, 23), (74, 46)])
    add_bicubic('synth61x47', synth, [(224, 224), (30, 23), (7, 5), (122, 47), (61, 94), (13, 100)])
    bird160 = np.frombuffer(open(os.path.join(OUT, 'expected/pil_bird160x120_base.rgb'), 'rb').read(),
                            np.uint8).reshape(120, 160, 3)
    add_bicubic('bird160x120', bird160, [(13, 9), (64, 48), (100, 75), (224, 224), (159, 121)],
                src_rel='expected/pil_bird160x120_base.rgb')
    # generate_cams.py preprocessing sizes for the birds: round up to a multiple of 14, and a 1000-px cap case.
    add_bicubic('grosbeak224', birds['BLUE_GROSBEAK.jpg'], [(224, 224), (518, 518), (98, 98), (231, 217)],
                src_rel='expected/BLUE_GROSBEAK.rgb')

    # --- cv2.resize INTER_LINEAR -------------------------------------------------------------------------------
    frng = np.random.default_rng(5)
    lin_cases = [(7, 5, 1, 37, 23), (16, 16, 1, 112, 112), (37, 23, 1, 16, 16), (8, 6, 1, 4, 3), (10, 6, 1, 5, 3),
                 (18, 14, 1, 9, 7), (9, 6, 1, 4, 3), (1, 1, 1, 5, 4), (5, 1, 1, 3, 7), (6, 4, 3, 13, 9),
                 (12, 8, 3, 6, 4), (3, 3, 1, 3, 3), (40, 30, 1, 40, 15), (7, 7, 1, 700, 3), (14, 14, 1, 224, 224),
                 (16, 16, 1, 518, 518), (23, 17, 2, 50, 41), (100, 3, 1, 7, 3), (4, 4, 4, 17, 17)]
    for i, (sw, sh, cn, dw, dh) in enumerate(lin_cases):
        a = frng.random((sh, sw, cn), dtype=np.float32)
        if i == 1:  # a CAM-like map: ReLU'd, min-max normalised as scale_cam_image does
            a = np.maximum(a - 0.3, 0)
            a = a - a.min()
            a = (a / (1e-7 + a.max())).astype(np.float32)
        src = a if cn > 1 else a[..., 0]
        out = cv2.resize(src, (dw, dh), interpolation=cv2.INTER_LINEAR)
        assert out.dtype == np.float32
        case = {'srcWidth': sw, 'srcHeight': sh, 'channels': cn, 'width': dw, 'height': dh,
                'src': write(f'resize/f32_{i}_src.f32', a.astype('<f4').tobytes())}
        if dw * dh * cn <= 8000:
            case['expected'] = write(f'resize/f32_{i}_out.f32', out.astype('<f4').tobytes())
        else:
            case['sha256'] = sha256(out.astype('<f4').tobytes())
        manifest['linearF32'].append(case)
    u8_cases = [(7, 5, 1, 37, 23), (7, 5, 3, 37, 23), (37, 23, 3, 16, 16), (37, 23, 3, 17, 11), (64, 48, 3, 32, 24),
                (33, 20, 1, 100, 61), (5, 5, 3, 5, 5), (3, 100, 1, 3, 7), (100, 3, 3, 7, 3), (20, 20, 3, 45, 45),
                (9, 9, 1, 17, 16), (2, 2, 3, 255, 1), (50, 40, 4, 23, 77), (224, 224, 3, 37, 23),
                (31, 29, 1, 8, 8), (11, 13, 3, 29, 31), (1, 1, 3, 3, 3), (2, 50, 3, 1, 25)]
    for i, (sw, sh, cn, dw, dh) in enumerate(u8_cases):
        a = frng.integers(0, 256, (sh, sw, cn), dtype=np.uint8)
        if i == 13:
            a = birds['BLUE_GROSBEAK.jpg']
        src = a if cn > 1 else a[..., 0]
        out = cv2.resize(src, (dw, dh), interpolation=cv2.INTER_LINEAR)
        manifest['linearU8'].append({'srcWidth': sw, 'srcHeight': sh, 'channels': cn, 'width': dw, 'height': dh,
                                     'src': 'expected/BLUE_GROSBEAK.rgb' if i == 13 else
                                     write(f'resize/u8_{i}_src.bin', a.tobytes()),
                                     'expected': write(f'resize/u8_{i}_out.bin', out.tobytes())})

    # --- Sweeps: many random sizes, inputs from a generator the tests re-implement, only SHA-256s stored ---------
    swr = np.random.default_rng(2024)
    manifest['sweeps'] = {'generator': 'x = (i*2654435761 + seed*40503) mod 2^32; x ^= x>>15; '
                                       'x = x*2246822519 mod 2^32; x ^= x>>13; u8 = x & 255; f32 = (x>>8) / 2^24',
                          'linear': [], 'bicubic': []}
    for i in range(300):
        sw, sh = int(swr.integers(1, 41)), int(swr.integers(1, 41))
        if i % 5 == 0:  # exact 2x reductions take OpenCV's INTER_AREA shortcut
            dw, dh = sw, sh
            sw, sh = 2 * dw, 2 * dh
        else:
            dw, dh = int(swr.integers(1, 81)), int(swr.integers(1, 81))
        cn = int(swr.integers(1, 5))
        dtype = 'f32' if i % 2 == 0 else 'u8'
        x = gen_u32(sw * sh * cn, i)
        a = (x >> 8).astype(np.float32) / np.float32(1 << 24) if dtype == 'f32' else (x & 255).astype(np.uint8)
        a = a.reshape(sh, sw, cn)
        out = cv2.resize(a if cn > 1 else a[..., 0], (dw, dh), interpolation=cv2.INTER_LINEAR)
        manifest['sweeps']['linear'].append({'seed': i, 'dtype': dtype, 'srcWidth': sw, 'srcHeight': sh,
                                             'channels': cn, 'width': dw, 'height': dh,
                                             'sha256': sha256(out.astype('<f4' if dtype == 'f32' else np.uint8))})
    for i in range(120):
        sw, sh = int(swr.integers(1, 60)), int(swr.integers(1, 60))
        dw, dh = int(swr.integers(1, 120)), int(swr.integers(1, 120))
        a = (gen_u32(sw * sh * 3, 1000 + i) & 255).astype(np.uint8).reshape(sh, sw, 3)
        out = np.asarray(Image.fromarray(a).resize((dw, dh), Image.BICUBIC))
        manifest['sweeps']['bicubic'].append({'seed': 1000 + i, 'srcWidth': sw, 'srcHeight': sh, 'width': dw,
                                              'height': dh, 'sha256': sha256(out.tobytes())})

    # --- Colormap -------------------------------------------------------------------------------------------------
    jet_bgr = cv2.applyColorMap(np.arange(256, dtype=np.uint8).reshape(1, 256), cv2.COLORMAP_JET)
    manifest['colormap'] = {'jetRgb': write('colormap/jet_rgb.bin',
                                            cv2.cvtColor(jet_bgr, cv2.COLOR_BGR2RGB).reshape(-1).tobytes())}

    # --- show_cam_on_image ---------------------------------------------------------------------------------------
    mrng = np.random.default_rng(3)

    def cam_like(h, w, gh, gw):
        g = np.maximum(mrng.normal(size=(gh, gw)).astype(np.float32), 0)
        g = g - np.min(g)
        g = g / (1e-7 + np.max(g))
        m = cv2.resize(np.float32(g), (w, h))
        m = m - np.min(m)
        return (m / (1e-7 + np.max(m))).astype(np.float32)

    show_cases = [
        ('photo', crop, mrng.random((23, 37), dtype=np.float32), 0.5),
        ('photo', crop, cam_like(23, 37, 4, 6), 0.5),
        ('photo', crop, cam_like(23, 37, 3, 3), 0.3),
        ('photo', crop, cam_like(23, 37, 5, 2), 0.7),
        ('synth', synth, cam_like(47, 61, 4, 5), 0.0),
        ('synth', synth, cam_like(47, 61, 4, 5), 1.0),
        ('synth', synth, np.zeros((47, 61), np.float32), 0.5),
        ('synth', synth, np.ones((47, 61), np.float32), 0.25),
        ('dark', np.zeros((5, 4, 3), np.uint8), np.linspace(0, 1, 20, dtype=np.float32).reshape(5, 4), 0.9),
    ]
    for i, (iname, img, mask, w) in enumerate(show_cases):
        out = show_cam_on_image(np.float32(img) / 255, mask, use_rgb=True, image_weight=w)
        h, wd = img.shape[:2]
        case = {'image': write(f'expected/showcam_img_{iname}.rgb', img.tobytes()), 'width': wd, 'height': h,
                'mask': write(f'expected/showcam_{i}_mask.f32', mask.astype('<f4').tobytes()), 'imageWeight': w}
        if h * wd <= 100 * 100:
            case['expected'] = write(f'expected/showcam_{i}_out.rgb', out.tobytes())
        else:
            case['sha256'] = sha256(out.tobytes())
        manifest['showCam'].append(case)

    # The whole CAM post-processing chain on a bird: a 16x16 grid map -> scale_cam_image (min-max, cv2.resize to the
    # image size, float32) -> show_cam_on_image. Only the grid is stored; the test resizes it with our code.
    grid = np.maximum(mrng.normal(size=(16, 16)).astype(np.float32), 0)
    g = grid - np.min(grid)
    g = g / (1e-7 + np.max(g))
    mask = cv2.resize(np.float32(g), (224, 224))
    out = show_cam_on_image(np.float32(birds['GRANDALA.jpg']) / 255, mask, use_rgb=True, image_weight=0.5)
    manifest['showCamPipeline'] = {
        'image': 'expected/GRANDALA.rgb', 'width': 224, 'height': 224,
        'grid': write('expected/showcam_pipeline_grid.f32', grid.astype('<f4').tobytes()), 'gridWidth': 16,
        'gridHeight': 16, 'maskSha256': sha256(mask.astype('<f4').tobytes()), 'imageWeight': 0.5,
        'sha256': sha256(out.tobytes())}

    with open(os.path.join(OUT, 'manifest.json'), 'w') as f:
        f.write(compact_json(manifest))
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f'wrote {OUT}: {len(manifest["decode"])} decode cases, {len(manifest["bicubic"])} bicubic, '
          f'{len(manifest["linearF32"])} linear f32, {len(manifest["linearU8"])} linear u8, '
          f'{len(manifest["showCam"])} overlays; {total / 1024:.0f} KiB', file=sys.stderr)


if __name__ == '__main__':
    main()
