"""``dlfers extract DATA_DIR... --out FEATURES``: faces, descriptors and encodings of whole data sets."""

from __future__ import annotations

import argparse
import sys

from ._datasets import add_dataset_options, dataset_kwargs, input_files
from ._options import add_model_options, add_run_options, check_json_output, model_params, progress_wanted, write_json


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``extract`` subcommand, its flags and its help to ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of the ``dlfers`` parser.
    """
    p = sub.add_parser(
        "extract",
        help="extract faces, descriptors (and encodings) of a data set into resumable shards",
        description="Extract the preprocessed face and dense descriptors of every image of DATA_DIR (and, "
        "with --model, its SPOF encodings) into --out: one batch-NNNNN.npz per --batch-size images, a "
        "manifest.json and errors.jsonl (one line per unusable file). Memory follows the batch size, not "
        "the data set; run the same command again to resume an interrupted extraction. Several DATA_DIRs are "
        "joined as by 'dlfers evaluate A B' (label aliases, subjects kept apart per data set, pre-cropped face "
        "sets without detection); each shard records every image's data set, subject and whether eye "
        "alignment fell back.",
    )
    p.add_argument("data", metavar="DATA_DIR", nargs="+", help="data set folder(s) (JAFFE, or one folder per class)")
    p.add_argument("--out", "-o", required=True, metavar="FEATURES", help="output folder (created or resumed)")
    p.add_argument("--model", metavar="MODEL_FILE",
                   help="a fitted model (dlfers train): its configuration, and also write its encodings")
    p.add_argument("--batch-size", type=int, default=64, metavar="N", help="images per shard (default 64)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an output folder made with another configuration, and an existing --json file")
    p.add_argument("--no-faces", action="store_true", help="do not store the preprocessed faces")
    p.add_argument("--no-descriptors", action="store_true",
                   help="do not store the dense descriptors (with --model: encodings only)")
    p.add_argument("--explain", action="store_true",
                   help="with --model: also store each face's per-region evidence (see 'dlfers explain')")
    p.add_argument("--json", metavar="FILE", help="write the summary as JSON ('-': stdout)")
    add_dataset_options(p)
    add_model_options(p)
    add_run_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``dlfers extract``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit status (0: success).
    """
    from .._util.outputs import check_output_dir
    from ..model.estimator import DLFERS
    from ..store.extract import extract_dataset

    params = model_params(args)
    inputs = input_files(args)
    check_output_dir(args.out, (), inputs, args.overwrite, "feature folder")
    check_json_output(args.json, args.overwrite, inputs)
    if args.model and params:
        raise ValueError(f"--model sets the configuration; drop the model options ({', '.join(sorted(params))})")
    summary = extract_dataset(
        args.data, args.out, model=args.model or DLFERS(**params), batch_size=args.batch_size,
        n_jobs=args.jobs, scheduler=args.scheduler, overwrite=args.overwrite, faces=not args.no_faces,
        descriptors=not args.no_descriptors, progress=progress_wanted(args), explain=args.explain,
        **dataset_kwargs(args),
    )
    out = sys.stderr if args.json == "-" else sys.stdout
    for note in summary["notes"]:
        print(note, file=out)
    if summary["eyes_not_found"]:
        print(f"eye alignment: eyes not found in {summary['eyes_not_found']} faces (unaligned crops stored)", file=out)
    rate = summary["images_per_second"]
    print(f"{summary['n_extracted']} of {summary['n_items']} images extracted into {summary['out']} "
          f"({summary['faces_found']} faces found, {summary['n_errors']} errors"
          + (f" listed in {summary['out']}/errors.jsonl" if summary["n_errors"] else "") + "); "
          f"{summary['batches_computed']} batches computed, {summary['batches_skipped']} already done; "
          f"{summary['seconds']:.1f} s" + (f" ({rate:.1f} images/s" if rate else "")
          + (f" on {summary['executor']})" if rate else ""), file=out)
    write_json(summary, args.json, args.overwrite, inputs)
    return 0 if summary["n_extracted"] or not summary["n_items"] else 1
