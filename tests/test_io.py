"""dlfers._util.files: the one error base, the one atomic write (umask respected), the one JSON converter."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from dlfers import ImageError, ModelFileError
from dlfers._util.files import FileError, atomic_write, jsonable


@pytest.fixture
def umask():
    """Set the process umask for one test and restore it afterwards."""
    old = os.umask(0o022)
    yield lambda m: os.umask(m)
    os.umask(old)


def test_image_and_model_file_errors_share_one_base_with_path_and_problem():
    for cls in (ImageError, ModelFileError):
        e = cls("a/b.png", "file is empty (0 bytes)")
        assert isinstance(e, FileError) and isinstance(e, ValueError)
        assert (e.path, e.problem, str(e)) == ("a/b.png", "file is empty (0 bytes)", "a/b.png: file is empty (0 bytes)")
    assert str(FileError(None, "no path")) == "no path" and FileError(None, "x").path is None


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_write_gives_the_permissions_open_would(tmp_path, umask, mask, mode):
    umask(mask)
    atomic_write(tmp_path / "out.bin", lambda fh: fh.write(b"abc"))
    with open(tmp_path / "plain.bin", "wb") as fh:
        fh.write(b"abc")
    assert stat.S_IMODE((tmp_path / "out.bin").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "plain.bin").stat().st_mode) == mode


def test_atomic_write_replaces_whole_files_and_leaves_no_temporary(tmp_path):
    p = tmp_path / "sub" / "report.md"
    atomic_write(p, lambda fh: fh.write("first\n"), "w")
    atomic_write(p, lambda fh: fh.write("second\n"), "w")
    assert p.read_text() == "second\n"
    assert sorted(x.name for x in p.parent.iterdir()) == ["report.md"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    p = tmp_path / "model.dlfers"
    p.write_bytes(b"old")

    def fail(fh):
        fh.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(p, fail)
    assert p.read_bytes() == b"old" and [x.name for x in tmp_path.iterdir()] == ["model.dlfers"]


def test_jsonable_converts_numpy_and_paths_and_refuses_the_rest():
    text = json.dumps({"a": np.float32(0.5), "b": np.arange(3), "c": Path("x/y"), "d": np.int64(7)}, default=jsonable)
    assert json.loads(text) == {"a": 0.5, "b": [0, 1, 2], "c": "x/y", "d": 7}
    with pytest.raises(TypeError, match="set"):
        json.dumps({1, 2}, default=jsonable)
