"""Training the general configuration on all of FER2013's Training split and testing it on PublicTest:
the one documented command of issue 29, timed as a whole process with its peak memory (bounds: 15 minutes
and 6 GB on 2 cores).  Marked slow (about 7 minutes); run it with

    pytest benchmarks/test_bench_train_general.py -m slow

It writes the model to a temporary folder and stores wall seconds, CPU seconds, peak resident memory of the
training process and its PublicTest accuracy in ``extra_info``.
"""

from __future__ import annotations

import re
import resource
import subprocess
import sys
import time

import pytest
from conftest import data_dir


@pytest.mark.slow
def test_train_general_on_fer2013(benchmark, tmp_path):
    fer = data_dir() / "fer2013"
    if not (fer / "train").is_dir() or not (fer / "publictest").is_dir():
        pytest.skip(f"FER2013 not found at {fer}")
    out = tmp_path / "general.dlfers"
    cmd = [sys.executable, "-m", "dlfers", "train", str(fer / "train"), "--preset", "general", "--test-data",
           str(fer / "publictest"), "--out", str(out), "--jobs", "2"]
    result: dict[str, object] = {}

    def run() -> None:
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        result["wall_s"] = time.perf_counter() - t0
        result["stdout"] = proc.stdout

    benchmark.pedantic(run, rounds=1, iterations=1)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    acc = re.search(r"^overall\s+([\d.]+)", str(result["stdout"]), re.M)
    benchmark.extra_info.update(wall_s=result["wall_s"], cpu_s=usage.ru_utime + usage.ru_stime,
                                peak_rss_gb=usage.ru_maxrss / 1e6,
                                publictest_accuracy=float(acc.group(1)) if acc else None)
    assert out.is_file() and acc is not None
