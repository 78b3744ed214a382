"""What a first user hit: detector overrides, --max-faces, progress bars in logs, symlink loops,
existing outputs, and ``train --jobs``."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from dlfers import DLFERS, load
from dlfers.cli.main import main
from dlfers.evaluation.protocols import evaluate

#: train/evaluate options for a model that fits in a second or two
TINY = ["--layout", "whole", "--n-words", "4", "--step", "6", "--descriptors", "tisf", "--face-size", "48"]


@pytest.fixture(scope="module")
def small_face(jaffe) -> np.ndarray:
    """A JAFFE face a third of the frame's shorter side, in a wide 1024x768 frame."""
    canvas = np.full((768, 1024), 128, np.uint8)
    canvas[256:512, 384:640] = jaffe.images[0]
    return canvas


@pytest.fixture(scope="module")
def tiny_data(jaffe, tmp_path_factory) -> Path:
    """Folder per class: 3 classes x 6 images of 3 subjects."""
    root = tmp_path_factory.mktemp("tiny")
    for cls in ("happy", "sad", "surprise"):
        (root / cls).mkdir()
        for i in np.flatnonzero(jaffe.labels == cls)[:6]:
            cv2.imwrite(str(root / cls / f"{jaffe.subjects[i]}_{i}.png"), jaffe.images[i])
    return root


@pytest.fixture()
def loop(tmp_path) -> Path:
    (tmp_path / "loop_a").symlink_to(tmp_path / "loop_b")
    (tmp_path / "loop_b").symlink_to(tmp_path / "loop_a")
    return tmp_path / "loop_a"


# ----------------------------------------------------------------------------- item 4: detector overrides
def test_predict_image_detector_overrides_find_a_face_the_model_settings_miss(model, small_face):
    realtime = copy.deepcopy(model).set_params(detector="cascade", detect_size=64, min_face=0.4, detect_scale=1.2)
    assert not realtime.predict_image(small_face)[0].found
    (r,) = realtime.predict_image(small_face, detect_size=160, min_face=0.2, detect_scale=1.1)
    assert r.found and r.box.x >= 384 - 10 and r.box.x + r.box.w <= 640 + 10
    assert (realtime.detect_size, realtime.min_face, realtime.detect_scale) == (64, 0.4, 1.2)  # not changed
    wide = copy.deepcopy(model).set_params(detector="cascade", detect_size=160, min_face=0.2, detect_scale=1.1)
    (same,) = wide.predict_image(small_face)  # the same detector settings as the model's own
    assert same == r


def test_predict_image_overrides_out_of_range_raise(model, small_face):
    for bad in ({"detect_size": 8}, {"min_face": 1.5}, {"detect_scale": 1.0}):
        with pytest.raises(ValueError):
            model.predict_image(small_face, **bad)


def test_cli_predict_overrides_and_warns_when_no_image_has_a_face(model_file, small_face, tmp_path, capsys):
    cv2.imwrite(str(tmp_path / "wide.png"), small_face)
    assert main(["predict", str(model_file), str(tmp_path / "wide.png"), "--min-face", "0.5"]) == 0
    out, err = capsys.readouterr()
    assert out.rstrip().endswith("no face") and "no face found in any of the 1 image(s)" in err
    assert "--detect-size" in err
    assert main(["predict", str(model_file), str(tmp_path / "wide.png"), "--json", "--min-face", "0.1",
                 "--detect-size", "200"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["status"] == "ok" and "no face" not in err


# ----------------------------------------------------------------------------- item 5: --max-faces
@pytest.mark.parametrize("value", [0, -1, True, 1.5])
def test_predict_image_max_faces_below_one_raises(model, jaffe, value):
    with pytest.raises(ValueError, match="max_faces must be an integer >= 1"):
        model.predict_image(jaffe.images[0], max_faces=value)


@pytest.mark.parametrize("value", ["0", "-1", "x"])
def test_cli_predict_max_faces_below_one_is_a_usage_error(model_file, jaffe_file, value, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["predict", str(model_file), str(jaffe_file), "--max-faces", value])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "--max-faces" in err and ("at least 1" in err or ">= 1" in err)


# ----------------------------------------------------------------------------- item 7: progress bars
def test_no_progress_bar_in_a_log_file_unless_asked(tiny_data, tmp_path, capsys):
    args = ["evaluate", str(tiny_data), "--folds", "2", "--jobs", "1", *TINY]
    assert main(args) == 0  # stderr is not a terminal here
    assert "\r" not in capsys.readouterr().err
    assert main(["train", str(tiny_data), "--out", str(tmp_path / "m.dlfers"), "--jobs", "1", *TINY]) == 0
    assert "\r" not in capsys.readouterr().err
    assert main([*args, "--progress"]) == 0
    err = capsys.readouterr().err
    assert "\r" in err and "kfold folds" in err


def test_evaluate_bar_counts_folds(tiny_data, monkeypatch):

    bars: dict[str, list[int]] = {}

    class Bar:
        def __init__(self, total: int, desc: str = "", disable: bool = False) -> None:
            self.steps = bars.setdefault(desc, [total, 0])

        def update(self, n: int = 1) -> None:
            self.steps[1] += n

        def close(self) -> None:
            pass

    from dlfers.evaluation import protocols
    from dlfers.model import batch

    monkeypatch.setattr(protocols, "progress_counter", Bar)  # the folds' bar
    monkeypatch.setattr(batch, "progress_counter", Bar)  # the descriptors' bar
    evaluate(tiny_data, folds=3, n_jobs=2, progress=True, model=_tiny_model())
    assert bars["kfold folds"] == [3, 3]  # 3 folds, not 3 model + 3 baseline tasks
    assert bars["descriptors"] == [18, 18]  # one step per image


def _tiny_model() -> DLFERS:
    return DLFERS(layout="whole", n_words=4, step=6, descriptors="tisf", face_size=48)


# ----------------------------------------------------------------------------- item 8: symlink loops
def test_symlink_loop_is_named_by_every_command(model_file, loop, tmp_path, capsys):
    assert main(["predict", str(model_file), str(loop), "--json"]) == 1
    (rec,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rec["file"] == str(loop) and "symlink loop" in rec["error"]
    for argv in (["evaluate", str(loop)], ["train", str(loop), "--out", str(tmp_path / "m.dlfers")],
                 ["video", str(model_file), str(loop)]):
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert "symlink loop" in err and str(loop) in err and "no such file" not in err, (argv, err)


# ----------------------------------------------------------------------------- outputs of train and evaluate
def test_train_keeps_an_existing_model_file_without_overwrite(tiny_data, tmp_path, capsys):
    out = tmp_path / "m.dlfers"
    out.write_bytes(b"my old model")
    assert main(["train", str(tiny_data), "--out", str(out), "--jobs", "1", *TINY]) == 1
    assert "--overwrite" in capsys.readouterr().err and out.read_bytes() == b"my old model"
    assert main(["train", str(tiny_data), "--out", str(out), "--jobs", "1", "--overwrite", *TINY]) == 0
    assert load(out).n_words == 4


def test_evaluate_keeps_an_existing_json_report_without_overwrite(tiny_data, tmp_path, capsys):
    report = tmp_path / "report.json"
    report.write_text("{}")
    assert main(["evaluate", str(tiny_data), "--json", str(report), *TINY]) == 1
    assert "--overwrite" in capsys.readouterr().err and report.read_text() == "{}"
    assert main(["evaluate", str(tiny_data), "--folds", "2", "--jobs", "1", "--no-baseline", "--json",
                 str(report), "--overwrite", *TINY]) == 0
    assert json.loads(report.read_text())["n_folds"] == 2
    assert sorted(os.listdir(tmp_path)) == ["report.json"]


# ----------------------------------------------------------------------------- train --jobs
def test_train_jobs_gives_the_serial_model(tiny_data, jaffe, tmp_path, capsys):
    for jobs in ("1", "2"):
        assert main(["train", str(tiny_data), "--out", str(tmp_path / f"m{jobs}.dlfers"), "--jobs", jobs,
                     *TINY]) == 0
    serial, parallel = load(tmp_path / "m1.dlfers"), load(tmp_path / "m2.dlfers")
    for kind, words in serial.codebooks_.items():
        np.testing.assert_array_equal(np.asarray(words), np.asarray(parallel.codebooks_[kind]))
    frames = jaffe.images[::20]
    np.testing.assert_array_equal(serial.predict_proba(frames), parallel.predict_proba(frames))
    np.testing.assert_array_equal(serial.predict(frames), parallel.predict(frames))
