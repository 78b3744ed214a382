"""The executor: task order, bounded submission, worker counts, and no Dask without a scheduler."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from dlfers._util.parallel import Executor, resolve_jobs


def _square_plus(offset: int, x: int) -> int:
    return offset + x * x


def test_results_come_back_in_task_order_whatever_runs_them():
    tasks = [(i,) for i in range(23)]
    want = [100 + i * i for i in range(23)]
    for n_jobs, prefer in ((1, "processes"), (2, "threads"), (2, "processes")):
        with Executor(n_jobs) as ex:
            assert list(ex.map(_square_plus, tasks, shared=(100,), prefer=prefer)) == want, (n_jobs, prefer)


@pytest.mark.parametrize("prefer", ["threads", "processes"])
def test_at_most_max_pending_tasks_are_taken_ahead_of_the_results(prefer):
    pulled = []

    def tasks():
        for i in range(40):
            pulled.append(i)
            yield (i,)

    with Executor(2) as ex:
        it = ex.map(_square_plus, tasks(), shared=(0,), prefer=prefer, max_pending=4)
        assert next(it) == 0
        assert len(pulled) == 5  # 4 submitted, then one refill as the first result is handed over
        assert next(it) == 1 and len(pulled) == 6
        assert list(it) == [i * i for i in range(2, 40)]
    assert len(pulled) == 40


def _array_kinds(feats: list, i: int) -> tuple[str, str]:
    """What a worker received for feature set i: its descriptors' and its face's array types."""
    f = feats[i]
    return type(f.descriptors["tisf"]).__name__, type(f.face).__name__


def test_the_shared_features_of_unbounded_maps_are_memory_mapped_not_pickled_per_task():
    # a face's descriptors at step 4 (~0.9 MB) are below joblib's default threshold (1 MB):
    # pickled into every fold, they cost a copy of all features per task in flight
    import numpy as np

    from dlfers.features.base import Features

    feats = [Features({"tisf": np.full((1682, 128), i, np.float32)}, np.zeros((1682, 3), np.int32), True, None,
                      face=np.zeros((128, 128), np.float32)) for i in range(6)]
    with Executor(2) as ex:
        got = list(ex.map(_array_kinds, [(i,) for i in range(6)], shared=(feats,), max_pending=0))
    assert got == [("memmap", "memmap")] * 6


def test_worker_counts():
    import os

    cores = len(os.sched_getaffinity(0))
    assert resolve_jobs(1) == 1 and resolve_jobs(cores) == cores
    with pytest.warns(RuntimeWarning, match="more workers than the"):  # capped at the usable cores
        assert resolve_jobs(cores + 1) == cores
    assert resolve_jobs(-1) == resolve_jobs(None) == cores
    assert resolve_jobs(-1000) == 1
    assert Executor(1).serial and not Executor(2).serial
    assert Executor(2).describe() == "2 local workers"
    with pytest.raises(ValueError, match="prefer"):
        Executor(2).map(_square_plus, [(1,)], shared=(0,), prefer="gpu")


def test_no_dask_is_imported_without_a_scheduler(jaffe_dir, tmp_path):
    """A local extract and evaluate (2 worker processes) import neither dask nor distributed."""
    code = textwrap.dedent(f"""
        import sys
        from dlfers.cli.main import main
        common = ["--quiet", "--jobs", "2", "--face-size", "64", "--step", "4", "--n-words", "6"]
        assert main(["extract", {str(jaffe_dir)!r}, "--out", {str(tmp_path / "f")!r}, "--batch-size", "64",
                     *common]) == 0
        assert main(["evaluate", {str(jaffe_dir)!r}, "--folds", "2", "--no-baseline", *common]) == 0
        bad = sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed"))
        print("DASK_MODULES", bad)
        sys.exit(1 if bad else 0)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "DASK_MODULES []" in r.stdout


class _Done:
    """A finished future."""

    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value

    def cancel(self):
        return False


class _CountingClient:
    """Stands in for ``distributed.Client``: runs each task at once in this process, counts connections."""

    connections: list[str] = []

    def __init__(self, address, set_as_default=True, timeout=None):
        _CountingClient.connections.append(address)

    def wait_for_workers(self, n, timeout=None):
        pass

    def nthreads(self):
        return {"tcp://worker-1": 1, "tcp://worker-2": 1}

    def scatter(self, data, broadcast=False, hash=True):
        return list(data)

    def submit(self, fn, *args, pure=True):
        return _Done(fn(*args))

    def close(self):
        pass


def test_evaluating_data_sets_on_a_scheduler_connects_once_and_changes_no_figure(jaffe_dir, tmp_path, monkeypatch):
    import types

    import numpy as np
    from conftest import FAST

    from dlfers import DLFERS
    from dlfers.evaluation.crossdata import evaluate_sets

    a, b = tmp_path / "a", tmp_path / "b"
    for d, files in ((a, sorted(jaffe_dir.glob("*.tiff"))[:100:5]), (b, sorted(jaffe_dir.glob("*.tiff"))[113::5])):
        d.mkdir()
        for f in files:
            (d / f.name).symlink_to(f)
    model = DLFERS(**FAST)
    local = evaluate_sets([a, b], "group-kfold", folds=2, model=model, n_jobs=1)
    fake = types.ModuleType("distributed")
    fake.Client = _CountingClient  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "distributed", fake)
    _CountingClient.connections = []
    remote = evaluate_sets([a, b], "group-kfold", folds=2, model=model, scheduler="tcp://scheduler:8786")
    assert _CountingClient.connections == ["tcp://scheduler:8786"]  # one connection for descriptors and folds
    for key in ("predictions", "fold_accuracy", "confusion_matrix", "per_dataset", "macro_f1"):
        assert remote[key] == local[key], key
    assert remote["baseline"]["confusion_matrix"] == local["baseline"]["confusion_matrix"]
    assert len(remote["predictions"]) == 40 and np.isfinite(remote["overall_accuracy"])
