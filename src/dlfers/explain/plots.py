"""Pictures of an :class:`~dlfers.model.evidence.Explanation`: evidence maps, bar charts, the strongest region.

How to read a map: each pixel shows the evidence density of the regions that contain it
(Σ over those regions of evidence / region area), so the map of an image adds up to the
summed evidence of that image's regions.  Red pushes the score of the shown class up,
blue pushes it down; white is no net evidence.  It is evidence for the classifier's
decision, made of histogram-bin similarities to support vectors, not a measurement of
facial muscles.

matplotlib is imported on first use; the figures are plain ``matplotlib.figure.Figure``
objects drawn by the Agg canvas, never pyplot's global figure registry, so threads can draw
explanations at the same time.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..face.detect import FaceBox
from ..features.regions import fused_image
from ..model.evidence import Explanation

__all__ = ["evidence_map", "explanation_figure", "save_explanation_png", "draw_strongest_region"]


def evidence_map(exp: Explanation, source: str = "face", label: Any = None, kind: str | None = None) -> np.ndarray:
    """(face_size, face_size) float64 evidence density for ``label`` (None: the predicted class).

    Parameters
    ----------
    source : {'face', 'fused'}, default='face'
        "face" or "fused" (the fused eyes+mouth image).
    kind : str or None, default=None
        One descriptor kind's evidence, or None for all.
    exp : Explanation
        One face's explanation.
    label : object, default=None
        A class (None: the predicted one).

    Returns
    -------
    Each pixel: Σ over the regions of ``source`` containing it of evidence / area (pixels).
    Its sum is the summed evidence of those regions (up to the regions' rounding to pixels).
    """
    if source not in ("face", "fused"):
        raise ValueError(f"source must be 'face' or 'fused', got {source!r}")
    s = int(exp.face_size)
    ev = exp.for_class(label, kind)
    out = np.zeros((s, s))
    for i, src in enumerate(exp.region_sources):
        if src != source:
            continue
        x0, y0, x1, y1 = (int(round(v)) for v in exp.region_boxes[i])
        area = max(1, (x1 - x0) * (y1 - y0))
        out[y0:y1, x0:x1] += ev[i] / area
    return out


def _gray(img: np.ndarray | None, size: int) -> np.ndarray:
    if img is None:
        return np.full((size, size), 128.0)
    return np.asarray(img, np.float64)


def explanation_figure(exp: Explanation, top: int = 6, title: str | None = None) -> Any:
    """The face and the fused eyes+mouth image with the predicted class's evidence map, and
    the ``top`` regions for and against it as bars.

    Returns the matplotlib Figure (one colour scale, symmetric about 0, shared by both maps).

    Parameters
    ----------
    exp : Explanation
        One face's explanation.
    top : int, default=6
        Regions for and against in the bars.
    title : str or None, default=None
        Figure title (None: none).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    from matplotlib.figure import Figure


    s = int(exp.face_size)
    face = _gray(exp.face, s)
    fused = fused_image(face.astype(np.float32)) if exp.face is not None else face
    maps = {src: evidence_map(exp, src) for src in ("face", "fused")}
    vmax = max(1e-12, max(float(np.abs(m).max()) for m in maps.values()))
    fig = Figure(figsize=(14, 4.6), layout="constrained")
    axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 1.4]})
    im = None
    for ax, (src, img) in zip(axes[:2], (("face", face), ("fused", fused))):
        ax.imshow(img, cmap="gray", vmin=0, vmax=255)
        if any(r == src for r in exp.region_sources):
            im = ax.imshow(maps[src], cmap="RdBu_r", vmin=-vmax, vmax=vmax, alpha=0.55)
        else:
            ax.text(s / 2, s / 2, "no regions", ha="center", va="center", color="yellow")
        ax.set_title("face" if src == "face" else "fused eyes + mouth image")
        ax.set_axis_off()
    if im is not None:
        cb = fig.colorbar(im, ax=axes[1], fraction=0.046, pad=0.02)
        if cb.solids is not None:  # opaque colours in the bar, though the maps are translucent
            cb.solids.set_alpha(1.0)
        cb.set_label(f"evidence for '{exp.label}' per pixel")
    pro, con = exp.top_regions(top)
    bars = pro + con[::-1]
    ax = axes[2]
    if bars:
        names = [n for n, _ in bars]
        vals = [v for _, v in bars]
        ax.barh(np.arange(len(bars)), vals, color=["#c0392b" if v > 0 else "#2e6da4" for v in vals])
        ax.set_yticks(np.arange(len(bars)), names)
        ax.invert_yaxis()
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel(f"evidence for '{exp.label}' (score units)")
    k = exp.class_index()
    ax.set_title(f"top regions for / against (score {exp.decision_values[k]:.3g}, "
                 f"intercept {exp.intercepts[k]:.3g})", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    fig.suptitle(title or f"{exp.label} (p = {exp.probabilities[k]:.2f}; {exp.kernel} kernel, {exp.fusion} fusion)")
    return fig


def save_explanation_png(exp: Explanation, path: str | os.PathLike[str], top: int = 6,
                         title: str | None = None) -> None:
    """Draw :func:`explanation_figure` into the PNG file ``path`` (the caller picks a safe path).

    Parameters
    ----------
    exp : Explanation
        One face's explanation.
    path : str or os.PathLike
        The PNG file.
    top : int, default=6
        Regions for and against in the bars.
    title : str or None, default=None
        Figure title (None: none).
    """
    fig = explanation_figure(exp, top, title)
    fig.savefig(path, dpi=100, format="png", metadata={"Title": title or f"explanation: {exp.label}"})


def draw_strongest_region(frame: np.ndarray, face_box: FaceBox | tuple[int, int, int, int],
                          explanation: Explanation, colour: tuple[int, int, int] = (0, 0, 255)) -> np.ndarray:
    """A BGR uint8 copy of ``frame`` with the region of most evidence for the predicted class outlined.

    Parameters
    ----------
    frame : ndarray of shape (H, W) or (H, W, 3), dtype uint8
        (H, W) gray or (H, W, 3) BGR uint8 (e.g. a frame :func:`dlfers.predict.draw.draw_results` annotated).
    face_box : FaceBox or (int, int, int, int)
        The face's δ/γ-cropped box (x, y, w, h) in frame pixels (``explanation.box``).
    explanation : Explanation
        That face's explanation.
    colour : (int, int, int), default=(0, 0, 255)
        BGR outline colour.

    Returns
    -------
    (H, W, 3) uint8; a fused-image region is drawn where its parts lie on the face (eye
    block, mouth block), with the region's name beside it.
    """
    import cv2

    if frame.ndim == 2:
        out = cv2.cvtColor(np.asarray(frame, np.uint8), cv2.COLOR_GRAY2BGR)
    elif frame.ndim == 3 and frame.shape[2] >= 3:
        out = np.ascontiguousarray(frame[:, :, :3], dtype=np.uint8).copy()
    else:
        raise ValueError(f"expected an (H, W) or (H, W, 3) frame, got shape {frame.shape}")
    x, y, w, h = face_box.as_tuple() if isinstance(face_box, FaceBox) else tuple(int(v) for v in face_box)
    r = explanation.strongest_region()
    thick = max(1, round(min(w, h) / 100))
    first = None
    for fx0, fy0, fx1, fy1 in explanation.face_rects(r):
        p0 = (int(round(x + fx0 * w)), int(round(y + fy0 * h)))
        p1 = (int(round(x + fx1 * w)) - 1, int(round(y + fy1 * h)) - 1)
        cv2.rectangle(out, p0, p1, colour, thick)
        first = first or p0
    if first is not None:
        scale = max(0.3, min(w, h) / 400)
        cv2.putText(out, explanation.region_names[r], (first[0] + 2, first[1] + int(14 * scale) + 2),
                    cv2.FONT_HERSHEY_SIMPLEX, scale, colour, max(1, thick - 1))
    return out
