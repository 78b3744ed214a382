"""What a video analysis writes: a CSV table, JSON lines, a per-track plot, a per-track summary.

Each writer takes :class:`dlfers.video.analysis.FrameResult` objects one at a time
(``add``) and keeps no per-frame list in memory: the CSV and JSON lines go straight to
their streams, the plot's time series to a temporary binary file read back only when
the plot is drawn, and the summary keeps running sums per track.

CSV columns: ``frame,time_s,track,x,y,w,h,label,p_<class>...`` (classes in the model's
order; probabilities written as Python's shortest float repr, as in the JSON lines).  A
frame without a face (or one that could not be analysed) gives one row whose ``track``
and later columns are empty.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Sequence
from typing import IO, Any

import numpy as np

from .._util.plots import _pyplot, save_png
from .analysis import FrameResult

__all__ = ["csv_header", "CsvWriter", "TrackSeries", "TrackSummary", "plot_tracks"]


def _text(v: Any) -> str:
    return str(v.item() if isinstance(v, np.generic) else v)


#: the landmark columns of the CSV (x then y of each of YuNet's five; empty for the cascades)
LANDMARK_COLUMNS = tuple(f"{n}_{a}" for n in ("right_eye", "left_eye", "nose", "right_mouth", "left_mouth")
                         for a in "xy")


def csv_header(classes: Sequence[Any]) -> list[str]:
    """``frame,time_s,track,x,y,w,h,label``, ``p_<class>`` per class, then ``score`` and the
    :data:`LANDMARK_COLUMNS` (empty without landmarks).

    A frame without a face has one row of empty cells; a frame that could not be read or analysed
    (e.g. a corrupt file of a folder of frames) has the label ``error`` (its reason is in the log).

    Parameters
    ----------
    classes : sequence
        Class names, in the model's ``classes_`` order.

    Returns
    -------
    list of str
        The column names.
    """
    return ["frame", "time_s", "track", "x", "y", "w", "h", "label", *(f"p_{_text(c)}" for c in classes),
            "score", *LANDMARK_COLUMNS]


class CsvWriter:
    """Rows of :func:`csv_header` on an open text stream (opened with ``newline=""``).

    Parameters
    ----------
    stream : text stream
        Opened with ``newline=""``.
    classes : sequence
        Class names, in the model's ``classes_`` order.
    """

    def __init__(self, stream: IO[str], classes: Sequence[Any]) -> None:
        self.classes = list(classes)
        self._w = csv.writer(stream, lineterminator="\n")
        self._w.writerow(csv_header(self.classes))

    def add(self, result: FrameResult) -> None:
        """Write the rows of one frame: one per face, or one empty row when it has none.

        Parameters
        ----------
        result : FrameResult
            One analysed frame.
        """
        head = [result.frame, repr(round(result.time_s, 6))]
        if result.error is not None:  # not a frame without a face: one that could not be read or analysed
            self._w.writerow(head + [""] * 5 + ["error"] + [""] * (len(self.classes) + 1 + len(LANDMARK_COLUMNS)))
        elif not result.faces:
            self._w.writerow(head + [""] * (7 + len(self.classes) + len(LANDMARK_COLUMNS)))
        for f in result.faces:
            score = "" if f.box.score is None else repr(round(float(f.box.score), 4))
            marks = ([""] * len(LANDMARK_COLUMNS) if f.box.landmarks is None
                     else [repr(round(float(v), 1)) for p in f.box.landmarks for v in p])
            self._w.writerow(head + [f.track, *f.box.as_tuple(), _text(f.label),
                                     *(repr(float(f.probabilities[c])) for c in self.classes), score, *marks])


class TrackSeries:
    """Each track's probabilities over time, spooled to a temporary file for :func:`plot_tracks`.

    Parameters
    ----------
    classes : sequence
        Class names, in the model's ``classes_`` order.
    """

    def __init__(self, classes: Sequence[Any]) -> None:
        self.classes = list(classes)
        self._spool: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())

    def add(self, result: FrameResult) -> None:
        """Spool the probabilities of each face of one frame.

        Parameters
        ----------
        result : FrameResult
            One analysed frame.
        """
        for f in result.faces:
            row = [float(f.track), result.time_s, *(f.probabilities[c] for c in self.classes)]
            self._spool.write(np.asarray(row, np.float64).tobytes())

    def series(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """track -> (times (n,) float64, probabilities (n, n_classes) float64)."""
        self._spool.flush()
        self._spool.seek(0)
        data = np.frombuffer(self._spool.read(), np.float64).reshape(-1, 2 + len(self.classes))
        tracks = data[:, 0].astype(np.int64)
        return {int(t): (data[tracks == t, 1], data[tracks == t, 2:]) for t in np.unique(tracks)}

    def close(self) -> None:
        self._spool.close()


class TrackSummary:
    """Per track: frames, first and last time, fraction of frames in each expression, mean probabilities.

    Parameters
    ----------
    classes : sequence
        Class names, in the model's ``classes_`` order.
    """

    def __init__(self, classes: Sequence[Any]) -> None:
        self.classes = list(classes)
        self._index = {c: i for i, c in enumerate(self.classes)}
        self._tracks: dict[int, dict[str, Any]] = {}
        self.frames = 0
        self.frames_with_faces = 0

    def add(self, result: FrameResult) -> None:
        """Count one frame and its faces into their tracks.

        Parameters
        ----------
        result : FrameResult
            One analysed frame.
        """
        self.frames += 1
        self.frames_with_faces += bool(result.faces)
        k = len(self.classes)
        for f in result.faces:
            s = self._tracks.setdefault(f.track, {"frames": 0, "first_s": result.time_s, "counts": np.zeros(k),
                                                  "sums": np.zeros(k)})
            s["frames"] += 1
            s["last_s"] = result.time_s
            s["counts"][self._index[f.label]] += 1
            s["sums"] += [f.probabilities[c] for c in self.classes]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (``fraction``: share of the track's analysed frames with each label)."""
        names = [_text(c) for c in self.classes]
        tracks = []
        for tid, s in sorted(self._tracks.items()):
            n = s["frames"]
            tracks.append({"track": tid, "frames": n, "first_s": round(s["first_s"], 6),
                           "last_s": round(s["last_s"], 6),
                           "fraction": dict(zip(names, (s["counts"] / n).tolist())),
                           "mean_probability": dict(zip(names, (s["sums"] / n).tolist()))})
        return {"classes": names, "frames": self.frames, "frames_with_faces": self.frames_with_faces,
                "tracks": tracks}


def plot_tracks(series: dict[int, tuple[np.ndarray, np.ndarray]], classes: Sequence[Any], path: str | os.PathLike[str],
                title: str = "expression probabilities per track", max_panels: int = 12) -> None:
    """One panel per track (the ``max_panels`` longest, by id): each class's probability over time.

    Parameters
    ----------
    series : dict of int to tuple of (ndarray, ndarray)
        Track -> (times (n,) s, probabilities (n, n_classes)), as :meth:`TrackSeries.series`.
    classes : sequence of object
        Class names in the columns' order (the legend).
    path : str or os.PathLike
        PNG file to write (the caller makes it atomic).
    title : str, default='expression probabilities per track'
        The figure's title.
    max_panels : int, default=12
        Most panels drawn (the longest tracks).
    """

    plt = _pyplot()
    shown = sorted(sorted(series, key=lambda t: -len(series[t][0]))[:max_panels])
    n = max(1, len(shown))
    fig, axes = plt.subplots(n, 1, figsize=(8, 1.2 + 1.9 * n), sharex=True, squeeze=False)
    for ax, tid in zip(axes[:, 0], shown):
        times, probs = series[tid]
        order = np.argsort(times, kind="stable")
        for j, c in enumerate(classes):
            ax.plot(times[order], probs[order, j], label=_text(c), lw=1.3, marker="." if len(times) < 30 else None)
        ax.set_ylim(0, 1)
        ax.set_ylabel("probability")
        ax.set_title(f"track {tid}", fontsize=10, loc="left")
        ax.grid(alpha=0.3)
    if not shown:
        axes[0, 0].text(0.5, 0.5, "no face tracked", ha="center", va="center", transform=axes[0, 0].transAxes)
    axes[-1, 0].set_xlabel("time (s)")
    inch = 1.0 / fig.get_figheight()
    top = 1.0 - 0.62 * inch  # title, then legend, above the panels
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper right", bbox_to_anchor=(0.99, 1.0 - 0.26 * inch),
                   ncol=min(len(labels), 7), fontsize=8, frameon=False)
    more = len(series) - len(shown)
    fig.suptitle(title + (f" ({more} shorter tracks not shown)" if more > 0 else ""), x=0.02, y=0.995,
                 ha="left", va="top", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, top), h_pad=0.4)
    save_png(fig, path, title)
