"""Throughput and memory of ``extract_dataset`` on JAFFE repeated to 10,000 augmented images.

The data set is JAFFE's 213 files read again and again, each copy changed on the fly
(:class:`AugmentedJaffe`: a shift of up to 2 pixels, a horizontal flip, a brightness
offset), so no image is written anywhere; the shards go to pytest's ``tmp_path``.  The
model is :data:`CONFIG` fitted on JAFFE, and the shards hold its encodings only
(``faces=False, descriptors=False``: 10,000 images of descriptors would be gigabytes).

* ``test_throughput_local``: images/second with 1 worker (in a subprocess, which also
  gives the peak RSS of the 10,000-image run) and with 2 local worker processes, and the
  scaling efficiency throughput_2 / (2 x throughput_1).
* ``test_throughput_dask``: images/second on a 2-worker ``LocalCluster`` (1 thread each).
* ``test_peak_memory_does_not_grow``: peak RSS of a serial ``extract_dataset`` run (one
  process does all the work) of 1,000 images and of :data:`N_IMAGES`.

``DLFERS_BENCH_IMAGES`` sets the number of images (default 10,000).  Figures go into each
benchmark's ``extra_info`` (``--benchmark-json``) and are printed (``-s``).  Marked slow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

N_IMAGES = int(os.environ.get("DLFERS_BENCH_IMAGES", "10000"))
N_SMALL = min(1000, N_IMAGES)
BATCH = 64
#: the benchmark's model: the paper's pipeline on 64x64 faces, a 4-pixel grid, 10 words per class
CONFIG = dict(face_size=64, step=4, n_words=10)
#: peak RSS of N_IMAGES may exceed that of 1,000 by this factor plus this many MB
RSS_FACTOR, RSS_SLACK_MB = 1.25, 30.0

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class AugmentedJaffe:
    """``read(name)`` for names ``"<file>#<k>"``: the JAFFE file, changed deterministically by ``k``.

    Copy ``k`` is shifted by ``k % 5 - 2`` pixels in x and ``(k // 5) % 5 - 2`` in y (edge
    pixels repeated), flipped left-right when ``(k // 25)`` is odd and brightened by
    ``4 * ((k // 50) % 5 - 2)`` grey levels.  A frozen dataclass: picklable, and its
    ``repr`` (part of the extraction's configuration hash) does not change between runs.
    """

    def __call__(self, name: str) -> np.ndarray:
        from dlfers.image.read import read_image

        path, _, k_text = name.rpartition("#")
        k = int(k_text)
        img = read_image(path)
        dx, dy = k % 5 - 2, (k // 5) % 5 - 2
        img = np.pad(img, 2, mode="edge")[2 + dy : 2 + dy + img.shape[0], 2 + dx : 2 + dx + img.shape[1]]
        if (k // 25) % 2:
            img = img[:, ::-1]
        shift = 4 * ((k // 50) % 5 - 2)
        return np.ascontiguousarray(np.clip(img.astype(np.int16) + shift, 0, 255).astype(np.uint8))


def augmented_jaffe(jaffe: Path, n: int):  # -> ImageList
    """JAFFE repeated to ``n`` items, copy ``k`` of file ``i`` read as ``"<file>#<k>"``."""
    from dlfers.data.folders import ImageList, list_dataset

    base = list_dataset(jaffe)
    m = len(base)
    idx = [(j % m, j // m) for j in range(n)]
    assert base.fingerprints is not None
    return ImageList([f"{base.names[i]}#{k}" for i, k in idx], [base.labels[i] for i, _ in idx],
                     [base.subjects[i] for i, _ in idx], AugmentedJaffe(), [base.fingerprints[i] for i, _ in idx])


@pytest.fixture(scope="module")
def model_file(jaffe_dir, tmp_path_factory) -> Path:
    from dlfers import DLFERS, load_jaffe

    data = load_jaffe(jaffe_dir)
    path = tmp_path_factory.mktemp("model") / "bench.dlfers"
    DLFERS(**CONFIG).fit(data.images, data.labels).save(path)
    return path


def _extract(jaffe_dir: Path, n: int, out: Path, model_file: Path, **kw):
    from dlfers.store.extract import extract_dataset

    return extract_dataset(augmented_jaffe(jaffe_dir, n), out, model_file, batch_size=BATCH, faces=False,
                           descriptors=False, **kw)


def _extract_in_subprocess(jaffe_dir: Path, n: int, out: Path, model_file: Path) -> dict:
    """A serial extraction in a fresh process: its summary and its peak RSS (MB)."""
    code = textwrap.dedent(f"""
        import json, resource, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_bench_throughput import _extract
        from pathlib import Path
        s = _extract(Path({str(jaffe_dir)!r}), {n}, Path({str(out)!r}), Path({str(model_file)!r}), n_jobs=1)
        s["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print("SUMMARY", json.dumps(s))
    """)
    env = {**os.environ, **{v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=7200)
    assert r.returncode == 0, r.stderr[-3000:]
    line = next(x for x in r.stdout.splitlines() if x.startswith("SUMMARY "))
    return json.loads(line[len("SUMMARY "):])


def _record(benchmark, **figures) -> None:
    """Figures into ``extra_info`` (with the load average: the CPUs may be shared) and stdout."""
    figures["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    benchmark.extra_info.update(n_images=N_IMAGES, batch_size=BATCH, config=CONFIG, cpus=os.cpu_count(), **figures)
    print("\n" + json.dumps(figures))


@pytest.fixture(scope="module")
def serial_run(jaffe_dir, model_file, tmp_path_factory) -> dict:
    """The serial extraction of N_IMAGES in a subprocess: 1-worker throughput and peak RSS."""
    return _extract_in_subprocess(jaffe_dir, N_IMAGES, tmp_path_factory.mktemp("serial"), model_file)


def test_throughput_local(benchmark, jaffe_dir, model_file, serial_run, tmp_path):
    benchmark.group = "extract throughput"
    two = benchmark.pedantic(_extract, args=(jaffe_dir, N_IMAGES, tmp_path / "w2", model_file),
                             kwargs={"n_jobs": 2}, rounds=1, iterations=1)
    assert serial_run["n_extracted"] == two["n_extracted"] == N_IMAGES
    assert serial_run["config_hash"] == two["config_hash"]
    r1, r2 = serial_run["images_per_second"], two["images_per_second"]
    _record(benchmark, images_per_second_1_worker=r1, images_per_second_2_workers=r2,
            scaling_efficiency=round(r2 / (2 * r1), 3))


def test_throughput_dask(benchmark, jaffe_dir, model_file, tmp_path):
    distributed = pytest.importorskip("distributed")
    benchmark.group = "extract throughput"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", processes=True,
                                  dashboard_address=None) as cluster:
        s = benchmark.pedantic(_extract, args=(jaffe_dir, N_IMAGES, tmp_path / "dask", model_file),
                               kwargs={"scheduler": cluster.scheduler_address}, rounds=1, iterations=1)
    assert s["n_extracted"] == N_IMAGES and "Dask" in s["executor"]
    _record(benchmark, images_per_second_dask_2_workers=s["images_per_second"])


def test_peak_memory_does_not_grow(benchmark, jaffe_dir, model_file, serial_run, tmp_path):
    benchmark.group = "extract memory"
    small = benchmark.pedantic(_extract_in_subprocess, args=(jaffe_dir, N_SMALL, tmp_path / "small", model_file),
                               rounds=1, iterations=1)
    a, b = small["peak_rss_mb"], serial_run["peak_rss_mb"]
    _record(benchmark, n_small=N_SMALL, peak_rss_mb_small=round(a, 1), peak_rss_mb_large=round(b, 1))
    assert b < RSS_FACTOR * a + RSS_SLACK_MB, f"peak RSS {b:.0f} MB for {N_IMAGES} images vs {a:.0f} MB for {N_SMALL}"
