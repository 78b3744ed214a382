"""Command-line options shared by the commands that build or train a model."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from .._io import jsonable as _jsonable
from ..face import CROP_PRESETS


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """Options that set :class:`dlfers.DLFERS` parameters (defaults: the package's)."""
    g = parser.add_argument_group("model (defaults: the DLFERS defaults)")
    g.add_argument("--preset", choices=["paper", "realtime"],
                   help="named configuration (DLFERS.from_preset); the options below override it. "
                   "paper: the defaults; realtime: 64-pixel face, 6 words per class, fast detector search")
    g.add_argument("--crop", choices=sorted(CROP_PRESETS), help="the paper's crop preset (Table 1)")
    g.add_argument("--delta", type=float, help="horizontal crop factor δ")
    g.add_argument("--gamma", type=float, help="vertical crop factor γ")
    g.add_argument("--no-detect", action="store_true", help="inputs are already cropped faces")
    g.add_argument("--detect-size", type=int, help="longest side of the frame copy the face detector searches")
    g.add_argument("--min-face", type=float, help="smallest face, as a fraction of that copy's shorter side")
    g.add_argument("--detect-scale", type=float, help="step between the detector's search scales (> 1)")
    g.add_argument("--layout", help="SPOF layout, e.g. whole+halves+grid4+fused+fused4")
    g.add_argument("--descriptors", choices=["tisf", "tipm", "tisf+tipm"], help="descriptor kinds")
    g.add_argument("--fusion", choices=["feature", "decision"], help="TISF+TIPM fusion level")
    g.add_argument("--n-words", type=int, help="codebook words D (per class unless --global-codebook)")
    g.add_argument("--global-codebook", action="store_true", help="one codebook for all classes")
    g.add_argument("--face-size", type=int, help="side of the face after the wavelet reduction, in pixels")
    g.add_argument("--step", type=int, help="dense grid stride in pixels")
    g.add_argument("--kernel", choices=["linear", "rbf", "chi2", "intersection"], help="SVM kernel")
    g.add_argument("--C", type=float, dest="C", help="SVM penalty C")
    g.add_argument("--backend", choices=["auto", "cython", "numba", "numpy"], help="kernel backend")


def model_params(args: argparse.Namespace) -> dict[str, Any]:
    """DLFERS keyword arguments from the parsed options (only those given)."""
    p: dict[str, Any] = {}
    if getattr(args, "preset", None):
        from ..pipeline import PRESETS

        p.update(PRESETS[args.preset])
    if getattr(args, "crop", None):
        p["detect"], p["delta"], p["gamma"] = CROP_PRESETS[args.crop]
    for name in ("delta", "gamma", "layout", "descriptors", "fusion", "n_words", "face_size", "step", "kernel", "C",
                 "backend", "detect_size", "min_face", "detect_scale"):
        v = getattr(args, name, None)
        if v is not None:
            p[name] = v
    if getattr(args, "no_detect", False):
        p["detect"] = False
    if getattr(args, "global_codebook", False):
        p["per_class"] = False
    return p


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """``--jobs``, ``--scheduler`` and ``--quiet``."""
    parser.add_argument("--jobs", type=int, default=-1, metavar="N",
                        help="local parallel workers (-1: all cores, the default; 1: serial)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run on the Dask cluster whose scheduler is at ADDRESS, e.g. tcp://host:8786 "
                        "(needs dask.distributed; workers must see DATA_DIR at the same path); --jobs is "
                        "then ignored")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def write_json(obj: Any, path: str | os.PathLike[str] | None) -> None:
    """Write ``obj`` as JSON to ``path`` ('-' for stdout)."""
    if path is None:
        return
    text = json.dumps(obj, indent=2, default=_jsonable)
    if str(path) == "-":
        sys.stdout.write(text + "\n")
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text + "\n")
