"""``dlfers evaluate DATA_DIR``: cross-validated accuracy, per class, with a HOG baseline."""

from __future__ import annotations

import argparse
import sys

from ._options import add_model_options, add_run_options, check_json_output, model_params, progress_wanted, write_json


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "evaluate",
        help="cross-validate DLFERS (and a HOG+LinearSVC baseline) on a data set",
        description="Cross-validate on DATA_DIR (JAFFE, or one folder per class). Prints per-class and "
        "overall accuracy and the confusion matrix; --json writes every figure.",
    )
    p.add_argument("data", metavar="DATA_DIR", help="data set folder, e.g. ../shared/data/jaffe")
    p.add_argument("--protocol", choices=["kfold", "loso"], default="kfold",
                   help="kfold: stratified k-fold over images (person-dependent, as the paper); "
                   "loso: leave-one-subject-out (person-independent)")
    p.add_argument("--folds", type=int, default=10, help="folds for kfold (default 10)")
    p.add_argument("--seed", type=int, default=0, help="k-fold shuffling seed (default 0)")
    p.add_argument("--json", metavar="FILE", help="write the full report as JSON ('-': stdout)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    p.add_argument("--no-baseline", action="store_true", help="skip the HOG+LinearSVC baseline")
    add_model_options(p)
    add_run_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..evaluate import evaluate, format_report
    from ..pipeline import DLFERS

    check_json_output(args.json, args.overwrite, (args.data,))
    model = DLFERS(**model_params(args))
    report = evaluate(
        args.data, protocol=args.protocol, folds=args.folds, seed=args.seed, model=model,
        baseline=not args.no_baseline, n_jobs=args.jobs, progress=progress_wanted(args),
        scheduler=args.scheduler,
    )
    out = sys.stderr if args.json == "-" else sys.stdout
    print(format_report(report), file=out)
    write_json(report, args.json, args.overwrite, (args.data,))
    return 0
