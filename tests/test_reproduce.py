"""``dlfers reproduce``: cached results equal direct evaluations, no leakage, files and plots."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from conftest import FAST

from dlfers import DLFERS
from dlfers.cli.main import main
from dlfers.evaluation.protocols import evaluate, make_splits
from dlfers.evaluation.reproduce.experiments import (
    NESTED_CANDIDATES,
    TABLE_COLUMNS,
    CVEngine,
    _inner_splits,
    base_params,
    layout_features,
)
from dlfers.evaluation.reproduce.experiments import reproduce as run_reproduce
from dlfers.evaluation.reproduce.paper import EXPRESSION_ORDER, TABLES, paper_mean

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def reduced(jaffe, tmp_path_factory):
    """A reduced reproduction: Table 2, 2 folds, LOSO, nested choice among 3 candidates (FAST model)."""
    out = tmp_path_factory.mktemp("reproduce")
    results = run_reproduce(jaffe, out, tables=("table2",), folds=2, base=FAST, candidates=NESTED_CANDIDATES[:3],
                            inner_folds=2, n_jobs=2)
    return out, results


def test_paper_table1_average_row_is_the_mean_of_its_columns():
    t = TABLES["table1"]
    for col in t["columns"]:
        mean = np.mean([t["per_class"][col][e] for e in EXPRESSION_ORDER])
        assert t["average"][col] == pytest.approx(mean, abs=0.02)
    assert paper_mean("table1", "Scaling Factor 3") == 93.96
    assert paper_mean("table2", "Patches 1") == pytest.approx(np.mean([96.6, 78.9, 80.11, 86.33, 79.01, 80.12, 85.67]))
    for t in TABLES.values():
        assert len(t["columns"]) == 5 and all(set(v) == set(EXPRESSION_ORDER) for v in t["per_class"].values())


@pytest.mark.parametrize("layout", ["upper4", "fused4", "whole+halves+grid4+fused+fused4", "lower4+fused16"])
def test_layout_features_equal_a_direct_extraction(jaffe, layout):
    images = jaffe.images[:3]
    full = DLFERS(**{**FAST, "layout": "whole+fused"}).extract(images)
    direct = DLFERS(**{**FAST, "layout": layout}).extract(images)
    derived = layout_features(full, layout, FAST["face_size"], FAST["step"])
    for a, b in zip(direct, derived):
        assert np.array_equal(a.regions, b.regions)
        for kind in a.descriptors:
            assert np.array_equal(a.descriptors[kind], b.descriptors[kind])


def test_layout_features_reject_features_without_both_sources(jaffe):
    face_only = DLFERS(**{**FAST, "layout": "whole"}).extract(jaffe.images[:1])
    with pytest.raises(ValueError, match="face\\+fused"):
        layout_features(face_only, "upper4", FAST["face_size"], FAST["step"])


def test_every_accuracy_equals_a_direct_evaluate_call(jaffe, reduced):
    _, r = reduced
    cols = r["tables"]["table2"]["columns"]
    assert [c["name"] for c in cols] == [c.name for c in TABLE_COLUMNS["table2"][1]]
    for col in cols:
        e = evaluate(jaffe, "kfold", folds=2, model=DLFERS(**col["config"]), baseline=False)
        assert col["predictions"] == e["predictions"], col["name"]
        assert col["overall_accuracy"] == e["overall_accuracy"]
        assert col["per_class"] == e["per_class"] and col["confusion_matrix"] == e["confusion_matrix"]
    for protocol in ("kfold", "loso"):
        e = evaluate(jaffe, protocol, folds=2, model=DLFERS(**base_params(FAST)), baseline=True)
        o = r["overall"][protocol]
        assert o["predictions"] == e["predictions"] and o["confusion_matrix"] == e["confusion_matrix"]
        assert o["overall_accuracy"] == e["overall_accuracy"]
        assert o["baseline"]["overall_accuracy"] == e["baseline"]["overall_accuracy"]


def test_nested_choice_is_the_inner_winner_refitted_on_the_outer_fold(jaffe, reduced):
    _, r = reduced
    n = r["overall"]["nested"]
    names = [c.name for c in NESTED_CANDIDATES[:3]]
    assert [c["name"] for c in n["candidates"]] == names and len(n["folds"]) == 2
    columns = {c["name"]: c for c in r["tables"]["table2"]["columns"]}
    columns["default"] = r["overall"]["kfold"]
    y = np.asarray(jaffe.labels)
    pred = np.asarray(n["predictions"])
    for (_, te), f in zip(make_splits(y, jaffe.subjects, "kfold", 2, 0), n["folds"]):
        acc = [f["inner_accuracy"][c] for c in names]
        assert f["chosen"] == names[int(np.argmax(acc))]
        # the outer test fold is predicted by the chosen configuration fitted on the outer training fold
        assert pred[te].tolist() == np.asarray(columns[f["chosen"]]["predictions"])[te].tolist()
        assert f["test_accuracy"] == pytest.approx(100 * np.mean(pred[te] == y[te]))
    assert n["overall_accuracy"] == pytest.approx(100 * np.mean(pred == y))


def test_inner_folds_partition_the_outer_training_fold(jaffe):
    y = np.asarray(jaffe.labels)
    for tr, te in make_splits(y, jaffe.subjects, "kfold", 3, 0):
        inner = _inner_splits(y, tr, 3, 0)
        assert sorted(np.concatenate([b for _, b in inner]).tolist()) == sorted(tr.tolist())
        for a, b in inner:
            assert not set(a) & set(b) and not (set(a) | set(b)) & set(te.tolist())


def test_codebooks_are_fitted_on_the_fold_training_images_only(jaffe, monkeypatch):
    """Every k-means run of the engine sees the descriptors of exactly one fold's training set."""
    from dlfers.model import codebook

    engine = CVEngine(jaffe, n_jobs=1)
    params = base_params(FAST)
    feats = engine.features(params)
    y = np.asarray(jaffe.labels)
    outer = make_splits(y, jaffe.subjects, "kfold", 2, 0)
    engine.add_split("outer", outer)
    engine.add_split("inner", _inner_splits(y, outer[0][0], 2, 0))
    seen: list[frozenset[int]] = []
    real = codebook.fit_codebook

    def spy(descriptors, labels, *args, **kwargs):
        owners = {j for d in descriptors for j, f in enumerate(feats)
                  if np.may_share_memory(d, f.descriptors["tisf"]) or np.may_share_memory(d, f.descriptors["tipm"])}
        assert len(owners) == len(descriptors)
        seen.append(frozenset(owners))
        return real(descriptors, labels, *args, **kwargs)

    monkeypatch.setattr(codebook, "fit_codebook", spy)
    engine.run(engine.plan([(params, "outer", None), (params, "inner", None),
                            ({**params, "layout": "upper4"}, "inner", None)]))
    allowed = {frozenset(tr.tolist()) for name in ("outer", "inner") for tr, _ in engine.splits[name]}
    assert len(seen) == 2 * (2 + 2 + 2)  # two kinds; outer folds, inner folds x two descriptor row sets
    assert set(seen) <= allowed


def test_files_and_their_structure(jaffe, reduced):
    out, r = reduced
    expected = {"report.md", "results.json", "table2.csv", "table2.png", "overall.csv", "nested_folds.csv",
                *(f"confusion_{p}.{x}" for p in ("kfold", "loso", "nested") for x in ("csv", "png"))}
    assert expected <= {p.name for p in out.iterdir()} and expected == set(r["files"])
    saved = json.loads((out / "results.json").read_text())
    assert saved["tables"]["table2"]["columns"][0]["overall_accuracy"] == r["tables"]["table2"]["columns"][0][
        "overall_accuracy"]
    assert set(saved["overall"]) == {"kfold", "loso", "nested"} and saved["seconds"]["total"] > 0
    with open(out / "table2.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 5 * (7 + 2)
    for row in rows:
        col = next(c for c in r["tables"]["table2"]["columns"] if c["name"] == row["configuration"])
        if row["expression"] in col["per_class"]:
            assert float(row["ours"]) == pytest.approx(col["per_class"][row["expression"]], abs=1e-3)
            paper = TABLES["table2"]["per_class"][col["name"]][row["expression"]]
            assert float(row["paper"]) == paper
            assert float(row["difference"]) == pytest.approx(col["per_class"][row["expression"]] - paper, abs=1e-3)
    with open(out / "confusion_loso.csv") as fh:
        cm = [[int(v) for v in row[1:]] for row in list(csv.reader(fh))[1:]]
    assert cm == r["overall"]["loso"]["confusion_matrix"] and sum(map(sum, cm)) == len(jaffe)
    md = (out / "report.md").read_text()
    for needle in ("Table 2", "person-dependent: stratified 2-fold", "person-independent: leave-one-subject-out",
                   "nested cross-validation", "Run time", "93.96", "Varies: the SPOF patch layout"):
        assert needle in md
    col = r["tables"]["table2"]["columns"][0]
    assert f"**{col['per_class']['happy']:.2f}** ({col['paper']['per_class']['happy']:.2f}; " in md


def test_plots_are_pngs_titled_as_recorded(reduced):
    from PIL import Image

    out, r = reduced
    for name, title in r["files"].items():
        if not name.endswith(".png"):
            continue
        assert (out / name).read_bytes()[:8] == PNG_MAGIC
        with Image.open(out / name) as im:
            im.load()
            assert im.width > 300 and im.height > 300
            assert im.text["Title"] == title
    assert "Table 2" in r["files"]["table2.png"] and "leave-one-subject-out" in r["files"]["confusion_loso.png"]


def test_bar_chart_and_heatmap_draw_the_given_values():
    from dlfers._util.plots import confusion_heatmap, grouped_bars

    ours = {"A": {"happy": 90.0, "sad": 80.0}, "B": {"happy": 70.0, "sad": 60.0}}
    theirs = {"A": {"happy": 95.0, "sad": 85.0}, "B": {"happy": 75.0, "sad": 65.0}}
    fig = grouped_bars([("ours", ours), ("paper", theirs)], ["happy", "sad"], "Table X")
    assert fig._suptitle.get_text() == "Table X"
    for ax, data in zip(fig.axes, (ours, theirs)):
        heights = [p.get_height() for p in ax.patches]
        assert heights == [data["A"]["happy"], data["A"]["sad"], data["B"]["happy"], data["B"]["sad"]]
        assert [t.get_text() for t in ax.get_xticklabels()] == ["happy", "sad"]
    fig = confusion_heatmap([[3, 1], [0, 4]], ["happy", "sad"], "CM")
    ax = fig.axes[0]
    assert ax.get_title() == "CM" and [t.get_text() for t in ax.texts] == ["3", "1", "0", "4"]


def test_invalid_requests_are_rejected(jaffe, tmp_path):
    with pytest.raises(ValueError, match="unknown tables"):
        run_reproduce(jaffe, tables=("table9",))
    with pytest.raises(ValueError, match="unknown DLFERS parameters"):
        run_reproduce(jaffe, base={"n_wrods": 3})
    with pytest.raises(ValueError, match="folds"):
        run_reproduce(jaffe, folds=1)
    assert main(["reproduce", str(tmp_path), "--out", str(tmp_path / "o"), "--tables", "5"]) == 1


def test_realtime_preset_reproduces_evaluate_fold_by_fold(jaffe, jaffe_dir, tmp_path):
    """Issue 17 regression: ``reproduce --preset realtime`` extracts with the preset's detector
    (detect_size 64, min_face 0.4, detect_scale 1.2), so its figures equal ``evaluate``'s, fold by fold."""
    from dlfers.model.estimator import PRESETS

    out = tmp_path / "rt"
    assert main(["reproduce", str(jaffe_dir), "--out", str(out), "--preset", "realtime", "--tables", "",
                 "--folds", "3", "--no-loso", "--no-nested", "--no-baseline", "--no-plots", "--jobs", "2",
                 "--quiet"]) == 0
    r = json.loads((out / "results.json").read_text())["overall"]["kfold"]
    assert {k: r["config"][k] for k in PRESETS["realtime"]} == PRESETS["realtime"]
    e = evaluate(jaffe, "kfold", folds=3, model=DLFERS.from_preset("realtime"), baseline=False)
    assert r["fold_accuracy"] == e["fold_accuracy"]
    assert r["predictions"] == e["predictions"] and r["confusion_matrix"] == e["confusion_matrix"]


def test_reproduce_takes_mirror_and_texture_through_the_estimators_fit(jaffe, jaffe_dir, tmp_path):
    """Issue 26: reproduce accepts every setting the estimator accepts; a configuration with mirror
    augmentation and the Gabor channel is fitted by DLFERS.fit_features and equals evaluate's, fold by fold."""
    from dlfers.evaluation.reproduce.engine import uses_the_estimators_fit
    from dlfers.model.spec import Spec

    out = tmp_path / "mt"
    assert main(["reproduce", str(jaffe_dir), "--out", str(out), "--preset", "realtime", "--texture", "gabor",
                 "--mirror", "--tables", "", "--folds", "3", "--no-loso", "--no-nested", "--no-baseline",
                 "--no-plots", "--jobs", "2", "--quiet"]) == 0
    r = json.loads((out / "results.json").read_text())["overall"]["kfold"]
    assert r["config"]["texture"] == "gabor" and r["config"]["mirror"] is True
    model = DLFERS.from_preset("realtime", texture="gabor", mirror=True)
    assert uses_the_estimators_fit(Spec.from_params(model.get_params()))
    e = evaluate(jaffe, "kfold", folds=3, model=model, baseline=False)
    assert r["fold_accuracy"] == e["fold_accuracy"] and r["predictions"] == e["predictions"]


def test_engine_extracts_with_the_configurations_detector(jaffe):
    """The engine's cached faces are those of a DLFERS with every preprocessing parameter of the
    configuration, detector settings included (the key is built from exactly those)."""
    params = base_params({"detect_size": 64, "min_face": 0.4, "detect_scale": 1.2, "face_size": 32})
    subset = type(jaffe)(images=jaffe.images[:12], labels=jaffe.labels[:12], subjects=jaffe.subjects[:12],
                         paths=jaffe.paths[:12])
    engine = CVEngine(subset, n_jobs=1)
    want = DLFERS(**{**params, "layout": "whole+fused"}).extract(subset.images)
    got = engine.features(params)
    assert [f.box for f in got] == [f.box for f in want]
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a.descriptors["tisf"], b.descriptors["tisf"])
    assert engine.features({**params, "detect_size": 160}) is not got  # another detector, another extraction
