"""The ``dlfers`` command line: ``dlfers COMMAND ...`` (also ``python -m dlfers``).

Each command lives in :mod:`dlfers.cli` as a module with ``register(subparsers)``
(which builds its parser without importing anything heavy) and a ``run(args) -> int``
set as the parser's default ``func``.  Exit codes: 0 success, 1 nothing could be
processed or a run failed, 2 usage error, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM); after
either, worker processes are stopped and temporary files removed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .._version import __version__

#: command modules under dlfers.cli, in the order ``--help`` lists them
COMMANDS = ("evaluate", "ablation", "reproduce", "train", "predict", "explain", "video", "extract", "config")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlfers",
        description="Facial expression recognition by multi-level fusion of dense descriptors (DLFERS).",
    )
    parser.add_argument("--version", action="version", version=f"dlfers {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f"dlfers.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"dlfers.cli.{name}":
                raise
            continue
        mod.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The ``dlfers`` command: parse ``argv`` and run its subcommand.

    Parameters
    ----------
    argv : sequence of str or None, default=None
        The arguments (None: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status (0: success; 2: no subcommand).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    jobs = getattr(args, "jobs", None)
    if isinstance(jobs, int) and not isinstance(jobs, bool):
        from .._util.parallel import usable_cores

        if jobs > usable_cores():
            print(f"dlfers {args.command}: warning: --jobs {jobs} is more than the {usable_cores()} usable cores; "
                  f"using {usable_cores()}", file=sys.stderr)
            args.jobs = usable_cores()
    from .._util.parallel import stop_workers
    from .._util.signals import Terminated, sigterm_as_interrupt

    try:
        with sigterm_as_interrupt():
            return int(args.func(args) or 0)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (Terminated): the with/finally blocks have cleaned up
        stop_workers()
        if isinstance(exc, Terminated):
            print(f"dlfers {args.command}: terminated (SIGTERM); workers stopped, temporary files removed",
                  file=sys.stderr)
            return 143
        print("interrupted", file=sys.stderr)
        return 130
    except (FileNotFoundError, ValueError, OSError) as exc:
        print(f"dlfers {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
