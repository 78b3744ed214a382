"""``dlfers train DATA_DIR... --out MODEL``: fit DLFERS on one data set or the union of several and save it."""

from __future__ import annotations

import argparse
import sys
import time

from ._datasets import add_dataset_options, dataset_kwargs, input_files
from ._options import add_jobs_option, add_model_options, add_progress_options, model_params, progress_wanted


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "train",
        help="train a model on a data set and save it",
        description="Fit DLFERS on every image of DATA_DIR (JAFFE, or one folder per class; several: their "
        "union, class names aliased onto one vocabulary) and save the model to --out (pickle-free; load it "
        "with dlfers.load or use it with 'dlfers predict'). "
        "An existing model file is replaced only with --overwrite.",
    )
    p.add_argument("data", metavar="DATA_DIR", nargs="+", help="data set folder(s), e.g. ../shared/data/jaffe")
    p.add_argument("--out", "-o", required=True, metavar="MODEL", help="model file to write, e.g. model.dlfers")
    p.add_argument("--overwrite", action="store_true", help="replace an existing model file")
    add_dataset_options(p)
    add_model_options(p)
    add_jobs_option(p)
    add_progress_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .._util.outputs import check_output
    from .._util.parallel import Executor
    from ..data.sources import extract_sources, load_datasets
    from ..model.estimator import DLFERS

    inputs = input_files(args)
    check_output(args.out, inputs, args.overwrite, "model file")
    params = model_params(args)  # options out of range are said before the data are read
    progress = progress_wanted(args)
    sources = load_datasets(args.data, progress=progress, **dataset_kwargs(args))
    data = sources.dataset
    for err in data.errors:
        print(f"dlfers train: skipped {err}", file=sys.stderr)
    for note in sources.notes:
        print(f"dlfers train: {note}", file=sys.stderr)
    model = DLFERS(**params, progress=progress)
    t0 = time.perf_counter()
    with Executor(args.jobs) as ex:  # descriptors in parallel; the fit itself is serial
        feats = extract_sources(model, sources, ex, progress)
    model.fit_features(feats, data.labels)
    model.set_params(progress=False)
    check_output(args.out, inputs, args.overwrite, "model file")  # appeared while training?
    model.save(args.out)
    classes = ", ".join(map(str, model.classes_))
    print(f"trained on {len(data)} images ({len(data.errors)} skipped), classes: {classes}; "
          f"{time.perf_counter() - t0:.1f} s; saved {args.out}")
    return 0
