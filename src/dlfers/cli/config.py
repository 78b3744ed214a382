"""``dlfers config``: the version and the active kernel backend (and why)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("config", help="show the version and which kernel backend is active")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import show_config

    show_config()
    return 0
