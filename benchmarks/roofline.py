"""Roofline numbers of TISF on one 128x128 face (single thread): what ROOFLINE.md reports.

    python benchmarks/roofline.py [--backend cython]

Measures this machine's limits, one thread:

* float32 matmul rate: NumPy ``np.dot`` of (3249, 128) x (128, 1000) float32, the encoder's
  shapes, under ``threadpool_limits(1)``;
* in-cache memory bandwidth: ``np.copyto`` of a 256 KiB float32 array (half of the
  512 KiB L2), counting the bytes read plus the bytes written (best of a few
  source/destination offsets, see ``machine_limits``);

then times each TISF kernel (smooth, orientation_blocks, assemble_descriptors) at steps 2
and 4 (best of many runs: the kernels' own cost, without the machine's noise) and prints,
per kernel, the FLOPs and bytes it must touch, per descriptor and per face, the achieved
GFLOP/s and GB/s, and the time the two limits allow.

FLOPs count the float operations of the algorithm as implemented (add, multiply,
divide, square root, min; not compares used as selects); bytes count each array read or
written once (the compulsory traffic; intermediates that stay in L1 are not counted).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from dlfers import _kernels  # noqa: E402
from dlfers.features.descriptors import gaussian_taps, grid_shape  # noqa: E402

H = W = 128
NBINS = 8
CELL = 4


def best_time(f, repeats: int = 300, number: int = 1) -> float:
    """Smallest wall time of ``number`` calls of ``f`` over ``repeats`` runs, per call (s)."""
    f()
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(number):
            f()
        best = min(best, (time.perf_counter() - t) / number)
    return best


def machine_limits() -> tuple[float, float]:
    """(float32 matmul GFLOP/s, in-cache copy GB/s), one thread."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a = rng.random((3249, 128), dtype=np.float32)
    b = rng.random((128, 1000), dtype=np.float32)
    c = np.empty((3249, 1000), np.float32)
    with threadpool_limits(1):
        t = best_time(lambda: np.dot(a, b, c), repeats=30)
    gflops = 2 * 3249 * 128 * 1000 / t / 1e9
    # 256 KiB; the destination is placed at several offsets from the source and the best
    # is kept: when the two are a multiple of 4 KiB apart, copies slow down several-fold
    # (4K aliasing), which would say more about malloc than about the machine
    src = np.ones(65536, np.float32)
    pool = np.empty(65536 + 4096, np.float32)
    t = math.inf
    for off in (0, 16, 272, 1040, 2064):
        dst = pool[off : off + 65536]
        t = min(t, best_time(lambda: np.copyto(dst, src), repeats=100, number=20))
    gbs = 2 * src.nbytes / t / 1e9
    return gflops, gbs


def face() -> np.ndarray:
    """The benchmark face (JAFFE KA.HA1.29 crop, or the synthetic one), as float32."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import conftest

    return np.asarray(conftest.face.__wrapped__(), np.float32)


def counts(step: int, taps: int) -> dict[str, tuple[float, float]]:
    """Per-face (FLOPs, bytes) of each kernel at ``step``."""
    g = math.gcd(step, CELL)
    cb = CELL // g
    bh, bw = H // g, W // g
    ch, cw = bh - cb + 1, bw - cb + 1
    ny, nx = grid_shape(H, W, step, CELL)
    n = ny * nx
    px = H * W
    dim = 16 * NBINS
    f32 = 4
    # smooth: two separable passes of `taps` multiply-adds (the first tap a multiply)
    smooth = (px * 2 * (2 * taps - 1), 2 * px * f32 + 2 * px * f32)  # img, out + tmp write/read
    # orientation: 2 differences, magnitude (2 mul, add, sqrt), atan (2 add, div, 2 mul,
    # 4 multiply-adds, up to 4 add), bin (mul, sub), weights (sub, 2 mul), 2 scatter adds;
    # then per block row a fold and the block sums: (1 + nbins) adds per pixel column row
    per_px = 2 + 4 + (3 + 2 + 8 + 4) + 2 + 3 + 2
    orient = (px * per_px + (bh * (bw * g) * (1 + NBINS * (g - 1) / g)), px * f32 + bh * bw * NBINS * f32)
    # assembly: cell sums ((cb² - 1) adds per bin), cell squared norms (2·nbins - 1),
    # per descriptor: 16 adds + sqrt + div (first norm), mul + min per value (clip),
    # mul per value and dim - 1 adds (second norm), sqrt + div, mul per value (scale)
    cells = ch * cw * NBINS * (cb * cb - 1) + ch * cw * (2 * NBINS - 1)
    per_desc = 16 + 2 + 2 * dim + (2 * dim - 1) + 2 + dim
    assemble = (cells + n * per_desc, bh * bw * NBINS * f32 + n * dim * f32)
    return {"smooth": smooth, "orientation_blocks": orient, "assemble_descriptors": assemble}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="cython")
    args = parser.parse_args(argv)
    k = _kernels.get(args.backend)
    peak, bw = machine_limits()
    print(f"machine (one thread): float32 matmul {peak:.1f} GFLOP/s; 256 KiB copy {bw:.1f} GB/s (read + write)\n")
    img = face()
    taps = gaussian_taps(1.0)
    sm = np.empty_like(img)
    for step in (2, 4):
        g = math.gcd(step, CELL)
        ny, nx = grid_shape(H, W, step, CELL)
        n = ny * nx
        blocks = np.empty((H // g, W // g, NBINS), np.float32)
        desc = np.empty((n, 16 * NBINS), np.float32)
        k.smooth(img, taps, sm)
        k.orientation_blocks(sm, NBINS, True, g, blocks)
        run = {
            "smooth": lambda: k.smooth(img, taps, sm),
            "orientation_blocks": lambda: k.orientation_blocks(sm, NBINS, True, g, blocks),
            "assemble_descriptors": lambda: k.assemble_descriptors(blocks, CELL // g, step // g, 0.2, desc),
        }
        c = counts(step, taps.shape[0])
        print(f"step {step}: {n} descriptors ({args.backend})\n")
        print("| kernel | MFLOP/face | FLOP/desc | KB/face | B/desc | FLOP/B | time µs | GFLOP/s | GB/s "
              "| % of matmul rate | % of copy bandwidth |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        tot_f = tot_b = tot_t = 0.0
        for name, f in run.items():
            flops, nbytes = c[name]
            t = best_time(f)
            tot_f, tot_b, tot_t = tot_f + flops, tot_b + nbytes, tot_t + t
            print(f"| {name} | {flops / 1e6:.2f} | {flops / n:.0f} | {nbytes / 1e3:.0f} | {nbytes / n:.0f} "
                  f"| {flops / nbytes:.2f} | {t * 1e6:.0f} | {flops / t / 1e9:.2f} | {nbytes / t / 1e9:.2f} "
                  f"| {100 * flops / t / 1e9 / peak:.1f} | {100 * nbytes / t / 1e9 / bw:.1f} |")
        print(f"| **TISF** | {tot_f / 1e6:.2f} | {tot_f / n:.0f} | {tot_b / 1e3:.0f} | {tot_b / n:.0f} "
              f"| {tot_f / tot_b:.2f} | {tot_t * 1e6:.0f} | {tot_f / tot_t / 1e9:.2f} | {tot_b / tot_t / 1e9:.2f} "
              f"| {100 * tot_f / tot_t / 1e9 / peak:.1f} | {100 * tot_b / tot_t / 1e9 / bw:.1f} |")
        bound = max(tot_f / (peak * 1e9), tot_b / (bw * 1e9))
        print(f"\nlimit for TISF at step {step}: {bound * 1e6:.0f} µs "
              f"(max of FLOPs / matmul rate and bytes / copy bandwidth); kernels take {tot_t * 1e6:.0f} µs, "
              f"{tot_t / bound:.1f}x the limit\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
