"""``dlfers reproduce DATA_DIR --out DIR``: the paper's Tables 1-3, overall accuracy and model choice."""

from __future__ import annotations

import argparse
import sys

from ._options import add_model_options, add_run_options, folds_int, model_params, progress_wanted, seed_int


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``reproduce`` subcommand, its flags and its help to ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of the ``dlfers`` parser.
    """
    p = sub.add_parser(
        "reproduce",
        help="reproduce the paper's experiments on JAFFE (Tables 1-3, overall, nested model choice)",
        description="Run the paper's experiments on DATA_DIR and write report.md (each table beside the "
        "paper's numbers), CSV files, PNG plots and results.json into --out (an earlier report there is "
        "replaced only with --overwrite). Tables use stratified k-fold "
        "(person-dependent); the base configuration is also scored leave-one-subject-out, and a best "
        "configuration is chosen by nested cross-validation.",
    )
    p.add_argument("data", metavar="DATA_DIR", help="JAFFE folder, e.g. ../shared/data/jaffe")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the report files (report.md, results.json, CSVs, PNGs) --out already holds")
    p.add_argument("--tables", default="1,2,3", help="which tables to run, e.g. 1,3 (default 1,2,3; '' for none)")
    p.add_argument("--folds", type=folds_int, default=10, help="folds of the stratified k-fold protocol (default 10)")
    p.add_argument("--seed", type=seed_int, default=0, help="k-fold shuffling seed (default 0)")
    p.add_argument("--inner-folds", type=folds_int, default=3,
                   help="inner folds of the nested model choice (default 3)")
    p.add_argument("--no-loso", action="store_true", help="skip the leave-one-subject-out run")
    p.add_argument("--no-nested", action="store_true", help="skip the nested-CV model choice")
    p.add_argument("--no-baseline", action="store_true", help="skip the HOG+LinearSVC baseline")
    p.add_argument("--no-plots", action="store_true", help="write no PNG plots")
    add_model_options(p)
    add_run_options(p)
    p.set_defaults(func=run)


def _tables(spec: str) -> list[str]:
    out = []
    for part in (s.strip() for s in spec.split(",")):
        if not part:
            continue
        name = part if part.startswith("table") else f"table{part}"
        if name not in ("table1", "table2", "table3"):
            raise ValueError(f"--tables takes numbers from 1, 2, 3, got {part!r}")
        out.append(name)
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``dlfers reproduce``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit status (0: success).
    """
    from ..evaluation.reproduce.experiments import reproduce

    results = reproduce(
        args.data, args.out, tables=_tables(args.tables), folds=args.folds, seed=args.seed,
        base=model_params(args), loso=not args.no_loso, nested=not args.no_nested, inner_folds=args.inner_folds,
        baseline=not args.no_baseline, plots=not args.no_plots, n_jobs=args.jobs, progress=progress_wanted(args),
        scheduler=args.scheduler, overwrite=args.overwrite,
    )
    lines = []
    for tab in results["tables"].values():
        lines.append(f"{tab['title']} ({tab['protocol']}): mean of classes, ours vs paper")
        for c in tab["columns"]:
            lines.append(f"  {c['name']:<24}{c['mean_class_accuracy']:7.2f} {c['paper']['mean']:7.2f} "
                         f"({c['difference']['mean']:+.2f})")
    for name, r in results["overall"].items():
        lines.append(f"overall {name:<7}{r['overall_accuracy']:7.2f}  ({r['protocol_description']})")
    lines.append(f"time: {results['seconds']['total']:.0f} s; report: {args.out}/report.md")
    print("\n".join(lines), file=sys.stdout)
    return 0
