"""``dlfers extract``: shards equal DLFERS.extract, bad files are logged, kills resume, configs are checked."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dlfers import DLFERS
from dlfers.cli.main import main
from dlfers.data.folders import _fingerprint
from dlfers.evaluation.protocols import evaluate
from dlfers.image.read import read_image
from dlfers.store.extract import extract_dataset, iter_batches, load_features, read_errors

SMALL = dict(face_size=64, step=4, n_words=10)
SMALL_ARGS = ["--face-size", "64", "--step", "4", "--n-words", "10"]


def _link_subset(jaffe_dir: Path, folder: Path, n: int, every: int = 1) -> list[Path]:
    """``folder`` with symlinks to ``n`` JAFFE files (nothing is copied)."""
    folder.mkdir()
    files = sorted(jaffe_dir.glob("*.tiff"))[::every][:n]
    for f in files:
        (folder / f.name).symlink_to(f)
    return [folder / f.name for f in files]


def _shards(out: Path) -> dict[str, dict[str, np.ndarray]]:
    return {f"batch-{b:05d}": z for b, z in enumerate(iter_batches(out))}


def _assert_same_output(a: Path, b: Path) -> None:
    sa, sb = _shards(a), _shards(b)
    assert sa.keys() == sb.keys() and sa
    for name in sa:
        assert sa[name].keys() == sb[name].keys()
        for key in sa[name]:
            assert np.array_equal(sa[name][key], sb[name][key], equal_nan=sa[name][key].dtype.kind == "f"), (name, key)
    assert read_errors(a) == read_errors(b)


def test_bad_files_are_logged_and_every_other_file_is_written(jaffe_dir, tmp_path):
    data = tmp_path / "data"
    good = _link_subset(jaffe_dir, data, 7, every=30)
    (data / "KA.SA1.90.tiff").write_bytes(good[0].read_bytes()[:300])  # truncated TIFF
    (data / "KA.SU1.91.tiff").write_text("not an image\n")  # a text file named .tiff
    model = DLFERS(**SMALL)
    s = extract_dataset(data, tmp_path / "out", model, batch_size=3, n_jobs=1)
    assert (s["n_items"], s["n_extracted"], s["n_errors"], s["n_batches"]) == (9, 7, 2, 3)

    errors = {Path(e["file"]).name: e["problem"] for e in read_errors(tmp_path / "out")}
    assert set(errors) == {"KA.SA1.90.tiff", "KA.SU1.91.tiff"}
    assert "corrupt or truncated" in errors["KA.SA1.90.tiff"]
    assert "not a recognised image format" in errors["KA.SU1.91.tiff"]

    got = load_features(tmp_path / "out")
    assert sorted(Path(n).name for n in got.names) == sorted(f.name for f in good)
    assert got.encodings is None
    want = model.extract([read_image(n) for n in got.names])
    for g, w in zip(got.features, want, strict=True):
        assert g.found == w.found and g.box == w.box
        assert np.array_equal(g.face, w.face) and np.array_equal(g.regions, w.regions)
        assert g.descriptors.keys() == w.descriptors.keys()
        for kind in w.descriptors:
            assert g.descriptors[kind].dtype == np.float32
            assert np.array_equal(g.descriptors[kind], w.descriptors[kind])


def test_stored_features_give_the_same_evaluation(jaffe_dir, tmp_path):
    _link_subset(jaffe_dir, tmp_path / "data", 36, every=6)
    model = DLFERS(**SMALL)
    extract_dataset(tmp_path / "data", tmp_path / "out", model, batch_size=10, n_jobs=2)
    got = load_features(tmp_path / "out")
    direct = evaluate(tmp_path / "data", "kfold", folds=2, model=model, baseline=False, n_jobs=1)
    stored = evaluate(tmp_path / "data", "kfold", folds=2, model=model, baseline=False, n_jobs=1,
                      features=got.features)
    assert stored["predictions"] == direct["predictions"]
    assert got.labels.tolist() == direct["labels"]


def test_killed_extract_resumes_without_recomputing_finished_batches(jaffe_dir, tmp_path):
    data = tmp_path / "data"
    _link_subset(jaffe_dir, data, 40, every=5)
    args = ["extract", str(data), "--batch-size", "2", "--jobs", "1", "--quiet", *SMALL_ARGS]
    out = tmp_path / "resumed"
    proc = subprocess.Popen([sys.executable, "-m", "dlfers", *args, "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (out / "batch-00000.npz").exists():
            assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline, "no shard was written within 120 s"
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("batch-*.npz")}
    assert 1 <= len(before) < 20, f"{len(before)} of 20 shards written before the kill"

    summary_file = tmp_path / "summary.json"
    assert main([*args, "--out", str(out), "--json", str(summary_file)]) == 0
    s = json.loads(summary_file.read_text())
    assert s["batches_skipped"] == len(before) and s["batches_computed"] == 20 - len(before)
    assert s["n_extracted"] == 40 and s["n_errors"] == 0
    assert {n: (out / n).stat().st_mtime_ns for n in before} == before  # finished shards untouched
    assert not list(out.glob(".*.tmp"))

    assert main([*args, "--out", str(tmp_path / "whole")]) == 0
    _assert_same_output(out, tmp_path / "whole")

    again = tmp_path / "summary-again.json"  # --json never replaces an existing file without --overwrite
    assert main([*args, "--out", str(out), "--json", str(again)]) == 0  # nothing left to do
    assert json.loads(again.read_text())["batches_computed"] == 0


def test_a_folder_of_another_configuration_is_refused_unless_overwrite(jaffe_dir, tmp_path, capsys):
    data = tmp_path / "data"
    files = _link_subset(jaffe_dir, data, 4, every=50)
    out = tmp_path / "out"
    extract_dataset(data, out, DLFERS(**SMALL), batch_size=2, n_jobs=1)
    with pytest.raises(ValueError, match=r"different configuration \(config\.face_size differ\).*--overwrite"):
        extract_dataset(data, out, DLFERS(**{**SMALL, "face_size": 48}), batch_size=2, n_jobs=1)
    with pytest.raises(ValueError, match="batch_size differ"):
        extract_dataset(data, out, DLFERS(**SMALL), batch_size=3, n_jobs=1)
    assert main(["extract", str(data), "--out", str(out), "--quiet", "--jobs", "1", "--face-size", "48"]) == 1
    assert "different configuration" in capsys.readouterr().err

    other = sorted(jaffe_dir.glob("*.tiff"))[1]
    files[0].unlink()  # the file changed (another image, another modification time): its fingerprint differs
    files[0].symlink_to(other)
    assert _fingerprint(str(files[0])) != _fingerprint(str(jaffe_dir / files[0].name))
    with pytest.raises(ValueError, match="files of the data set"):
        extract_dataset(data, out, DLFERS(**SMALL), batch_size=2, n_jobs=1)

    s = extract_dataset(data, out, DLFERS(**{**SMALL, "face_size": 48}), batch_size=2, n_jobs=1, overwrite=True)
    assert s["batches_computed"] == 2 and s["batches_skipped"] == 0
    assert load_features(out).features[0].face.shape == (48, 48)
    assert json.loads((out / "manifest.json").read_text())["config"]["face_size"] == 48

    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty and holds no manifest.json"):
        extract_dataset(data, tmp_path / "other", DLFERS(**SMALL), n_jobs=1)


def test_a_fitted_model_also_writes_its_encodings(jaffe, jaffe_dir, tmp_path, capsys):
    data = tmp_path / "data"
    _link_subset(jaffe_dir, data, 12, every=17)
    idx = np.arange(0, len(jaffe), 4)
    model = DLFERS(**SMALL).fit([jaffe.images[i] for i in idx], jaffe.labels[idx])
    model.save(tmp_path / "m.dlfers")
    args = ["extract", str(data), "--out", str(tmp_path / "out"), "--model", str(tmp_path / "m.dlfers"),
            "--no-descriptors", "--no-faces", "--batch-size", "5", "--jobs", "1", "--quiet"]
    assert main(args) == 0
    assert "12 of 12 images extracted" in capsys.readouterr().out
    got = load_features(tmp_path / "out")
    assert got.features == [] and got.encodings is not None
    want = model.transform([read_image(n) for n in got.names])
    assert got.encodings.dtype == np.float32 and np.array_equal(got.encodings, want)
    shard = next(iter_batches(tmp_path / "out"))
    assert "desc_tisf" not in shard and "face" not in shard

    assert main([*args[:-1], "--quiet", "--n-words", "4"]) == 1
    assert "--model sets the configuration" in capsys.readouterr().err


# ------------------------------------------------------------------ several data sets
def _ck_subset(ck_dir: Path, folder: Path, per_class: int) -> None:
    """A folder-per-class set of symlinks to the first ``per_class`` CK+48 faces of each class."""
    for cls in sorted(d for d in ck_dir.iterdir() if d.is_dir()):
        (folder / cls.name).mkdir(parents=True)
        for f in sorted(cls.glob("*.png"))[:per_class]:
            (folder / cls.name / f.name).symlink_to(f)


def test_several_data_sets_record_set_subject_and_alignment_and_round_trip(jaffe_dir, tmp_path, capsys, recwarn):
    from conftest import data_dir

    from dlfers.data.sources import extract_sources, load_datasets

    ck_dir = data_dir() / "ckplus48"
    if not ck_dir.is_dir():
        pytest.skip(f"CK+48 not found at {ck_dir} (set DLFERS_DATA to the folder holding ckplus48/)")
    _link_subset(jaffe_dir, tmp_path / "jaffe", 12, every=17)
    _ck_subset(ck_dir, tmp_path / "ck", 2)
    sets = [tmp_path / "jaffe", tmp_path / "ck"]
    summary = tmp_path / "s.json"
    args = ["extract", *map(str, sets), "--out", str(tmp_path / "out"), "--batch-size", "5", "--jobs", "1",
            "--quiet", "--align", "--alias", "contempt=disdain", "--subject-pattern", "^(S[0-9]+)_",
            "--json", str(summary), *SMALL_ARGS]
    assert main(args) == 0
    # the eyes not found are counted once in the summary, not warned about image by image
    assert not [w for w in recwarn if "eye alignment" in str(w.message)]
    s = json.loads(summary.read_text())
    assert [(d["name"], d["precropped"], d["n_images"]) for d in s["datasets"]] == [("jaffe", False, 12),
                                                                                    ("ck", True, 14)]
    assert s["datasets"][1]["aliases_applied"] == {"contempt": "disdain", "sadness": "sad"}
    assert "taken as pre-cropped faces" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["format_version"] == 2 and manifest["datasets"] == s["datasets"]

    got = load_features(tmp_path / "out")
    src = load_datasets(sets, aliases={"contempt": "disdain"}, subject_pattern="^(S[0-9]+)_")
    assert got.index.tolist() == list(range(26))
    assert got.datasets.tolist() == ["jaffe"] * 12 + ["ck"] * 14
    assert got.subjects.tolist() == list(src.dataset.subjects) and got.subjects[-1].startswith("ck:S")
    assert got.labels.tolist() == list(src.dataset.labels) and "disdain" in got.labels and "sad" in got.labels
    want = extract_sources(DLFERS(**SMALL, align=True), src)  # what evaluate A B extracts
    assert [f.aligned for f in got.features] == [f.aligned for f in want]
    assert all(a is not None for a in (f.aligned for f in got.features))
    assert s["eyes_not_found"] == sum(f.aligned is False for f in want)
    for g, w in zip(got.features, want, strict=True):
        assert g.found == w.found and g.box == w.box
        assert all(np.array_equal(g.descriptors[k], w.descriptors[k]) for k in w.descriptors)

    # a folder of format version 1 (no data set, no alignment flag) still loads
    for p in sorted((tmp_path / "out").glob("batch-*.npz")):
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if k not in ("dataset", "aligned")}
        np.savez(p, **arrays)
    old = load_features(tmp_path / "out")
    assert old.datasets.tolist() == [""] * 26 and all(f.aligned is None for f in old.features)
