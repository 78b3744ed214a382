"""``dlfers video`` never loses data, and says when a video stopped early or had no face."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _trained import write_video

from dlfers import load
from dlfers.cli.main import main
from dlfers.video.annotate import annotate_video


@pytest.fixture()
def clip(jaffe, tmp_path) -> Path:
    path = tmp_path / "in.avi"
    write_video(path, list(jaffe.images[:4]))
    return path


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _video(model_file: Path, *args: str) -> int:
    return main(["video", str(model_file), *args, "--quiet"])


# ----------------------------------------------------------------------------- item 2: data loss
def test_out_or_log_naming_the_input_leaves_the_input_unchanged(model_file, clip, capsys, monkeypatch):
    before = _files(clip.parent)
    (clip.parent / "link.avi").symlink_to(clip)
    monkeypatch.chdir(clip.parent)
    for args in (["--out", str(clip)], ["--log", str(clip)], ["--out", "./in.avi"], ["--out", "link.avi"],
                 ["--out", "x.avi", "--log", "in.avi"], ["--out", str(clip), "--overwrite"]):
        assert _video(model_file, str(clip), *args) == 1, args
        assert "would overwrite the input" in capsys.readouterr().err, args
        assert {k: v for k, v in _files(clip.parent).items() if k != "link.avi"} == before, args


def test_existing_outputs_are_kept_without_overwrite(model_file, clip, capsys):
    log = clip.parent / "clip.jsonl"
    log.write_text("my notes\n")
    out = clip.parent / "clip.avi"
    assert _video(model_file, str(clip), "--out", str(out)) == 1
    err = capsys.readouterr().err
    assert "clip.jsonl" in err and "--overwrite" in err
    assert log.read_text() == "my notes\n" and not out.exists()
    out.write_bytes(b"old video")
    log.unlink()
    assert _video(model_file, str(clip), "--out", str(out)) == 1
    assert out.read_bytes() == b"old video" and not log.exists()
    assert "clip.avi" in capsys.readouterr().err
    assert _video(model_file, str(clip), "--out", str(out), "--overwrite") == 0
    assert out.read_bytes() != b"old video" and len(log.read_text().splitlines()) == 4


@pytest.mark.parametrize("bad_out", ["clip.xyz", "folder"])
def test_failed_out_leaves_nothing_behind(model_file, clip, bad_out, capsys):
    (clip.parent / "folder").mkdir()
    before = _files(clip.parent)
    assert _video(model_file, str(clip), "--out", str(clip.parent / bad_out)) == 1
    assert bad_out in capsys.readouterr().err
    assert _files(clip.parent) == before
    assert sorted(p.name for p in clip.parent.iterdir()) == ["folder", "in.avi"]


def test_unreadable_input_leaves_no_partial_outputs(model_file, tmp_path, capsys):
    (tmp_path / "bad.mp4").write_text("not a video")
    assert _video(model_file, str(tmp_path / "bad.mp4"), "--out", str(tmp_path / "out.avi")) == 1
    assert "bad.mp4" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["bad.mp4"]


def test_outputs_appear_only_when_complete(model_file, clip, jaffe_small):
    """While frames are processed only hidden temporary files exist; the real names appear at the end."""
    model = load(model_file)
    seen: list[list[str]] = []
    original = model.predict_image

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(sorted(p.name for p in clip.parent.iterdir()))
        return original(*args, **kwargs)

    model.predict_image = spy  # type: ignore[method-assign]
    annotate_video(model, clip, clip.parent / "a.avi", clip.parent / "a.jsonl", progress=False)
    assert seen and all("a.avi" not in names and "a.jsonl" not in names for names in seen)
    assert sorted(p.name for p in clip.parent.iterdir()) == ["a.avi", "a.jsonl", "in.avi"]


# ----------------------------------------------------------------------------- item 3: truncated video
def test_half_cut_video_is_reported_against_the_container_frame_count(model_file, jaffe, tmp_path, capsys):
    full = tmp_path / "full.avi"
    write_video(full, list(jaffe.images[:20]))
    cut = tmp_path / "cut.avi"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    assert _video(model_file, str(full), "--log", str(tmp_path / "full.jsonl")) == 0
    err = capsys.readouterr().err
    assert "20 of 20 frames" in err and "warning" not in err
    assert _video(model_file, str(cut), "--log", str(tmp_path / "cut.jsonl")) == 0
    err = capsys.readouterr().err
    read = len((tmp_path / "cut.jsonl").read_text().splitlines())
    assert 0 < read < 20 and f"{read} of 20 frames" in err
    assert "warning" in err and "truncated or damaged" in err and "cut.avi" in err

    with pytest.warns(RuntimeWarning, match="truncated"):
        stats = annotate_video(load(model_file), cut, progress=False, log=None)
    assert stats.stopped_early and (stats.frames, stats.expected_frames) == (read, 20)


# ----------------------------------------------------------------------------- items 4, 5 in video
def test_whole_video_without_a_face_warns(model_file, tmp_path, capsys):
    write_video(tmp_path / "empty.avi", [np.full((120, 160), v, np.uint8) for v in (60, 90, 120)])
    assert _video(model_file, str(tmp_path / "empty.avi"), "--log", str(tmp_path / "e.jsonl")) == 0
    err = capsys.readouterr().err
    assert "no face found in any of the 3 frames" in err and "--detect-size" in err


def test_video_detector_overrides_reach_every_frame(model_file, jaffe, tmp_path, capsys):
    canvas = np.full((768, 1024), 128, np.uint8)
    canvas[256:512, 384:640] = jaffe.images[0]  # a face a third of the frame's shorter side
    write_video(tmp_path / "wide.avi", [canvas, canvas])
    assert _video(model_file, str(tmp_path / "wide.avi"), "--log", str(tmp_path / "a.jsonl"),
                  "--min-face", "0.5") == 0
    assert "no face found" in capsys.readouterr().err
    assert _video(model_file, str(tmp_path / "wide.avi"), "--log", str(tmp_path / "b.jsonl"),
                  "--min-face", "0.1") == 0
    assert "no face found" not in capsys.readouterr().err
    assert [json.loads(line)["status"] for line in (tmp_path / "b.jsonl").read_text().splitlines()] == ["ok"] * 2


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_video_max_faces_below_one_is_a_usage_error(model_file, clip, value, capsys):
    with pytest.raises(SystemExit) as exc:
        _video(model_file, str(clip), "--max-faces", value)
    assert exc.value.code == 2 and "--max-faces" in capsys.readouterr().err


def test_annotate_video_refuses_max_faces_zero(model_file, clip):
    with pytest.raises(ValueError, match="max_faces"):
        annotate_video(load(model_file), clip, log=None, progress=False, max_faces=0)


def test_video_detector_override_out_of_range_fails_before_any_frame(model_file, clip, capsys):
    assert _video(model_file, str(clip), "--log", str(clip.parent / "x.jsonl"), "--detect-scale", "1.0") == 1
    assert "scale_factor must be a number in (1, 2]" in capsys.readouterr().err
    assert sorted(p.name for p in clip.parent.iterdir()) == ["in.avi"]
