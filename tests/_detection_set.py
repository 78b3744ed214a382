"""A synthetic face-detection set built from JAFFE, shared by tests/ and benchmarks/.

Each face frame is a JAFFE image scaled, rotated and pasted onto a textured, noisy
canvas so that its face box is a given fraction of the frame's height, at a random
position; the empty frames are the canvases alone.  Everything follows from one seed.

The true box of a pasted face is the JAFFE image's own face box (found once by the
paper's detector, ``detector="cascade"`` with 160, 0.2, 1.1, on the source image)
carried through the same scaling and translation, kept upright (the ±10° rotation
turns the face about its centre, not the box).

This module imports nothing from ``conftest`` so that both test folders can import it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: frame sizes (height, width): a JAFFE-sized square and VGA
SIZES: tuple[tuple[int, int], ...] = ((256, 256), (480, 640))
#: face box height as a fraction of the frame's height
FRACTION_RANGE = (0.15, 0.80)
MAX_ANGLE = 10.0
#: the wider set: faces from 5 % of the frame's height, rotated by up to ±30°
WIDE = {"fraction_range": (0.05, 0.80), "max_angle": 30.0}


@dataclass(frozen=True)
class Frame:
    """One frame of the set.

    Attributes
    ----------
    image : (H, W) uint8.
    truth : the pasted face's box (x, y, w, h) in frame pixels, or None for an empty frame.
    source : file name of the JAFFE image pasted ("" for an empty frame).
    fraction : face box height over frame height (0 for an empty frame).
    angle : rotation of the pasted face in degrees.
    """

    image: np.ndarray
    truth: tuple[int, int, int, int] | None
    source: str = ""
    fraction: float = 0.0
    angle: float = 0.0

    @property
    def size(self) -> str:
        return f"{self.image.shape[1]}x{self.image.shape[0]}"


def iou(a: Sequence[int], b: Sequence[int]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def texture(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A cluttered gray background: smooth blobs at three scales, a gradient, rectangles, lines, noise."""
    import cv2

    h, w = shape
    img = np.zeros((h, w), np.float32)
    for cells, amp in ((4, 60.0), (16, 30.0), (64, 12.0)):
        coarse = rng.normal(0.0, amp, (max(2, h * cells // max(h, w)), max(2, cells))).astype(np.float32)
        img += cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img += rng.uniform(-40, 40) * (xx / w) + rng.uniform(-40, 40) * (yy / h) + rng.uniform(90, 160)
    for _ in range(int(rng.integers(3, 9))):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(10, w // 3)), y0 + int(rng.integers(10, h // 3))
        cv2.rectangle(img, (x0, y0), (x1, y1), float(rng.uniform(20, 235)), thickness=int(rng.choice([-1, 2, 4])))
    for _ in range(int(rng.integers(2, 6))):
        p0 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        p1 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.line(img, p0, p1, float(rng.uniform(0, 255)), thickness=int(rng.integers(1, 4)))
    img += rng.normal(0.0, rng.uniform(3, 10), (h, w)).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def paste_face(
    canvas: np.ndarray,
    source: np.ndarray,
    box: Sequence[int],
    fraction: float,
    angle: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Paste ``source`` onto ``canvas`` with its face ``box`` scaled to ``fraction`` of the frame height.

    The face is rotated by ``angle`` degrees about its centre and placed at a random
    position where its rotated box lies inside the frame.  Returns the new frame and
    the upright true box (x, y, w, h).
    """
    import cv2

    h, w = canvas.shape
    bx, by, bw, bh = (float(v) for v in box)
    side = fraction * h
    k = side / bh
    t = np.deg2rad(abs(angle))
    half = 0.5 * side * (np.cos(t) + np.sin(t))  # half extent of the rotated box
    cx = rng.uniform(half, w - half) if w > 2 * half else w / 2
    cy = rng.uniform(half, h - half) if h > 2 * half else h / 2
    m = cv2.getRotationMatrix2D((bx + bw / 2, by + bh / 2), angle, k)
    m[0, 2] += cx - (bx + bw / 2)
    m[1, 2] += cy - (by + bh / 2)
    interp = cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR
    warped = cv2.warpAffine(source, m, (w, h), flags=interp)
    mask = cv2.warpAffine(np.full(source.shape, 255, np.uint8), m, (w, h), flags=cv2.INTER_LINEAR)
    mask = cv2.GaussianBlur(mask, (5, 5), 0).astype(np.float32) / 255.0  # feathered paste edge
    out = canvas.astype(np.float32) * (1 - mask) + warped.astype(np.float32) * mask
    out += rng.normal(0.0, 2.0, out.shape).astype(np.float32)  # sensor noise over the whole frame
    bw_new, bh_new = bw * k, bh * k
    truth = (int(round(cx - bw_new / 2)), int(round(cy - bh_new / 2)), int(round(bw_new)), int(round(bh_new)))
    return np.clip(out, 0, 255).astype(np.uint8), truth


def make_set(
    images: Sequence[np.ndarray],
    names: Sequence[str],
    boxes: Sequence[Sequence[int]],
    n_faces: int = 40,
    n_empty: int = 12,
    seed: int = 0,
    sizes: Sequence[tuple[int, int]] = SIZES,
    fraction_range: tuple[float, float] = FRACTION_RANGE,
    max_angle: float = MAX_ANGLE,
) -> list[Frame]:
    """``n_faces`` face frames and ``n_empty`` empty frames per frame size.

    Parameters
    ----------
    images : JAFFE images, (h, w) uint8 each.
    names : their file names (for messages).
    boxes : their face boxes (x, y, w, h), e.g. from the paper's detector.
    n_faces, n_empty : frames per size; face fractions are spread evenly over
        ``fraction_range`` (stratified, then shuffled), sources and angles (uniform in
        ±``max_angle`` degrees) drawn at random.  The defaults (:data:`FRACTION_RANGE`,
        :data:`MAX_ANGLE`) are the set of tests/test_detection.py; :data:`WIDE` is the wider one
        of the YuNet tests and the detection benchmark.
    """
    rng = np.random.default_rng(seed)
    frames: list[Frame] = []
    lo, hi = fraction_range
    for shape in sizes:
        fractions = lo + (hi - lo) * (np.arange(n_faces) + rng.uniform(0, 1, n_faces)) / n_faces
        rng.shuffle(fractions)
        for f in fractions:
            i = int(rng.integers(len(images)))
            angle = float(rng.uniform(-max_angle, max_angle))
            img, truth = paste_face(texture(shape, rng), images[i], boxes[i], float(f), angle, rng)
            frames.append(Frame(img, truth, names[i], float(f), angle))
        for _ in range(n_empty):
            frames.append(Frame(texture(shape, rng), None))
    return frames


def jaffe_sources(jaffe_dir: object, every: int = 3) -> tuple[list[np.ndarray], list[str], list[tuple[int, ...]]]:
    """Every ``every``-th JAFFE image with its name and its face box by the paper's detector."""
    from pathlib import Path

    from dlfers import detect_faces, read_image

    files = sorted(p for p in Path(str(jaffe_dir)).iterdir() if p.suffix.lower() in (".tiff", ".tif"))[::every]
    images, names, boxes = [], [], []
    for p in files:
        img = read_image(p)
        found = detect_faces(img, 160, 0.2, 1.1, detector="cascade")
        if not found:  # every JAFFE image has one today (tests/test_face.py); skip defensively
            continue
        images.append(img)
        names.append(p.name)
        boxes.append(found[0].as_tuple())
    return images, names, boxes
