"""Cross-validation: folds, no leakage, the report's schema, and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import FAST

from dlfers import DLFERS
from dlfers.cli.main import main
from dlfers.evaluation.protocols import evaluate, make_splits
from dlfers.model import codebook as codebook_mod  # every k-means run of a fit goes through it


def test_splits_are_disjoint_and_cover_everything(jaffe):
    for protocol, n in (("kfold", 10), ("loso", 10)):
        splits = make_splits(jaffe.labels, jaffe.subjects, protocol, 10, 0)
        assert len(splits) == n
        tests = np.concatenate([te for _, te in splits])
        assert sorted(tests) == list(range(len(jaffe)))
        for tr, te in splits:
            assert not set(tr) & set(te)
            if protocol == "loso":  # person-independent: the test subject never trains
                assert len(set(jaffe.subjects[te])) == 1
                assert not set(jaffe.subjects[tr]) & set(jaffe.subjects[te])


def test_no_leakage_codebooks_and_svm_see_only_the_training_fold(jaffe, monkeypatch):
    """Every descriptor array given to k-means, and every SVM training row, is from the fold's train set."""
    model = DLFERS(**FAST)
    feats = model.extract(jaffe.images)
    owner = {}
    for i, f in enumerate(feats):
        for arr in f.descriptors.values():
            owner[id(arr)] = i
    seen: list[set[int]] = []
    real = codebook_mod.fit_codebook

    def spy(descriptors, labels, *args, **kwargs):
        seen.append({owner[id(d)] for d in descriptors})
        return real(descriptors, labels, *args, **kwargs)

    monkeypatch.setattr(codebook_mod, "fit_codebook", spy)
    report = evaluate(jaffe, "kfold", folds=3, model=model, baseline=False, features=feats)
    splits = make_splits(jaffe.labels, jaffe.subjects, "kfold", 3, 0)
    assert len(seen) == 2 * 3  # tisf and tipm codebooks in each fold
    for k, (tr, te) in enumerate(splits):
        for used in seen[2 * k : 2 * k + 2]:
            assert used == set(tr.tolist()) and not used & set(te.tolist())
    assert 0 <= report["overall_accuracy"] <= 100


def test_report_schema_and_consistency(jaffe):
    model = DLFERS(**FAST)
    r = evaluate(jaffe, "loso", model=model)
    assert r["protocol"] == "loso" and "person-independent" in r["protocol_description"]
    assert r["n_folds"] == 10 and r["n_images"] == 213 and r["faces_found"] == 213
    cm = np.array(r["confusion_matrix"])
    assert cm.shape == (7, 7) and cm.sum() == 213
    assert r["classes"][0] == "happy"
    assert r["overall_accuracy"] == pytest.approx(100 * np.trace(cm) / 213)
    for i, c in enumerate(r["classes"]):
        assert r["per_class"][c] == pytest.approx(100 * cm[i, i] / cm[i].sum())
    pred = np.array(r["predictions"])
    assert np.mean(pred == jaffe.labels) * 100 == pytest.approx(r["overall_accuracy"])
    b = r["baseline"]
    assert set(b) >= {"overall_accuracy", "per_class", "confusion_matrix", "name"}
    assert np.array(b["confusion_matrix"]).sum() == 213
    json.dumps(r)


def test_parallel_folds_give_the_same_numbers(jaffe):
    model = DLFERS(**FAST)
    feats = model.extract(jaffe.images)
    a = evaluate(jaffe, "kfold", folds=2, model=model, baseline=False, features=feats, n_jobs=1)
    b = evaluate(jaffe, "kfold", folds=2, model=model, baseline=False, features=feats, n_jobs=2)
    assert a["predictions"] == b["predictions"] and a["confusion_matrix"] == b["confusion_matrix"]


def test_cli_evaluate_json(jaffe_dir, tmp_path, capsys):
    out = tmp_path / "r.json"
    args = ["evaluate", str(jaffe_dir), "--folds", "2", "--quiet", "--jobs", "1", "--json", str(out),
            "--layout", "whole+fused", "--step", "4", "--n-words", "6", "--descriptors", "tisf"]
    assert main(args) == 0
    r = json.loads(out.read_text())
    assert {"overall_accuracy", "per_class", "confusion_matrix", "baseline"} <= set(r)
    assert r["config"]["n_words"] == 6 and r["config"]["layout"] == "whole+fused"
    text = capsys.readouterr().out
    assert "overall" in text and "person-dependent" in text


def test_cli_errors_are_reported(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "missing"), "--quiet"]) == 1
    assert "not a folder" in capsys.readouterr().err


def test_descriptors_on_worker_processes_equal_the_serial_ones(jaffe):
    from dlfers._util.parallel import Executor
    from dlfers.model.batch import extract_features

    model = DLFERS(**FAST)
    images = jaffe.images[:24]
    want = model.extract(images)
    with Executor(2) as ex:
        got = extract_features(model, images, ex)
    assert len(got) == len(want) == 24
    for g, w in zip(got, want):
        assert g.box == w.box and np.array_equal(g.face, w.face) and np.array_equal(g.regions, w.regions)
        assert all(np.array_equal(g.descriptors[k], w.descriptors[k]) for k in w.descriptors)
