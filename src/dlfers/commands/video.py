"""``dlfers video MODEL INPUT [--out annotated.mp4]``: expressions frame by frame in a video."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from ._options import (
    NO_FACE_HINT,
    add_detector_overrides,
    add_progress_options,
    detector_overrides,
    positive_int,
    progress_wanted,
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "video",
        help="predict expressions in every frame of a video; annotated copy and JSON lines log",
        description="Read INPUT with OpenCV, predict every face of every frame, write the frames with boxes, "
        "labels and probabilities to --out, and one JSON line per frame to --log. Reports frames read "
        "(against the container's frame count) and frames per second. Outputs are written under a "
        "temporary name and renamed when the video is done; the input and existing files are never "
        "replaced (existing files only with --overwrite).",
    )
    p.add_argument("model", metavar="MODEL", help="model file written by 'dlfers train'")
    p.add_argument("input", metavar="INPUT", help="video file")
    p.add_argument("--out", "-o", metavar="VIDEO", help="annotated video to write (.mp4, .m4v, .mov, .avi or .mkv)")
    p.add_argument("--log", metavar="FILE",
                   help="per-frame JSON lines ('-': stdout; default: --out with suffix .jsonl, else stdout)")
    p.add_argument("--overwrite", action="store_true", help="replace existing --out and --log files")
    p.add_argument("--max-faces", type=positive_int, default=None, metavar="N",
                   help="classify only the N largest faces per frame (N >= 1; default all)")
    add_detector_overrides(p)
    add_progress_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..model_io import load
    from ..video import annotate_video, print_stats

    log = args.log or (str(Path(args.out).with_suffix(".jsonl")) if args.out else "-")
    model = load(args.model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        stats = annotate_video(model, args.input, args.out, sys.stdout if log == "-" else log,
                               progress=progress_wanted(args), max_faces=args.max_faces,
                               overwrite=args.overwrite, **detector_overrides(args))
    print_stats(stats)
    for w in caught:
        print(f"dlfers video: warning: {w.message}", file=sys.stderr)
    if stats.with_faces == 0:
        print(f"dlfers video: warning: no face found in any of the {stats.frames} frames; {NO_FACE_HINT}",
              file=sys.stderr)
    if args.out:
        print(f"wrote {args.out}" + ("" if log == "-" else f" and {log}"), file=sys.stderr)
    return 0
