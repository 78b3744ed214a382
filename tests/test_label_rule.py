"""One answer: every label shown is the most probable class of the probabilities shown with it.

Through the API (``predict``, ``predict_image``), ``dlfers predict --json``, the video log
and the video overlay, on every JAFFE image.
"""

from __future__ import annotations

import json

import cv2
import numpy as np

from dlfers.cli.main import main
from dlfers.predict.draw import overlay_lines


def _argmax(probabilities: dict) -> str:
    best = max(probabilities.values())
    return next(k for k, v in probabilities.items() if v == best)  # ties: the first class, as np.argmax


def test_predict_is_the_argmax_of_predict_proba_on_every_jaffe_image(model, jaffe):
    labels = model.predict(jaffe.images)
    proba = model.predict_proba(jaffe.images)
    np.testing.assert_array_equal(labels, model.classes_[np.argmax(proba, axis=1)])


def test_predict_image_label_is_the_argmax_of_its_probabilities_on_every_jaffe_image(model, jaffe):
    n = 0
    for frame in jaffe.images:
        for r in model.predict_image(frame):
            if r.found:
                assert r.label == _argmax(r.probabilities), r
                n += 1
    assert n >= len(jaffe) - 5  # a face in (nearly) every image: the check above ran


def test_cli_predict_json_label_is_the_argmax_of_its_probabilities(model_file, jaffe_dir, jaffe, capsys):
    assert main(["predict", str(model_file), str(jaffe_dir), "--json", "--quiet"]) == 0
    recs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    ok = [r for r in recs if r["status"] == "ok"]
    assert len({r["file"] for r in recs}) == len(jaffe) and len(ok) >= len(jaffe) - 5
    for r in ok:
        assert r["label"] == _argmax(r["probabilities"]), r


def test_video_log_label_is_the_argmax_of_its_probabilities(model_file, jaffe, tmp_path, capsys):
    src = tmp_path / "jaffe.avi"
    writer = cv2.VideoWriter(str(src), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (256, 256))
    for img in jaffe.images:
        writer.write(cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))
    writer.release()
    log = tmp_path / "jaffe.jsonl"
    assert main(["video", str(model_file), str(src), "--log", str(log), "--quiet"]) == 0
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == len(jaffe)
    faces = [f for rec in lines for f in rec["faces"]]
    assert len(faces) >= len(jaffe) - 5
    for f in faces:
        assert f["label"] == _argmax(f["probabilities"]), f


def test_overlay_headline_is_the_top_listed_probability_on_every_jaffe_image(model, jaffe):
    for frame in jaffe.images[::4]:
        for r in model.predict_image(frame):
            if r.found:
                head, first, *_ = overlay_lines(r)
                assert head.split()[0] == first.split(":")[0] == _argmax(r.probabilities), (head, first)
