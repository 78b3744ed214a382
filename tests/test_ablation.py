"""The ablation command: rows, shared features, nested CV, outputs that never overwrite."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import FAST

from dlfers import DLFERS
from dlfers.cli.main import main
from dlfers.data.folders import Dataset
from dlfers.data.sources import extract_sources, load_datasets
from dlfers.evaluation.ablation import ADDITIONS, ablation_rows, format_csv, format_markdown, macro_f1, run_ablation
from dlfers.model.params import SAVED_PARAM_DEFAULTS
from dlfers.model.presets import PRESETS


def test_paper_preset_and_older_files_have_every_addition_off():
    paper = DLFERS.from_preset("paper")
    assert paper.align is False and paper.mirror is False and paper.descriptors == "tisf+tipm"
    assert SAVED_PARAM_DEFAULTS["align"] is False and SAVED_PARAM_DEFAULTS["mirror"] is False
    assert {"align", "mirror", "descriptors"} <= set(PRESETS["paper"])


def test_rows_are_the_base_each_addition_alone_and_all():
    rows = ablation_rows({"step": 2, "texture": "gabor"})
    assert list(rows) == ["default", "+align", "+mirror", "+multiscale", "+lbp", "no-gabor", "all"]
    assert rows["default"] == {"step": 2, "texture": "gabor"}
    assert rows["+mirror"] == {"step": 2, "texture": "gabor", "mirror": True}
    assert rows["+lbp"] == {"step": 2, "texture": "lbp+gabor"}  # an addition joins the base's channels
    assert rows["no-gabor"] == {"step": 2, "texture": "none"}  # one the base has is switched off
    assert rows["+multiscale"]["descriptors"] == "tisf+tipm+tisf2+tipm2"
    assert rows["all"] == {"step": 2, "align": True, "mirror": True, "descriptors": "tisf+tipm+tisf2+tipm2",
                           "texture": "lbp+gabor"}
    plain = ablation_rows({"texture": "none", "mirror": True})
    assert list(plain) == ["default", "+align", "no-mirror", "+multiscale", "+lbp", "+gabor", "all"]
    assert plain["+gabor"]["texture"] == "gabor" and plain["no-mirror"]["mirror"] is False
    assert set(ADDITIONS) == {"align", "mirror", "multiscale", "lbp", "gabor"}
    for params in [*rows.values(), *plain.values()]:
        DLFERS(**params).spec()  # every row is a valid model


def test_macro_f1():
    assert macro_f1(["a", "a", "b", "b"], ["a", "a", "b", "b"]) == 100.0
    assert macro_f1(["a", "a", "b", "b"], ["a", "a", "a", "a"]) == pytest.approx(100 * (2 / 3 + 0) / 2)


@pytest.fixture(scope="module")
def small(jaffe_small):
    images, labels, subjects = jaffe_small
    return Dataset(list(images), np.asarray(labels), np.asarray(subjects), [f"{i}.tiff" for i in range(len(labels))])


def test_small_ablation_with_nested_cv(small):
    base = {**FAST, "n_words": 4, "max_samples": 500}
    r = run_ablation(small, protocols=("kfold",), folds=2, base={**base, "texture": "none"},
                     nested=("default", "+mirror"), inner_folds=2)
    assert list(r["rows"]) == ["default", "+align", "+mirror", "+multiscale", "+lbp", "+gabor", "all"]
    for name, row in r["rows"].items():
        assert 0 <= row["kfold"]["accuracy"] <= 100 and 0 <= row["kfold"]["macro_f1"] <= 100
        assert len(row["kfold"]["fold_accuracy"]) == 2
        assert (row["eyes_not_found"] is None) == (name not in ("+align", "all"))
    n = r["nested"]["kfold"]
    assert len(n["choices"]) == 2 and set(n["choices"]) <= {"default", "+mirror"}
    assert set(n["inner_accuracy"][0]) == {"default", "+mirror"}
    md, csv = format_markdown(r), format_csv(r)
    assert "| +multiscale |" in md and "nested CV (kfold" in md
    assert csv.splitlines()[0] == "configuration,protocol,data,accuracy,macro_f1" and len(csv.splitlines()) == 1 + 7 + 1
    assert md.startswith("data: data (71 images, 10 subjects)")
    json.dumps(r)
    with pytest.raises(ValueError, match="unknown rows or nested candidates"):
        run_ablation(small, protocols=("kfold",), folds=2, base=base, nested=("none",))
    with pytest.raises(ValueError, match=r"unknown rows or nested candidates \['\+flip'\]"):
        run_ablation(small, protocols=("kfold",), folds=2, base=base, rows=["+flip"])
    assert run_ablation(small, protocols=("kfold",), folds=2, base=base, rows=[])["rows"] == {}


def test_one_preprocessing_in_memory_at_a_time_and_rows_in_table_order(small, monkeypatch):
    import dlfers.evaluation.ablation as ab

    live, extracted = [], []
    get = ab._FeatureCache.get

    def spy(self, params):
        feats = get(self, params)
        live.append(len(self._feats))
        return feats

    def extract(model, *args, **kwargs):
        extracted.append(model.align)
        return extract_sources(model, *args, **kwargs)

    monkeypatch.setattr(ab._FeatureCache, "get", spy)
    monkeypatch.setattr(ab, "extract_sources", extract)
    base = {**FAST, "n_words": 4, "max_samples": 500}
    r = run_ablation(small, protocols=("kfold",), folds=2, base=base, rows=["default", "+align", "+mirror"])
    assert list(r["rows"]) == ["default", "+align", "+mirror"]  # the table's order, whatever ran first
    assert sorted(extracted) == [False, True] and max(live) == 1  # each preprocessing once, one at a time


def test_cli_refuses_existing_outputs_before_any_work(tmp_path, jaffe_dir, capsys):
    out = tmp_path / "abl"
    out.mkdir()
    (out / "ablation.json").write_text("keep")
    assert main(["ablation", str(jaffe_dir), "--out", str(out), "--jobs", "1"]) == 1
    assert "exists" in capsys.readouterr().err and (out / "ablation.json").read_text() == "keep"
    assert not (out / "ablation.md").exists()


def test_reproduce_accepts_every_addition():
    """Issue 26: the reproduce engine fits mirror, second-scale and texture configurations with the
    estimator's own stages (tests/test_reproduce.py checks them against evaluate fold by fold)."""
    from dlfers.evaluation.reproduce.engine import uses_the_estimators_fit
    from dlfers.evaluation.reproduce.experiments import base_params
    from dlfers.model.spec import Spec

    for over in ({"mirror": True}, {"descriptors": "tisf+tipm+tisf2+tipm2"}, {"texture": "lbp"}, {"texture": "gabor"}):
        p = base_params(over)
        assert all(p[k] == v for k, v in over.items())
        assert uses_the_estimators_fit(Spec.from_params(p))
    assert base_params({"align": True})["align"] is True  # alignment is preprocessing: the engine has it
    assert not uses_the_estimators_fit(Spec.from_params(base_params({"align": True})))


def test_model_options_switch_the_additions():
    from dlfers.cli._options import model_params
    from dlfers.cli.main import build_parser

    args = build_parser().parse_args(["evaluate", "x", "--align", "--no-mirror",
                                      "--descriptors", "tisf+tipm+tisf2+tipm2"])
    assert model_params(args) == {"align": True, "mirror": False, "descriptors": "tisf+tipm+tisf2+tipm2"}
    args = build_parser().parse_args(["train", "x", "--out", "m.dlfers", "--preset", "paper", "--mirror"])
    p = model_params(args)
    assert p["mirror"] is True and p["align"] is False and p["step"] == 2
    assert "align" not in model_params(build_parser().parse_args(["evaluate", "x"]))


# ------------------------------------------------------------------ several data sets, group-kfold
def _link_sets(tmp_path, jaffe_dir, ck_dir=None, every=2):
    """Every ``every``-th JAFFE image split by subject into two folders of symbolic links (first five
    subjects, last five); with ``ck_dir``, a third folder-per-class set of every 8th CK+48 image of each class."""
    files = sorted(p for p in jaffe_dir.iterdir() if p.suffix.lower() in (".tiff", ".tif"))[::every]
    subjects = sorted({p.name.split(".")[0] for p in files})
    out = [tmp_path / "jaffe_a", tmp_path / "jaffe_b"]
    for d in out:
        d.mkdir()
    for p in files:
        out[p.name.split(".")[0] not in subjects[:5]].joinpath(p.name).symlink_to(p)
    if ck_dir is not None:
        ck = tmp_path / "ckplus48"
        for cls in sorted(d for d in ck_dir.iterdir() if d.is_dir()):
            (ck / cls.name).mkdir(parents=True)
            for p in sorted(cls.glob("*.png"))[::8]:
                (ck / cls.name / p.name).symlink_to(p)
        out.append(ck)
    return out


def test_ablation_on_two_data_sets_with_group_kfold_never_splits_a_subject(tmp_path, jaffe_dir, monkeypatch):
    import dlfers.evaluation.protocols as ev

    a, b = _link_sets(tmp_path, jaffe_dir)
    used: list[tuple[np.ndarray, np.ndarray]] = []
    run_fold = ev._run_fold

    def spy(model, feats, y, train, test):  # the folds the ablation actually fitted and scored
        used.append((np.asarray(train), np.asarray(test)))
        return run_fold(model, feats, y, train, test)

    monkeypatch.setattr(ev, "_run_fold", spy)
    base = {**FAST, "n_words": 4, "max_samples": 500}
    r = run_ablation([a, b], protocols=("kfold", "group-kfold"), folds=3, base=base, rows=["default", "+mirror"])
    assert [d["name"] for d in r["datasets"]] == ["jaffe_a", "jaffe_b"] and r["n_images"] == 107
    groups = np.asarray(load_datasets([a, b]).dataset.subjects)  # the union's subject ids, as the ablation's
    assert len(set(groups.tolist())) == 10 and {g.split(":")[0] for g in groups} == {"jaffe_a", "jaffe_b"}
    folds = r["test_folds"]["group-kfold"]
    assert len(folds) == 3 and sorted(np.concatenate(folds).tolist()) == list(range(107))
    grouped = [(tr, te) for tr, te in used if any(te.tolist() == f for f in folds)]
    assert len(used) == 2 * (3 + 3) and len(grouped) == 2 * 3  # two rows, each protocol's three folds
    for tr, te in grouped:
        assert not set(groups[tr].tolist()) & set(groups[te].tolist())  # no subject on both sides
        assert sorted([*tr.tolist(), *te.tolist()]) == list(range(107))
    for row in r["rows"].values():
        for p in ("kfold", "group-kfold"):
            assert set(row[p]["per_dataset"]) == {"jaffe_a", "jaffe_b"}
            assert len(row[p]["fold_accuracy"]) == 3
    md, csv = format_markdown(r), format_csv(r)
    assert md.startswith("data: jaffe_a (") and "group-kfold jaffe_b acc %" in md and "| +mirror |" in md
    assert csv.splitlines()[0] == "configuration,protocol,data,accuracy,macro_f1"
    assert len(csv.splitlines()) == 1 + 2 * 2 * 3 and "default,group-kfold,jaffe_a+jaffe_b," in csv
    json.dumps(r)
    with pytest.raises(ValueError, match="unknown protocols"):
        run_ablation([a, b], protocols=("lopo",), base=base)


def test_cli_ablation_of_jaffe_and_ckplus48_names_the_data_sets(tmp_path, jaffe_dir, capsys):
    from conftest import data_dir

    ck_dir = data_dir() / "ckplus48"
    if not ck_dir.is_dir():
        pytest.skip(f"CK+48 not found at {ck_dir} (set DLFERS_DATA to the folder holding ckplus48/)")
    a, _, ck = _link_sets(tmp_path, jaffe_dir, ck_dir, every=3)
    out = tmp_path / "abl"
    args = ["ablation", str(a), str(ck), "--out", str(out), "--protocols", "group-kfold", "--folds", "3",
            "--rows", "default", "--subject-pattern", "^(S[0-9]+)_", "--alias", "contempt=disdain",
            "--face-size", "64", "--step", "4", "--n-words", "4", "--jobs", "1", "--quiet"]
    assert main(args) == 0
    r = json.loads((out / "ablation.json").read_text())
    assert [(d["name"], d["precropped"]) for d in r["datasets"]] == [("jaffe_a", False), ("ckplus48", True)]
    assert r["datasets"][1]["aliases_applied"] == {"contempt": "disdain", "sadness": "sad"}
    assert r["datasets"][1]["subject_rule"] == "pattern '^(S[0-9]+)_'"
    assert set(r["rows"]["default"]["group-kfold"]["per_dataset"]) == {"jaffe_a", "ckplus48"}
    md = (out / "ablation.md").read_text()
    assert md == capsys.readouterr().out
    assert "ckplus48 (126 images, 82 subjects, pre-cropped faces)" in md and "group-kfold ckplus48 acc %" in md
    assert len(r["test_folds"]["group-kfold"]) == 3
    assert main(args) == 1  # never over its own outputs without --overwrite
    assert "exists" in capsys.readouterr().err
