"""Ratios of the dlfers benchmarks, as Markdown tables.

One command runs the benchmarks and prints the report::

    python -m pytest benchmarks --benchmark-json bench.json && python benchmarks/report.py bench.json

Reads the JSON that pytest-benchmark writes with ``--benchmark-json FILE`` and prints,
from the medians:

* for each group "descriptors step S": every TISF/TIPM run, its time per descriptor and
  its speed-up over OpenCV SIFT and over skimage HOG on the same face
  (other median / dlfers median: above 1 means dlfers is faster);
* for each group "encode D=K": every encoder run, its time over the single-thread
  float32 matmul of the same shapes (the floor: below 1.5 is the target), and the
  achieved GFLOP/s counting the 2·N·D·dim FLOPs of the distance products;
* for "predict frame" / "predict face": p50 and p99 of each preset's model against the
  targets (5 ms a frame with detection, 1.5 ms a pre-cropped face);
* for each group "svm rows": the intersection rows' read bandwidth and their time over
  a plain read of the same support vectors;
* for "detect 256x256" / "detect 640x480" (``test_bench_detect.py``): each detector's
  p50/p99 and its speed-up over OpenCV's full-frame ``detectMultiScale`` (1.1, 5), and
  each preset's whole ``predict_image`` on the same frame against that detection call
  alone (the target: 15x faster).
* for "cascade single pass / full frame SIZE" (``test_bench_detect.py``): one ``detectMultiScale``
  call of the frontal-face cascade by dlfers' kernel and by OpenCV, the same boxes, and the
  speed-up (OpenCV median / dlfers median);
* in each "descriptors step S" group, the AVX2+FMA build of the kernels against the
  baseline (SSE2) build on the same face (baseline median / AVX2 median);
* for "lbp texture" (``test_bench_texture.py``): the LBP texture channel's region counts of one
  face in each backend against scikit-image's ``local_binary_pattern`` + ``np.bincount`` (the
  same patterns), and the speed-up (scikit-image median / dlfers median);
* for "gabor texture" (``test_bench_gabor.py``): the Gabor channel's energies of one face in
  each backend against the same bank by OpenCV (``getGaborKernel`` + ``filter2D``) and by
  scikit-image (``filters.gabor``), and the speed-ups;
* for "predict threads": frames per second of one shared model called from 1, 2 and 8
  threads, and the speed-up over one thread (targets: >= 1.7x at 2, >= 1x at 8).

Contenders missing from the JSON (OpenCV not installed, a backend not built) show as "-".
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

__all__ = ["load", "descriptor_table", "encoder_table", "predict_table", "svm_table", "detect_table", "cascade_table",
           "threads_table", "batch_table", "main"]

#: single-frame latency targets (p50, milliseconds)
TARGETS_MS = {"predict frame": 5.0, "predict face": 1.5}
#: a whole prediction must be this many times faster than OpenCV's full-frame detection alone
DETECT_SPEEDUP_TARGET = 15.0
#: thread-scaling targets: minimum throughput over one thread, by thread count
TARGETS_SPEEDUP = {2: 1.7, 8: 1.0}


def load(path: str | Path) -> dict[str, list[dict]]:
    """Benchmarks of a pytest-benchmark JSON file, grouped by their ``group``."""
    data = json.loads(Path(path).read_text())
    groups: dict[str, list[dict]] = {}
    for bench in data.get("benchmarks", []):
        groups.setdefault(bench.get("group") or "", []).append(bench)
    return groups


def _median(bench: dict | None) -> float | None:
    return None if bench is None else float(bench["stats"]["median"])


def _find(benches: list[dict], prefix: str) -> dict | None:
    for b in benches:
        if b["name"].startswith(prefix):
            return b
    return None


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.3f}"


def _ratio(num: float | None, den: float | None) -> str:
    return "-" if num is None or den is None or den == 0 else f"{num / den:.2f}x"


def _label(name: str) -> str:
    m = re.match(r"test_(\w+?)\[(.*)\]$", name)
    return f"{m.group(1)} [{m.group(2)}]" if m else name


def descriptor_table(group: str, benches: list[dict]) -> str:
    """Markdown table: dlfers descriptors vs OpenCV SIFT and skimage HOG in one group."""
    sift = _median(_find(benches, "test_opencv_sift"))
    hog = _median(_find(benches, "test_skimage_hog"))
    lines = [
        f"### {group}",
        "",
        f"OpenCV SIFT compute: {_ms(sift)} ms; skimage hog: {_ms(hog)} ms (medians).",
        "",
        "| run | median (ms) | µs / descriptor | vs OpenCV SIFT | vs skimage hog |",
        "|---|---:|---:|---:|---:|",
    ]
    for b in sorted(benches, key=lambda b: b["stats"]["median"]):
        if not b["name"].startswith(("test_tisf", "test_tipm")):
            continue
        t = _median(b)
        n = (b.get("extra_info") or {}).get("descriptors")
        if n is None:  # TIPM runs do not record it; the grid is the TISF one
            tisf = _find(benches, "test_tisf")
            n = (tisf.get("extra_info") or {}).get("descriptors") if tisf else None
        per = "-" if not n else f"{t * 1e6 / n:.3f}"
        lines.append(f"| {_label(b['name'])} | {_ms(t)} | {per} | {_ratio(sift, t)} | {_ratio(hog, t)} |")
    variants = [(kind, _median(_find(benches, f"test_{kind}_variant[baseline")),
                 _median(_find(benches, f"test_{kind}_variant[avx2"))) for kind in ("tisf", "tipm")]
    if any(base is not None and avx2 is not None for _, base, avx2 in variants):
        lines += ["", "| kernels | baseline (ms) | avx2+fma (ms) | avx2 speed-up |", "|---|---:|---:|---:|"]
        lines += [f"| {kind} | {_ms(base)} | {_ms(avx2)} | {_ratio(base, avx2)} |" for kind, base, avx2 in variants]
    return "\n".join(lines)


def encoder_table(group: str, benches: list[dict]) -> str:
    """Markdown table: encoder runs against the float32 matmul floor in one group."""
    floor_b = _find(benches, "test_matmul_floor")
    floor = _median(floor_b)
    lines = [
        f"### {group}",
        "",
        "| run | median (ms) | / matmul floor | GFLOP/s |",
        "|---|---:|---:|---:|",
    ]
    for b in sorted(benches, key=lambda b: b["stats"]["median"]):
        t = _median(b)
        flops = (b.get("extra_info") or {}).get("flops")
        gflops = "-" if not flops else f"{flops / t / 1e9:.1f}"
        lines.append(f"| {_label(b['name'])} | {_ms(t)} | {_ratio(t, floor)} | {gflops} |")
    return "\n".join(lines)


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def predict_table(groups: dict[str, list[dict]]) -> str:
    """Markdown table: p50/p99 per preset for frames and faces, against the targets."""
    lines = ["### predict (one thread)", "", "| what | preset | p50 (ms) | p99 (ms) | target p50 | met |",
             "|---|---|---:|---:|---:|---|"]
    for group in ("predict frame", "predict face"):
        for b in sorted(groups.get(group, []), key=lambda b: b["stats"]["median"], reverse=True):
            info = b.get("extra_info") or {}
            p50, p99 = info.get("p50_ms"), info.get("p99_ms")
            target = TARGETS_MS[group]
            met = "-" if p50 is None else ("yes" if p50 < target else "no")
            what = f"{group} {info['frame']}" if info.get("frame") else group
            lines.append(f"| {what} | {info.get('preset', '?')} | {_num(p50)} | {_num(p99)} | < {target:g} | {met} |")
    return "\n".join(lines)


def detect_table(groups: dict[str, list[dict]]) -> str:
    """Markdown table per frame size: detectors and whole predictions against OpenCV's full-frame call."""
    lines = ["### detection (one thread)", "",
             "| frame | run | p50 (ms) | p99 (ms) | OpenCV full frame / this (medians) |",
             "|---|---|---:|---:|---:|"]
    predicts = groups.get("predict frame", [])
    for group in sorted(g for g in groups if g.startswith("detect ")):
        size = group.split(" ", 1)[1]
        benches = groups[group]
        ref = _median(_find(benches, "test_detect[opencv_full"))
        rows = [(f"detect: {(b.get('extra_info') or {}).get('detector', _label(b['name']))}", b) for b in benches]
        rows += [(f"predict_image: {(b.get('extra_info') or {}).get('preset', '?')}", b) for b in predicts
                 if (b.get("extra_info") or {}).get("frame") == size]
        for what, b in sorted(rows, key=lambda r: r[1]["stats"]["median"]):
            info = b.get("extra_info") or {}
            speedup = _ratio(ref, _median(b))
            if what.startswith("predict") and ref is not None:
                ok = ref / _median(b) >= DETECT_SPEEDUP_TARGET  # type: ignore[operator]
                speedup += f" ({'meets' if ok else 'below'} {DETECT_SPEEDUP_TARGET:g}x)"
            lines.append(f"| {size} | {what} | {_num(info.get('p50_ms'))} | {_num(info.get('p99_ms'))} | {speedup} |")
    return "\n".join(lines)


def cascade_table(groups: dict[str, list[dict]]) -> str:
    """Markdown table: one cascade call by dlfers' kernel and by OpenCV, per call and frame size."""
    lines = ["### the Haar cascade, dlfers' kernel against OpenCV (one thread, the same boxes)", "",
             "| call | frame | dlfers p50 (ms) | OpenCV p50 (ms) | OpenCV / dlfers (medians) | dlfers path |",
             "|---|---|---:|---:|---:|---|"]
    for group in sorted(g for g in groups if g.startswith("cascade ")):
        by = {(b.get("extra_info") or {}).get("engine"): b for b in groups[group]}
        ours, theirs = by.get("dlfers"), by.get("opencv")
        info = (ours or theirs or {}).get("extra_info") or {}
        p50 = [((b or {}).get("extra_info") or {}).get("p50_ms") for b in (ours, theirs)]
        path = ((ours or {}).get("extra_info") or {}).get("path", "-")
        lines.append(f"| {info.get('call', '?')} | {info.get('frame', '?')} | {_num(p50[0])} | {_num(p50[1])} | "
                     f"{_ratio(_median(theirs), _median(ours))} | {path} |")
    return "\n".join(lines)


def svm_table(group: str, benches: list[dict]) -> str:
    """Markdown table: intersection rows against a plain read of the same bytes."""
    read = _median(_find(benches, "test_svm_rows[read"))
    lines = [f"### {group}", "", "| run | median (ms) | GB/s | / plain read |", "|---|---:|---:|---:|"]
    for b in sorted(benches, key=lambda b: b["stats"]["median"]):
        t = _median(b)
        nbytes = (b.get("extra_info") or {}).get("bytes")
        gbs = "-" if not nbytes or not t else f"{nbytes / t / 1e9:.1f}"
        lines.append(f"| {_label(b['name'])} | {_ms(t)} | {gbs} | {_ratio(t, read)} |")
    return "\n".join(lines)


def threads_table(benches: list[dict]) -> str:
    """Markdown table: throughput of one model called from 1, 2 and 8 threads."""
    rows = sorted(benches, key=lambda b: (b.get("extra_info") or {}).get("threads", 0))
    serial = next((_median(b) for b in rows if (b.get("extra_info") or {}).get("threads") == 1), None)
    info0 = (rows[0].get("extra_info") or {}) if rows else {}
    lines = ["### predict threads (one shared model, predict_image on JAFFE frames)", "",
             f"{info0.get('frames', '?')} frames a pass on {info0.get('cpus', '?')} CPUs; "
             "OpenCV and BLAS one thread each.",
             "", "| threads | median pass (s) | frames/s | vs 1 thread | target | met | load avg |",
             "|---:|---:|---:|---:|---:|---|---:|"]
    for b in rows:
        info = b.get("extra_info") or {}
        n, t = info.get("threads"), _median(b)
        speedup = None if serial is None or t is None or not t else serial / t
        fps = info.get("frames") / t if t and info.get("frames") else None
        target = TARGETS_SPEEDUP.get(n) if isinstance(n, int) else None
        met = "-" if target is None or speedup is None else ("yes" if speedup >= target else "no")
        tgt = "-" if target is None else f">= {target:g}x"
        load = info.get("load_avg_1min")
        lines.append(f"| {n} | {_num(t)} | {_num(fps)} | {_ratio(serial, t)} | {tgt} | {met} | {_num(load)} |")
    return "\n".join(lines)


def batch_table(benches: list[dict]) -> str:
    """Markdown table: one ``predict`` call on a batch of frames with ``n_jobs`` threads."""
    rows = sorted(benches, key=lambda b: (b.get("extra_info") or {}).get("n_jobs", 0))
    serial = next((_median(b) for b in rows if (b.get("extra_info") or {}).get("n_jobs") == 1), None)
    lines = ["### predict batch (one `predict(frames)` call, `n_jobs` threads)", "",
             "| n_jobs | median call (s) | frames/s | vs n_jobs=1 | load avg |", "|---:|---:|---:|---:|---:|"]
    for b in rows:
        info = b.get("extra_info") or {}
        t = _median(b)
        fps = info.get("frames") / t if t and info.get("frames") else None
        lines.append(f"| {info.get('n_jobs')} | {_num(t)} | {_num(fps)} | {_ratio(serial, t)} | "
                     f"{_num(info.get('load_avg_1min'))} |")
    return "\n".join(lines)


def texture_table(benches: list[dict], title: str = "lbp texture (one 128x128 face and its fused image, 24 regions)",
                  refs: tuple[str, ...] = ("skimage",)) -> str:
    """Markdown table: a texture channel's dlfers runs (each backend) vs the references named in ``refs``."""
    found = [(r, next((b for b in benches if r in b["name"]), None)) for r in refs]
    names = {"skimage": "scikit-image", "opencv": "OpenCV"}
    lines = [f"### {title}", "",
             "| run | median (ms) | " + " | ".join(f"speed-up over {names.get(r, r)}" for r in refs) + " |",
             "|---|---:|" + "---:|" * len(refs)]
    for b in sorted(benches, key=lambda b: b["stats"]["median"]):
        med = b["stats"]["median"]
        ratios = [f"{ref['stats']['median'] / med:.1f}x" if ref is not None else "-" for _, ref in found]
        lines.append(f"| {_label(b['name'])} | {1e3 * med:.3f} | " + " | ".join(ratios) + " |")
    return "\n".join(lines)


def report(groups: dict[str, list[dict]]) -> str:
    """The whole Markdown report (descriptor groups first, then encoder groups)."""

    def key(g: str) -> tuple[int, int]:
        m = re.search(r"(\d+)$", g)
        return (0 if g.startswith("descriptors") else 1, int(m.group(1)) if m else 0)

    parts = ["## dlfers benchmarks (medians, one thread)"]
    for group in sorted(groups, key=key):
        if group.startswith("descriptors"):
            parts.append(descriptor_table(group, groups[group]))
        elif group.startswith("encode"):
            parts.append(encoder_table(group, groups[group]))
        elif group.startswith("svm rows"):
            parts.append(svm_table(group, groups[group]))
    if "predict frame" in groups or "predict face" in groups:
        parts.append(predict_table(groups))
    if any(g.startswith("detect ") for g in groups):
        parts.append(detect_table(groups))
    if any(g.startswith("cascade ") for g in groups):
        parts.append(cascade_table(groups))
    if "lbp texture" in groups:
        parts.append(texture_table(groups["lbp texture"]))
    if "gabor texture" in groups:
        parts.append(texture_table(groups["gabor texture"], "gabor texture (one 128x128 face, 40 filters x 64 cells)",
                                   ("opencv", "skimage")))
    if "predict threads" in groups:
        parts.append(threads_table(groups["predict threads"]))
    if "predict batch n_jobs" in groups:
        parts.append(batch_table(groups["predict batch n_jobs"]))
    return "\n\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json", help="file written by pytest --benchmark-json")
    args = parser.parse_args(argv)
    try:
        groups = load(args.json)
    except (OSError, ValueError) as exc:
        print(f"report.py: cannot read {args.json}: {exc}", file=sys.stderr)
        return 1
    if not groups:
        print(f"report.py: no benchmarks in {args.json}", file=sys.stderr)
        return 1
    sys.stdout.write(report(groups))
    return 0


if __name__ == "__main__":
    sys.exit(main())
