"""The ablation command: rows, shared features, nested CV, outputs that never overwrite."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import FAST

from dlfers import DLFERS
from dlfers.ablation import ADDITIONS, ablation_rows, format_csv, format_markdown, macro_f1, run_ablation
from dlfers.cli import main
from dlfers.datasets import Dataset
from dlfers.presets import PRESETS, SAVED_PARAM_DEFAULTS


def test_paper_preset_and_older_files_have_every_addition_off():
    paper = DLFERS.from_preset("paper")
    assert paper.align is False and paper.mirror is False and paper.descriptors == "tisf+tipm"
    assert SAVED_PARAM_DEFAULTS["align"] is False and SAVED_PARAM_DEFAULTS["mirror"] is False
    assert {"align", "mirror", "descriptors"} <= set(PRESETS["paper"])


def test_rows_are_the_base_each_addition_alone_and_all():
    rows = ablation_rows({"step": 2})
    assert list(rows) == ["default", "+align", "+mirror", "+multiscale", "all"]
    assert rows["default"] == {"step": 2}
    assert rows["+mirror"] == {"step": 2, "mirror": True}
    assert rows["all"] == {"step": 2, **{k: v for on in ADDITIONS.values() for k, v in on.items()}}
    for params in rows.values():
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
    r = run_ablation(small, protocols=("kfold",), folds=2, base=base, nested=("default", "+mirror"), inner_folds=2)
    assert list(r["rows"]) == ["default", "+align", "+mirror", "+multiscale", "all"]
    for name, row in r["rows"].items():
        assert 0 <= row["kfold"]["accuracy"] <= 100 and 0 <= row["kfold"]["macro_f1"] <= 100
        assert len(row["kfold"]["fold_accuracy"]) == 2
        assert (row["eyes_not_found"] is None) == (name not in ("+align", "all"))
    n = r["nested"]["kfold"]
    assert len(n["choices"]) == 2 and set(n["choices"]) <= {"default", "+mirror"}
    assert set(n["inner_accuracy"][0]) == {"default", "+mirror"}
    md, csv = format_markdown(r), format_csv(r)
    assert "| +multiscale |" in md and "nested CV (kfold" in md
    assert csv.splitlines()[0] == "configuration,protocol,accuracy,macro_f1" and len(csv.splitlines()) == 1 + 5 + 1
    json.dumps(r)
    with pytest.raises(ValueError, match="unknown rows or nested candidates"):
        run_ablation(small, protocols=("kfold",), folds=2, base=base, nested=("none",))
    with pytest.raises(ValueError, match=r"unknown rows or nested candidates \['\+flip'\]"):
        run_ablation(small, protocols=("kfold",), folds=2, base=base, rows=["+flip"])
    assert run_ablation(small, protocols=("kfold",), folds=2, base=base, rows=[])["rows"] == {}


def test_cli_refuses_existing_outputs_before_any_work(tmp_path, jaffe_dir, capsys):
    out = tmp_path / "abl"
    out.mkdir()
    (out / "ablation.json").write_text("keep")
    assert main(["ablation", str(jaffe_dir), "--out", str(out), "--jobs", "1"]) == 1
    assert "exists" in capsys.readouterr().err and (out / "ablation.json").read_text() == "keep"
    assert not (out / "ablation.md").exists()


def test_reproduce_refuses_the_additions_it_does_not_compute():
    from dlfers.reproduce import base_params

    for over in ({"mirror": True}, {"descriptors": "tisf+tipm+tisf2+tipm2"}):
        with pytest.raises(ValueError, match="dlfers ablation"):
            base_params(over)
    assert base_params({"align": True})["align"] is True  # alignment is preprocessing: the engine has it


def test_model_options_switch_the_additions():
    from dlfers.cli import build_parser
    from dlfers.commands._options import model_params

    args = build_parser().parse_args(["evaluate", "x", "--align", "--no-mirror",
                                      "--descriptors", "tisf+tipm+tisf2+tipm2"])
    assert model_params(args) == {"align": True, "mirror": False, "descriptors": "tisf+tipm+tisf2+tipm2"}
    args = build_parser().parse_args(["train", "x", "--out", "m.dlfers", "--preset", "paper", "--mirror"])
    p = model_params(args)
    assert p["mirror"] is True and p["align"] is False and p["step"] == 2
    assert "align" not in model_params(build_parser().parse_args(["evaluate", "x"]))
