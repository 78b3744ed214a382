"""Trained models in use: predict_image, batches with bad files, threads, CLI predict/train/video."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from _trained import write_video
from PIL import Image

from dlfers import load
from dlfers.cli.main import main
from dlfers.image.read import ImageError
from dlfers.model.results import FaceResult
from dlfers.predict.files import RECORD_KEYS, predict_files


@pytest.fixture(scope="module")
def frames(jaffe):
    return jaffe.images[1::3][:8]


# ----------------------------------------------------------------------------- predict_image
def test_predict_image_matches_predict(model, frames):
    for frame in frames[:3]:
        (r,) = model.predict_image(frame)
        assert r.found and r.label == model.predict([frame])[0]
        np.testing.assert_allclose(list(r.probabilities.values()), model.predict_proba([frame])[0], atol=1e-12)
        assert list(r.probabilities) == list(model.classes_)
        h, w = frame.shape
        assert 0 <= r.box.x and r.box.x + r.box.w <= w and 0 <= r.box.y and r.box.y + r.box.h <= h


def test_bgr_and_gray_frames_agree(model, frames):
    bgr = cv2.cvtColor(frames[0], cv2.COLOR_GRAY2BGR)
    assert model.predict_image(bgr) == model.predict_image(frames[0])


def test_every_face_largest_first(model, frames):
    two = np.hstack([frames[0], frames[1]])
    results = model.predict_image(two)
    assert len(results) == 2 and all(r.found for r in results)
    assert {r.box.x < 256 for r in results} == {True, False}
    assert results[0].box.w * results[0].box.h >= results[1].box.w * results[1].box.h
    (first,) = model.predict_image(two, max_faces=1)
    assert (first.box, first.label) == (results[0].box, results[0].label)  # batch of 1 vs 2: rounding only
    np.testing.assert_allclose(list(first.probabilities.values()), list(results[0].probabilities.values()),
                               atol=1e-12)


def test_no_face_is_an_explicit_result(model):
    (r,) = model.predict_image(np.full((200, 200), 128, np.uint8))
    assert r == FaceResult.no_face() and not r.found and r.label is None
    assert r.to_dict() == {"found": False, "box": None, "landmarks": None, "score": None, "label": None,
                           "probabilities": None}


def test_predict_faces_on_the_reported_crops(model, frames):
    results = [model.predict_image(f)[0] for f in frames[:4]]
    crops = [f[r.box.y : r.box.y + r.box.h, r.box.x : r.box.x + r.box.w] for f, r in zip(frames, results)]
    assert list(model.predict_faces(crops)) == [r.label for r in results]
    proba = model.predict_proba_faces(crops)
    np.testing.assert_allclose(proba, [list(r.probabilities.values()) for r in results], atol=1e-12)


def test_concurrent_predict_from_8_threads(model_file, frames):
    model = load(model_file)
    want = [model.predict_image(f) for f in frames]
    want_batch = model.predict_proba(frames)
    got: dict[int, list] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(t: int) -> None:
        try:
            start.wait()
            order = np.roll(np.arange(len(frames)), t)
            got[t] = [(i, model.predict_image(frames[i])) for i in order]
            got[t].append((-1, model.predict_proba(frames)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    for t in range(8):
        for i, res in got[t]:
            if i < 0:
                np.testing.assert_array_equal(res, want_batch)
            else:
                assert res == want[i]


# ----------------------------------------------------------------------------- bad inputs
@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory, jaffe_dir, jaffe_file) -> Path:
    """Two good JAFFE files, every kind of bad file, and convertible 16-bit/RGBA/CMYK/palette images."""
    d = tmp_path_factory.mktemp("mixed")
    shutil.copy(jaffe_file, d / "a_good.tiff")
    shutil.copy(jaffe_dir / "KM.SU1.14.tiff", d / "b_good.tiff")
    data = jaffe_file.read_bytes()
    (d / "corrupt.tiff").write_bytes(data[:8] + bytes(range(256)) * 4)
    gray = np.array(Image.open(jaffe_file).convert("L"))
    ok, png = cv2.imencode(".png", gray)
    (d / "truncated.png").write_bytes(png.tobytes()[: len(png) // 3])
    (d / "empty.png").write_bytes(b"")
    (d / "notes.jpg").write_text("not an image at all")
    huge = bytearray(png.tobytes()[:33])
    huge[16:24] = (100_000).to_bytes(4, "big") * 2  # a 100000x100000 PNG header
    (d / "huge.png").write_bytes(bytes(huge) + png.tobytes()[33:])
    cv2.imwrite(str(d / "c_16bit.png"), gray.astype(np.uint16) * 257)
    rgb = Image.fromarray(np.stack([gray] * 3, -1))
    rgb.convert("RGBA").save(d / "d_rgba.png")
    rgb.convert("CMYK").save(d / "e_cmyk.jpg")
    rgb.convert("CMYK").save(d / "e_cmyk.tif")
    rgb.convert("P").save(d / "f_palette.png")
    return d


BAD = {"corrupt.tiff": "corrupt or truncated TIFF", "truncated.png": "corrupt or truncated PNG",
       "empty.png": "empty", "notes.jpg": "not a recognised image format", "huge.png": "exceeds the limit"}
GOOD = ("a_good.tiff", "b_good.tiff", "c_16bit.png", "d_rgba.png", "e_cmyk.jpg", "e_cmyk.tif", "f_palette.png")


def test_batch_keeps_good_items_and_names_each_problem(model, mixed_folder):
    recs = {Path(r["file"]).name: r for r in predict_files(model, [mixed_folder])}
    assert set(recs) == set(BAD) | set(GOOD)
    for name, message in BAD.items():
        assert recs[name]["status"] == "error" and message in recs[name]["error"], recs[name]
    for name in GOOD:
        assert recs[name]["status"] == "ok", recs[name]
    # converted copies of the same face agree with the original
    assert recs["c_16bit.png"]["label"] == recs["d_rgba.png"]["label"] == recs["a_good.tiff"]["label"]
    assert recs["c_16bit.png"]["box"] == recs["a_good.tiff"]["box"]


def test_pixel_limit_is_configurable(model, jaffe_file):
    (rec,) = predict_files(model, [jaffe_file], max_pixels=256 * 255)
    assert rec["status"] == "error" and "exceeds the limit of 65280" in rec["error"]


def test_bad_arrays_raise_image_errors(model):
    from dlfers import ImageError

    for arr in (np.zeros((0, 5), np.uint8), np.zeros((4, 4, 2), np.uint8), np.full((9, 9), np.nan)):
        with pytest.raises(ImageError):
            model.predict_image(arr)


# ----------------------------------------------------------------------------- CLI
def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_cli_predict_json_schema(model_file, mixed_folder, capsys):
    assert main(["predict", str(model_file), str(mixed_folder), str(mixed_folder / "missing.png"), "--json",
                 "--quiet"]) == 0
    out, err = capsys.readouterr()
    recs = _json_lines(out)
    assert len(recs) == len(BAD) + len(GOOD) + 1
    for r in recs:
        assert tuple(r) == RECORD_KEYS
        assert r["status"] in ("ok", "no_face", "error") and isinstance(r["file"], str)
        if r["status"] == "ok":
            assert isinstance(r["face"], int) and len(r["box"]) == 4 and all(isinstance(v, int) for v in r["box"])
            assert r["label"] in r["probabilities"] and r["error"] is None
            assert abs(sum(r["probabilities"].values()) - 1) < 1e-9
        else:
            assert r["box"] is None and r["label"] is None and r["probabilities"] is None
            assert (r["error"] is None) == (r["status"] == "no_face")
    assert "failed" in err


def test_cli_predict_table_and_no_face(model_file, tmp_path, jaffe_file, capsys):
    cv2.imwrite(str(tmp_path / "blank.png"), np.full((120, 160), 90, np.uint8))
    assert main(["predict", str(model_file), str(jaffe_file), str(tmp_path / "blank.png"), "--quiet"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and "face 0" in out[0] and out[1].endswith("no face")
    assert main(["predict", str(model_file), str(tmp_path / "blank.png"), "--json", "--quiet"]) == 0
    (rec,) = _json_lines(capsys.readouterr().out)
    assert rec["status"] == "no_face" and rec["face"] is None


def test_cli_predict_fails_only_when_nothing_was_processed(model_file, mixed_folder, tmp_path, capsys):
    assert main(["predict", str(model_file), *(str(mixed_folder / n) for n in BAD), "--json", "--quiet"]) == 1
    out, err = capsys.readouterr()
    assert len(_json_lines(out)) == len(BAD) and "no image could be processed" in err
    assert main(["predict", str(tmp_path / "nope.dlfers"), str(mixed_folder)]) == 1
    assert "no such file" in capsys.readouterr().err


def test_cli_train_saves_a_loadable_model(tmp_path, jaffe, capsys):
    data = tmp_path / "data"
    for cls in sorted(set(jaffe.labels))[:3]:
        (data / cls).mkdir(parents=True)
        for i in np.flatnonzero(jaffe.labels == cls)[:4]:
            cv2.imwrite(str(data / cls / f"s{i}.png"), jaffe.images[i])
    (data / "anger" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    out = tmp_path / "m.dlfers"
    args = ["train", str(data), "--out", str(out), "--layout", "whole", "--n-words", "4", "--step", "6",
            "--descriptors", "tisf", "--quiet"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "trained on 12 images (1 skipped)" in captured.out and "broken.png" in captured.err
    m = load(out)
    assert list(m.classes_) == sorted(set(jaffe.labels))[:3] and m.n_words == 4 and m.layout == "whole"
    assert not m.progress


# ----------------------------------------------------------------------------- video
def test_cli_video_annotates_and_logs_every_frame(model_file, frames, tmp_path, capsys):
    clip = [*frames[:5], np.full_like(frames[0], 100), frames[5]]
    write_video(tmp_path / "in.avi", clip)
    out = tmp_path / "annotated.mp4"
    assert main(["video", str(model_file), str(tmp_path / "in.avi"), "--out", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "7 frames" in err and "frames per second" in err
    log = _json_lines((tmp_path / "annotated.jsonl").read_text())
    assert [r["frame"] for r in log] == list(range(7))
    assert [r["status"] for r in log] == ["ok"] * 5 + ["no_face", "ok"]
    assert log[1]["time"] == pytest.approx(0.2)
    for r in log:
        assert set(r) == {"frame", "time", "status", "faces", "error"}
        for f in r["faces"]:
            assert f["found"] and len(f["box"]) == 4 and f["label"] in f["probabilities"]
    cap = cv2.VideoCapture(str(out))
    n = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        assert frame.shape == (256, 256, 3)
        n += 1
    assert n == 7
    # the annotation is drawn: the first output frame differs from the input frame around the box
    x, y, w, h = log[0]["faces"][0]["box"]
    cap = cv2.VideoCapture(str(out))
    first = cap.read()[1]
    green = first[y, x : x + w]
    assert (green[:, 1].astype(int) - green[:, 2].astype(int) > 80).mean() > 0.8


def test_cli_video_log_to_stdout_and_bad_input(model_file, frames, tmp_path, capsys):
    write_video(tmp_path / "in.avi", list(frames[:2]))
    assert main(["video", str(model_file), str(tmp_path / "in.avi"), "--quiet"]) == 0
    assert len(_json_lines(capsys.readouterr().out)) == 2
    (tmp_path / "bad.mp4").write_text("not a video")
    assert main(["video", str(model_file), str(tmp_path / "bad.mp4"), "--quiet"]) == 1
    assert "bad.mp4" in capsys.readouterr().err


# ----------------------------------------------------------------------------- batches on threads (n_jobs)
def test_batch_on_threads_gives_the_serial_records(model, mixed_folder):
    serial = list(predict_files(model, [mixed_folder]))
    for jobs in (2, 3, -1):
        assert list(predict_files(model, [mixed_folder], n_jobs=jobs)) == serial


def test_predict_with_n_jobs_equals_serial(model, frames):
    import copy

    threaded = copy.deepcopy(model).set_params(n_jobs=2)
    many = list(frames) * 3  # 24 frames: the encoder splits them into chunks too
    np.testing.assert_array_equal(threaded.predict(many), model.predict(many))
    np.testing.assert_array_equal(threaded.predict_proba(many), model.predict_proba(many))
    np.testing.assert_array_equal(threaded.transform(many), model.transform(many))
    bad = [*many[:5], np.zeros((0, 5), np.uint8), *many[5:]]
    with pytest.raises(ImageError, match="item 5"):  # the failing item named, as serially
        threaded.predict(bad)


@pytest.mark.parametrize("value", [0, True, 1.5, "2"])
def test_n_jobs_must_be_none_or_a_nonzero_integer(model, value):
    import copy

    with pytest.raises(ValueError, match="n_jobs"):
        copy.deepcopy(model).set_params(n_jobs=value).predict([np.zeros((64, 64), np.uint8)])


def test_cli_predict_jobs_gives_the_same_output(model_file, mixed_folder, capsys):
    outs = []
    for jobs in ("1", "2"):
        main(["predict", str(model_file), str(mixed_folder), "--json", "--jobs", jobs, "--no-progress"])
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] and outs[0].count("\n") >= len(GOOD) + len(BAD)
