"""Fingerprint of reduced ``dlfers reproduce`` runs, to show a refactor changes no figure.

    python .ci/reproduce_check.py before.json                 # on the old code
    python .ci/reproduce_check.py after.json --against before.json   # on the new: exit 1 on any difference

Three runs on JAFFE (``$DLFERS_DATA/jaffe`` or ``../shared/data/jaffe``), 2 folds: Tables 1-3 with
LOSO, the nested choice and the HOG baseline on a small model; Table 2 with decision fusion and
an RBF kernel; the package defaults (the paper's configuration).  Every result but the timings
and the machine description is written with sorted keys, so two runs compare byte for byte.
About 2 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from dlfers.data.folders import load_dataset
from dlfers.evaluation.reproduce.experiments import NESTED_CANDIDATES, reproduce

#: the small model of tests/conftest.py
FAST = dict(face_size=64, layout="whole+halves+fused", descriptors="tisf+tipm", step=4, n_words=8, max_samples=2000)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", help="JSON file to write (replaced)")
    ap.add_argument("--against", help="an earlier output: exit 1 unless the two are identical")
    args = ap.parse_args()
    data = Path(os.environ.get("DLFERS_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")) / "jaffe"
    ds = load_dataset(data)
    runs = {
        "fast": dict(tables=("table1", "table2", "table3"), folds=2, base=FAST, candidates=NESTED_CANDIDATES[:3],
                     inner_folds=2),
        "decision": dict(tables=("table2",), folds=2, base={**FAST, "fusion": "decision", "kernel": "rbf"},
                         loso=False, nested=False, baseline=False),
        "default": dict(tables=(), folds=2, loso=False, nested=False, baseline=True),
    }
    out = {}
    for name, kw in runs.items():
        r = reproduce(ds, None, n_jobs=2, **kw)  # type: ignore[arg-type]
        out[name] = {k: v for k, v in r.items() if k not in ("seconds", "machine")}
    text = json.dumps(out, indent=1, sort_keys=True, default=str)
    Path(args.out).write_text(text)
    if args.against:
        same = Path(args.against).read_text() == text
        print("identical" if same else f"DIFFERENT from {args.against}")
        return 0 if same else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
