"""Face detection and the δ/γ crop of Eq. 1-4."""

from __future__ import annotations

import numpy as np
import pytest

from dlfers import DLFERS, FaceBox, NoFaceError, crop_face, detect_faces
from dlfers.face.detect import crop_box
from dlfers.model.presets import CROP_PRESETS


@pytest.mark.parametrize("delta, gamma", [(0.0, 0.0), (0.10, 0.7), (0.12, 0.15), (0.15, 0.15)])
def test_crop_equations(delta, gamma):
    box = FaceBox(40, 30, 100, 120)
    c = crop_box(box, delta, gamma, (400, 400))
    dx, dy = int(delta * 100), int(gamma * 120)
    # Eq. 1-4: left and right edges move in by ⌊δ·w⌋, the top edge down by ⌊γ·h⌋, bottom kept
    assert (c.x, c.y) == (40 + dx, 30 + dy)
    assert (c.x + c.w, c.y + c.h) == (140 - dx, 150)


def test_crop_clips_to_frame_and_refuses_empty():
    c = crop_box(FaceBox(-10, -5, 50, 60), 0.0, 0.0, (40, 30))
    assert (c.x, c.y, c.x + c.w, c.y + c.h) == (0, 0, 30, 40)
    with pytest.raises(ValueError, match="leave no face"):
        crop_box(FaceBox(0, 0, 3, 3), 0.4, 0.0, (10, 10))


@pytest.mark.parametrize("delta, gamma", [(-0.1, 0.1), (0.5, 0.1), (0.1, 1.0)])
def test_bad_factors(delta, gamma):
    with pytest.raises(ValueError, match="must be in"):
        crop_face(np.zeros((50, 50), np.uint8), delta, gamma)


def test_presets_match_the_paper():
    assert CROP_PRESETS["factor1"][1:] == (0.10, 0.7)
    assert CROP_PRESETS["factor2"][1:] == (0.12, 0.15)
    assert CROP_PRESETS["factor3"][1:] == (0.15, 0.15)


def test_detects_a_face_in_every_jaffe_image(jaffe):
    found = [bool(detect_faces(im)) for im in jaffe.images[::5]]
    assert all(found)
    box = detect_faces(jaffe.images[0])[0]
    assert 60 <= box.w <= 200 and box.w == pytest.approx(box.h, rel=0.2)
    assert 40 <= box.x + box.w / 2 <= 216 and 40 <= box.y + box.h / 2 <= 216


@pytest.mark.parametrize("size, scale, min_face", [(160, 1.1, 0.2), (96, 1.2, 0.4), (64, 1.2, 0.4)])
def test_faster_detector_settings_find_the_same_face(jaffe, size, scale, min_face):
    for im in jaffe.images[::20]:
        ref = detect_faces(im)[0]
        box = detect_faces(im, size, min_face, scale)[0]
        ix = max(0, min(ref.x + ref.w, box.x + box.w) - max(ref.x, box.x))
        iy = max(0, min(ref.y + ref.h, box.y + box.h) - max(ref.y, box.y))
        inter = ix * iy
        assert inter / (ref.w * ref.h + box.w * box.h - inter) > 0.7, (ref, box)


@pytest.mark.parametrize("args, message", [((23, 0.2, 1.1), "detect_size"), ((64, -0.1, 1.1), "min_face"),
                                           ((64, 0.2, 1.0), "scale_factor"), ((64.5, 0.2, 1.1), "detect_size")])
def test_bad_detector_settings(args, message):
    with pytest.raises(ValueError, match=message):
        detect_faces(np.zeros((100, 100), np.uint8), *args)


def test_no_face_is_explicit():
    blank = np.full((200, 200), 128, np.uint8)
    face, box, found = crop_face(blank, 0.15, 0.15, on_missing="full")
    assert not found and box == crop_box(FaceBox(0, 0, 200, 200), 0.15, 0.15, (200, 200))
    with pytest.raises(NoFaceError, match="no face"):
        crop_face(blank, on_missing="error")
    with pytest.raises(NoFaceError):
        DLFERS(on_missing="error").preprocess(blank)
    face, box, found = DLFERS().preprocess(blank)
    assert not found and face.shape == (128, 128)


def test_preprocess_shapes_and_range(jaffe):
    for detect in (True, False):
        face, box, found = DLFERS(detect=detect, face_size=96).preprocess(jaffe.images[3])
        assert face.shape == (96, 96) and face.dtype == np.float32 and found
        assert 0 <= face.min() and face.max() <= 255.5


def test_model_file_without_detector_loads_with_the_cascade_detector(jaffe_small, tmp_path, jaffe):
    """Files written before the ``detector`` parameter existed were trained with the single-pass cascade."""
    import io
    import json
    import zipfile

    from _trained import fast_model

    from dlfers import load
    from dlfers.face.detect import DetectorSettings
    from dlfers.model import file as model_io

    model = fast_model(jaffe_small)
    old = DLFERS(**{**model.get_params(), "detector": "cascade", "detect_size": 160, "min_face": 0.2,
                    "detect_scale": 1.1})
    for name in ("codebooks_", "svms_", "classes_", "n_features_in_"):
        setattr(old, name, getattr(model, name))
    path = tmp_path / "old.dlfers"
    old.save(path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    header = json.loads(np.lib.format.read_array(io.BytesIO(members["header.npy"])).tobytes())
    del header["params"]["detector"]  # as dlfers wrote it before this parameter
    arrays = {n[:-4]: np.lib.format.read_array(io.BytesIO(b)) for n, b in members.items() if n != "header.npy"}
    header["checksum"]["value"] = model_io._checksum(header, arrays)
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.frombuffer(json.dumps(header).encode(), np.uint8))
    members["header.npy"] = buf.getvalue()
    with zipfile.ZipFile(path, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)

    loaded = load(path)
    assert loaded.detector == "cascade"
    assert loaded.spec().detector == DetectorSettings("cascade", 160, 0.2, 1.1)
    frame = jaffe.images[5]
    assert [r.box for r in loaded.predict_image(frame)] == [r.box for r in old.predict_image(frame)]
    # a file written now keeps its detector
    model.save(tmp_path / "new.dlfers")
    assert load(tmp_path / "new.dlfers").detector == model.detector == "cascade+yunet"


def test_detector_command_line_option():
    import argparse

    from dlfers.cli._options import add_model_options, model_params

    parser = argparse.ArgumentParser()
    add_model_options(parser)
    assert model_params(parser.parse_args(["--detector", "cascade"]))["detector"] == "cascade"
    assert model_params(parser.parse_args(["--preset", "paper"]))["detector"] == "cascade"
    p = model_params(parser.parse_args(["--preset", "realtime", "--min-face", "0.3"]))
    assert DLFERS(**p).spec().detector.detector == "cascade+coarse2fine" and DLFERS(**p).spec().detector.min_face == 0.3
    with pytest.raises(SystemExit):
        parser.parse_args(["--detector", "dnn"])
