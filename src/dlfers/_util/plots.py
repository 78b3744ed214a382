"""Figures in the style of the paper's: grouped accuracy bars per expression, confusion heat maps.

matplotlib is imported on first use, with the non-interactive Agg backend; every
figure is saved as PNG with its title in the file's ``Title`` metadata.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["grouped_bars", "confusion_heatmap", "save_png"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def grouped_bars(
    panels: Sequence[tuple[str, Mapping[str, Mapping[str, float]]]],
    groups: Sequence[str],
    title: str,
    ylabel: str = "accuracy (%)",
) -> Any:
    """One panel per ``(subtitle, {series: {group: value}})``: a bar per series in each group.

    Parameters
    ----------
    panels : e.g. ``[("this reproduction", ours), ("paper", theirs)]``, where each maps a
        configuration (bar colour) to its accuracy per expression (x group).
    groups : the x groups in order (expressions, then e.g. "mean").
    title : the figure title.

    Returns
    -------
    The matplotlib Figure (panels share the y axis; one legend).
    """
    plt = _pyplot()
    series = list(panels[0][1])
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.6), sharey=True, squeeze=False)
    width = 0.8 / max(1, len(series))
    x = np.arange(len(groups))
    colours = plt.get_cmap("tab10")
    for ax, (subtitle, data) in zip(axes[0], panels):
        for i, s in enumerate(series):
            vals = [float(data.get(s, {}).get(g, np.nan)) for g in groups]
            ax.bar(x + (i - (len(series) - 1) / 2) * width, vals, width, label=s, color=colours(i % 10))
        ax.set_xticks(x, list(groups), rotation=30, ha="right")
        ax.set_title(subtitle)
        ax.set_ylim(0, 105)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel(ylabel)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(series), 5), fontsize="small", frameon=False)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def confusion_heatmap(matrix: Sequence[Sequence[int]], classes: Sequence[str], title: str) -> Any:
    """Heat map of a confusion matrix (rows: true class, columns: predicted), row percentages shaded.

    Each cell shows the image count; the colour is the count as a percentage of its row.
    """
    plt = _pyplot()
    cm = np.asarray(matrix, dtype=float)
    rows = cm.sum(axis=1, keepdims=True)
    pct = np.divide(100 * cm, rows, out=np.zeros_like(cm), where=rows > 0)
    fig, ax = plt.subplots(figsize=(6.2, 5.4))
    im = ax.imshow(pct, cmap="Blues", vmin=0, vmax=100)
    n = len(classes)
    ax.set_xticks(range(n), list(classes), rotation=45, ha="right")
    ax.set_yticks(range(n), list(classes))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(int(cm[i, j])), ha="center", va="center",
                    color="white" if pct[i, j] > 60 else "black", fontsize=9)
    fig.colorbar(im, ax=ax, label="% of the true class")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def save_png(fig: Any, path: str | os.PathLike[str], title: str) -> None:
    """Save ``fig`` as a PNG with ``title`` in its metadata, then close it."""
    plt = _pyplot()
    fig.savefig(path, format="png", dpi=110, metadata={"Title": title, "Software": "dlfers"})
    plt.close(fig)
