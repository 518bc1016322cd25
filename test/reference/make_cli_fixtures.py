#!/usr/bin/env python3
"""Writes the reference fixtures for the CLI building blocks (test/fixtures/cli/).

Run with the system Python (needs numpy):  /usr/bin/python3 test/reference/make_cli_fixtures.py

* difflib.json - Python's difflib.SequenceMatcher ratios / matching blocks and
  get_close_matches outputs for class-name-like queries, near misses around the
  0.8 cutoff, ties, non-BMP characters and long (>= 200 element) sequences that
  trigger the autojunk heuristic.
* npy.json - .npy files written by numpy (format 1.0) for float16 / float32 /
  uint8 arrays of tricky values, base64-encoded, with the input values given as
  exact bit patterns (float32 as uint32, float64 as 16 hex digits).
"""
import base64
import difflib
import io
import json
import os
import random
import struct
import sys

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "cli")

# --------------------------------------------------------------------------- difflib

CARS = [
    "AM General Hummer SUV 2000", "Acura RL Sedan 2012", "Acura TL Sedan 2012", "Acura TL Type-S 2008",
    "Acura TSX Sedan 2012", "Acura Integra Type R 2001", "Acura ZDX Hatchback 2012",
    "Aston Martin V8 Vantage Convertible 2012", "Aston Martin V8 Vantage Coupe 2012",
    "Aston Martin Virage Convertible 2012", "Aston Martin Virage Coupe 2012", "Audi RS 4 Convertible 2008",
    "Audi A5 Coupe 2012", "Audi TTS Coupe 2012", "Audi R8 Coupe 2012", "Audi V8 Sedan 1994",
    "Audi 100 Sedan 1994", "Audi 100 Wagon 1994", "Audi TT Hatchback 2011", "Audi S6 Sedan 2011",
    "Audi S5 Convertible 2012", "Audi S5 Coupe 2012", "Audi S4 Sedan 2012", "Audi S4 Sedan 2007",
    "BMW 1 Series Convertible 2012", "BMW 1 Series Coupe 2012", "BMW 3 Series Sedan 2012",
    "BMW 3 Series Wagon 2012", "BMW 6 Series Convertible 2007", "BMW X5 SUV 2007", "BMW X6 SUV 2012",
    "BMW M3 Coupe 2012", "BMW M5 Sedan 2010", "BMW M6 Convertible 2010", "BMW X3 SUV 2012",
    "BMW Z4 Convertible 2012", "Chevrolet Silverado 1500 Extended Cab 2012",
    "Chevrolet Silverado 1500 Regular Cab 2012", "Chevrolet Silverado 2500HD Regular Cab 2012",
    "Chevrolet Corvette Convertible 2012", "Chevrolet Corvette ZR1 2012",
    "Chevrolet Corvette Ron Fellows Edition Z06 2007", "Ford F-150 Regular Cab 2012",
    "Ford F-150 Regular Cab 2007", "Ford Focus Sedan 2007", "Ford Mustang Convertible 2007",
    "Hyundai Sonata Hybrid Sedan 2012", "Hyundai Sonata Sedan 2012", "Hyundai Elantra Sedan 2007",
    "Mercedes-Benz C-Class Sedan 2012", "Mercedes-Benz E-Class Sedan 2012", "Mercedes-Benz S-Class Sedan 2012",
    "Mercedes-Benz SL-Class Coupe 2009", "Tesla Model S Sedan 2012", "Volvo C30 Hatchback 2012",
    "Volvo 240 Sedan 1993", "Volvo XC90 SUV 2007", "smart fortwo Convertible 2012",
]

BIRDS = [
    "Grey-billed Finch", "Orange-billed Finch", "Plain-eyed Warbler", "Spectacled Warbler",
    "Plain-capped Sparrow", "Red-capped Sparrow", "Pale-throated Tanager", "Yellow-throated Tanager",
    "Plain-winged Wren", "Bar-winged Wren", "Dark-tailed Vireo", "White-tipped Vireo",
    "001.Black_footed_Albatross", "002.Laysan_Albatross", "003.Sooty_Albatross",
    "004.Groove_billed_Ani", "005.Crested_Auklet", "006.Least_Auklet",
]


def folder_variants(name):
    """Folder names a user might have for a class name."""
    out = [name, name.replace(" ", "_"), name.lower(), name.upper(), name.replace(" ", ""),
           name.replace(" ", "-"), name.replace("-", " "), name[:-1], name[1:], name + "s",
           name.replace("Sedan", "Sedn"), name.replace("2012", "2011"), name.lower().replace(" ", "_")]
    seen = []
    for v in out:
        if v not in seen:
            seen.append(v)
    return seen


def near_cutoff_queries(rng, base, cutoff):
    """Random edits of base whose ratio lands just under / at / over the cutoff."""
    found = {"under": None, "at": None, "over": None}
    alphabet = "abcdefghijklmnopqrstuvwxyz _-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for _ in range(4000):
        s = list(base)
        for _ in range(rng.randint(1, max(1, len(base) // 3))):
            op = rng.random()
            pos = rng.randrange(len(s) + 1)
            if op < 0.4 and s:
                s[min(pos, len(s) - 1)] = rng.choice(alphabet)
            elif op < 0.7:
                s.insert(pos, rng.choice(alphabet))
            elif s:
                del s[min(pos, len(s) - 1)]
        q = "".join(s)
        r = difflib.SequenceMatcher(None, q, base).ratio()
        if r == cutoff and found["at"] is None:
            found["at"] = q
        elif cutoff - 0.03 <= r < cutoff and found["under"] is None:
            found["under"] = q
        elif cutoff < r <= cutoff + 0.03 and found["over"] is None:
            found["over"] = q
        if all(found.values()):
            break
    return [v for v in found.values() if v is not None]


def long_strings(rng):
    """Pairs of long sequences (>= 200 elements) exercising autojunk / popular elements."""
    pairs = []
    for length, alpha in [(200, "ab"), (199, "ab"), (250, "abcdef"), (300, "abcdefghij "), (420, "xyz"),
                          (200, "abcdefghijklmnopqrstuvwxyz"), (600, "acgt")]:
        a = "".join(rng.choice(alpha) for _ in range(length))
        b = list(a)
        for _ in range(length // 10):
            i = rng.randrange(len(b))
            b[i] = rng.choice(alpha)
        pairs.append((a, "".join(b)))
        pairs.append(("".join(b)[: length // 2], a))
    # many copies of one char in b (popular) but rare in a
    pairs.append(("the quick brown fox " * 3, ("e" * 150) + "the quick brown fox" + ("e" * 60)))
    pairs.append((" ".join(CARS)[:300], " ".join(reversed(CARS))[:300]))
    pairs.append(("x" * 199 + "y", "x" * 200))
    return pairs


def difflib_fixture():
    rng = random.Random(20240611)
    ratio_pairs = []
    # class names against each other, and folder variants against names
    for i, a in enumerate(CARS[:30]):
        for b in CARS[i + 1:i + 6]:
            ratio_pairs.append((a, b))
    for name in CARS[:12] + BIRDS:
        for v in folder_variants(name):
            ratio_pairs.append((v, name))
            ratio_pairs.append((name, v))
    small = ["", "a", "ab", "ba", "abc", "abcd", "bcde", "aaaa", "abab", "qabxcd", "abycdf",
             "private Thread currentThread;", "private volatile Thread currentThread;",
             "\u00e9t\u00e9", "ete", "\U0001F600ab", "ab\U0001F600", "\U0001F600\U0001F601", "\U0001F601\U0001F600"]
    for a in small:
        for b in small:
            ratio_pairs.append((a, b))
    ratio_pairs += long_strings(rng)

    ratios = []
    for a, b in ratio_pairs:
        s = difflib.SequenceMatcher(None, a, b)
        ratios.append({
            "a": a, "b": b,
            "ratio": s.ratio(), "quick": s.quick_ratio(), "realQuick": s.real_quick_ratio(),
            "blocks": [list(m) for m in s.get_matching_blocks()],
            "popular": sorted(s.bpopular),
        })

    # get_close_matches queries: folder-name variants of each class name (queried against their own
    # pool), near misses around the cutoffs, and a few generic words (queried against every pool)
    queries = []
    for name in CARS:
        queries += [(v, "cars") for v in folder_variants(name)]
    for name in BIRDS:
        queries += [(v, "birds") for v in folder_variants(name)]
    for base, pool in [("Acura RL Sedan 2012", "cars"), ("BMW M3 Coupe 2012", "cars"), ("Audi S4 Sedan 2012", "cars"),
                       ("Spectacled Warbler", "birds"), ("Chevrolet Silverado 1500 Regular Cab 2012", "cars")]:
        queries += [(q, pool) for q in near_cutoff_queries(rng, base, 0.8)]
        queries += [(q, pool) for q in near_cutoff_queries(rng, base, 0.6)]
    for q in ["", "x", "Audi", "BMW", "Sedan 2012", "acura", "Audi S5", "Audi S4 Sedan", "bmw_x5_suv_2007",
              "unknown_folder", "Hummer", "Vireo", "Wren", "Warbler", "Grey billed Finch", "red_capped_sparrow"]:
        queries += [(q, "cars"), (q, "birds"), (q, "all")]
    seen = set()
    uniq = []
    for q in queries:
        if q not in seen:
            seen.add(q)
            uniq.append(q)

    ties_lists = [
        ("abcd", ["abce", "abcf", "abcg", "xbcd", "abcd", "bacd"]),
        ("abcd", ["zbcd", "ybcd", "xbcd", "wbcd"]),
        ("Audi S4 Sedan 2010", ["Audi S4 Sedan 2012", "Audi S4 Sedan 2007", "Audi S6 Sedan 2011",
                                "Audi S5 Sedan 2010", "Audi S4 Sedan 2010", "Audi S4 Sedan 2010"]),
        ("apple", ["ape", "apple", "peach", "puppy", "appel", "aplpe", "Apple"]),
        ("\U0001F600a", ["\U0001F601a", "\uFFFDa", "\uE000a", "\U0001F600b"]),
        ("wheel", ["while", "wheel", "wheels", "whale", "heel", "wheat", "whee"]),
    ]
    close = []
    pools = {"cars": CARS, "birds": BIRDS, "all": CARS + BIRDS}
    for q, pool_name in uniq:
        pool = pools[pool_name]
        close.append({"word": q, "pool": pool_name,
                      "n1c08": difflib.get_close_matches(q, pool, n=1, cutoff=0.8),
                      "default": difflib.get_close_matches(q, pool),
                      "n5c05": difflib.get_close_matches(q, pool, n=5, cutoff=0.5)})
    # full rankings (cutoff 0) for a sample of queries
    for q, _ in uniq[::12]:
        close.append({"word": q, "pool": "all", "n": 100, "cutoff": 0.0,
                      "result": difflib.get_close_matches(q, CARS + BIRDS, n=100, cutoff=0.0)})
    for word, poss in ties_lists:
        for n, c in [(1, 0.0), (2, 0.0), (3, 0.6), (10, 0.5), (10, 0.75)]:
            close.append({"word": word, "possibilities": poss, "n": n, "cutoff": c,
                          "result": difflib.get_close_matches(word, poss, n=n, cutoff=c)})
    # long word (>= 200) as seq2: autojunk on the word side
    long_word = " ".join(CARS[:8])
    assert len(long_word) >= 200
    long_poss = [long_word, long_word[:-3], long_word.replace("Acura", "Acurra"), " ".join(CARS[1:9]),
                 long_word.upper(), long_word[::-1]]
    for n, c in [(3, 0.6), (6, 0.0), (1, 0.8)]:
        close.append({"word": long_word, "possibilities": long_poss, "n": n, "cutoff": c,
                      "result": difflib.get_close_matches(long_word, long_poss, n=n, cutoff=c)})

    errors = []
    for n, c in [(0, 0.6), (-1, 0.6), (3, 1.5), (3, -0.1), (0, 2.0)]:
        try:
            difflib.get_close_matches("a", ["a"], n=n, cutoff=c)
            errors.append({"n": n, "cutoff": c, "message": None})
        except ValueError as e:
            errors.append({"n": n, "cutoff": c, "message": str(e)})

    return {"python": sys.version.split()[0], "pools": pools,
            "ratios": ratios, "closeMatches": close, "errors": errors}


# --------------------------------------------------------------------------- npy

def f32_bits(arr):
    return [int(x) for x in np.asarray(arr, dtype=np.float32).view(np.uint32).ravel()]


def f64_hex(arr):
    return ["%016x" % int(x) for x in np.asarray(arr, dtype=np.float64).view(np.uint64).ravel()]


def npy_bytes(arr):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def tricky_f64():
    v = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 0.1, -0.1, 1 / 3, np.pi, -np.e, 1000.0, 1024.0, 2048.0,
         2049.0, 2051.0, 4097.0, 65504.0, -65504.0, 65519.0, 65519.99, 65520.0, 65536.0, 1e5, -1e10,
         np.inf, -np.inf, np.nan, -np.nan,
         2.0 ** -24, -(2.0 ** -24), 2.0 ** -25, 2.0 ** -25 * 1.0000001, 1.5 * 2.0 ** -25, 3 * 2.0 ** -25,
         5 * 2.0 ** -25, 2.0 ** -26, 2.0 ** -14, 2.0 ** -14 - 2.0 ** -24, 2.0 ** -14 - 2.0 ** -25,
         2.0 ** -14 - 2.0 ** -26, 2.0 ** -14 + 2.0 ** -25, 1023 * 2.0 ** -24, 1023.5 * 2.0 ** -24,
         6e-8, 6.1e-5, 1e-30, -1e-30, 5e-324, 1e300,
         1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11, 1 + 2.0 ** -11 + 2.0 ** -23, 1 + 2.0 ** -11 - 2.0 ** -24,
         1 + 2.0 ** -11 + 2.0 ** -40, 1 + 3 * 2.0 ** -11 - 2.0 ** -40, 2.0 ** -24 * (0.5 + 2.0 ** -30),
         2.0 ** -25 + 2.0 ** -60, 65520.0 - 2.0 ** -30, 2047.5, 2048.5]
    return np.array(v, dtype=np.float64)


def npy_fixture():
    rng = np.random.default_rng(12345)
    cases = []

    def add(name, arr, source_bits):
        entry = {"name": name, "descr": arr.dtype.str, "shape": list(arr.shape), "npy": npy_bytes(arr)}
        entry.update(source_bits)
        cases.append(entry)

    # float16 from float32 (np.float32 -> astype(float16))
    t64 = tricky_f64()
    with np.errstate(all="ignore"):
        t32 = t64.astype(np.float32)
    rand_bits = rng.integers(0, 2 ** 32, size=600, dtype=np.uint64).astype(np.uint32)
    nan_bits = np.array([0x7F800001, 0xFF800001, 0x7FC00000, 0xFFC00000, 0x7FBFFFFF, 0x7F802000,
                         0x7F801FFF, 0x7FFFFFFF, 0x7F800000, 0xFF800000], dtype=np.uint32)
    # float32 values around every kind of half rounding boundary
    boundary = []
    for e in range(-27, 17):
        for m in [0.5, 0.75, 1.0, 1.0004882812, 1.00048828125, 1.0009765625, 1.00146484375, 1.999, 1.99951171875]:
            boundary.append(m * 2.0 ** e)
    bnd32 = np.array(boundary, dtype=np.float32)
    with np.errstate(all="ignore"):
        src32 = np.concatenate([t32, -t32, bnd32, -bnd32, rand_bits.view(np.float32), nan_bits.view(np.float32),
                                rng.standard_normal(200).astype(np.float32) * 3,
                                (rng.random(200) * 1e-4).astype(np.float32)])
        h = src32.astype(np.float16)
    add("f16_from_f32", h, {"f32": f32_bits(src32)})
    with np.errstate(all="ignore"):
        add("f16_from_f32_2d", src32[:60].astype(np.float16).reshape(6, 10), {"f32": f32_bits(src32[:60])})
    # float16 from float64 (direct double -> half rounding, as np.float16(x) does)
    with np.errstate(all="ignore"):
        rnd64 = np.concatenate([rng.standard_normal(300) * 100, rng.random(100) * 2.0 ** -20,
                                (1 + rng.integers(0, 2 ** 11, 100) * 2.0 ** -11) + rng.choice([-1, 1], 100) * 2.0 ** -45])
        src64 = np.concatenate([t64, -t64, rnd64])
        add("f16_from_f64", src64.astype(np.float16), {"f64": f64_hex(src64)})
    # the CAM layout written by generate_cams.py: (1, H, W) float16
    with np.errstate(all="ignore"):
        cam = rng.random((1, 5, 7)).astype(np.float32)
        add("f16_cam_1x5x7", cam.astype(np.float16), {"f32": f32_bits(cam)})
    # float32 arrays of several shapes
    for shape in [(), (0,), (1,), (5,), (2, 3), (1, 7, 9), (3, 1, 2, 2), (12345,)]:
        n = int(np.prod(shape)) if shape else 1
        vals = rng.standard_normal(n).astype(np.float32)
        if n >= 4:
            vals[:4] = np.array([np.inf, -0.0, np.nan, 1e-45], dtype=np.float32)
        arr = vals.reshape(shape)
        add("f32_" + "x".join(map(str, shape)) if shape else "f32_scalar", arr, {"f32": f32_bits(vals)})
    for shape in [(), (4,), (2, 2, 3), (64, 64, 3), (1, 10 ** 10 // 10 ** 9)]:
        n = int(np.prod(shape)) if shape else 1
        vals = rng.integers(0, 256, n, dtype=np.uint8)
        arr = vals.reshape(shape)
        add("u8_" + "x".join(map(str, shape)) if shape else "u8_scalar", arr, {"u8": [int(x) for x in vals]})
    # float16 scalar and empty
    add("f16_scalar", np.array(np.float16(1.5)), {"f32": f32_bits([1.5])})
    add("f16_empty_0x3", np.zeros((0, 3), dtype=np.float16), {"f32": []})
    return {"numpy": np.__version__, "cases": cases}


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "difflib.json"), "w") as f:
        json.dump(difflib_fixture(), f, ensure_ascii=False, separators=(",", ":"))
    with open(os.path.join(OUT, "npy.json"), "w") as f:
        json.dump(npy_fixture(), f, separators=(",", ":"))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
