"""The detection table of docs/face-detection.md: find rate and per-frame cost of every detector on real
scenes, the wide synthetic set, and YuNet's detect_size sweep; one thread.

Real scenes: the two clips of ``../shared/video`` (see its MANIFEST.txt), every frame.  A frame counts
as found when the detector returns at least one face (each clip has one person in every frame).
Synthetic: tests/_detection_set.py's wide set (seed 0; faces 5-80 % of the frame's height, rotated by
up to ±30°, 40 per frame size, and 15 empty frames per size); a face counts as found at IoU >= 0.5.
Cost: p50 of :func:`dlfers.detect_faces` per frame (colour frame to YuNet, as ``predict_image`` does).

Usage::

    python benchmarks/detection_table.py [--out table.md] [--every N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402

sys.path.append(str(Path(__file__).resolve().parents[1] / "tests"))
from _detection_set import WIDE, iou, jaffe_sources, make_set  # noqa: E402

DETECTORS = ("cascade", "cascade+coarse2fine", "yunet")
CLIPS = ("webcam_talking.mp4", "room_walking.mp4")
YUNET_SIZES = (320, 400, 480, 640)


def shared() -> Path:
    env = os.environ.get("DLFERS_DATA")
    return Path(env).parent if env else Path(__file__).resolve().parents[2] / "shared"


def clip_frames(path: Path, every: int = 1) -> list[np.ndarray]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames, i = [], 0
    while True:
        ok, f = cap.read()
        if not ok:
            break
        if i % every == 0:
            frames.append(f)
        i += 1
    cap.release()
    return frames


def run(frames: list[np.ndarray], **kw: object) -> tuple[list[list[tuple[int, int, int, int]]], float]:
    """Boxes per frame and the p50 cost (ms) of detect_faces."""
    import cv2

    from dlfers import detect_faces

    out, times = [], []
    for f in frames:
        gray = cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) if f.ndim == 3 else f
        color = f if f.ndim == 3 else None
        t0 = time.perf_counter()
        boxes = detect_faces(gray, color=color, **kw)  # type: ignore[arg-type]
        times.append(time.perf_counter() - t0)
        out.append([b.as_tuple() for b in boxes])
    return out, float(np.median(times) * 1e3)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="also write the tables to this markdown file")
    ap.add_argument("--every", type=int, default=1, help="every N-th clip frame (default 1)")
    args = ap.parse_args(argv)
    import cv2

    cv2.setNumThreads(1)
    lines: list[str] = []
    say = lines.append
    root = shared()
    clips = {c: clip_frames(root / "video" / c, args.every) for c in CLIPS if (root / "video" / c).is_file()}
    say("| detector | " + " | ".join(f"{c}: found, p50 ms" for c in clips) + " |")
    say("|---|" + "---:|" * len(clips))
    for det in DETECTORS:
        cells = []
        for frames in clips.values():
            boxes, p50 = run(frames, detector=det)
            n = sum(bool(b) for b in boxes)
            cells.append(f"{n}/{len(frames)} ({n / len(frames):.1%}), {p50:.1f}")
        say(f"| {det} | " + " | ".join(cells) + " |")
    say("")
    say("YuNet's detect_size (the longest side of the copy it searches), score >= 0.7:")
    say("")
    say("| detect_size | " + " | ".join(f"{c}: found, p50 ms" for c in clips) + " |")
    say("|---:|" + "---:|" * len(clips))
    for size in YUNET_SIZES:
        cells = []
        for frames in clips.values():
            boxes, p50 = run(frames, detector="yunet", detect_size=size)
            n = sum(bool(b) for b in boxes)
            cells.append(f"{n}/{len(frames)} ({n / len(frames):.1%}), {p50:.1f}")
        say(f"| {size} | " + " | ".join(cells) + " |")
    jaffe = root / "data" / "jaffe"
    if jaffe.is_dir():
        images, names, boxes0 = jaffe_sources(jaffe, every=3)
        wide = make_set(images, names, boxes0, n_faces=40, n_empty=15, seed=0, **WIDE)
        bins = ((0.05, 0.10), (0.10, 0.15), (0.15, 0.80))
        say("")
        say("Wide synthetic set (faces 5-80 % of the frame's height, ±30°; 256x256 and 640x480 frames):")
        say("")
        say("| detector | " + " | ".join(f"found {lo:.0%}-{hi:.0%}" for lo, hi in bins)
            + " | found, rotated > 15° | false faces in 30 empty frames | p50 ms |")
        say("|---|" + "---:|" * (len(bins) + 3))
        for det in DETECTORS:
            found, p50 = run([f.image for f in wide], detector=det)
            hit = [(f, any(iou(b, f.truth) >= 0.5 for b in bs)) for f, bs in zip(wide, found) if f.truth]
            cells = []
            for lo, hi in bins:
                sel = [h for f, h in hit if lo <= f.fraction < hi]
                cells.append(f"{sum(sel)}/{len(sel)}")
            turned = [h for f, h in hit if abs(f.angle) > 15]
            false = sum(len(bs) for f, bs in zip(wide, found) if f.truth is None)
            say(f"| {det} | " + " | ".join(cells) + f" | {sum(turned)}/{len(turned)} | {false} | {p50:.1f} |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
