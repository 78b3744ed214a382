"""``dlfers video MODEL INPUT [--out annotated.mp4]``: expressions frame by frame in a video."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "video",
        help="predict expressions in every frame of a video; annotated copy and JSON lines log",
        description="Read INPUT with OpenCV, predict every face of every frame, write the frames with boxes, "
        "labels and probabilities to --out, and one JSON line per frame to --log. Reports frames per second.",
    )
    p.add_argument("model", metavar="MODEL", help="model file written by 'dlfers train'")
    p.add_argument("input", metavar="INPUT", help="video file")
    p.add_argument("--out", "-o", metavar="VIDEO", help="annotated video to write (.mp4 or .avi)")
    p.add_argument("--log", metavar="FILE",
                   help="per-frame JSON lines ('-': stdout; default: --out with suffix .jsonl, else stdout)")
    p.add_argument("--max-faces", type=int, default=None, help="largest faces to classify per frame (default all)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..model_io import load
    from ..video import annotate_video, print_stats

    model = load(args.model)
    log = args.log or (str(Path(args.out).with_suffix(".jsonl")) if args.out else "-")
    stats = annotate_video(model, args.input, args.out, sys.stdout if log == "-" else log,
                           progress=not args.quiet, max_faces=args.max_faces)
    print_stats(stats)
    if args.out:
        print(f"wrote {args.out}" + ("" if log == "-" else f" and {log}"), file=sys.stderr)
    return 0
