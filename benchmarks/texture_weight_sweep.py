"""Accuracy of the Gabor channel's weight behind the default model (issue 15), one command.

For each weight of the Gabor channel against one descriptor kind (``texture_weight``; the default
model's is ``dlfers.features.texture.DEFAULT_WEIGHTS["gabor"]``), and for the descriptors alone
(``texture="none"``): JAFFE stratified 10-fold (person-dependent, seed 0) and leave-one-subject-out
(person-independent), and CK+48 subject-grouped 10-fold (``StratifiedGroupKFold``, shuffled, seed 0;
pre-cropped faces, ``detect=False``).  Then nested cross-validation (``--nested``) over the weights,
and over the whole choice the default was made from (the descriptors alone or the Gabor channel
at one of the weights): each outer training fold picks by an inner 3-fold (stratified for k-fold,
subject-grouped for LOSO and CK+48) and only the pick is scored on the outer test fold.  The
features (descriptors and Gabor energies) depend on nothing learned and are extracted once per data set.

    python benchmarks/texture_weight_sweep.py --data ../shared/data --json weights.json [--nested]

About 3 minutes on 2 cores, 11 with ``--nested`` (2026-12-02).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from face_path_sweep import _cv, _features, _fold, _splits

#: the fixed rows (name -> DLFERS parameters over the defaults)
ROWS: dict[str, dict[str, Any]] = {
    "descriptors alone (texture none)": {"texture": "none"},
    **{f"gabor, weight {w:g}": {"texture": "gabor", "texture_weight": float(w)} for w in (2, 4, 8, 16)},
}
#: the nested searches: the weights; the Gabor channel off (None) or at one of the weights
NESTED_WEIGHTS: tuple[float | None, ...] = (2.0, 4.0, 8.0, 16.0)
NESTED_CHOICE: tuple[float | None, ...] = (None, *NESTED_WEIGHTS)


def _params(weight: float | None) -> dict[str, Any]:
    return {"texture": "none"} if weight is None else {"texture": "gabor", "texture_weight": weight}


def _model(params: dict[str, Any], detect: bool) -> Any:
    from dlfers import DLFERS

    return DLFERS(**{**params, "detect": detect})


def _nested_fold(feats: list[Any], y: np.ndarray, groups: np.ndarray, tr: np.ndarray, te: np.ndarray,
                 protocol: str, detect: bool, candidates: tuple[float | None, ...]) -> tuple[float | None, np.ndarray]:
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    z = np.zeros(len(tr))
    inner = list(StratifiedKFold(3, shuffle=True, random_state=1).split(z, y[tr]) if protocol == "kfold"
                 else StratifiedGroupKFold(3, shuffle=True, random_state=1).split(z, y[tr], groups[tr]))
    hits = []
    for w in candidates:
        m = _model(_params(w), detect)
        hits.append(sum(int(np.sum(_fold(m, feats, y, tr[a], tr[b]) == y[tr[b]])) for a, b in inner))
    best = candidates[int(np.argmax(hits))]  # ties: the first listed
    return best, _fold(_model(_params(best), detect), feats, y, tr, te)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--nested", action="store_true", help="also the nested CV of the weight")
    args = ap.parse_args(argv)

    from joblib import Parallel, delayed

    import dlfers

    sets = [("jaffe", dlfers.load_jaffe(Path(args.data) / "jaffe"), True, ("kfold", "loso")),
            ("ck", dlfers.load_dataset(Path(args.data) / "ckplus48"), False, ("group-kfold",))]
    out: dict[str, Any] = {"rows": {name: {"params": p} for name, p in ROWS.items()}}
    for ds_name, ds, detect, protocols in sets:
        t0 = time.perf_counter()
        feats = _features(_model({"texture": "gabor"}, detect), ds.images, args.jobs)
        y, g = np.asarray(ds.labels), np.asarray(ds.subjects)
        for protocol in protocols:
            splits = _splits(protocol, y, g)
            for name, params in ROWS.items():
                pred = _cv(_model(params, detect), feats, y, splits, args.jobs)
                out["rows"][name][f"{ds_name} {protocol}"] = round(100 * float(np.mean(pred == y)), 2)
            for what, candidates in (("weight", NESTED_WEIGHTS), ("choice", NESTED_CHOICE)) if args.nested else ():
                res = Parallel(n_jobs=args.jobs)(delayed(_nested_fold)(feats, y, g, tr, te, protocol, detect,
                                                                       candidates) for tr, te in splits)
                pred = np.empty(len(y), dtype=y.dtype)
                for (_, te), (_, p) in zip(splits, res):
                    pred[te] = p
                out[f"nested {what} {ds_name} {protocol}"] = {
                    "accuracy": round(100 * float(np.mean(pred == y)), 2),
                    "chosen": ["none" if w is None else w for w, _ in res]}
        print(json.dumps({ds_name: {n: r for n, r in out.items() if ds_name in n or n == "rows"},
                          "seconds": round(time.perf_counter() - t0, 1)}), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
