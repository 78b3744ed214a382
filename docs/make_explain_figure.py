"""Draw ``docs/explain.png``: an explanation of a schematic (drawn, not photographed) face.

A small DLFERS model is trained on drawn faces of three classes that differ in the mouth
and the brows (no data-set image is used or stored), and one held-out drawn face is
explained with :func:`dlfers.explain.plots.save_explanation_png`.

    python docs/make_explain_figure.py [--out docs/explain.png] [--overwrite]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

CLASSES = ("happy", "neutral", "surprise")


def schematic_face(expression: str, rng: np.random.Generator) -> np.ndarray:
    """A 128x128 uint8 drawing of a face with ``expression`` (small random jitter and noise)."""
    import cv2

    img = np.full((128, 128), 200, np.uint8)
    j = lambda n: int(rng.integers(-n, n + 1))  # noqa: E731
    cv2.ellipse(img, (64, 66), (54, 62), 0, 0, 360, 150, -1)  # head
    brow = {"happy": 30, "neutral": 32, "surprise": 22}[expression] + j(1)
    for cx in (42, 86):
        cv2.ellipse(img, (cx + j(1), 42), (9, 5 if expression != "surprise" else 7), 0, 0, 360, 40, -1)  # eye
        cv2.line(img, (cx - 11, brow + 2), (cx + 11, brow - 1 if cx < 64 else brow + 2), 60, 3)  # brow
    cv2.line(img, (64, 52), (60, 76), 110, 2)  # nose
    cx, cy = 64 + j(2), 98 + j(2)
    if expression == "happy":
        cv2.ellipse(img, (cx, cy - 8), (20 + j(2), 12), 0, 15, 165, 50, 3)
    elif expression == "neutral":
        cv2.line(img, (cx - 16 - j(2), cy), (cx + 16 + j(2), cy), 50, 3)
    else:
        cv2.ellipse(img, (cx, cy), (10 + j(2), 13 + j(2)), 0, 0, 360, 35, -1)
    noise = rng.normal(0, 4, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def main(argv: list[str] | None = None) -> int:
    from dlfers import DLFERS
    from dlfers._util.outputs import atomic_path
    from dlfers.explain.plots import save_explanation_png

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).with_name("explain.png")))
    ap.add_argument("--overwrite", action="store_true", help="replace an existing figure")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    images = [schematic_face(c, rng) for _ in range(12) for c in CLASSES]
    labels = [c for _ in range(12) for c in CLASSES]
    model = DLFERS(detect=False, face_size=64, step=4, n_words=6, max_samples=3000).fit(images, labels)
    exp = model.explain_faces([schematic_face("happy", np.random.default_rng(99))])[0]
    with atomic_path(args.out, args.overwrite, what="figure") as tmp:
        save_explanation_png(exp, tmp, top=6, title=f"a drawn face explained: {exp.label} "
                             f"(evidence for '{exp.label}': red for, blue against)")
    print(f"{args.out}: {exp.label}; strongest region {exp.region_names[exp.strongest_region()]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
