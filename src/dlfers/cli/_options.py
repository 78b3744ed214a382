"""Command-line options shared by the commands that build or train a model."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from .._util.files import jsonable as _jsonable
from ..model.params import PARAMS, Param, check_value, param
from ..model.presets import CROP_PRESETS, PRESETS


def _flag_kwargs(p: Param) -> dict[str, Any]:
    """argparse keyword arguments of a parameter's flag, from its row of the table."""
    if p.type == "bool" and p.cli_type is bool:
        return {"action": argparse.BooleanOptionalAction, "default": None, "help": p.help, "dest": p.name}
    if p.type == "bool":  # a flag that turns the default off (--no-detect, --global-codebook)
        return {"action": "store_const", "const": not p.default, "default": None, "help": p.help, "dest": p.name}
    choices = p.cli_choices if p.cli_choices is not None else p.choices
    kwargs: dict[str, Any] = {"help": p.help, "dest": p.name}
    if choices is not None:
        kwargs["choices"] = list(choices)
    if p.cli_type is not None:
        kwargs["type"] = p.cli_type
    return kwargs


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """Options that set :class:`dlfers.DLFERS` parameters (defaults: the package's), one per row of
    :data:`dlfers.model.params.PARAMS` that has a flag, plus ``--preset`` and ``--crop``."""
    g = parser.add_argument_group("model (defaults: the DLFERS defaults)")
    g.add_argument("--preset", choices=list(PRESETS),
                   help="named configuration (DLFERS.from_preset); the options below override it. "
                   "default: the package defaults; paper: the paper's system exactly (grid step 2, 30 words per "
                   "class, hard assignment, single-pass cascade detector); realtime: 64-pixel face, 6 words per class; "
                   "general: the pretrained model's, for tens of thousands of faces (one 256-word codebook per "
                   "kind, a linear SVM trained in chunks, FER2013's framing)")
    g.add_argument("--crop", choices=sorted(CROP_PRESETS), help="the paper's crop preset (Table 1)")
    for p in PARAMS:
        if p.cli_flag:
            g.add_argument(p.cli_flag, **_flag_kwargs(p))


def model_params(args: argparse.Namespace) -> dict[str, Any]:
    """DLFERS keyword arguments from the parsed options (only those given).

    Raises ValueError naming the option (``--step 0: step must be ...``) for a value out of its range.
    """
    out: dict[str, Any] = {}
    if getattr(args, "preset", None):  # every parameter, so that the preset holds whatever the base
        from ..model.estimator import DLFERS

        out.update({k: v for k, v in DLFERS.from_preset(args.preset).get_params().items() if k != "progress"})
    if getattr(args, "crop", None):
        out["detect"], out["delta"], out["gamma"] = CROP_PRESETS[args.crop]
    for p in PARAMS:
        v = getattr(args, p.name, None) if p.cli_flag else None
        if v is not None:
            try:  # the row's range, said with the option's name before any work
                check_value(p.name, v)
            except ValueError as exc:
                raise ValueError(f"{p.cli_flag} {v}: {exc}") from None
            out[p.name] = v
    return out


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
    from .._util.progress import show_progress

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


def folds_int(text: str) -> int:
    """argparse type of ``--folds``: an integer >= 2."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 2, got {text!r}") from None
    if value < 2:
        raise argparse.ArgumentTypeError(f"cross-validation needs at least 2 folds, got {value}")
    return value


def seed_int(text: str) -> int:
    """argparse type of ``--seed``: an integer from 0 to 2**32 - 1 (what NumPy's generators take)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be from 0 to 2**32 - 1, got {value}")
    return value


#: the detector settings a saved model's call may override (predict, explain, video)
DETECTOR_OVERRIDES = ("detect_size", "min_face", "detect_scale")


def add_detector_overrides(parser: argparse.ArgumentParser) -> None:
    """``--detect-size``, ``--min-face``, ``--detect-scale`` for a saved model (None: the model's own),
    from the same rows of :data:`dlfers.model.params.PARAMS` as the training options."""
    g = parser.add_argument_group("face detector (default: the model's own settings)")
    for name in DETECTOR_OVERRIDES:
        p = param(name)
        g.add_argument(p.cli_flag, **_flag_kwargs(p))


def detector_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for ``predict_image`` from :func:`add_detector_overrides` options."""
    return {k: getattr(args, k, None) for k in DETECTOR_OVERRIDES}


NO_FACE_HINT = ("if the images do have faces, widen the detector's search: --detect-size 160 --min-face 0.1 "
                "--detect-scale 1.1 (larger --detect-size and smaller --min-face find smaller faces)")


def write_json(obj: Any, path: str | os.PathLike[str] | None, overwrite: bool = False,
               inputs: tuple[str | os.PathLike[str], ...] = ()) -> None:
    """Write ``obj`` as JSON to ``path`` ('-' for stdout), atomically.

    An existing file is replaced only with ``overwrite``; ``inputs`` are never replaced.
    Callers check first with :func:`dlfers._util.outputs.check_output`, before the long run.
    """
    if path is None:
        return
    text = json.dumps(obj, indent=2, default=_jsonable)
    if str(path) == "-":
        sys.stdout.write(text + "\n")
        return
    from .._util.outputs import atomic_open

    with atomic_open(path, "w", overwrite, inputs, "JSON report") as f:
        f.write(text + "\n")


def check_json_output(path: str | os.PathLike[str] | None, overwrite: bool = False,
                      inputs: tuple[str | os.PathLike[str], ...] = ()) -> None:
    """Refuse a ``--json FILE`` that is an input or exists (without ``--overwrite``) before any work."""
    if path is not None and str(path) != "-":
        from .._util.outputs import check_output

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
    from .._util.progress import progress_bar

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


# ----------------------------------------------------------------------------- which model
MODEL_HELP = ("model file written by 'dlfers train', or 'pretrained' (the FER2013 model shipped with dlfers; "
              "the default when no model file is given)")


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    """``--model MODEL|pretrained``: the model of predict, explain and video (the first positional
    argument may name it instead, as before: ``dlfers predict MODEL PATH...``)."""
    parser.add_argument("--model", "-m", metavar="MODEL", default=None, help=MODEL_HELP)


def _looks_like_model(arg: str) -> bool:
    """A regular file that is a zip container (model files are; images and videos never), or
    ``pretrained``; nothing is read from a FIFO or a device."""
    import stat

    if arg == "pretrained":
        return True
    try:
        if not stat.S_ISREG(os.stat(arg).st_mode):
            return False
        with open(arg, "rb") as f:
            return f.read(4) == b"PK\x03\x04"
    except OSError:
        return arg.endswith(".dlfers")


def split_model(model: str | None, inputs: list[str], keep_one: bool = True) -> tuple[str, list[str]]:
    """The model to use and the inputs: ``--model`` if given; else the first positional argument when it
    is a model file (``dlfers predict MODEL PATH...``) and at least one input follows (``keep_one``);
    else the shipped pretrained model."""
    if model is not None:
        return model, inputs
    if inputs and _looks_like_model(inputs[0]) and (len(inputs) > 1 or not keep_one):
        return inputs[0], inputs[1:]
    return "pretrained", inputs


def model_input(arg: str) -> str:
    """The file a model argument reads (the shipped file for ``pretrained``): an input no output may replace."""
    from ..model.pretrained import PRETRAINED_FILE, is_pretrained

    return str(PRETRAINED_FILE) if is_pretrained(arg) else arg


def load_model(arg: str) -> Any:
    """The fitted model that a ``--model`` argument names (a model file, or ``pretrained``)."""
    from ..model.pretrained import is_pretrained, pretrained

    if is_pretrained(arg):
        return pretrained()
    from ..model.loading import load

    return load(arg)
