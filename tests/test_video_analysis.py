"""Tracked expressions in videos: track ids, region search, smoothing, sources, CSV/JSON/plot/summary outputs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from _clips import face_patch, frames, line, write_clip

from dlfers import VideoAnalyzer, analyze_video
from dlfers.cli.main import main
from dlfers.video.annotate import draw_tracks
from dlfers.video.outputs import LANDMARK_COLUMNS

N = 24  # frames per synthetic clip


def _crossing(jaffe, n: int = N) -> list[np.ndarray]:
    """Two faces on a 640x480 canvas: one from top-left to top-right, one from bottom-right to bottom-left."""
    a, b = face_patch(jaffe.images[0]), face_patch(jaffe.images[40])
    return list(frames([a, b], [line((20, 30), (460, 70), n), line((460, 290), (20, 250), n)], n))


def _leaving(jaffe, away: range, n: int = N) -> list[np.ndarray]:
    """One face moving right, absent in the frames of ``away``."""
    path = line((60, 100), (400, 160), n)
    return list(frames([face_patch(jaffe.images[0])], [lambda i: None if i in away else path(i)], n))


def _video(model_file: Path, *args: str) -> int:
    return main(["video", str(model_file), *args, "--quiet"])


@pytest.mark.parametrize("detect_every", [1, 6])
def test_two_faces_crossing_keep_two_track_ids(model, jaffe, detect_every):
    analyzer = VideoAnalyzer(model, detect_every=detect_every)
    per_frame = [analyzer.update(f, i / 10) for i, f in enumerate(_crossing(jaffe))]
    assert all(len(faces) == 2 for faces in per_frame)
    assert {f.track for faces in per_frame for f in faces} == {0, 1}
    top = {min(faces, key=lambda f: f.box.y).track for faces in per_frame}
    assert len(top) == 1  # the face on top keeps its id before, during and after the crossing
    detected = [faces[0].detected for faces in per_frame]
    assert sum(detected) == (N if detect_every == 1 else -(-N // detect_every))


def test_face_leaving_and_returning_gets_a_new_id_after_k_frames(model, jaffe):
    k = 3
    a, b = VideoAnalyzer(model, max_unseen=k), VideoAnalyzer(model, max_unseen=k)
    short = [[f.track for f in a.update(fr, i / 10)] for i, fr in enumerate(_leaving(jaffe, range(8, 8 + k - 1)))]
    gone = [[f.track for f in b.update(fr, i / 10)] for i, fr in enumerate(_leaving(jaffe, range(8, 8 + k)))]
    assert short[:8] == [[0]] * 8 and short[8 : 8 + k - 1] == [[]] * (k - 1) and short[-1] == [0]
    assert gone[:8] == [[0]] * 8 and gone[8 : 8 + k] == [[]] * k and set(map(tuple, gone[8 + k :])) == {(1,)}


def test_tracked_boxes_stay_within_a_few_pixels_of_fresh_detection(model, jaffe):
    """Detection every 8th frame, region search in between, vs detection on every frame: every
    coordinate within 8 px, 95 % within 4 px (the detector works on a 1/4-scale copy of a
    640x480 frame: 4 px is one of its pixels, 8 px about one cascade scale step of the box)."""
    clip = list(frames([face_patch(jaffe.images[0])], [line((20, 40), (460, 300), 40)], 40))
    fresh = [VideoAnalyzer(model).update(f, i / 10) for i, f in enumerate(clip)]  # no tracking at all
    tracked_an = VideoAnalyzer(model, detect_every=8)
    tracked = [tracked_an.update(f, i / 10) for i, f in enumerate(clip)]
    assert sum(not t[0].detected for t in tracked) == 35
    diff = np.abs([np.subtract(a[0].box.as_tuple(), b[0].box.as_tuple()) for a, b in zip(fresh, tracked)])
    assert diff.max() <= 8 and np.percentile(diff, 95) <= 4


def test_smoothing_is_off_by_default_and_is_an_ema_of_the_raw_probabilities(model, jaffe):
    clip = _crossing(jaffe)[:8]
    raw = VideoAnalyzer(model)
    tau, times = 0.4, [0.0, 0.1, 0.25, 0.3, 0.5, 0.6, 0.7, 0.9]
    smooth = VideoAnalyzer(model, smooth=tau)
    s, prev = None, 0.0
    for f, t in zip(clip, times):
        plain = raw.update(f, t)
        assert [(r.box, r.probabilities, r.label) for r in plain] == [
            (r.box, r.probabilities, r.label) for r in model.predict_image(f)]
        faces = {r.track: r for r in smooth.update(f, t)}
        p = np.array(list(next(r for r in plain if r.track == 0).probabilities.values()))
        a = 0.0 if s is None else 1 - np.exp(-(t - prev) / tau)
        s = p if s is None else s + a * (p - s)
        prev = t
        got = faces[0]
        assert list(got.probabilities.values()) == pytest.approx(s.tolist(), abs=1e-12)
        assert got.label == model.classes_[int(np.argmax(s))]


def test_folder_of_frames_is_read_in_name_order(model, jaffe, tmp_path):
    clip = _crossing(jaffe, 12)
    for i in reversed(range(12)):  # written in reverse; names sort in frame order
        cv2.imwrite(str(tmp_path / f"f{i:03d}.png"), clip[i])
    analyzer = VideoAnalyzer(model)
    expected = [analyzer.update(f, i / 5) for i, f in enumerate(clip)]
    got = list(analyze_video(model, tmp_path, fps=5))
    assert [r.frame for r in got] == list(range(12))
    assert [r.time_s for r in got] == pytest.approx([i / 5 for i in range(12)])
    assert [r.faces for r in got] == expected


def test_every_nth_frame_and_max_frames(model, jaffe, tmp_path):
    src = write_clip(tmp_path / "c.avi", iter(_crossing(jaffe, 12)), fps=10)
    got = list(analyze_video(model, src, every=3, max_frames=3))
    assert [r.frame for r in got] == [0, 3, 6] and [r.time_s for r in got] == pytest.approx([0, 0.3, 0.6])


def test_missing_camera_or_source_is_a_clear_error(model, tmp_path):
    with pytest.raises(ValueError, match="camera 97: cannot open"):
        list(analyze_video(model, 97))
    with pytest.raises(ValueError, match="nothing.avi"):
        list(analyze_video(model, tmp_path / "nothing.avi"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="folder has no image files"):
        list(analyze_video(model, tmp_path / "empty"))


def test_annotated_frames_show_the_track_id(model, jaffe):
    from dlfers.predict.draw import draw_results

    frame = _crossing(jaffe, 2)[0]
    faces = VideoAnalyzer(model).update(frame)
    without = draw_results(frame, [f.face() for f in faces])
    drawn = draw_tracks(frame, faces)
    for f in faces:  # "#id" in the box's lower-left corner, in (255, 128, 0) BGR
        x, y, w, h = f.box.as_tuple()
        changed = drawn[y + h - 30 : y + h, x : x + 40][(drawn != without)[y + h - 30 : y + h, x : x + 40].any(-1)]
        assert len(changed) > 20 and (changed == (255, 128, 0)).all(-1).any()
    assert (drawn == without)[(drawn != without).any(-1) == 0].all()


# ----------------------------------------------------------------------------- outputs
@pytest.fixture()
def gappy(jaffe, tmp_path) -> Path:
    """A clip whose frames 5-7 have no face."""
    return write_clip(tmp_path / "gappy.avi", iter(_leaving(jaffe, range(5, 8), 12)), fps=10)


def test_csv_rows_equal_the_json_lines_and_no_face_frames_have_empty_tracks(model, model_file, gappy):
    out = gappy.parent
    assert _video(model_file, str(gappy), "--csv", str(out / "t.csv"), "--log", str(out / "t.jsonl")) == 0
    with open(out / "t.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    classes = [str(c) for c in model.classes_]
    assert list(rows[0]) == ["frame", "time_s", "track", "x", "y", "w", "h", "label", *(f"p_{c}" for c in classes),
                             "score", *LANDMARK_COLUMNS]
    records = [json.loads(line) for line in (out / "t.jsonl").read_text().splitlines()]
    assert len(records) == 12
    expected = []
    for r in records:
        head = {"frame": str(r["frame"]), "time_s": repr(r["time"])}
        if not r["faces"]:
            expected.append({**head, **{k: "" for k in list(rows[0])[2:]}})
        for f in r["faces"]:
            expected.append({**head, "track": str(f["track"]), **dict(zip("xywh", map(str, f["box"]))),
                             "label": str(f["label"]), **{f"p_{c}": repr(f["probabilities"][c]) for c in classes},
                             "score": "", **{c: "" for c in LANDMARK_COLUMNS}})  # a cascade model: no landmarks
    assert rows == expected
    assert [r["frame"] for r in rows if r["track"] == ""] == ["5", "6", "7"]
    for r in rows:
        if r["track"]:
            assert sum(float(r[f"p_{c}"]) for c in classes) == pytest.approx(1.0, abs=1e-9)


def test_plot_and_summary(model, model_file, gappy):
    out = gappy.parent
    assert _video(model_file, str(gappy), "--plot", str(out / "p.png"), "--summary", str(out / "s.json"),
                  "--max-unseen", "2") == 0
    img = cv2.imread(str(out / "p.png"))
    assert img is not None and img.shape[0] > 200
    summary = json.loads((out / "s.json").read_text())
    assert summary["frames"] == 12 and summary["frames_with_faces"] == 9
    assert [t["track"] for t in summary["tracks"]] == [0, 1]  # away 3 frames > K=2: a new track
    assert [t["frames"] for t in summary["tracks"]] == [5, 4]
    for t in summary["tracks"]:
        assert sum(t["fraction"].values()) == pytest.approx(1.0)
        assert sum(t["mean_probability"].values()) == pytest.approx(1.0)
        assert list(t["fraction"]) == [str(c) for c in model.classes_]


def test_outputs_are_never_overwritten_without_the_flag(model_file, gappy):
    out = gappy.parent
    names = {"csv": "t.csv", "plot": "t.png", "summary": "t.json", "log": "t.jsonl"}
    for key, name in names.items():
        (out / name).write_text(f"mine {key}")
    args = [a for k, n in names.items() for a in (f"--{k}", str(out / n))]
    assert _video(model_file, str(gappy), *args) == 1
    assert all((out / n).read_text() == f"mine {k}" for k, n in names.items())
    assert sorted(p.name for p in out.iterdir()) == sorted([gappy.name, *names.values()])
    assert _video(model_file, str(gappy), *args, "--overwrite") == 0
    assert all((out / n).read_bytes()[:4] != b"mine" for n in names.values())
    assert _video(model_file, str(gappy), "--csv", str(gappy)) == 1  # never the input, even with --overwrite
    assert _video(model_file, str(gappy), "--plot", str(out / "p.jpg")) == 1


def test_several_inputs_in_parallel_need_stem_outputs(model_file, jaffe, tmp_path, capsys):
    a = write_clip(tmp_path / "a.avi", iter(_leaving(jaffe, range(0))[:6]), fps=10)
    b = write_clip(tmp_path / "b.avi", iter(_crossing(jaffe)[:6]), fps=10)
    assert _video(model_file, str(a), str(b), "--csv", str(tmp_path / "t.csv")) == 1
    assert "{stem}" in capsys.readouterr().err
    assert _video(model_file, str(a), str(b), "--csv", str(tmp_path / "out" / "{stem}.csv"),
                  "--summary", str(tmp_path / "out" / "{stem}.json"), "--jobs", "2") == 0
    err = capsys.readouterr().err
    assert "a.avi: 6 of 6 frames" in err and "b.avi: 6 of 6 frames" in err
    tracks = {s: json.loads((tmp_path / "out" / f"{s}.json").read_text())["tracks"] for s in "ab"}
    assert [len(tracks["a"]), len(tracks["b"])] == [1, 2]
    one = tmp_path / "one.csv"
    assert _video(model_file, str(b), "--csv", str(one)) == 0
    assert one.read_text() == (tmp_path / "out" / "b.csv").read_text()  # parallel gives what serial gives


def test_camera_and_input_choices_are_checked(model_file, gappy, capsys):
    assert _video(model_file, "--camera", "97", "--csv", str(gappy.parent / "cam.csv")) == 1
    assert "camera 97: cannot open" in capsys.readouterr().err
    assert not (gappy.parent / "cam.csv").exists()
    assert _video(model_file, str(gappy), "--camera", "0") == 1
    assert _video(model_file) == 1
    assert "either INPUT" in capsys.readouterr().err
    assert _video(model_file, str(gappy), str(gappy), "--log", "-") == 1
    assert "one file per input" in capsys.readouterr().err


def test_max_frames_and_every_are_reported_without_a_truncation_warning(model_file, gappy, capsys):
    assert _video(model_file, str(gappy), "--csv", str(gappy.parent / "m.csv"), "--max-frames", "3") == 0
    err = capsys.readouterr().err
    assert "3 of 12 frames" in err and "truncated" not in err
    assert _video(model_file, str(gappy), "--csv", str(gappy.parent / "e.csv"), "--every", "4") == 0
    err = capsys.readouterr().err
    assert "12 of 12 frames read, 3 analysed" in err and "truncated" not in err
    frames_ = [line.split(",")[0] for line in (gappy.parent / "e.csv").read_text().splitlines()[1:]]
    assert frames_ == ["0", "4", "8"]


def test_video_explain_outlines_the_strongest_region(model_file, jaffe, tmp_path):
    clip = write_clip(tmp_path / "one.avi", iter(_leaving(jaffe, range(0), n=6)))
    plain, explained = tmp_path / "plain.avi", tmp_path / "explained.avi"
    assert _video(model_file, str(clip), "--out", str(plain), "--log", str(tmp_path / "a.jsonl")) == 0
    assert _video(model_file, str(clip), "--out", str(explained), "--log", str(tmp_path / "b.jsonl"),
                  "--explain") == 0
    assert (tmp_path / "a.jsonl").read_text() == (tmp_path / "b.jsonl").read_text()  # the analysis is unchanged
    a, b = cv2.VideoCapture(str(plain)), cv2.VideoCapture(str(explained))
    differ = 0
    for _ in range(6):
        (ok_a, fa), (ok_b, fb) = a.read(), b.read()
        assert ok_a and ok_b
        differ += int(np.abs(fa.astype(int) - fb.astype(int)).max() > 60)  # a drawn outline, not codec noise
    assert differ >= 5


def test_video_explain_needs_an_output_video(model_file, jaffe, tmp_path, capsys):
    clip = write_clip(tmp_path / "one.avi", iter(_leaving(jaffe, range(0), n=3)))
    assert _video(model_file, str(clip), "--explain", "--csv", str(tmp_path / "t.csv")) != 0
    assert "--explain" in capsys.readouterr().err and not (tmp_path / "t.csv").exists()
