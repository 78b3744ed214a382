"""``dlfers train DATA_DIR... --out MODEL``: fit DLFERS on one data set or the union of several and save it."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np

from ._datasets import add_dataset_options, dataset_kwargs, input_files
from ._options import add_jobs_option, add_model_options, add_progress_options, model_params, progress_wanted


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``train`` subcommand, its flags and its help to ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of the ``dlfers`` parser.
    """
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
    p.add_argument("--test-data", nargs="+", metavar="TEST_DIR",
                   help="after training, score the model on these labelled data sets (accuracy, macro-F1, "
                   "per-class recall) and record the figures in the model file's provenance")
    add_dataset_options(p)
    add_model_options(p)
    add_jobs_option(p)
    add_progress_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``dlfers train``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit status (0: success).
    """
    from .._util.outputs import check_output
    from .._util.parallel import Executor
    from ..data.sources import extract_sources, load_datasets, source_chunks
    from ..evaluation.protocols import format_report
    from ..model.estimator import DLFERS
    from ..model.largescale import fit_linear

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
        if model.classifier == "linear":  # features in chunks: memory bounded by the histograms
            fit_linear(model, source_chunks(model, sources, None, ex), np.asarray(data.labels), progress)
        else:
            feats = extract_sources(model, sources, ex, progress)
            model.fit_features(feats, data.labels)
            del feats
    model.set_params(progress=False)
    seconds = time.perf_counter() - t0
    model.provenance_ = provenance(args, sources, model)
    if args.test_data:
        from ..evaluation.crossdata import evaluate_fitted

        report = evaluate_fitted(model, list(args.test_data), n_jobs=args.jobs, progress=progress,
                                 **dataset_kwargs(args))
        print(format_report(report))
        model.provenance_["test"] = {
            "data": [str(t) for t in args.test_data], "n_images": report["n_images"],
            "accuracy": round(report["overall_accuracy"], 2), "macro_f1": round(report["macro_f1"], 2),
            "per_class_recall": {c: round(v, 1) for c, v in report["per_class_recall"].items()}}
    check_output(args.out, inputs, args.overwrite, "model file")  # appeared while training?
    model.save(args.out)
    classes = ", ".join(map(str, model.classes_))
    print(f"trained on {len(data)} images ({len(data.errors)} skipped), classes: {classes}; "
          f"{seconds:.1f} s; saved {args.out}")
    return 0


def provenance(args: argparse.Namespace, sources: Any, model: Any) -> dict[str, Any]:
    """How a model was made, saved in its file (no date, host or timing: a rebuild gives the same file).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed ``dlfers train`` command line.
    sources : DataSources
        The training data.
    model : DLFERS
        The fitted model.

    Returns
    -------
    dict
        ``data``, ``datasets``, ``n_train``, ``per_class``, ``command``, ``dlfers_version``.
    """
    from .._version import __version__

    labels = np.asarray(sources.dataset.labels)
    names, counts = np.unique(labels, return_counts=True)
    return {"data": [str(d) for d in args.data], "datasets": list(sources.names), "n_train": int(len(labels)),
            "per_class": {str(n): int(c) for n, c in zip(names, counts)},
            "command": "dlfers " + " ".join(sys.argv[1:]) if sys.argv[1:] else "dlfers train",
            "dlfers_version": __version__}
