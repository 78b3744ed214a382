"""Package structure the code review asked for (issue 17): data flows down, one home per concept."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "dlfers"
MODULES = {p: ".".join(("dlfers", *p.relative_to(SRC).with_suffix("").parts)).removesuffix(".__init__")
           for p in SRC.rglob("*.py")}


def _module_level_imports(path: Path, name: str) -> set[str]:
    """dlfers modules imported when ``path`` is imported (not inside functions or ``if TYPE_CHECKING``)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = [mod] + [f"{mod}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        out |= {t for t in targets if t in MODULES.values() and t != name}
    return out


def test_no_import_circle_at_module_level():
    graph = {name: _module_level_imports(path, name) for path, name in MODULES.items()}
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                pytest.fail("import circle: " + " -> ".join(stack[stack.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name, [name])
    assert "dlfers.inference" in graph["dlfers.pipeline"] and "dlfers.pipeline" not in graph["dlfers.inference"]
    assert "dlfers.pipeline" not in graph["dlfers.model_io"]


@pytest.mark.parametrize("path", sorted(MODULES), ids=lambda p: p.name)
def test_no_module_over_500_lines(path):
    assert len(path.read_text().splitlines()) <= 500


def _uses(needle: str) -> set[str]:
    return {p.name for p in MODULES if needle in p.read_text()}


def test_one_home_per_concept():
    assert _uses("threadpool_limits(") == {"_threads.py"}  # one thread-limiting helper
    assert _uses(".assign(") == {"regions.py"}  # region ids: regions.region_ids only
    assert _uses("np.bincount(") == {"codebook.py"}  # pooling: codebook.pool_words only
    assert _uses("mkstemp(") == set() and _uses("os.replace(") == {"_io.py"}  # one atomic write
    assert _uses("def _jsonable") == set() and _uses("def jsonable") == {"_io.py"}
    assert _uses("def fusion_inputs") == {"classify.py"} and _uses('fusion == "feature"') == {"classify.py"}
    assert not (SRC / "_chi2.py").exists()
