"""``dlfers train DATA_DIR --out MODEL``: fit DLFERS on a data set and save it."""

from __future__ import annotations

import argparse
import sys
import time

from ._options import add_model_options, model_params


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "train",
        help="train a model on a data set and save it",
        description="Fit DLFERS on every image of DATA_DIR (JAFFE, or one folder per class) and save the "
        "model to --out (pickle-free; load it with dlfers.load or use it with 'dlfers predict').",
    )
    p.add_argument("data", metavar="DATA_DIR", help="data set folder, e.g. ../shared/data/jaffe")
    p.add_argument("--out", "-o", required=True, metavar="MODEL", help="model file to write, e.g. model.dlfers")
    add_model_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..datasets import load_dataset
    from ..pipeline import DLFERS

    data = load_dataset(args.data, progress=not args.quiet)
    for err in data.errors:
        print(f"dlfers train: skipped {err}", file=sys.stderr)
    if len(data) == 0:
        print(f"dlfers train: error: no usable image in {args.data}", file=sys.stderr)
        return 1
    model = DLFERS(**model_params(args), progress=not args.quiet)
    t0 = time.perf_counter()
    model.fit(data.images, data.labels)  # type: ignore[arg-type]  # labels: (n,) str array
    model.set_params(progress=False)
    model.save(args.out)
    classes = ", ".join(map(str, model.classes_))
    print(f"trained on {len(data)} images ({len(data.errors)} skipped), classes: {classes}; "
          f"{time.perf_counter() - t0:.1f} s; saved {args.out}")
    return 0
