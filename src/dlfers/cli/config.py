"""``dlfers config``: the version and the active kernel backend (and why)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``config`` subcommand, its flags and its help to ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of the ``dlfers`` parser.
    """
    p = sub.add_parser("config", help="show the version and which kernel backend is active")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``dlfers config``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit status (0: success).
    """
    from .. import show_config

    show_config()
    return 0
