"""``dlfers ablation DATA_DIR... --out DIR``: each addition beyond the paper alone and all together."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._datasets import add_dataset_options, dataset_kwargs, input_files
from ._options import (
    add_jobs_option,
    add_model_options,
    add_progress_options,
    folds_int,
    model_params,
    progress_wanted,
    seed_int,
)

#: files written into --out, and what each is
OUTPUTS = (("ablation.md", "Markdown table"), ("ablation.json", "JSON report"), ("ablation.csv", "CSV table"))


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``ablation`` subcommand, its flags and its help to ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of the ``dlfers`` parser.
    """
    p = sub.add_parser(
        "ablation",
        help="score each addition beyond the paper (eye alignment, mirror augmentation, multi-scale "
        "descriptors) alone and together, under k-fold, LOSO or subject-grouped k-fold",
        description="Rows: the model given by the options (default: the DLFERS defaults), each addition alone, "
        "all together; columns: accuracy and macro-F1 under each protocol, on the same folds. Several "
        "DATA_DIRs are joined as by 'dlfers evaluate A B' (subjects kept apart per data set), and each data "
        "set's own accuracy gets a column. Writes "
        "ablation.md, ablation.json and ablation.csv into --out (never over existing files without "
        "--overwrite). --nested ROW ROW ... adds the nested-CV figure of choosing among those rows inside each "
        "outer training fold.",
    )
    p.add_argument("data", metavar="DATA_DIR", nargs="+",
                   help="data set folder(s), e.g. ../shared/data/jaffe ../shared/data/ckplus48")
    p.add_argument("--out", metavar="DIR", required=True, help="folder for ablation.md, .json and .csv")
    p.add_argument("--protocols", nargs="+", choices=["kfold", "loso", "group-kfold"], default=["kfold", "loso"],
                   help="protocols (default: kfold loso); group-kfold: stratified k-fold keeping each subject in "
                   "one fold (StratifiedGroupKFold, shuffled, --seed)")
    p.add_argument("--folds", type=folds_int, default=10, help="folds for kfold and group-kfold (default 10)")
    p.add_argument("--seed", type=seed_int, default=0, help="k-fold shuffling seed (default 0)")
    p.add_argument("--nested", nargs="+", metavar="ROW", default=[],
                   help="rows to choose among by inner CV (e.g. default +mirror); ties go to the first")
    p.add_argument("--rows", nargs="*", metavar="ROW", default=None,
                   help="rows to score (default: all: default, then +NAME or no-NAME for each of align mirror "
                   "multiscale lbp gabor, switched on or, where the base has it, off, and all); none with "
                   "--nested gives the nested figure alone")
    p.add_argument("--inner-folds", type=folds_int, default=3, help="inner folds of the nested CV (default 3)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    add_dataset_options(p)
    add_model_options(p)
    add_jobs_option(p)
    add_progress_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``dlfers ablation``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit status (0: success).
    """
    from .._util.files import jsonable
    from .._util.outputs import atomic_open, check_output_dir, check_outputs
    from ..evaluation.ablation import format_csv, format_markdown, run_ablation

    out = Path(args.out)
    paths = [(out / name, what) for name, what in OUTPUTS]
    inputs = input_files(args)
    check_output_dir(out, [name for name, _ in OUTPUTS], inputs, args.overwrite)  # before the long run
    check_outputs(paths, inputs, args.overwrite)
    result = run_ablation(args.data, protocols=args.protocols, folds=args.folds, seed=args.seed,
                          base=model_params(args), nested=args.nested, inner_folds=args.inner_folds,
                          n_jobs=args.jobs, progress=progress_wanted(args), rows=args.rows, **dataset_kwargs(args))
    texts = (format_markdown(result), json.dumps(result, indent=2, default=jsonable) + "\n", format_csv(result))
    for (path, what), text in zip(paths, texts):
        with atomic_open(path, "w", args.overwrite, inputs, what) as f:
            f.write(text)
    print(texts[0], end="")
    return 0
