"""``dlfers evaluate DATA_DIR...``: cross-validated accuracy, macro-F1 and per-class recall, with a HOG
baseline; on the union of several data sets, or trained on them and tested on ``--test-data``."""

from __future__ import annotations

import argparse
import sys

from ._datasets import add_dataset_options, dataset_kwargs, input_files
from ._options import (
    add_model_options,
    add_run_options,
    check_json_output,
    folds_int,
    model_params,
    progress_wanted,
    seed_int,
    write_json,
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``evaluate`` subcommand, its flags and its help to ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of the ``dlfers`` parser.
    """
    p = sub.add_parser(
        "evaluate",
        help="cross-validate DLFERS (and a HOG+LinearSVC baseline) on a data set",
        description="Cross-validate on DATA_DIR (JAFFE, or one folder per class; several: their union, "
        "subjects kept apart per data set), or with --test-data train on all of DATA_DIR and test on "
        "other data sets, on the classes both share after aliasing. Prints per-class recall and F1, "
        "accuracy, macro-F1 and the confusion matrix; --json writes every figure.",
    )
    p.add_argument("data", metavar="DATA_DIR", nargs="+", help="data set folder(s), e.g. ../shared/data/jaffe")
    p.add_argument("--test-data", nargs="+", metavar="TEST_DIR",
                   help="train on all of DATA_DIR, test on these data sets (no cross-validation)")
    p.add_argument("--protocol", choices=["kfold", "loso", "group-kfold"], default="kfold",
                   help="kfold: stratified k-fold over images (person-dependent, as the paper); "
                   "loso: leave-one-subject-out; group-kfold: stratified k-fold that keeps each subject in "
                   "one fold (StratifiedGroupKFold) (both person-independent)")
    p.add_argument("--folds", type=folds_int, default=10, help="folds for kfold and group-kfold (default 10)")
    p.add_argument("--seed", type=seed_int, default=0, help="k-fold shuffling seed (default 0)")
    p.add_argument("--json", metavar="FILE", help="write the full report as JSON ('-': stdout)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    p.add_argument("--no-baseline", action="store_true", help="skip the HOG+LinearSVC baseline")
    p.add_argument("--model", "-m", metavar="MODEL",
                   help="score this fitted model as it is (a model file, or 'pretrained': the FER2013 model shipped "
                   "with dlfers) on all of DATA_DIR: no training, no folds; classes the model does not know are "
                   "left out and counted")
    add_dataset_options(p)
    add_model_options(p)
    add_run_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``dlfers evaluate``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit status (0: success).
    """
    from ..evaluation.crossdata import evaluate_sets, evaluate_transfer
    from ..evaluation.protocols import format_report
    from ..model.estimator import DLFERS

    inputs = input_files(args)
    check_json_output(args.json, args.overwrite, inputs)
    if args.model is not None:
        return _run_fitted(args, inputs)
    model = DLFERS(**model_params(args))
    common = dict(model=model, baseline=not args.no_baseline, n_jobs=args.jobs, progress=progress_wanted(args),
                  scheduler=args.scheduler, **dataset_kwargs(args))
    if args.test_data:
        report = evaluate_transfer(args.data, args.test_data, **common)
    else:
        report = evaluate_sets(args.data, protocol=args.protocol, folds=args.folds, seed=args.seed, **common)
    out = sys.stderr if args.json == "-" else sys.stdout
    print(format_report(report), file=out)
    write_json(report, args.json, args.overwrite, inputs)
    return 0


def _run_fitted(args: argparse.Namespace, inputs: tuple[str, ...]) -> int:
    """``--model``: score a fitted model on the data sets (zero-shot)."""
    from ..evaluation.crossdata import evaluate_fitted
    from ..evaluation.protocols import format_report
    from ._options import load_model

    if args.test_data:
        raise SystemExit("dlfers evaluate: error: --model scores a fitted model on DATA_DIR; --test-data is for "
                         "training on DATA_DIR (give the test sets as DATA_DIR)")
    trained = {k: v for k, v in model_params(args).items() if k not in ("progress", "n_jobs")}
    if trained:
        raise SystemExit(f"dlfers evaluate: error: --model uses the model's own settings; these training "
                         f"options do not apply: {', '.join(sorted(trained))}")
    model = load_model(args.model)
    report = evaluate_fitted(model, list(args.data), n_jobs=args.jobs, progress=progress_wanted(args),
                             scheduler=args.scheduler, model_name=str(args.model), **dataset_kwargs(args))
    out = sys.stderr if args.json == "-" else sys.stdout
    print(format_report(report), file=out)
    print(f"accuracy when only the data's classes may be predicted: {report['restricted_accuracy']:.2f} %", file=out)
    write_json(report, args.json, args.overwrite, inputs)
    return 0
