"""Dask: extract and a 2-fold evaluate on a 2-worker LocalCluster equal the local runs exactly."""

from __future__ import annotations

import numpy as np
import pytest

from dlfers import DLFERS
from dlfers.data.folders import ImageList, list_dataset
from dlfers.evaluation.protocols import evaluate
from dlfers.store.extract import extract_dataset, iter_batches

distributed = pytest.importorskip("distributed",
                                  reason="dask.distributed is not installed (pip install 'dask[distributed]')")

#: small and fast: 64x64 faces, a coarse grid, few words (not the paper's configuration)
SMALL = dict(face_size=64, step=4, n_words=10)


@pytest.fixture(scope="module")
def cluster():
    """A 2-worker, 1-thread-each LocalCluster on the loopback interface, shut down afterwards."""
    cl = distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", processes=True,
                                  dashboard_address=None)
    try:
        yield cl
    finally:
        cl.close()


@pytest.fixture(scope="module")
def subset(jaffe_dir) -> ImageList:
    """36 JAFFE files: every sixth, all subjects and expressions."""
    items = list_dataset(jaffe_dir)
    keep = range(0, len(items), 6)
    assert items.fingerprints is not None
    return ImageList([items.names[i] for i in keep], [items.labels[i] for i in keep],
                     [items.subjects[i] for i in keep], items.read, [items.fingerprints[i] for i in keep])


def test_extract_on_the_cluster_equals_the_local_run(cluster, subset, tmp_path):
    model = DLFERS(**SMALL)
    local = extract_dataset(subset, tmp_path / "local", model, batch_size=8, n_jobs=1)
    remote = extract_dataset(subset, tmp_path / "dask", model, batch_size=8, scheduler=cluster.scheduler_address)
    assert "Dask" in remote["executor"] and local["executor"] == "serial"
    assert remote["batches_computed"] == local["batches_computed"] == 5
    assert remote["n_extracted"] == local["n_extracted"] == len(subset)
    assert remote["config_hash"] == local["config_hash"]
    shards = list(zip(iter_batches(tmp_path / "local"), iter_batches(tmp_path / "dask")))
    assert len(shards) == 5
    for a, b in shards:
        assert sorted(a) == sorted(b)
        for key in a:
            nan = a[key].dtype.kind == "f"  # landmarks: NaN for the cascade's faces
            assert a[key].dtype == b[key].dtype and np.array_equal(a[key], b[key], equal_nan=nan), key


def test_evaluate_on_the_cluster_equals_the_local_run(cluster, subset):
    from dlfers.data.folders import Dataset

    ds = Dataset([subset.read(n) for n in subset.names], np.asarray(subset.labels), np.asarray(subset.subjects),
                 list(subset.names))
    model = DLFERS(**SMALL)
    local = evaluate(ds, "kfold", folds=2, model=model, baseline=False, n_jobs=1)
    remote = evaluate(ds, "kfold", folds=2, model=model, baseline=False, scheduler=cluster.scheduler_address)
    assert remote["predictions"] == local["predictions"]
    assert remote["fold_accuracy"] == local["fold_accuracy"]
    assert remote["confusion_matrix"] == local["confusion_matrix"]
    assert len(remote["predictions"]) == len(subset)


def test_a_bad_scheduler_address_is_a_clear_error():
    from dlfers._util.parallel import Executor

    with Executor(scheduler="tcp://127.0.0.1:9", timeout=2) as ex:  # nothing listens on port 9
        with pytest.raises(OSError, match="cannot connect to the Dask scheduler at tcp://127.0.0.1:9"):
            list(ex.map(abs, [(1,)]))


def test_reproduce_on_the_cluster_equals_the_local_run(cluster, subset):
    from dlfers.data.folders import Dataset
    from dlfers.evaluation.reproduce.experiments import reproduce

    ds = Dataset([subset.read(n) for n in subset.names], np.asarray(subset.labels), np.asarray(subset.subjects),
                 list(subset.names))
    kw = dict(tables=(), folds=2, base=SMALL, loso=False, nested=False, baseline=True, plots=False)
    local = reproduce(ds, None, n_jobs=1, **kw)
    remote = reproduce(ds, None, scheduler=cluster.scheduler_address, **kw)
    assert remote["machine"]["scheduler"] == cluster.scheduler_address
    a, b = local["overall"]["kfold"], remote["overall"]["kfold"]
    assert b["predictions"] == a["predictions"] and len(a["predictions"]) == len(subset)
    assert b["baseline"]["confusion_matrix"] == a["baseline"]["confusion_matrix"]  # HOG of the same faces


def test_the_commands_take_the_scheduler_address(cluster, jaffe_dir, tmp_path):
    import json

    from dlfers.cli.main import main

    data = tmp_path / "data"
    data.mkdir()
    for f in sorted(jaffe_dir.glob("*.tiff"))[::9]:
        (data / f.name).symlink_to(f)
    small = ["--face-size", "64", "--step", "4", "--n-words", "10", "--quiet"]
    addr = ["--scheduler", cluster.scheduler_address]
    assert main(["extract", str(data), "--out", str(tmp_path / "f"), "--batch-size", "5", *small, *addr,
                 "--json", str(tmp_path / "s.json")]) == 0
    assert "Dask" in json.loads((tmp_path / "s.json").read_text())["executor"]
    local = extract_dataset(data, tmp_path / "local", DLFERS(**SMALL), batch_size=5, n_jobs=1)
    for a, b in zip(iter_batches(tmp_path / "f"), iter_batches(tmp_path / "local"), strict=True):
        assert all(np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f") for k in a) and a.keys() == b.keys()
    assert local["n_extracted"] == 24
    assert main(["evaluate", str(data), "--folds", "2", "--no-baseline", *small, *addr,
                 "--json", str(tmp_path / "r.json")]) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["predictions"] == evaluate(data, "kfold", folds=2, model=DLFERS(**SMALL), baseline=False,
                                             n_jobs=1)["predictions"]
