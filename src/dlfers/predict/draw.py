"""Annotated frames: each face's box and its most probable classes drawn on a copy of the frame."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..model.results import FaceResult

__all__ = ["draw_results", "overlay_lines"]


def overlay_lines(result: FaceResult, top: int = 3) -> list[str]:
    """The text drawn for a found face: "label p" above the box, then the ``top`` classes
    by probability ("class: p"), most probable first (ties in class order).

    Parameters
    ----------
    result : FaceResult
        A found face.
    top : int, default=3
        Classes listed after the label.

    Returns
    -------
    list of str
        The lines.
    """
    best = sorted(result.probabilities.items(), key=lambda kv: -kv[1])[:top]
    return [f"{result.label} {result.probabilities.get(result.label, 0.0):.2f}"] + [f"{k}: {v:.2f}" for k, v in best]


def draw_results(frame: np.ndarray, results: Sequence[FaceResult], top: int = 3) -> np.ndarray:
    """A BGR uint8 copy of ``frame`` with each face's box, label and top class probabilities.

    ``frame`` : (H, W) gray or (H, W, 3) BGR uint8.

    Parameters
    ----------
    frame : ndarray of shape (H, W) or (H, W, 3), dtype uint8
        Gray or BGR frame.
    results : sequence of FaceResult
        The frame's results (:meth:`DLFERS.predict_image`).
    top : int, default=3
        Classes listed under each box.

    Returns
    -------
    ndarray of shape (H, W, 3), dtype uint8
        The annotated BGR copy.
    """
    import cv2

    out = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else np.ascontiguousarray(frame[:, :, :3]).copy()
    h, w = out.shape[:2]
    scale = max(0.35, min(w, h) / 600)
    thick = max(1, round(scale * 2))
    for r in results:
        if not r.found:
            cv2.putText(out, "no face", (5, int(20 * scale) + 5), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 255), thick)
            continue
        assert r.box is not None
        x, y, bw, bh = r.box.as_tuple()
        cv2.rectangle(out, (x, y), (x + bw, y + bh), (0, 255, 0), thick)
        lines = overlay_lines(r, top)
        ty = max(int(18 * scale), y - 6)
        cv2.putText(out, lines[0], (x, ty), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 255, 0), thick)
        for i, line in enumerate(lines[1:]):
            cy = min(h - 4, y + bh + int((i + 1) * 18 * scale))
            cv2.putText(out, line, (x, cy), cv2.FONT_HERSHEY_SIMPLEX, scale * 0.8, (0, 255, 255), max(1, thick - 1))
    return out
