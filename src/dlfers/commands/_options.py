"""Command-line options shared by the commands that build or train a model."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from .._io import jsonable as _jsonable
from ..face import CROP_PRESETS


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """Options that set :class:`dlfers.DLFERS` parameters (defaults: the package's)."""
    g = parser.add_argument_group("model (defaults: the DLFERS defaults)")
    g.add_argument("--preset", choices=["default", "paper", "realtime"],
                   help="named configuration (DLFERS.from_preset); the options below override it. "
                   "default: the package defaults; paper: the paper's system exactly (grid step 2, 30 words per "
                   "class, hard assignment, single-pass cascade detector); realtime: 64-pixel face, 6 words per class")
    g.add_argument("--crop", choices=sorted(CROP_PRESETS), help="the paper's crop preset (Table 1)")
    g.add_argument("--delta", type=float, help="horizontal crop factor δ")
    g.add_argument("--gamma", type=float, help="vertical crop factor γ")
    g.add_argument("--no-detect", action="store_true", help="inputs are already cropped faces")
    g.add_argument("--detector", choices=["cascade+coarse2fine", "coarse2fine", "cascade"],
                   help="face detector: cascade+coarse2fine (default: the single pass, and where it finds no face "
                   "a coarse pass on a small copy with a fine pass around each face), coarse2fine alone, or cascade "
                   "alone (one pass on a --detect-size copy; the paper preset's)")
    g.add_argument("--detect-size", type=int, help="longest side of the frame copy the (coarse) face detector searches")
    g.add_argument("--min-face", type=float, help="smallest face, as a fraction of the frame's shorter side")
    g.add_argument("--detect-scale", type=float, help="step between the (coarse) detector's search scales (> 1)")
    g.add_argument("--layout", help="SPOF layout, e.g. whole+halves+grid4+fused+fused4")
    g.add_argument("--descriptors", choices=["tisf", "tipm", "tisf+tipm", "tisf+tipm+tisf2+tipm2"],
                   help="descriptor kinds; tisf2 and tipm2 are a second scale (8-pixel cells, 2σ) on the same grid")
    g.add_argument("--align", action=argparse.BooleanOptionalAction, default=None,
                   help="register each face by its eyes (OpenCV eye cascade) before the reduction; faces whose "
                   "eyes are not found keep their unaligned crop (counted in reports)")
    g.add_argument("--mirror", action=argparse.BooleanOptionalAction, default=None,
                   help="also train on the horizontal flip of every training face (training folds only)")
    g.add_argument("--texture", choices=["gabor", "lbp", "lbp+gabor", "none"],
                   help="texture channels beside the descriptors: gabor (Gabor energies on an 8x8 grid of the face), "
                   "lbp (uniform-LBP histograms of the same regions); none: the paper's descriptors only")
    g.add_argument("--texture-weight", type=float,
                   help="each texture channel's weight against one descriptor kind (default: the channel's own)")
    g.add_argument("--fusion", choices=["feature", "decision"], help="TISF+TIPM fusion level")
    g.add_argument("--n-words", type=int, help="codebook words D (per class unless --global-codebook)")
    g.add_argument("--global-codebook", action="store_true", help="one codebook for all classes")
    g.add_argument("--face-size", type=int, help="side of the face after the wavelet reduction, in pixels")
    g.add_argument("--step", type=int, help="dense grid stride in pixels")
    g.add_argument("--soft", type=int, help="words each descriptor is assigned to (1: hard assignment)")
    g.add_argument("--precision", choices=["int8", "float32"], help="word assignment arithmetic (default int8)")
    g.add_argument("--kernel", choices=["linear", "rbf", "chi2", "intersection"], help="SVM kernel")
    g.add_argument("--C", type=float, dest="C", help="SVM penalty C")
    g.add_argument("--backend", choices=["auto", "cython", "numba", "numpy"], help="kernel backend")


def model_params(args: argparse.Namespace) -> dict[str, Any]:
    """DLFERS keyword arguments from the parsed options (only those given)."""
    p: dict[str, Any] = {}
    if getattr(args, "preset", None):  # every parameter, so that the preset holds whatever the base
        from ..pipeline import DLFERS

        p.update({k: v for k, v in DLFERS.from_preset(args.preset).get_params().items() if k != "progress"})
    if getattr(args, "crop", None):
        p["detect"], p["delta"], p["gamma"] = CROP_PRESETS[args.crop]
    for name in ("delta", "gamma", "layout", "descriptors", "fusion", "n_words", "face_size", "step", "soft", "kernel",
                 "precision", "C", "backend", "detector", "detect_size", "min_face", "detect_scale", "align", "mirror",
                 "texture", "texture_weight"):
        v = getattr(args, name, None)
        if v is not None:
            p[name] = v
    if getattr(args, "no_detect", False):
        p["detect"] = False
    if getattr(args, "global_codebook", False):
        p["per_class"] = False
    return p


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """``--jobs``, ``--scheduler`` and the progress options (:func:`add_progress_options`)."""
    add_jobs_option(parser)
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run on the Dask cluster whose scheduler is at ADDRESS, e.g. tcp://host:8786 "
                        "(needs dask.distributed; workers must see DATA_DIR at the same path); --jobs is "
                        "then ignored")
    add_progress_options(parser)


def add_jobs_option(parser: argparse.ArgumentParser,
                    what: str = "local parallel workers (-1: all cores, the default; 1: serial)") -> None:
    """``--jobs N``: local workers (processes or threads, as ``what`` says)."""
    parser.add_argument("--jobs", type=int, default=-1, metavar="N", help=what)


def add_progress_options(parser: argparse.ArgumentParser) -> None:
    """``--progress`` / ``--no-progress`` (``--quiet``): bars on stderr, by default only on a terminal."""
    g = parser.add_mutually_exclusive_group()
    g.add_argument("--progress", dest="progress", action="store_true", default=None,
                   help="show progress bars on stderr even when it is not a terminal")
    g.add_argument("--no-progress", "--quiet", dest="progress", action="store_false",
                   help="no progress bars (default: bars only when stderr is a terminal)")


def progress_wanted(args: argparse.Namespace) -> bool:
    """The parsed progress options: explicit choice, else whether stderr is a terminal."""
    from ..progress import show_progress

    return show_progress(getattr(args, "progress", None))


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_detector_overrides(parser: argparse.ArgumentParser) -> None:
    """``--detect-size``, ``--min-face``, ``--detect-scale`` for a saved model (None: the model's own)."""
    g = parser.add_argument_group("face detector (default: the model's own settings)")
    g.add_argument("--detect-size", type=int,
                   help="longest side of the frame copy the face detector searches, e.g. 160 to find smaller "
                   "faces than a --preset realtime model looks for")
    g.add_argument("--min-face", type=float, help="smallest face, as a fraction of that copy's shorter side")
    g.add_argument("--detect-scale", type=float, help="step between the detector's search scales (> 1)")


def detector_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for ``predict_image`` from :func:`add_detector_overrides` options."""
    return {k: getattr(args, k, None) for k in ("detect_size", "min_face", "detect_scale")}


NO_FACE_HINT = ("if the images do have faces, widen the detector's search: --detect-size 160 --min-face 0.1 "
                "--detect-scale 1.1 (larger --detect-size and smaller --min-face find smaller faces)")


def write_json(obj: Any, path: str | os.PathLike[str] | None, overwrite: bool = False,
               inputs: tuple[str | os.PathLike[str], ...] = ()) -> None:
    """Write ``obj`` as JSON to ``path`` ('-' for stdout), atomically.

    An existing file is replaced only with ``overwrite``; ``inputs`` are never replaced.
    Callers check first with :func:`dlfers._outputs.check_output`, before the long run.
    """
    if path is None:
        return
    text = json.dumps(obj, indent=2, default=_jsonable)
    if str(path) == "-":
        sys.stdout.write(text + "\n")
        return
    from .._outputs import atomic_open

    with atomic_open(path, "w", overwrite, inputs, "JSON report") as f:
        f.write(text + "\n")


def check_json_output(path: str | os.PathLike[str] | None, overwrite: bool = False,
                      inputs: tuple[str | os.PathLike[str], ...] = ()) -> None:
    """Refuse a ``--json FILE`` that is an input or exists (without ``--overwrite``) before any work."""
    if path is not None and str(path) != "-":
        from .._outputs import check_output

        check_output(path, inputs, overwrite, "JSON report")



def _row(rec: dict[str, Any], found: Any) -> str:
    """``file  <found(rec)>`` for a face, ``file  no face``, or ``file  ERROR <problem>``."""
    what = found(rec) if rec["status"] == "ok" else "no face" if rec["status"] == "no_face" else f"ERROR {rec['error']}"
    return f"{rec['file']}  {what}"


def report_records(records: Any, args: argparse.Namespace, found: Any, command: str, verb: str) -> int:
    """Print each batch record (JSON line with ``--json``, else a line of text, ``found(rec)``
    saying what a face record holds) and the run's summary.

    The exit code: 1 when no file could be used (the first error named), else 0; a warning
    when no image had a face, and a count of the failed files, on stderr.
    """
    from ..progress import progress_bar

    done: set[str] = set()
    faces = 0
    failed: list[dict[str, Any]] = []
    for rec in progress_bar(records, desc="images", disable=not progress_wanted(args)):
        if rec["status"] == "error":
            failed.append(rec)
        else:
            done.add(rec["file"])
            faces += rec["status"] == "ok"
        print(json.dumps(rec, default=_jsonable) if args.json else _row(rec, found), flush=True)
    if not done:
        why = f"{len(failed)} error(s), first: {failed[0]['file']}: {failed[0]['error']}" if failed else "no input"
        print(f"dlfers {command}: error: no image could be {verb} ({why})", file=sys.stderr)
        return 1
    if not faces:
        print(f"dlfers {command}: warning: no face found in any of the {len(done)} image(s); {NO_FACE_HINT}",
              file=sys.stderr)
    if failed:
        print(f"dlfers {command}: {len(done)} file(s) {verb}, {len(failed)} failed", file=sys.stderr)
    return 0
