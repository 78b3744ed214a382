"""Trust, round two (issue 27): each case of the hostile trial that lost a file, hung, blew up or said
too little, planted and caught.  Small data (18 JAFFE faces in class folders) and a tiny model."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from _trained import write_video

import dlfers
from dlfers import DLFERS, load
from dlfers.cli.main import build_parser, main

#: train/evaluate/extract options for a model that fits in a second
TINY = ["--layout", "whole", "--n-words", "4", "--step", "6", "--descriptors", "tisf", "--face-size", "48"]
TINY_PARAMS = dict(layout="whole", n_words=4, step=6, descriptors="tisf", face_size=48)


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def tiny_data(jaffe, tmp_path_factory) -> Path:
    """Folder per class: 3 classes x 6 JAFFE images (PNG)."""
    root = tmp_path_factory.mktemp("tiny")
    for cls in ("happy", "sad", "surprise"):
        (root / cls).mkdir()
        for i in np.flatnonzero(jaffe.labels == cls)[:6]:
            cv2.imwrite(str(root / cls / f"{jaffe.subjects[i]}_{i}.png"), jaffe.images[i])
    return root


@pytest.fixture(scope="module")
def tiny_model(tiny_data, tmp_path_factory) -> Path:
    """A tiny model trained on ``tiny_data``, saved (copy it before a test may harm it)."""
    files = sorted(tiny_data.glob("*/*.png"))
    m = DLFERS(**TINY_PARAMS).fit([cv2.imread(str(f), 0) for f in files], [f.parent.name for f in files])
    path = tmp_path_factory.mktemp("tinymodel") / "tiny.dlfers"
    m.save(path)
    return path


@pytest.fixture
def ds(tiny_data, tmp_path) -> Path:
    """A private copy of ``tiny_data`` (a test may try to write into it)."""
    return Path(shutil.copytree(tiny_data, tmp_path / "ds"))


@pytest.fixture
def mm(tiny_model, tmp_path) -> Path:
    """A private copy of the model file."""
    return Path(shutil.copy(tiny_model, tmp_path / "mm.dlfers"))


@pytest.fixture(scope="module")
def clip(jaffe, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "v.avi"
    write_video(path, [jaffe.images[i] for i in range(4)])
    return path


def _digest(path: Path) -> bytes:
    return path.read_bytes()


# ----------------------------------------------------------------------------- a user's file is lost
@pytest.mark.parametrize("option", ["--csv", "--log", "--summary", "--plot"])
def test_video_outputs_never_replace_the_model_file(tiny_model, clip, tmp_path, option, capsys):
    model = Path(shutil.copy(tiny_model, tmp_path / ("mm.png" if option == "--plot" else "mm.dlfers")))
    before = _digest(model)
    rc = main(["video", str(model), str(clip), option, str(model), "--overwrite", "--max-frames", "2", "--quiet"])
    assert rc == 1 and "would overwrite the input" in capsys.readouterr().err
    assert _digest(model) == before


def test_extract_json_never_replaces_the_model_file(ds, mm, tmp_path, capsys):
    before = _digest(mm)
    rc = main(["extract", str(ds), "--out", str(tmp_path / "f"), "--model", str(mm), "--json", str(mm),
               "--overwrite", "--quiet", "--jobs", "1"])
    assert rc == 1 and "would overwrite the input" in capsys.readouterr().err
    assert _digest(mm) == before and not (tmp_path / "f").exists()  # refused before any work


def test_train_never_writes_inside_the_data_folder_even_with_overwrite(ds, capsys):
    victim = next(ds.glob("happy/*.png"))
    before = _digest(victim)
    assert main(["train", str(ds), "--out", str(victim), "--overwrite", "--quiet", "--jobs", "1", *TINY]) == 1
    assert "inside the input folder" in capsys.readouterr().err
    assert _digest(victim) == before


@pytest.mark.parametrize("command", ["evaluate", "extract"])
def test_json_reports_never_go_inside_the_data_folder(command, ds, tmp_path, capsys, monkeypatch):
    import dlfers.data.sources
    import dlfers.evaluation.crossdata
    import dlfers.store.extract

    def no_work(*a, **k):
        raise AssertionError("the work started before the output was checked")

    for mod, name in ((dlfers.evaluation.crossdata, "evaluate_sets"), (dlfers.store.extract, "extract_dataset")):
        monkeypatch.setattr(mod, name, no_work)
    victim = next(ds.glob("sad/*.png"))
    before = _digest(victim)
    args = [command, str(ds), "--json", str(victim), "--overwrite", "--quiet", "--jobs", "1", *TINY]
    if command == "extract":
        args += ["--out", str(tmp_path / "f")]
    assert main(args) == 1
    assert "inside the input folder" in capsys.readouterr().err
    assert _digest(victim) == before


def test_video_never_overwrites_a_frame_of_its_input_folder(ds, mm, capsys):
    frames = ds / "happy"
    victim = next(frames.glob("*.png"))
    before = _digest(victim)
    assert main(["video", str(mm), str(frames), "--csv", str(victim), "--overwrite", "--quiet"]) == 1
    assert "inside the input folder" in capsys.readouterr().err
    assert _digest(victim) == before


def test_explain_never_overwrites_an_input_it_has_not_read_yet(jaffe_file, mm, tmp_path, capsys):
    ex = tmp_path / "ex"
    ex.mkdir()
    shutil.copy(jaffe_file, ex / "p.png")
    (ex / "p.face0.png").write_bytes(_digest(ex / "p.png"))  # an input named like p.png's first output
    before = _digest(ex / "p.face0.png")
    rc = main(["explain", str(mm), str(ex / "p.png"), str(ex / "p.face0.png"), "--out", str(ex), "--overwrite",
               "--quiet"])
    assert rc == 1 and "would overwrite the input" in capsys.readouterr().err
    assert _digest(ex / "p.face0.png") == before and not (ex / "p.face0.json").exists()


def test_reproduce_has_overwrite_and_keeps_an_earlier_report(ds, tmp_path, monkeypatch, capsys):
    args = build_parser().parse_args(["reproduce", str(ds), "--out", str(tmp_path / "rep"), "--overwrite"])
    assert args.overwrite is True
    import dlfers.evaluation.reproduce.experiments as experiments

    monkeypatch.setattr(experiments, "load_dataset", lambda *a, **k: (_ for _ in ()).throw(
        AssertionError("the work started before the report folder was checked")))
    rep = tmp_path / "rep"
    rep.mkdir()
    (rep / "report.md").write_text("an earlier report")
    assert main(["reproduce", str(ds), "--out", str(rep), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "report.md" in err and "--overwrite" in err
    assert (rep / "report.md").read_text() == "an earlier report"


def test_extract_out_may_not_be_the_data_folder_or_inside_it(ds, capsys):
    before = sorted(p.name for p in ds.rglob("*"))
    for out in (ds, ds / "features"):
        assert main(["extract", str(ds), "--out", str(out), "--quiet", "--jobs", "1", *TINY]) == 1
        assert "input" in capsys.readouterr().err
    assert sorted(p.name for p in ds.rglob("*")) == before


def test_ablation_and_reproduce_refuse_a_file_as_out_before_the_run(ds, tmp_path, monkeypatch, capsys):
    import dlfers.evaluation.ablation as ablation
    import dlfers.evaluation.reproduce.experiments as experiments

    def no_work(*a, **k):
        raise AssertionError("the work started before --out was checked")

    monkeypatch.setattr(ablation, "run_ablation", no_work)
    monkeypatch.setattr(experiments, "load_dataset", no_work)
    out = tmp_path / "a-file"
    out.write_text("x")
    assert main(["ablation", str(ds), "--out", str(out), "--quiet"]) == 1
    assert "existing file; give a folder" in capsys.readouterr().err
    assert main(["reproduce", str(ds), "--out", str(out), "--quiet"]) == 1
    assert "existing file; give a folder" in capsys.readouterr().err


def test_an_unwritable_output_folder_is_said_before_the_work_naming_the_output(ds, monkeypatch, capsys):
    import dlfers.data.sources

    monkeypatch.setattr(dlfers.data.sources, "load_datasets", lambda *a, **k: (_ for _ in ()).throw(
        AssertionError("the work started before the output folder was checked")))
    out = "/proc/dlfers-no-such-folder/m.dlfers"  # /proc takes no new files, even from root
    assert main(["train", str(ds), "--out", out, "--quiet", *TINY]) == 1
    err = capsys.readouterr().err
    assert "not writable" in err and out in err and ".tmp" not in err


def test_explain_says_an_unwritable_folder_once_before_reading(jaffe_file, mm, capsys):
    assert main(["explain", str(mm), str(jaffe_file), str(jaffe_file), "--out", "/proc/dlfers-ex", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("not writable") == 1 and "ERROR" not in capsys.readouterr().out


def test_train_out_ending_with_a_separator_is_refused(ds, tmp_path, monkeypatch, capsys):
    import dlfers.data.sources

    monkeypatch.setattr(dlfers.data.sources, "load_datasets", lambda *a, **k: (_ for _ in ()).throw(
        AssertionError("the work started before --out was checked")))
    assert main(["train", str(ds), "--out", str(tmp_path / "newdir") + "/", "--quiet", *TINY]) == 1
    assert "names a folder" in capsys.readouterr().err
    assert not (tmp_path / "newdir").exists()


# ----------------------------------------------------------------------------- FIFOs, devices, bombs
def _fifo(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    os.mkfifo(path)
    return path


def _bounded(fn, fifo: Path, seconds: float = 20.0):
    """``fn()`` in a thread; if it is still blocked after ``seconds`` (on the FIFO), release it and fail."""
    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # a writer that closes: the reader sees EOF
        os.close(fd)
        t.join(10)
        pytest.fail(f"blocked on the FIFO {fifo} for {seconds} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def test_a_fifo_image_is_refused_not_waited_for(mm, tmp_path):
    from dlfers.predict.files import predict_files

    fifo = _fifo(tmp_path, "x.fifo.png")
    records = _bounded(lambda: list(predict_files(load(mm), [fifo])), fifo)
    assert records[0]["status"] == "error" and "named pipe" in records[0]["error"]


def test_a_fifo_model_is_refused_not_waited_for(tmp_path):
    from dlfers.model.file import ModelFileError

    fifo = _fifo(tmp_path, "m.dlfers")
    with pytest.raises(ModelFileError, match="named pipe"):
        _bounded(lambda: load(fifo), fifo)


def _limited(code: str, limit_bytes: int = 2 << 30) -> subprocess.CompletedProcess:
    """``python -c code`` with its address space limited (a runaway read fails there, not on the machine)."""
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          preexec_fn=cap)


def test_dev_zero_as_a_model_or_an_image_is_refused_before_reading():
    r = _limited("import dlfers\ntry:\n    dlfers.load('/dev/zero')\nexcept dlfers.ModelFileError as e:\n"
                 "    print(e)")
    assert r.returncode == 0 and "character device" in r.stdout, r.stderr[-1500:]
    r = _limited("from dlfers.image.read import read_image, ImageError\ntry:\n    read_image('/dev/zero')\n"
                 "except ImageError as e:\n    print(e)")
    assert r.returncode == 0 and "character device" in r.stdout, r.stderr[-1500:]


def _rewrite_model(src: Path, dst: Path, edit=None, extra: dict[str, bytes] | None = None,
                   arrays_edit=None) -> None:
    """A copy of a model file with its header edited (``edit(header)``) and the checksum recomputed."""
    from dlfers.model.file import _checksum

    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(arrays.pop("header").tobytes().decode())
    if arrays_edit is not None:
        arrays_edit(arrays)
        header["arrays"] = {n: {"dtype": a.dtype.str, "shape": list(a.shape)} for n, a in arrays.items()}
    if edit is not None:
        edit(header)
    header.pop("checksum", None)
    header["checksum"] = {"algorithm": "sha256", "value": _checksum(header, arrays)}
    text = np.frombuffer(json.dumps(header).encode(), np.uint8)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, arr in [("header", text), *arrays.items()]:
            with zf.open(name + ".npy", "w", force_zip64=True) as m:
                np.lib.format.write_array(m, arr, allow_pickle=False)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)


def test_a_zip_bomb_model_is_refused_before_inflation(tiny_model, tmp_path):
    bomb = tmp_path / "bomb.dlfers"
    _rewrite_model(tiny_model, bomb)
    with zipfile.ZipFile(bomb, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:  # 512 MB of zeros in 2 MB
        with zf.open("svm0__ovo_coef_pad.npy", "w", force_zip64=True) as m:
            chunk = bytes(1 << 24)
            for _ in range(32):
                m.write(chunk)
    # the peak resident memory of this process image (VmHWM; ru_maxrss would include the forking parent's)
    code = (f"import re, dlfers\ntry:\n    dlfers.load({str(bomb)!r})\nexcept dlfers.ModelFileError as e:\n"
            "    print(e)\nprint('peak', re.search(r'VmHWM:\\s*(\\d+)', open('/proc/self/status').read()).group(1))")
    r = _limited(code)
    assert r.returncode == 0, r.stderr[-1500:]
    peak_kb = int(r.stdout.rsplit("peak", 1)[1])
    assert peak_kb < 300 * 1024, f"{peak_kb / 1024:.0f} MB in memory to refuse a {bomb.stat().st_size} B file"
    assert "too large" in r.stdout


def test_a_model_member_of_an_unknown_name_is_refused_unread(tiny_model, tmp_path):
    from dlfers.model.file import ModelFileError

    path = tmp_path / "extra.dlfers"
    _rewrite_model(tiny_model, path, extra={"payload.bin": b"\0" * 1000})
    with pytest.raises(ModelFileError, match="unexpected member 'payload.bin'"):
        load(path)


@pytest.mark.parametrize("where, key, value", [
    ("params", "face_size", 100000), ("params", "step", 0), ("params", "detect_size", 10**9),
    ("svm", "C", -1.0), ("svm", "gamma_", float("nan")),
])
def test_every_numeric_setting_of_a_model_file_is_range_checked_at_load(tiny_model, tmp_path, where, key, value):
    from dlfers.model.file import ModelFileError

    def edit(h):
        if where == "params":
            h["params"][key] = value
        else:
            h["svms"][0]["meta"][key] = value

    path = tmp_path / "edited.dlfers"
    _rewrite_model(tiny_model, path, edit)
    with pytest.raises(ModelFileError, match=key.rstrip("_").replace("gamma", "svm_gamma") + " must be"):
        load(path)


# ----------------------------------------------------------------------------- workers and signals
def test_jobs_above_the_usable_cores_are_capped_with_a_warning(mm, jaffe_file, capsys):
    from dlfers._util.parallel import resolve_jobs, usable_cores

    with pytest.warns(RuntimeWarning, match="usable cores"):
        assert resolve_jobs(99999) == usable_cores()
    assert main(["predict", str(mm), str(jaffe_file), "--jobs", "99999", "--quiet"]) == 0
    assert f"--jobs 99999 is more than the {usable_cores()} usable cores" in capsys.readouterr().err


def _children(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    out: set[int] = set()
    todo = [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                kids = {int(c) for c in (task / "children").read_text().split()}
            except OSError:
                continue
            todo += list(kids - out)
            out |= kids
    return out


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for p in pids:
        try:
            state = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(p)
    return alive


def _extract_until_a_shard(jaffe_dir: Path, tmp_path: Path) -> tuple[subprocess.Popen, Path, set[int]]:
    data = tmp_path / "data"
    data.mkdir()
    for f in sorted(jaffe_dir.glob("*.tiff"))[:40]:
        (data / f.name).symlink_to(f)
    out = tmp_path / "f"
    proc = subprocess.Popen([sys.executable, "-m", "dlfers", "extract", str(data), "--out", str(out), "--jobs", "2",
                             "--batch-size", "2", "--quiet", "--face-size", "64", "--step", "4"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not list(out.glob("batch-*.npz")):
        assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
        assert time.monotonic() < deadline, "no shard within 120 s"
        time.sleep(0.02)
    kids = _children(proc.pid)
    assert kids, "extract --jobs 2 started no worker process"
    return proc, out, kids


def _gone_within(pids: set[int], seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return _alive(pids)


def test_sigterm_stops_the_workers_removes_temporary_files_and_exits_143(jaffe_dir, tmp_path):
    proc, out, kids = _extract_until_a_shard(jaffe_dir, tmp_path)
    try:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143, err.decode()[-2000:]
    assert "terminated" in err.decode()
    left = _gone_within(kids, 10)
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert not left, f"workers {sorted(left)} outlived the command"
    assert not [p.name for p in out.iterdir() if ".tmp" in p.name]


def test_workers_exit_when_their_parent_is_killed(jaffe_dir, tmp_path):
    proc, out, kids = _extract_until_a_shard(jaffe_dir, tmp_path)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = _gone_within(kids, 15)
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert not left, f"workers {sorted(left)} outlived their killed parent"


def test_extract_resume_removes_stale_temporary_shards(ds, tmp_path, capsys):
    out = tmp_path / "f"
    args = ["extract", str(ds), "--out", str(out), "--quiet", "--jobs", "1", "--batch-size", "9", *TINY]
    assert main(args) == 0
    dead = 2**22 + 12345  # above Linux's default pid_max: no live process has it
    stale = out / f".batch-00001.npz.{dead}-0badcafe.tmp.npz"
    stale.write_bytes(b"\0" * 4096)
    (out / "batch-00001.npz").unlink()
    assert main(args) == 0
    assert not stale.exists()


def test_sigterm_is_handled_as_an_interrupt_in_the_command_line(monkeypatch, capsys, jaffe_file, mm):
    import dlfers.cli.predict

    cleaned = []

    def run(args):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        finally:
            cleaned.append(True)  # as the temporary outputs' with blocks do
        return 0

    class Unhandled(Exception):
        pass

    def outside(signum, frame):  # the test's own guard: a SIGTERM the command line did not take
        raise Unhandled("SIGTERM reached the caller's handler")

    monkeypatch.setattr(dlfers.cli.predict, "run", run)
    previous = signal.signal(signal.SIGTERM, outside)
    try:
        assert main(["predict", str(mm), str(jaffe_file)]) == 143
        assert signal.getsignal(signal.SIGTERM) is outside  # the caller's handler is back after the command
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert cleaned and "terminated (SIGTERM)" in capsys.readouterr().err


# ----------------------------------------------------------------------------- unclear -> said
def test_a_truncated_jpeg_is_a_bad_file_not_a_face_less_image(jaffe, tmp_path):
    from dlfers.image.read import ImageError, read_image

    ok, buf = cv2.imencode(".jpg", jaffe.images[0])
    part = buf.tobytes()[: len(buf) * 6 // 10]
    # OpenCV decodes these without an error, the missing part grey: a cut file padded (as by a full
    # disk or a sparse copy), and one re-terminated with an end-of-image marker (libjpeg only warns)
    for name, data in (("padded.jpg", part + bytes(20000)), ("reterminated.jpg", part + b"\xff\xd9")):
        cut = tmp_path / name
        cut.write_bytes(data)
        with pytest.raises(ImageError, match="truncated or corrupt JPEG data: the scan ends"):
            read_image(cut)
    whole = tmp_path / "whole.jpg"
    whole.write_bytes(buf.tobytes() + b"trailing bytes after the end marker")
    assert read_image(whole).shape == jaffe.images[0].shape


def test_an_empty_class_folder_is_warned_about_with_a_count(ds):
    from dlfers.data.sources import list_sources, load_datasets

    (ds / "fear").mkdir()
    (ds / "anger").mkdir()
    for notes in (load_datasets(ds).notes, list_sources(ds).notes):
        assert any("2 empty class folder(s)" in n and "anger, fear" in n for n in notes), notes


def test_duplicate_images_are_warned_about_with_a_count(ds):
    from dlfers.data.sources import load_datasets

    src = next(ds.glob("happy/*.png"))
    shutil.copy(src, ds / "sad" / "copy_of_a_happy_face.png")
    shutil.copy(src, ds / "happy" / "again.png")
    notes = load_datasets(ds).notes
    assert any("2 image(s) are byte-identical copies" in n for n in notes), notes


@pytest.mark.parametrize("folds", ["1", "0", "-3"])
def test_bad_folds_are_named(folds, ds, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", str(ds), "--folds", folds, "--quiet", "--jobs", "1", *TINY])
    assert exc.value.code == 2 and "--folds" in capsys.readouterr().err


def test_folds_above_a_class_and_a_negative_seed_are_named():
    from dlfers.evaluation.protocols import make_splits

    labels = np.array(["a"] * 6 + ["b"] * 6)
    subjects = np.array([f"s{i % 3}" for i in range(12)])
    with pytest.raises(ValueError, match=r"--folds\) 7 is more than the 6 images of the largest class"):
        make_splits(labels, subjects, "kfold", 7)
    with pytest.raises(ValueError, match=r"seed \(--seed\)"):
        make_splits(labels, subjects, "kfold", 3, seed=-1)


def test_step_and_seed_options_are_named_before_the_work(ds, tmp_path, capsys):
    for step in ("-1", "0"):
        assert main(["train", str(ds), "--out", str(tmp_path / "x.dlfers"), "--step", step, "--quiet",
                     "--jobs", "1"]) == 1
        err = capsys.readouterr().err
        assert f"--step {step}" in err and "negative dimensions" not in err and "images from" not in err
    with pytest.raises(SystemExit):
        main(["evaluate", str(ds), "--seed", "-1", "--folds", "2", "--jobs", "1", "--no-baseline", "--quiet", *TINY])
    assert "--seed" in capsys.readouterr().err


def test_max_pixels_zero_is_refused_naming_the_option(mm, jaffe_file, capsys):
    from dlfers.predict.files import predict_files

    with pytest.raises(SystemExit):
        main(["predict", str(mm), str(jaffe_file), "--max-pixels", "0"])
    assert "--max-pixels" in capsys.readouterr().err
    with pytest.raises(ValueError, match="max_pixels"):
        list(predict_files(load(mm), [jaffe_file], max_pixels=0))


def test_a_bad_backend_variable_is_named_not_blamed_on_the_model(mm, monkeypatch):
    monkeypatch.setenv("DLFERS_BACKEND", "nonsense")
    with pytest.raises(ValueError) as exc:
        load(mm)
    assert "DLFERS_BACKEND" in str(exc.value) and "model configuration" not in str(exc.value)


def test_a_tiny_item_of_a_predict_list_names_its_index(tiny_model, jaffe):
    m = load(tiny_model)
    with pytest.raises(ValueError, match="item 1"):
        m.predict([jaffe.images[0], np.zeros((1, 1), np.uint8)])


def test_load_none_is_a_clear_type_error():
    with pytest.raises(TypeError, match="path of a model file"):
        dlfers.load(None)


def test_nan_labels_are_refused_not_made_a_class(tiny_data):
    files = sorted(tiny_data.glob("*/*.png"))[:4]
    images = [cv2.imread(str(f), 0) for f in files]
    for y in (["a", float("nan"), "b", "a"], np.array([0.0, 1.0, np.nan, 1.0]), ["a", None, "b", "b"]):
        with pytest.raises(ValueError, match="missing"):
            DLFERS(**TINY_PARAMS).fit(images, y)


def test_a_bad_frame_is_named_and_its_csv_row_is_not_a_no_face_row(ds, mm, tmp_path, capsys):
    frames = tmp_path / "fr"
    frames.mkdir()
    for i, f in enumerate(sorted(ds.glob("happy/*.png"))[:3]):
        shutil.copy(f, frames / f"{i}.png")
    (frames / "1.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    csv = tmp_path / "out.csv"
    assert main(["video", str(mm), str(frames), "--csv", str(csv), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "1 frame(s) could not be analysed" in err and "1.png" in err
    rows = csv.read_text().splitlines()
    assert rows[2].split(",")[7] == "error"
