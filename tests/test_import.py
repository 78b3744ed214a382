"""``import dlfers`` stays light: the heavy dependencies load on first use, not on import."""

from __future__ import annotations

import json
import subprocess
import sys

#: imported only when something that needs them is first used
HEAVY = ("sklearn", "cv2", "numba", "dask", "distributed", "matplotlib", "skimage")


def _loaded_after(code: str) -> set[str]:
    """Top-level packages of HEAVY in sys.modules after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1])) & set(HEAVY)


def test_import_dlfers_loads_no_heavy_dependency():
    assert _loaded_after("import dlfers") == set()


def test_the_probe_sees_heavy_imports():
    # the check above can fail: the same probe reports a heavy import when one happens
    assert _loaded_after("import dlfers, sklearn") == {"sklearn"}


def test_command_line_parser_loads_no_heavy_dependency():
    assert _loaded_after("from dlfers.cli.main import build_parser\nbuild_parser()") == set()


def test_heavy_dependency_loads_on_first_use():
    assert "sklearn" in _loaded_after("import dlfers\ndlfers.DLFERS")
