#!/usr/bin/python3
"""Regenerates test/fixtures/images/robust/: damaged and unusual image files, and what PIL makes of each.

Run from anywhere:  /usr/bin/python3 test/reference/make_image_robust_fixtures.py

Reference: Debian bookworm's python3-pil 9.4 (libjpeg62-turbo 2.1.5, zlib 1.2.13), with
ImageFile.LOAD_TRUNCATED_IMAGES at its default (False). For every input file the manifest records either PIL's
Image.open(f).convert('RGB') (size, SHA-256 of the RGB bytes and a few sampled pixels) or the error PIL raised.
The cases:
  * jpegNoDht     -- colour JPEGs PIL wrote with optimize=False, their DHT segments removed (Motion-JPEG style);
  * jpegDamaged   -- junk before restart markers, lost and wrong restart markers, entropy-coded data that ends early,
                     flipped bits (bad Huffman codes), progressive files missing a scan, files without EOI (which
                     PIL accepts or refuses depending on libjpeg's bit-buffer refills), a second scan in a
                     single-scan file;
  * jpegCmyk      -- four-component JPEGs: PIL's CMYK (Adobe transform 0), YCCK (transform 2), no Adobe marker,
                     progressive, subsampled;
  * png           -- a PNG without IEND (or with IEND cut short), bad IDAT / post-IDAT CRCs (PngSuite's xcsn0g01
                     is basn0g01 with a bad IDAT CRC; we build the same defect), a bad pre-IDAT CRC;
  * bmp           -- BMPs PIL writes (1/8-bit palette and grey, 24-bit, 32-bit) and ones written here (4-bit, top-down,
                     16-bit 555 / 565 bitfields, 32-bit bitfields, OS/2 v1 header, short palettes, RLE).
Inputs are made here (PIL's encoders, the small encoders of make_image_fixtures.py, deterministic corruption), so
nothing from other projects is committed. Images are at most 64x48, so every file is a few KiB.
"""
import hashlib
import io
import json
import os
import re
import shutil
import struct
import sys
import zlib

import cv2
import numpy as np
import PIL
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_image_fixtures as base  # noqa: E402  (its encoders; importing it runs nothing)

ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'images', 'robust')
BIRD = os.path.join(ROOT, 'test', 'fixtures', 'images', 'expected', 'BLUE_GROSBEAK.rgb')

manifest = {
    'generator': {'script': 'test/reference/make_image_robust_fixtures.py', 'pillow': PIL.__version__,
                  'libjpeg': 'libjpeg-turbo 2.1.5 (Debian libjpeg62-turbo)', 'loadTruncatedImages': False},
    'jpegNoDht': [], 'jpegDamaged': [], 'jpegCmyk': [], 'png': [], 'bmp': [],
}
# Sampled pixel positions, as fractions of width and height.
SAMPLES = [(0, 0), (0.5, 0.5), (0.99, 0.99), (0.25, 0.75), (0.75, 0.25), (0.1, 0.9)]


def sha256(b):
    return hashlib.sha256(bytes(b)).hexdigest()


def pil_result(data):
    """What PIL makes of the file: {'width', 'height', 'pilMode', 'sha256', 'samples'} or {'error'}."""
    try:
        im = Image.open(io.BytesIO(data))
        im.load()
        mode = im.mode
        rgb = np.asarray(im.convert('RGB'), dtype=np.uint8)
    except Exception as e:  # noqa: BLE001 -- any failure is "PIL refuses this file"
        return {'error': re.sub(r' at 0x[0-9a-f]+', '', f'{type(e).__name__}: {e}')}  # no object addresses
    h, w = rgb.shape[:2]
    samples = [[int(fx * (w - 1)), int(fy * (h - 1))] for fx, fy in SAMPLES]
    return {'width': w, 'height': h, 'pilMode': mode, 'sha256': sha256(rgb.tobytes()),
            'samples': [[x, y, *map(int, rgb[y, x])] for x, y in samples]}


def add(group, name, ext, data, note):
    rel = f'{group}/{name}.{ext}'
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)
    case = {'file': rel, 'note': note, **pil_result(data)}
    manifest[group].append(case)
    return case


def pil_jpeg(arr, **kw):
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, 'JPEG', **kw)
    return buf.getvalue()


def cv2_jpeg(rgb, params):
    ok, enc = cv2.imencode('.jpg', cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    assert ok
    return enc.tobytes()


def split_jpeg(d):
    """[(marker, start, end)] for every marker segment; a scan's entry ends where its entropy-coded data ends."""
    out, i = [], 2
    while i < len(d) - 1:
        m = d[i + 1]
        if m == 0xD9:
            out.append((m, i, i + 2))
            break
        n = struct.unpack('>H', d[i + 2:i + 4])[0]
        end = i + 2 + n
        if m == 0xDA:  # entropy-coded data runs to the next marker that is not RSTn
            j = end
            while j < len(d) - 1 and not (d[j] == 0xFF and d[j + 1] not in (0, 0xFF) and not 0xD0 <= d[j + 1] <= 0xD7):
                j += 1
            end = j
        out.append((m, i, end))
        i = end
    return out


def strip_markers(d, code):
    keep = bytearray(d[:2])
    for m, s, e in split_jpeg(d):
        if m != code:
            keep += d[s:e]
    return bytes(keep)


def rst_positions(d):
    return [i for i in range(len(d) - 1) if d[i] == 0xFF and 0xD0 <= d[i + 1] <= 0xD7]


def jpeg_cases(bird):
    crop = np.ascontiguousarray(bird[80:128, 70:134])  # 64x48
    crop2 = np.ascontiguousarray(bird[100:140, 20:76])  # 56x40
    gray = np.asarray(Image.fromarray(crop).convert('L'))
    rng = np.random.default_rng(13)

    # --- item 11: no DHT, the decoder falls back to the Annex K tables ----------------------------------------------
    for name, arr, kw in [('q95_444', crop, dict(quality=95, subsampling=0)),
                          ('q90_420', crop2, dict(quality=90, subsampling=2)),
                          ('q100_422', crop, dict(quality=100, subsampling=1)),
                          ('gray_q95', gray, dict(quality=95))]:
        add('jpegNoDht', f'nodht_{name}', 'jpg', strip_markers(pil_jpeg(arr, optimize=False, **kw), 0xC4),
            f'PIL {kw} optimize=False, DHT segments removed')
    add('jpegNoDht', 'nodht_progressive', 'jpg',
        strip_markers(pil_jpeg(crop, quality=90, progressive=True), 0xC4),
        'progressive without DHT: libjpeg-turbo installs the standard tables only for sequential files')

    # --- item 7: damaged files ----------------------------------------------------------------------------------------
    rst1 = cv2_jpeg(crop, [cv2.IMWRITE_JPEG_QUALITY, 85, cv2.IMWRITE_JPEG_RST_INTERVAL, 1])
    rst2 = cv2_jpeg(crop2, [cv2.IMWRITE_JPEG_QUALITY, 90, cv2.IMWRITE_JPEG_RST_INTERVAL, 2])
    prog_rst = cv2_jpeg(crop, [cv2.IMWRITE_JPEG_QUALITY, 80, cv2.IMWRITE_JPEG_PROGRESSIVE, 1,
                               cv2.IMWRITE_JPEG_RST_INTERVAL, 3])
    base_420 = pil_jpeg(crop, quality=90)
    base_gray = pil_jpeg(gray, quality=85)
    prog = pil_jpeg(crop, quality=85, progressive=True)
    prog_444 = pil_jpeg(crop2, quality=92, progressive=True, subsampling=0)

    def junk(n, kind):
        if kind == 'plain':
            return bytes(rng.integers(0, 255, n, dtype=np.uint8))  # never 0xFF
        if kind == 'stuffed':
            return bytes(rng.integers(0, 255, n, dtype=np.uint8)) + b'\xff\x00' + bytes(rng.integers(0, 255, 3, dtype=np.uint8))
        return b'\x12\x34\xff\x05\x56' + bytes(rng.integers(0, 255, n, dtype=np.uint8))  # an invalid marker in the junk

    def insert_before_rst(d, which, payload):
        rs = rst_positions(d)
        out, last = bytearray(), 0
        for k, p in enumerate(rs):
            if which(k):
                out += d[last:p] + payload(k)
                last = p
        return bytes(out + d[last:])

    for src_name, src in [('rst1', rst1), ('rst2', rst2), ('progrst', prog_rst)]:
        add('jpegDamaged', f'junk_every_rst_{src_name}', 'jpg',
            insert_before_rst(src, lambda k: True, lambda k: junk(1 + k % 5, 'plain')),
            'junk bytes before every restart marker (MJPEG camera frames)')
        add('jpegDamaged', f'junk_some_rst_stuffed_{src_name}', 'jpg',
            insert_before_rst(src, lambda k: k % 7 == 3, lambda k: junk(4, 'stuffed')),
            'junk with a stuffed FF 00 before some restart markers')
        add('jpegDamaged', f'junk_invalid_marker_{src_name}', 'jpg',
            insert_before_rst(src, lambda k: k in (2, 9), lambda k: junk(3, 'marker')),
            'junk holding an invalid marker FF 05 before two restart markers (resync skips it)')

    def rewrite_rst(d, k, new):
        rs = rst_positions(d)
        b = bytearray(d)
        if new is None:
            del b[rs[k]:rs[k] + 2]
        else:
            b[rs[k] + 1] = 0xD0 + new
        return bytes(b)

    rs1 = rst_positions(rst1)
    add('jpegDamaged', 'rst_missing', 'jpg', rewrite_rst(rst1, 5, None), 'one restart marker removed')
    for k, d in [(4, 1), (6, 2), (7, -1), (9, -2), (10, 4), (3, 3)]:
        expected = k % 8
        add('jpegDamaged', f'rst_wrong_{k}_{d:+d}', 'jpg', rewrite_rst(rst1, k, (expected + d) % 8),
            f'restart marker {k} numbered RST{(expected + d) % 8} instead of RST{expected}')
    add('jpegDamaged', 'rst_replaced_by_eoi', 'jpg', rst1[:rs1[7]] + b'\xff\xd9', 'data cut at a restart, then EOI')
    add('jpegDamaged', 'rst_followed_by_junk_marker', 'jpg',
        rst1[:rs1[8]] + b'\xff\xc8' + rst1[rs1[8]:], 'a reserved marker FF C8 where a restart belongs')

    def cut_scan(d, scan, frac, tail):
        segs = [s for s in split_jpeg(d) if s[0] == 0xDA]
        _, s, e = segs[scan]
        hdr_end = s + 2 + struct.unpack('>H', d[s + 2:s + 4])[0]
        cut = hdr_end + int((e - hdr_end) * frac)
        if d[cut - 1] == 0xFF:
            cut -= 1
        return d[:cut] + (b'\xff\xd9' if tail == 'eoi' else d[e:])

    for src_name, src in [('420', base_420), ('gray', base_gray), ('rst2', rst2)]:
        for frac in (0.3, 0.77):
            add('jpegDamaged', f'early_end_{src_name}_{int(frac * 100)}', 'jpg', cut_scan(src, 0, frac, 'eoi'),
                f'entropy-coded data cut at {frac:.0%}, then EOI')
    for scan, frac in [(0, 0.5), (2, 0.4), (5, 0.6), (9, 0.8)]:
        add('jpegDamaged', f'early_end_prog_scan{scan}', 'jpg', cut_scan(prog, scan, frac, 'rest'),
            f'progressive: scan {scan} cut at {frac:.0%}, the later scans kept')
    add('jpegDamaged', 'early_end_prog_last_eoi', 'jpg', cut_scan(prog, 9, 0.5, 'eoi'),
        'progressive: last scan cut in half, then EOI')
    add('jpegDamaged', 'early_end_progrst', 'jpg', cut_scan(prog_rst, 1, 0.5, 'rest'),
        'progressive with restarts: scan 1 cut in half, the later scans kept')

    def drop_scan(d, k):
        segs = split_jpeg(d)
        scans = [i for i, s in enumerate(segs) if s[0] == 0xDA]
        out = bytearray(d[:2])
        for i, (m, s, e) in enumerate(segs):
            if i != scans[k]:
                out += d[s:e]
        return bytes(out)

    nscans = len([s for s in split_jpeg(prog) if s[0] == 0xDA])
    for k in range(nscans):
        add('jpegDamaged', f'prog_missing_scan{k}', 'jpg', drop_scan(prog, k), f'progressive: scan {k} of {nscans} removed')
    for k in (1, 4, 7):
        add('jpegDamaged', f'prog444_missing_scan{k}', 'jpg', drop_scan(prog_444, k), f'progressive 4:4:4: scan {k} removed')

    def flip_bits(d, seed, count):
        r = np.random.default_rng(seed)
        segs = [s for s in split_jpeg(d) if s[0] == 0xDA]
        b = bytearray(d)
        for _ in range(count):
            _, s, e = segs[int(r.integers(0, len(segs)))]
            hdr_end = s + 2 + struct.unpack('>H', d[s + 2:s + 4])[0]
            for _ in range(100):
                p = int(r.integers(hdr_end, e))
                v = b[p] ^ (1 << int(r.integers(0, 8)))
                # Keep the byte structure: no new 0xFF, no change to an FF or to a stuffed 00.
                if b[p] != 0xFF and v != 0xFF and b[p - 1] != 0xFF:
                    b[p] = v
                    break
        return bytes(b)

    for i, (src_name, src) in enumerate([('420', base_420), ('gray', base_gray), ('rst1', rst1), ('prog', prog),
                                         ('prog444', prog_444), ('progrst', prog_rst)] * 3):
        add('jpegDamaged', f'flipped_{src_name}_{i}', 'jpg', flip_bits(src, 100 + i, 1 + i % 4),
            f'{1 + i % 4} bit(s) flipped inside entropy-coded data')

    # No EOI: PIL refuses most (libjpeg suspends while refilling its bit buffer) and accepts a few.
    accepted = refused = 0
    for i in range(400):
        if accepted >= 6 and refused >= 6:
            break
        w, h = int(rng.integers(8, 65)), int(rng.integers(8, 49))
        y0, x0 = int(rng.integers(0, 224 - h)), int(rng.integers(0, 224 - w))
        arr = np.ascontiguousarray(bird[y0:y0 + h, x0:x0 + w])
        d = pil_jpeg(arr, quality=int(rng.integers(30, 96)), subsampling=int(rng.integers(0, 3)))[:-2]
        ok = 'error' not in pil_result(d)
        if (ok and accepted < 6) or (not ok and refused < 6):
            add('jpegDamaged', f'no_eoi_{i}', 'jpg', d, f'baseline {w}x{h} without its EOI marker')
            accepted += ok
            refused += not ok
    add('jpegDamaged', 'no_eoi_rst', 'jpg', rst2[:-2], 'restart intervals, no EOI')
    add('jpegDamaged', 'no_eoi_progressive', 'jpg', prog[:-2], 'progressive without EOI')
    for n in (1, 3, 5, 9):
        add('jpegDamaged', f'trailing_junk_{n}', 'jpg', base_gray[:-2] + bytes(range(40, 40 + n)),
            f'no EOI but {n} junk bytes after the scan')
    add('jpegDamaged', 'cut_mid_scan', 'jpg', base_420[:len(base_420) * 2 // 3], 'cut inside the scan, no EOI')
    segs = split_jpeg(base_420)
    sos = [s for s in segs if s[0] == 0xDA][0]
    add('jpegDamaged', 'second_scan', 'jpg', base_420[:sos[2]] + base_420[sos[1]:],
        'a single-scan file whose scan appears twice')
    add('jpegDamaged', 'unknown_marker_after_scan', 'jpg', base_420[:-2] + b'\xff\x02\x00\x04ab\xff\xd9',
        'a reserved marker FF 02 after the scan')


def jpeg_cmyk_cases(bird):
    crop = np.ascontiguousarray(bird[60:108, 100:164])
    im = Image.fromarray(crop)
    cmyk = im.convert('CMYK')
    # Give K some weight: PIL's RGB->CMYK leaves K at 0.
    a = np.asarray(cmyk).astype(np.int32)
    k = np.minimum(a[..., :3].min(axis=2), 200)
    a[..., :3] -= k[..., None]
    a[..., 3] = k
    cmyk_k = Image.fromarray(a.astype(np.uint8), 'CMYK')
    for name, src, kw in [('pil_cmyk', cmyk, dict(quality=90)), ('pil_cmyk_k', cmyk_k, dict(quality=92)),
                          ('pil_cmyk_prog', cmyk_k, dict(quality=85, progressive=True)),
                          ('pil_cmyk_q50', cmyk_k, dict(quality=50))]:
        buf = io.BytesIO()
        src.save(buf, 'JPEG', **kw)
        add('jpegCmyk', name, 'jpg', buf.getvalue(), f'PIL-written CMYK JPEG {kw} (Adobe transform 0, inverted)')
        if name == 'pil_cmyk_k':
            add('jpegCmyk', 'cmyk_no_adobe', 'jpg', strip_markers(buf.getvalue(), 0xEE),
                'the same without its Adobe marker (plain CMYK to libjpeg; PIL still reads it inverted)')
    # YCCK from the fixture encoder: YCbCr of (255 - C, 255 - M, 255 - Y) as Adobe does, plus K.
    planes = [255.0 - a[..., i] for i in range(3)]
    ycc = base.to_ycc(np.stack(planes, -1).clip(0, 255).round().astype(np.uint8))
    kplane = a[..., 3].astype(np.float64)
    for name, samp, marker, note in [
            ('ycck_444', [(1, 1)] * 4, 2, 'YCCK (Adobe transform 2), 4:4:4'),
            ('ycck_420', [(2, 2), (1, 1), (1, 1), (2, 2)], 2, 'YCCK 4:2:0 with full-resolution K'),
            ('ycck_transform1', [(2, 1), (1, 1), (1, 1), (1, 1)], 1, 'four components with Adobe transform 1: '
             'libjpeg assumes YCCK')]:
        d = bytearray(base.encode_jpeg(ycc + [kplane], samp, quality=90, marker='adobe1', qsel=[0, 1, 1, 0]))
        i = d.index(b'Adobe')
        d[i + 11] = marker
        add('jpegCmyk', name, 'jpg', bytes(d), note)


def png_chunks(d):
    out, p = [], 8
    while p + 8 <= len(d):
        n = struct.unpack('>I', d[p:p + 4])[0]
        out.append((d[p + 4:p + 8], p, p + 12 + n))
        p += 12 + n
    return out


def png_cases():
    y, x = np.mgrid[0:32, 0:32]
    g1 = ((x // 4 + y // 4) % 2).astype(np.int64)[..., None]
    basn0g01 = base.encode_png(g1, 1, 0, filters=lambda i: 0, level=9)
    rgb = ((np.stack([x * 8, y * 8, (x + y) * 4], -1)) % 256).astype(np.int64)
    rgb8 = base.encode_png(rgb, 8, 2, idat_parts=3, extra_chunks=[(b'gAMA', struct.pack('>I', 45455))])

    def bad_crc(d, ctype, k=0):
        b = bytearray(d)
        _, s, e = [c for c in png_chunks(d) if c[0] == ctype][k]
        b[e - 1] ^= 0x5A
        return bytes(b)

    iend = [c for c in png_chunks(rgb8) if c[0] == b'IEND'][0]
    add('png', 'xcsn0g01_like', 'png', bad_crc(basn0g01, b'IDAT'),
        "PngSuite xcsn0g01's defect: a 32x32 1-bit grey image whose IDAT CRC is wrong")
    add('png', 'bad_crc_second_idat', 'png', bad_crc(rgb8, b'IDAT', 1), 'three IDATs, the second with a bad CRC')
    add('png', 'no_iend', 'png', rgb8[:iend[1]], 'file ends after the last IDAT (IEND missing)')
    add('png', 'iend_cut', 'png', rgb8[:iend[1] + 6], 'IEND cut off after 6 of its 12 bytes')
    add('png', 'iend_crc_bad', 'png', rgb8[:-1] + bytes([rgb8[-1] ^ 1]), 'IEND with a bad CRC')
    text = base.png_chunk(b'tEXt', b'Comment\x00after the image')
    after = rgb8[:iend[1]] + text[:-1] + bytes([text[-1] ^ 0xFF]) + rgb8[iend[1]:]
    add('png', 'bad_crc_after_idat', 'png', after, 'a tEXt chunk after the image data with a bad CRC')
    add('png', 'bad_crc_gama', 'png', bad_crc(rgb8, b'gAMA'), 'a bad CRC in gAMA, before the image data')
    last_idat = [c for c in png_chunks(rgb8) if c[0] == b'IDAT'][-1]
    add('png', 'idat_cut', 'png', rgb8[:last_idat[2] - 20], 'last IDAT cut short, no IEND: image data incomplete')
    # Adler-32 of the zlib stream wrong (CRC recomputed so only the checksum inside the data is bad).
    raw = zlib.decompress(b''.join(rgb8[s + 8:e - 4] for t, s, e in png_chunks(rgb8) if t == b'IDAT'))
    z = bytearray(zlib.compress(raw, 6))
    z[-1] ^= 1
    bad_adler = rgb8[:png_chunks(rgb8)[2][1]] + base.png_chunk(b'IDAT', bytes(z)) + base.png_chunk(b'IEND', b'')
    add('png', 'bad_adler', 'png', bad_adler, 'zlib stream with a wrong Adler-32 (chunk CRCs right)')


def bmp_file(w, h, bits, pixels_rows, palette=None, compression=0, masks=None, header=40, top_down=False,
             colors=None, offset=None):
    """A BMP with the given raw rows (already packed, unpadded); rows listed top to bottom."""
    stride = ((w * bits + 31) >> 3) & ~3
    body = b''.join(r + bytes(stride - len(r)) for r in (pixels_rows if top_down else pixels_rows[::-1]))
    if header == 12:
        info = struct.pack('<IHHHH', 12, w, h, 1, bits)
        pal = b''.join(bytes([b, g, r]) for r, g, b in palette) if palette else b''
    else:
        n = len(palette) if palette else 0
        info = struct.pack('<IiiHHIIiiII', header, w, -h if top_down else h, 1, bits, compression, len(body),
                           2835, 2835, n if colors is None else colors, 0)
        extra = b''
        if masks and header == 40:
            extra = struct.pack('<III', *masks[:3])
        elif header > 40:
            m = (masks or (0, 0, 0, 0)) + (0,) * 4
            info += struct.pack('<IIII', *m[:4]) + bytes(header - 56)
        info += extra
        pal = b''.join(bytes([b, g, r, 0]) for r, g, b in palette) if palette else b''
    off = 14 + len(info) + len(pal) if offset is None else offset
    return b'BM' + struct.pack('<IHHI', off + len(body), 0, 0, off) + info + pal + body


def bmp_cases(bird):
    crop = np.ascontiguousarray(bird[30:70, 40:93])  # 53x40: odd width exercises row padding
    im = Image.fromarray(crop)
    h, w = crop.shape[:2]
    for mode in ('RGB', 'RGBA', 'L', 'P', '1'):
        src = im.quantize(200) if mode == 'P' else im.convert(mode)
        buf = io.BytesIO()
        src.save(buf, 'BMP')
        add('bmp', f'pil_{mode}', 'bmp', buf.getvalue(), f'PIL-written BMP from a mode {mode} image')
    r = np.random.default_rng(5)
    pal16 = [tuple(int(v) for v in r.integers(0, 256, 3)) for _ in range(16)]
    idx4 = (crop.sum(axis=2) // 48).clip(0, 15)
    rows4 = [bytes((int(row[i]) << 4) | (int(row[i + 1]) if i + 1 < w else 0) for i in range(0, w, 2)) for row in idx4]
    add('bmp', 'pal4', 'bmp', bmp_file(w, h, 4, rows4, pal16), '4-bit palette')
    add('bmp', 'pal4_topdown', 'bmp', bmp_file(w, h, 4, rows4, pal16, top_down=True), '4-bit palette, top-down')
    idx8 = (crop[..., 0] // 2 + crop[..., 2] // 4).astype(np.uint8)
    pal_short = [tuple(int(v) for v in r.integers(0, 256, 3)) for _ in range(100)]
    rows8 = [bytes(row) for row in idx8]
    add('bmp', 'pal8_short_palette', 'bmp', bmp_file(w, h, 8, rows8, pal_short),
        '8-bit indices up to 190 with a 100-entry palette')
    pal256 = [tuple(int(v) for v in r.integers(0, 256, 3)) for _ in range(256)]
    add('bmp', 'pal8_os2', 'bmp', bmp_file(w, h, 8, rows8, pal256, header=12), '8-bit palette, OS/2 v1 header')
    add('bmp', 'pal8_v5_topdown', 'bmp', bmp_file(w, h, 8, rows8, pal256, header=124, top_down=True),
        '8-bit palette, BITMAPV5HEADER, top-down')
    bw = [(0, 0, 0), (255, 255, 255)]
    idx1 = (crop.sum(axis=2) > 380).astype(np.uint8)
    rows1 = [np.packbits(row).tobytes() for row in idx1]
    add('bmp', 'pal1_colour', 'bmp', bmp_file(w, h, 1, rows1, [(200, 30, 60), (10, 220, 90)]), '1-bit, two colours')
    add('bmp', 'pal1_bw_topdown', 'bmp', bmp_file(w, h, 1, rows1, bw, top_down=True), '1-bit black and white, top-down')
    c = crop.astype(np.uint32)
    p555 = ((c[..., 0] >> 3) << 10) | ((c[..., 1] >> 3) << 5) | (c[..., 2] >> 3)
    p565 = ((c[..., 0] >> 3) << 11) | ((c[..., 1] >> 2) << 5) | (c[..., 2] >> 3)
    rows555 = [row.astype('<u2').tobytes() for row in p555]
    add('bmp', 'rgb16_555', 'bmp', bmp_file(w, h, 16, rows555), '16-bit, BI_RGB (5-5-5)')
    add('bmp', 'rgb16_565', 'bmp', bmp_file(w, h, 16, [row.astype('<u2').tobytes() for row in p565], compression=3,
                                            masks=(0xF800, 0x7E0, 0x1F)), '16-bit BI_BITFIELDS 5-6-5')
    add('bmp', 'rgb16_555_bitfields_v4', 'bmp', bmp_file(w, h, 16, rows555, compression=3, header=108,
                                                        masks=(0x7C00, 0x3E0, 0x1F, 0)), '16-bit bitfields 5-5-5, V4')
    bgr = [row[:, ::-1].tobytes() for row in crop]
    add('bmp', 'rgb24_topdown', 'bmp', bmp_file(w, h, 24, bgr, top_down=True), '24-bit, top-down')
    a = (np.arange(w * h).reshape(h, w) % 251).astype(np.uint8)
    bgra = [np.concatenate([crop[y, :, ::-1], a[y][:, None]], 1).tobytes() for y in range(h)]
    add('bmp', 'rgb32_bitfields_bgra_v5', 'bmp', bmp_file(w, h, 32, bgra, compression=3, header=124,
                                                         masks=(0xFF0000, 0xFF00, 0xFF, 0xFF000000)),
        '32-bit bitfields B,G,R,A (V5 header)')
    add('bmp', 'rgb32_bitfields_bgrx', 'bmp', bmp_file(w, h, 32, bgra, compression=3, masks=(0xFF0000, 0xFF00, 0xFF)),
        '32-bit bitfields B,G,R,X (masks after a 40-byte header)')
    rgba = [np.concatenate([crop[y], a[y][:, None]], 1).tobytes() for y in range(h)]
    add('bmp', 'rgb32_bitfields_rgba', 'bmp', bmp_file(w, h, 32, rgba, compression=3, header=108,
                                                      masks=(0xFF, 0xFF00, 0xFF0000, 0xFF000000)),
        '32-bit bitfields R,G,B,A (V4 header)')
    xbgr = [np.concatenate([a[y][:, None], crop[y, :, ::-1]], 1).tobytes() for y in range(h)]
    add('bmp', 'rgb32_bitfields_xbgr', 'bmp', bmp_file(w, h, 32, xbgr, compression=3, header=108,
                                                      masks=(0xFF000000, 0xFF0000, 0xFF00, 0)),
        '32-bit bitfields X,B,G,R')
    add('bmp', 'rgb32_bitfields_odd', 'bmp', bmp_file(w, h, 32, bgra, compression=3, header=108,
                                                     masks=(0xFFC00000, 0x3FF000, 0xFFC, 0)),
        '32-bit bitfields 10-10-10: PIL refuses the layout')
    add('bmp', 'rle8', 'bmp', bmp_file(w, 2, 8, [b'\x05\x07\x00\x00', b'\x00\x01'], pal256, compression=1),
        'RLE8 compression (not decoded here: refused with a clear error)')
    add('bmp', 'truncated', 'bmp', bmp_file(w, h, 24, bgr)[:-100], '24-bit, pixel data cut short')
    add('bmp', 'bits_2', 'bmp', bmp_file(w, h, 2, [bytes(14)] * h, bw * 2), '2-bit pixels: PIL refuses the depth')


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    bird = np.fromfile(BIRD, np.uint8).reshape(224, 224, 3)
    jpeg_cases(bird)
    jpeg_cmyk_cases(bird)
    png_cases()
    bmp_cases(bird)
    with open(os.path.join(OUT, 'manifest.json'), 'w') as f:
        f.write('{\n' + ',\n'.join(
            f'{json.dumps(k)}: ' + (json.dumps(v) if not isinstance(v, list) else
                                    '[\n' + ',\n'.join(json.dumps(c, separators=(',', ':')) for c in v) + '\n]')
            for k, v in manifest.items()) + '\n}\n')
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    counts = {k: len(v) for k, v in manifest.items() if isinstance(v, list)}
    print(f'wrote {OUT}: {counts}; {total / 1024:.0f} KiB', file=sys.stderr)


if __name__ == '__main__':
    main()
