"""Accuracy of the face-path candidates behind the default model (issue 12), one command.

For each configuration: JAFFE stratified 10-fold (person-dependent, seed 0) and
leave-one-subject-out (person-independent), and CK+48 subject-grouped 10-fold
(``StratifiedGroupKFold``, shuffled, seed 0; faces are pre-cropped: ``detect=False``).
Then nested cross-validation over the words-per-class candidates of the default
(``--nested``): each outer training fold picks the candidate by an inner 3-fold
(stratified for k-fold, subject-grouped for LOSO) and only the pick is scored on the outer
test fold.  Every label is :meth:`DLFERS.predict`'s (the most probable class).

    python benchmarks/face_path_sweep.py --data ../shared/data --json sweep.json [--nested]

About 3-6 minutes per configuration on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

#: the candidates compared (name -> DLFERS parameters over the defaults); "paper" is the paper's system
CANDIDATES: dict[str, dict[str, Any]] = {
    "paper (step 2, 30 words/class, hard)": {"preset": "paper"},
    "step 4, 30 words/class, hard": {"step": 4, "n_words": 30, "soft": 1},
    "step 4, 30 words/class, soft 5": {"step": 4, "n_words": 30},
    "step 4, 20 words/class, soft 5": {"step": 4, "n_words": 20},
    "step 4, 15 words/class, soft 5 (default)": {},
    "step 4, 10 words/class, soft 5": {"step": 4, "n_words": 10},
}
#: the nested search: words per class of the default
NESTED_WORDS = (10, 15, 20, 30)


def _model(params: dict[str, Any]) -> Any:
    from dlfers import DLFERS

    p = dict(params)
    preset = p.pop("preset", "default")
    return DLFERS.from_preset(preset, **p)


def _fold(model: Any, feats: list[Any], y: np.ndarray, tr: np.ndarray, te: np.ndarray) -> np.ndarray:
    from sklearn.base import clone

    from dlfers._util.threads import one_thread_per_pool

    with one_thread_per_pool():
        m = clone(model).fit_features([feats[i] for i in tr], y[tr])
        return np.asarray(m.predict_features([feats[i] for i in te]))


def _cv(model: Any, feats: list[Any], y: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]],
        jobs: int) -> np.ndarray:
    from joblib import Parallel, delayed

    pred = np.empty(len(y), dtype=y.dtype)
    out = Parallel(n_jobs=jobs)(delayed(_fold)(model, feats, y, tr, te) for tr, te in splits)
    for (_, te), p in zip(splits, out):
        pred[te] = p
    return pred


def _features(model: Any, images: list[np.ndarray], jobs: int) -> list[Any]:
    from dlfers._util.parallel import Executor
    from dlfers.model.batch import extract_features

    with Executor(jobs) as ex:
        return extract_features(model, images, ex)


def _splits(protocol: str, y: np.ndarray, groups: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import LeaveOneGroupOut, StratifiedGroupKFold, StratifiedKFold

    z = np.zeros(len(y))
    if protocol == "kfold":
        return list(StratifiedKFold(10, shuffle=True, random_state=0).split(z, y))
    if protocol == "loso":
        return list(LeaveOneGroupOut().split(z, y, groups))
    return list(StratifiedGroupKFold(10, shuffle=True, random_state=0).split(z, y, groups))


def _nested_fold(feats: list[Any], y: np.ndarray, groups: np.ndarray, tr: np.ndarray, te: np.ndarray,
                 protocol: str) -> tuple[int, np.ndarray]:
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    z = np.zeros(len(tr))
    inner = (StratifiedKFold(3, shuffle=True, random_state=1).split(z, y[tr]) if protocol == "kfold"
             else StratifiedGroupKFold(3, shuffle=True, random_state=1).split(z, y[tr], groups[tr]))
    inner = list(inner)
    hits = []
    for w in NESTED_WORDS:
        m = _model({"n_words": w})
        hits.append(sum(int(np.sum(_fold(m, feats, y, tr[a], tr[b]) == y[tr[b]])) for a, b in inner))
    best = NESTED_WORDS[int(np.argmax(hits))]
    return best, _fold(_model({"n_words": best}), feats, y, tr, te)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", help="comma-separated substrings of candidate names to run")
    ap.add_argument("--no-ck", action="store_true", help="JAFFE only")
    ap.add_argument("--nested", action="store_true", help="also the nested CV of the default's words per class")
    args = ap.parse_args(argv)

    import dlfers

    jaffe = dlfers.load_jaffe(Path(args.data) / "jaffe")
    ck = None if args.no_ck else dlfers.load_dataset(Path(args.data) / "ckplus48")
    results: list[dict[str, Any]] = []
    cache: dict[tuple[Any, ...], list[Any]] = {}
    for name, params in CANDIDATES.items():
        if args.only and not any(s in name for s in args.only.split(",")):
            continue
        t0 = time.perf_counter()
        row: dict[str, Any] = {"name": name, "params": params}
        for ds_name, ds, detect in (("jaffe", jaffe, True), ("ck", ck, False)):
            if ds is None:
                continue
            model = _model(params) if detect else _model({**params, "detect": False})
            key = (ds_name, model.spec().descriptor_key)
            if key not in cache:
                cache[key] = _features(model, ds.images, args.jobs)
            y, g = np.asarray(ds.labels), np.asarray(ds.subjects)
            for protocol in (("kfold", "loso") if ds_name == "jaffe" else ("group-kfold",)):
                pred = _cv(model, cache[key], y, _splits(protocol, y, g), args.jobs)
                row[f"{ds_name} {protocol}"] = round(100 * float(np.mean(pred == y)), 2)
        row["seconds"] = round(time.perf_counter() - t0, 1)
        print(json.dumps(row), flush=True)
        results.append(row)
    out: dict[str, Any] = {"candidates": results}
    if args.nested:
        from joblib import Parallel, delayed

        feats = _features(_model({}), jaffe.images, args.jobs)
        y, g = np.asarray(jaffe.labels), np.asarray(jaffe.subjects)
        for protocol in ("kfold", "loso"):
            splits = _splits(protocol, y, g)
            res = Parallel(n_jobs=args.jobs)(delayed(_nested_fold)(feats, y, g, tr, te, protocol) for tr, te in splits)
            pred = np.empty(len(y), dtype=y.dtype)
            for (_, te), (_, p) in zip(splits, res):
                pred[te] = p
            out[f"nested {protocol}"] = {"accuracy": round(100 * float(np.mean(pred == y)), 2),
                                         "chosen words per class": [w for w, _ in res]}
            print(json.dumps({f"nested {protocol}": out[f"nested {protocol}"]}), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
