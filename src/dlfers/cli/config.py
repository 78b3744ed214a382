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
    p = sub.add_parser("config", help="show the version, which kernel backend is active and the pretrained "
                       "model's provenance")
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
    from ..model.pretrained import pretrained_info

    show_config()
    info = pretrained_info()
    if info is None:
        print("  pretrained model: not installed (rebuild: python .ci/build_pretrained.py)")
        return 0
    prov = info["provenance"]
    print(f"  pretrained model: {info['file']} ({info['bytes'] / 1e6:.2f} MB, dlfers {info['dlfers_version']})")
    print(f"    classes: {', '.join(map(str, info['classes']))}")
    print(f"    settings: {', '.join(f'{k}={v!r}' for k, v in info['params'].items())}")
    if prov:
        print(f"    trained on: {', '.join(prov.get('data', []))} ({prov.get('n_train', '?')} faces)")
        print(f"    command: {prov.get('command', '?')}")
        test = prov.get("test")
        if test:
            recall = ", ".join(f"{c} {v}" for c, v in test.get("per_class_recall", {}).items())
            print(f"    tested on: {', '.join(test['data'])} ({test['n_images']} faces): accuracy "
                  f"{test['accuracy']} %, macro-F1 {test['macro_f1']} %; recall: {recall}")
        for note in prov.get("notes", []):
            print(f"    {note}")
    return 0
