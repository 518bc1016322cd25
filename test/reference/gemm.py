#!/usr/bin/python3
"""Writes test/fixtures/gemm/gemm.json: digests of torch.matmul products that exercise every edge of the
CPU backend's blocked gemm (kernels/cpu/gemm-kernel.ts: 3×3 tiles, KC = 256, MC = 120, NC = 2048; the thin
paths; the worker-thread split of products ≥ 2^20 multiply-adds, by columns or by rows).

Run from anywhere:  /usr/bin/python3 test/reference/gemm.py      (Debian python3-torch 1.13)

Inputs are small integers from a formula the test repeats:
    A[i, k] = ((7i² + 3k² + ik) mod 1009) mod 13 − 6      B[k, j] = ((5k² + 2j² + 3kj + j) mod 2053) mod 13 − 6
(no row of A repeats below 1009 rows, no column of B below 2053 columns, so a slice written at the wrong offset
cannot coincide with the right one), so every product and partial sum is an integer below 2^24 in magnitude: float32, float64 and int32 results
are all exact, and the test compares for equality. To keep the file small the fixture stores, per case, the
row sums, the column sums and one weighted sum Σ C[i, j]·((31i + 17j) mod 7 − 3) of C (all exact integers),
and the full C when it has at most 400 entries. A wrong tile, block edge or slice shows in these sums.
"""
import json
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'gemm')

CASES = [
    # (M, N, K, what it exercises)
    (1, 1, 1, 'scalar'),
    (1, 9, 7, 'one row (thin path)'),
    (9, 1, 7, 'one column (thin path, dot products)'),
    (2, 300, 20, 'two rows (thin path)'),
    (3, 300, 20, 'three rows: one row of tiles'),
    (300, 2, 20, 'two columns (thin path)'),
    (3, 5, 0, 'K = 0 gives zeros'),
    (3, 3, 3, 'one full tile'),
    (4, 4, 4, 'one tile and edges'),
    (5, 7, 3, 'tile edges in both directions'),
    (13, 17, 300, 'K crosses the KC = 256 block'),
    (130, 9, 40, 'M crosses the MC = 120 block'),
    (131, 10, 300, 'M and K cross their blocks together'),
    (6, 2050, 5, 'N crosses the NC = 2048 block'),
    (64, 100, 576, 'conv-like (3x3, 64 channels), three K blocks'),
    (48, 700, 40, 'threaded: split by columns'),
    (700, 20, 80, 'threaded: split by rows'),
    (131, 133, 70, 'threaded: uneven slices'),
    (19, 1000, 600, 'threaded: several K blocks, partial sums up to 2e4'),
]


def operands(M, N, K):
    i = torch.arange(M, dtype=torch.int64)[:, None]
    k = torch.arange(K, dtype=torch.int64)[None, :]
    A = (7 * i * i + 3 * k * k + i * k) % 1009 % 13 - 6
    k2 = torch.arange(K, dtype=torch.int64)[:, None]
    j = torch.arange(N, dtype=torch.int64)[None, :]
    B = (5 * k2 * k2 + 2 * j * j + 3 * k2 * j + j) % 2053 % 13 - 6
    return A.double(), B.double()


def main():
    cases = []
    for M, N, K, what in CASES:
        A, B = operands(M, N, K)
        C = torch.matmul(A, B)
        assert C.abs().max().item() < 2 ** 24 if C.numel() else True
        i = torch.arange(M, dtype=torch.float64)[:, None]
        j = torch.arange(N, dtype=torch.float64)[None, :]
        W = torch.remainder(31 * i + 17 * j, 7) - 3
        case = {
            'M': M, 'N': N, 'K': K, 'what': what,
            'rowSums': [int(v) for v in C.sum(1).tolist()],
            'colSums': [int(v) for v in C.sum(0).tolist()],
            'weighted': int((C * W).sum().item()),
        }
        if C.numel() <= 400:
            case['C'] = [int(v) for v in C.flatten().tolist()]
        cases.append(case)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, 'gemm.json'), 'w') as f:
        json.dump({'torch': torch.__version__, 'cases': cases}, f)
        f.write('\n')
    print(f'wrote {len(cases)} cases to test/fixtures/gemm/gemm.json')


if __name__ == '__main__':
    main()
