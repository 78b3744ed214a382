"""A camera source stopped by Ctrl-C: every output is completed from the frames seen so far.

There is no camera here: OpenCV's ``VideoCapture`` is replaced, for the camera index only, by a
stand-in that plays a synthetic clip and raises KeyboardInterrupt on a given read, as Ctrl-C
does while a real camera blocks in ``read``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from _clips import face_patch, frames, line

from dlfers.cli.main import main
from dlfers.video import sources as video_sources
from dlfers.video.annotate import annotate_video


class _Camera:
    """``cv2.VideoCapture`` of a camera: ``clip``'s frames (BGR), Ctrl-C on read ``stop`` (0-based)."""

    def __init__(self, clip: list[np.ndarray], stop: int) -> None:
        self.clip, self.stop, self.reads, self.released = clip, stop, 0, False

    def isOpened(self) -> bool:  # noqa: N802 (OpenCV's name)
        return True

    def get(self, prop: int) -> float:
        return 0.0  # a camera that does not report its rate or frame count

    def _next(self) -> np.ndarray:
        if self.reads == self.stop:
            raise KeyboardInterrupt
        frame = self.clip[self.reads % len(self.clip)]
        self.reads += 1
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)

    def grab(self) -> bool:
        self._next()
        return True

    def read(self) -> tuple[bool, np.ndarray]:
        return True, self._next()

    def release(self) -> None:
        self.released = True


@pytest.fixture()
def camera(jaffe, monkeypatch):
    """Camera index 0 plays a face moving right; Ctrl-C on the 9th read.  Yields the stand-in."""
    clip = list(frames([face_patch(jaffe.images[0])], [line((60, 100), (400, 160), 12)], 12))
    cam = _Camera(clip, stop=8)
    real = cv2.VideoCapture

    def capture(what):
        return cam if isinstance(what, int) else real(what)

    fake = SimpleNamespace(VideoCapture=capture, CAP_PROP_FPS=cv2.CAP_PROP_FPS,
                           CAP_PROP_FRAME_COUNT=cv2.CAP_PROP_FRAME_COUNT)
    monkeypatch.setattr(video_sources, "_cv2", lambda: fake)
    return cam


def test_ctrl_c_on_a_camera_completes_every_output(model, camera, tmp_path):
    out, log, table, summary = (tmp_path / n for n in ("cam.avi", "cam.jsonl", "cam.csv", "cam.json"))
    stats = annotate_video(model, 0, out=out, log=log, csv=table, summary=summary, progress=False)
    assert stats.limited and stats.frames == 8 and stats.read == 8
    assert camera.released
    lines = [json.loads(s) for s in log.read_text().splitlines()]
    assert [d["frame"] for d in lines] == list(range(8))
    rows = list(csv.DictReader(table.open(newline="")))
    assert sorted({int(r["frame"]) for r in rows}) == list(range(8))
    assert json.loads(summary.read_text())["source"] == "camera 0"
    cap = cv2.VideoCapture(str(out))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 8  # the annotated video holds every frame analysed before Ctrl-C
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cam.avi", "cam.csv", "cam.json", "cam.jsonl"]


def test_ctrl_c_on_a_file_is_not_swallowed(model, tmp_path, monkeypatch):
    # only a camera ends on Ctrl-C; a file's run is interrupted and leaves no output behind
    src = tmp_path / "clip"
    src.mkdir()
    for i in range(3):
        cv2.imwrite(str(src / f"{i:03d}.png"), np.full((64, 64), 100, np.uint8))

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(video_sources, "read_image", interrupt)
    with pytest.raises(KeyboardInterrupt):
        annotate_video(model, src, csv=tmp_path / "t.csv", progress=False)
    assert not (tmp_path / "t.csv").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["clip"]


def test_camera_option_of_the_cli(model_file, camera, tmp_path, capsys):
    table = tmp_path / "cam.csv"
    assert main(["video", str(model_file), "--camera", "0", "--csv", str(table), "--quiet"]) == 0
    assert sorted({int(r["frame"]) for r in csv.DictReader(table.open(newline=""))}) == list(range(8))


def test_the_stand_in_is_only_for_cameras(camera, tmp_path):
    # a video file still goes to OpenCV (the stand-in replaces the camera index only)
    with pytest.raises(ValueError, match="cannot open as a video"):
        video_sources.FrameSource(Path(__file__))
