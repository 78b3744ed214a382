"""Import time of ``import dlfers`` in a fresh interpreter (target: under 300 ms).

Each round starts a new ``python`` and times ``import dlfers`` inside it with
``time.perf_counter`` (interpreter start-up excluded, everything ``import dlfers``
pulls in included).  The median over the rounds is stored in ``extra_info`` as
``import_ms`` (and ``first_use_ms``: ``dlfers.DLFERS``, which loads scikit-learn,
for comparison) and checked against the target.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

import pytest

ROUNDS = 15
TARGET_MS = 300.0

PROBE = """
import time
t0 = time.perf_counter()
import dlfers
t1 = time.perf_counter()
{extra}
t2 = time.perf_counter()
print((t1 - t0) * 1e3, (t2 - t1) * 1e3)
"""


def _times(extra: str = "pass") -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", PROBE.format(extra=extra)], capture_output=True, text=True,
                         check=True)
    imp, use = out.stdout.split()
    return float(imp), float(use)


@pytest.mark.benchmark(group="import")
def test_import_time(benchmark):
    samples: list[float] = []

    def one_import() -> None:
        samples.append(_times()[0])

    benchmark.pedantic(one_import, rounds=ROUNDS, iterations=1)
    median = statistics.median(samples)
    first_use = statistics.median(_times("dlfers.DLFERS")[1] for _ in range(3))
    benchmark.extra_info.update(import_ms=round(median, 2), first_use_ms=round(first_use, 1))
    print(f"\nimport dlfers: median {median:.1f} ms over {ROUNDS} fresh interpreters "
          f"(max {max(samples):.1f} ms); first use of dlfers.DLFERS: {first_use:.0f} ms more")
    assert median < TARGET_MS, f"import dlfers takes {median:.0f} ms (target < {TARGET_MS:.0f} ms)"
