"""``dlfers video MODEL INPUT... [--out V] [--csv F] [--plot F.png] [--summary F.json]``: tracked expressions."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from ._options import (
    NO_FACE_HINT,
    add_detector_overrides,
    add_jobs_option,
    add_model_argument,
    add_progress_options,
    detector_overrides,
    load_model,
    model_input,
    positive_int,
    progress_wanted,
    split_model,
)

#: output options that name a file per input
_OUTPUTS = ("out", "log", "csv", "plot", "summary")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``video`` subcommand, its flags and its help to ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of the ``dlfers`` parser.
    """
    p = sub.add_parser(
        "video",
        help="track faces and their expressions in videos, folders of frames or a camera; annotated copy, "
        "JSON lines, CSV, plot, summary",
        description="Read each INPUT (a video file or a folder of frames, sorted by name) or --camera with OpenCV, "
        "track every face and predict its expression, write the frames with boxes, track ids, labels and "
        "probabilities to --out, one JSON line per analysed frame to --log, one CSV row per face per frame to "
        "--csv, each track's probabilities over time to --plot and per-track fractions and means to --summary. "
        "With several inputs, every output name must contain {stem} (the input's name without suffix), e.g. "
        "--csv results/{stem}.csv. Outputs are written under a temporary name and renamed when the video is done; "
        "the inputs and existing files are never replaced (existing files only with --overwrite).",
    )
    p.add_argument("input", metavar="[MODEL] INPUT", nargs="*",
                   help="video files or folders of frames, after an optional model file (or use --model)")
    add_model_argument(p)
    p.add_argument("--camera", type=int, metavar="INDEX",
                   help="read camera INDEX (e.g. 0) instead of INPUT, until --max-frames or Ctrl-C")
    p.add_argument("--out", "-o", metavar="VIDEO", help="annotated video to write (.mp4, .m4v, .mov, .avi or .mkv)")
    p.add_argument("--log", metavar="FILE",
                   help="per-frame JSON lines ('-': stdout; default: --out with suffix .jsonl, else stdout for "
                   "one input without --csv/--plot/--summary, else none)")
    p.add_argument("--csv", metavar="FILE",
                   help="CSV: frame,time_s,track,x,y,w,h,label,p_<class>... per face per frame")
    p.add_argument("--plot", metavar="FILE.png", help="PNG: one panel per track, class probabilities over time")
    p.add_argument("--summary", metavar="FILE.json",
                   help="JSON: per track, fraction of frames in each expression and mean probabilities")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--every", type=positive_int, default=1, metavar="N", help="analyse every Nth frame (default 1)")
    p.add_argument("--detect-every", type=positive_int, default=1, metavar="N",
                   help="run the full face detector every N analysed frames and search each tracked face only "
                   "around its last box in between (default 1: detector on every frame)")
    p.add_argument("--smooth", type=float, metavar="SECONDS",
                   help="smooth each track's probabilities with this time constant (exponential moving average; "
                   "delays changes by about SECONDS; default: off)")
    p.add_argument("--max-unseen", type=positive_int, default=5, metavar="K",
                   help="end a track not found in K consecutive analysed frames (default 5)")
    p.add_argument("--fps", type=float, help="frame rate of a folder of frames (default 25)")
    p.add_argument("--max-frames", type=positive_int, metavar="N", help="stop after N analysed frames per input")
    p.add_argument("--max-faces", type=positive_int, default=None, metavar="N",
                   help="classify only the N largest faces per frame (N >= 1; default all)")
    p.add_argument("--explain", action="store_true",
                   help="on the --out video, outline each face's region of most evidence for its predicted class")
    add_jobs_option(p)
    add_detector_overrides(p)
    add_progress_options(p)
    p.set_defaults(func=run)


def _stem(src: str | int) -> str:
    return f"camera{src}" if isinstance(src, int) else Path(src).name.rsplit(".", 1)[0] if Path(src).is_file() \
        else Path(src).name


def output_names(args: argparse.Namespace, sources: list[str | int]) -> list[dict[str, Any]]:
    """Each source's output paths (``{stem}`` replaced); ValueError when several sources would share one.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.
    sources : list of str or int
        The video sources.

    Returns
    -------
    list of dict
        Per source, its output paths by option name.
    """
    several = len(sources) > 1
    log = args.log
    if log is None:
        log = str(Path(args.out).with_suffix(".jsonl")) if args.out else None
        if log is None and not several and not (args.csv or args.plot or args.summary):
            log = "-"
    if several and log == "-":
        raise ValueError("--log -: with several inputs the JSON lines need one file per input, "
                         "e.g. --log logs/{stem}.jsonl")
    stems = [_stem(s) for s in sources]
    if several and len(set(stems)) < len(stems):
        dup = sorted({s for s in stems if stems.count(s) > 1})
        raise ValueError(f"inputs with the same name {dup[0]!r} would write the same {{stem}} outputs; "
                         "analyse them in separate commands")
    names = []
    for stem in stems:
        d: dict[str, Any] = {}
        for key in _OUTPUTS:
            value = log if key == "log" else getattr(args, key)
            if value is None or value == "-":
                d[key] = value
                continue
            if several and "{stem}" not in value:
                raise ValueError(f"--{key} {value}: with several inputs each output name needs {{stem}}, "
                                 f"e.g. {Path(value).parent / ('{stem}' + Path(value).suffix)}")
            d[key] = value.replace("{stem}", stem)
        names.append(d)
    return names


def analyze_one(model: Any, src: str | int, kwargs: dict[str, Any]) -> Any:
    """:func:`dlfers.video.annotate.annotate_video` of one source; a ValueError/OSError becomes its message (str).

    Parameters
    ----------
    model : DLFERS
        A fitted model.
    src : str or int
        A video file, a folder of frames, or a camera index.
    kwargs : dict of str to object
        Keyword arguments of :func:`dlfers.video.annotate.annotate_video`.

    Returns
    -------
    VideoStats or str
        The run's statistics, or the error message.
    """
    from ..video.annotate import annotate_video

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # reported from the stats
            return annotate_video(model, src, **kwargs)
    except (ValueError, OSError) as exc:
        return f"{exc}"


def run(args: argparse.Namespace) -> int:
    """Run ``dlfers video``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit status (0: success).
    """
    from .._util.outputs import check_outputs
    from .._util.parallel import Executor
    from ..video.annotate import video_outputs

    args.model, args.input = split_model(args.model, list(args.input), keep_one=args.camera is None)
    if (args.camera is None) == (not args.input):
        raise ValueError("give either INPUT files or folders, or --camera INDEX (not both)")
    if args.explain and not args.out:
        raise ValueError("--explain draws on the annotated video: give --out VIDEO")
    if args.smooth is not None and not args.smooth > 0:
        raise ValueError(f"--smooth must be a time constant in seconds > 0, got {args.smooth}")
    sources: list[str | int] = [args.camera] if args.camera is not None else list(args.input)
    names = output_names(args, sources)
    every_output = [o for d in names for o in video_outputs(**{k: v for k, v in d.items() if v != "-"})]
    check_outputs(every_output, [model_input(args.model), *(s for s in sources if not isinstance(s, int))],
                  args.overwrite)
    model = load_model(args.model)
    several = len(sources) > 1
    common = dict(progress=progress_wanted(args) and not several, max_faces=args.max_faces, overwrite=args.overwrite,
                  every=args.every, detect_every=args.detect_every, smooth=args.smooth, max_unseen=args.max_unseen,
                  fps=args.fps, max_frames=args.max_frames, explain=args.explain, **detector_overrides(args))
    tasks = [(src, {**common, **{k: (sys.stdout if v == "-" else v) for k, v in d.items()}})
             for src, d in zip(sources, names)]
    jobs = 1 if not several else min(len(sources), max(1, args.jobs if args.jobs > 0 else (os.cpu_count() or 1)))
    failed = 0
    with Executor(jobs) as ex:
        for (src, kw), stats in zip(tasks, ex.map(analyze_one, tasks, shared=(model,))):
            failed += _report(src, kw, stats, several)
    return 1 if failed else 0


def _report(src: str | int, kw: dict[str, Any], stats: Any, several: bool) -> int:
    """Print one source's outcome to stderr; 1 if it failed."""
    from ..video.annotate import print_stats

    if isinstance(stats, str):
        if not several:
            raise ValueError(stats)
        print(f"dlfers video: error: {stats}", file=sys.stderr)
        return 1
    print_stats(stats)
    if stats.errors:
        print(f"dlfers video: warning: {stats.errors_message()}", file=sys.stderr)
    if stats.stopped_early:
        print(f"dlfers video: warning: {stats.early_stop_message()}", file=sys.stderr)
    if stats.with_faces == 0:
        print(f"dlfers video: warning: {stats.source}: no face found in any of the {stats.frames} frames; "
              f"{NO_FACE_HINT}", file=sys.stderr)
    written = [str(v) for k, v in kw.items() if k in _OUTPUTS and v is not None and not hasattr(v, "write")]
    if written:
        print("wrote " + ", ".join(written), file=sys.stderr)
    return 0
