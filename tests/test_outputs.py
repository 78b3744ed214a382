"""Output files: never an input, never an existing file without overwrite, written then renamed."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from dlfers._util.outputs import atomic_open, atomic_path, check_output, check_outputs, same_file


def _listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_input_is_refused_under_any_spelling_even_with_overwrite(tmp_path, monkeypatch):
    src = tmp_path / "in.mp4"
    src.write_bytes(b"video bytes")
    (tmp_path / "link.mp4").symlink_to(src)
    os.link(src, tmp_path / "hard.mp4")
    monkeypatch.chdir(tmp_path)
    for spelling in (src, "in.mp4", "./in.mp4", tmp_path / "sub" / ".." / "in.mp4", "link.mp4", "hard.mp4"):
        with pytest.raises(ValueError, match="would overwrite the input"):
            check_output(spelling, [src], overwrite=True)
    assert src.read_bytes() == b"video bytes"


def test_existing_file_needs_overwrite_and_a_folder_is_refused(tmp_path):
    (tmp_path / "log.jsonl").write_text("old")
    with pytest.raises(FileExistsError, match="log.jsonl.*--overwrite"):
        check_output(tmp_path / "log.jsonl")
    assert check_output(tmp_path / "log.jsonl", overwrite=True) == tmp_path / "log.jsonl"
    with pytest.raises(ValueError, match="existing folder"):
        check_output(tmp_path, overwrite=True)


def test_two_outputs_with_one_path_are_refused(tmp_path):
    with pytest.raises(ValueError, match="same file"):
        check_outputs([(tmp_path / "a.avi", "video"), (tmp_path / "./a.avi", "log")])


def test_same_file_compares_real_paths_and_inodes(tmp_path):
    a = tmp_path / "a"
    a.write_text("x")
    (tmp_path / "b").symlink_to(a)
    assert same_file(a, tmp_path / "b") and same_file(a, tmp_path / "." / "a")
    assert not same_file(a, tmp_path / "missing")


def test_atomic_open_renames_only_on_success(tmp_path):
    dest = tmp_path / "out.json"
    with atomic_open(dest) as f:
        f.write("partial")
        assert not dest.exists() and len(list(tmp_path.iterdir())) == 1  # only the temporary file
    assert dest.read_text() == "partial" and _listing(tmp_path) == {"out.json": b"partial"}


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    dest = tmp_path / "out.json"
    dest.write_text("old")
    with pytest.raises(RuntimeError), atomic_open(dest, overwrite=True) as f:
        f.write("new")
        raise RuntimeError("interrupted")
    assert _listing(tmp_path) == {"out.json": b"old"}


def test_atomic_path_keeps_the_suffix_and_discards_an_unwritten_temporary(tmp_path):
    with atomic_path(tmp_path / "clip.avi") as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".avi" and not tmp.exists()
    assert list(tmp_path.iterdir()) == []  # nothing written: nothing renamed, nothing left


def test_file_appearing_during_the_write_is_not_replaced(tmp_path):
    dest = tmp_path / "out.txt"
    with pytest.raises(FileExistsError), atomic_open(dest) as f:
        f.write("mine")
        dest.write_text("someone else's")
    assert _listing(tmp_path) == {"out.txt": b"someone else's"}


def test_concurrent_writers_use_distinct_temporaries(tmp_path):
    names: list[Path] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def work(i: int) -> None:
        start.wait()
        with atomic_path(tmp_path / "same.bin", overwrite=True) as tmp:
            with lock:
                names.append(tmp)
            tmp.write_bytes(bytes([i]) * 1000)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(names)) == 8
    data = (tmp_path / "same.bin").read_bytes()
    assert len(data) == 1000 and len(set(data)) == 1  # one writer's whole file, never a mix
    assert [p.name for p in tmp_path.iterdir()] == ["same.bin"]
