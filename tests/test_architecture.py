"""Package structure (issue 26): subpackages by stage, data flowing one way, one home per concept.

Every ``import`` of a dlfers module anywhere in the package (module level, inside functions and
under ``if TYPE_CHECKING``) is read from the source and checked against :data:`LAYERS`: a
subpackage may import itself and the subpackages its row names, nothing else.  The whole import
graph, all three kinds of import together, has no circle.  Inside functions, dlfers modules are
imported only by ``cli/`` (the top floor, which nothing imports: the parser stays free of
scikit-learn and OpenCV) and by the top-level ``__init__`` (lazy by design); everywhere else a
function-level import is of the standard library or of an optional heavy third-party module
(cv2, sklearn, matplotlib, dask, numba, skimage, pywt).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "dlfers"

#: subpackage -> the subpackages it may import (besides itself), bottom floor first.
#: The data's way: image -> face -> features -> model -> predict / explain / video, with
#: data, store, evaluation and cli on top; _kernels and _util serve every floor.
LAYERS: dict[str, set[str]] = {
    "_version": set(),
    "_kernels": set(),
    "_util": set(),
    "image": {"_util"},
    "face": {"image", "_kernels", "_util"},
    "features": {"face", "image", "_kernels", "_util"},
    "model": {"features", "face", "image", "_kernels", "_util", "_version"},
    "predict": {"model", "features", "face", "image", "_util"},
    "explain": {"predict", "model", "features", "face", "image", "_util"},
    "video": {"explain", "predict", "model", "face", "image", "_util"},
    "data": {"model", "image", "_util"},
    "store": {"data", "explain", "predict", "model", "features", "face", "image", "_util", "_version"},
    "evaluation": {"store", "data", "model", "features", "face", "image", "_kernels", "_util"},
    "cli": {"evaluation", "store", "data", "video", "explain", "predict", "model", "features", "face", "image",
            "_kernels", "_util", "_version", "dlfers"},
    "__main__": {"cli"},
}
#: the top-level ``__init__`` may name every floor, lazily: under TYPE_CHECKING, inside
#: ``show_config``, or through its PEP 562 table (test_the_top_level_init_imports_only_lazily)
LAYERS["dlfers"] = set(LAYERS) - {"cli", "__main__"}
#: the floors nothing in the package imports: only they import dlfers modules inside functions
TOP_FLOORS = {"cli", "dlfers"}

#: third-party modules that may be imported inside a function (optional or slow to import)
LAZY_THIRD_PARTY = {"cv2", "sklearn", "matplotlib", "dask", "distributed", "numba", "skimage", "pywt",
                    "joblib", "threadpoolctl", "tqdm", "scipy", "importlib"}


def _module_name(path: Path) -> str:
    return ".".join(("dlfers", *path.relative_to(SRC).with_suffix("").parts)).removesuffix(".__init__")


MODULES = {_module_name(p): p for p in SRC.rglob("*.py")}


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "dlfers"


def _targets(node: ast.ImportFrom | ast.Import, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - node.level + 1]
        mod = ".".join(base + ([node.module] if node.module else []))
    else:
        mod = node.module or ""
    # "from pkg import name": name may be a submodule
    return [f"{mod}.{a.name}" if f"{mod}.{a.name}" in MODULES else mod for a in node.names]


def imports_of(source: str, module: str, is_package: bool) -> list[tuple[str, str, int]]:
    """``(target, where, line)`` for every import in ``source``; where is 'module', 'function' or 'typing'."""
    tree = ast.parse(source)
    out: list[tuple[str, str, int]] = []

    def walk(node: ast.AST, where: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                out.extend((t, where, child.lineno) for t in _targets(child, module, is_package))
            elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                walk(child, "typing")
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                walk(child, "function" if where == "module" else where)
            else:
                walk(child, where)

    walk(tree, "module")
    return out


def graph_of(sources: dict[str, tuple[str, bool]]) -> dict[str, list[tuple[str, str, int]]]:
    """dlfers module -> its imports of dlfers modules (all kinds)."""
    names = set(sources)
    return {name: [(t, w, n) for t, w, n in imports_of(src, name, pkg) if t in names and t != name]
            for name, (src, pkg) in sources.items()}


def layering_violations(graph: dict[str, list[tuple[str, str, int]]]) -> list[str]:
    bad = []
    for mod, imports in graph.items():
        own = layer_of(mod)
        for target, where, line in imports:
            other = layer_of(target)
            if other != own and other not in LAYERS[own]:
                bad.append(f"{mod}:{line} imports {target} ({where}): {own} may not import {other}")
            if where == "function" and own not in TOP_FLOORS:
                bad.append(f"{mod}:{line} imports {target} inside a function (only {sorted(TOP_FLOORS)} may)")
    return bad


def third_party_violations(sources: dict[str, tuple[str, bool]]) -> list[str]:
    bad = []
    for name, (src, pkg) in sources.items():
        for target, where, line in imports_of(src, name, pkg):
            top = target.split(".")[0]
            if where == "function" and top not in ("dlfers", "") and top not in LAZY_THIRD_PARTY \
                    and top not in sys.stdlib_module_names:
                bad.append(f"{name}:{line} imports {target} inside a function")
    return bad


def circles(graph: dict[str, list[tuple[str, str, int]]]) -> list[str]:
    state: dict[str, int] = {}
    found: list[str] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt, _, _ in graph.get(node, ()):
            if state.get(nxt) == 1:
                found.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return found


def _package_sources() -> dict[str, tuple[str, bool]]:
    return {name: (p.read_text(), p.name == "__init__.py") for name, p in MODULES.items()}


def test_every_module_belongs_to_a_layer():
    assert {layer_of(m) for m in MODULES} <= set(LAYERS)
    for own, allowed in LAYERS.items():
        assert allowed <= set(LAYERS), own


def test_every_import_follows_the_layering_table():
    assert layering_violations(graph_of(_package_sources())) == []


def test_no_import_circle_of_any_kind():
    assert circles(graph_of(_package_sources())) == []


def test_function_level_imports_are_for_heavy_optional_modules_only():
    assert third_party_violations(_package_sources()) == []


def test_the_layering_table_has_no_circle_itself():
    table = {k: [(v, "module", 0) for v in vs] for k, vs in LAYERS.items()}
    assert circles(table) == []


# ------------------------------------------------------------------ the checks can fail

def _planted(extra: dict[str, str]) -> dict[str, tuple[str, bool]]:
    sources = _package_sources()
    for name, code in extra.items():
        src, pkg = sources[name]
        sources[name] = (src + "\n" + code + "\n", pkg)
    return sources


def test_a_planted_upward_import_is_caught():
    planted = _planted({"dlfers.features.regions": "from ..model.spec import Spec"})
    bad = layering_violations(graph_of(planted))
    assert any("dlfers.features.regions" in b and "features may not import model" in b for b in bad)


def test_a_planted_upward_import_under_type_checking_is_caught():
    planted = _planted({"dlfers.face.detect": "if TYPE_CHECKING:\n    from ..model.estimator import DLFERS"})
    bad = layering_violations(graph_of(planted))
    assert any("dlfers.face.detect" in b and "(typing)" in b for b in bad)


def test_a_planted_function_level_circle_is_caught():
    planted = _planted({"dlfers.model.spec": "def f():\n    from .estimator import DLFERS\n    return DLFERS"})
    graph = graph_of(planted)
    assert any("dlfers.model.spec" in c and "dlfers.model.estimator" in c for c in circles(graph))
    assert any("inside a function" in b for b in layering_violations(graph))


def test_the_top_level_init_imports_only_lazily():
    init_src = MODULES["dlfers"].read_text()
    heavy = [t for t, where, _ in imports_of(init_src, "dlfers", True) if where == "module" and t.startswith("dlfers.")
             and t != "dlfers._version"]
    assert heavy == []
    assert all(f'"{v}"' in init_src for v in ("model.estimator", "face.detect"))  # the lazy table names modules


# ------------------------------------------------------------------ one home per concept

def _uses(needle: str) -> set[str]:
    return {str(p.relative_to(SRC)) for p in MODULES.values() if needle in p.read_text()}


def test_one_home_per_concept():
    assert _uses("threadpool_limits(") == {"_util/threads.py"}  # one thread-limiting helper
    assert _uses(".assign(") == {"features/regions.py"}  # region ids: regions.region_ids only
    assert _uses("np.bincount(") == {"model/codebook.py"}  # pooling: codebook.pool_words only
    assert _uses("mkstemp(") == set() and _uses("os.replace(") == {"_util/files.py"}  # one atomic write
    assert _uses("def _jsonable") == set() and _uses("def jsonable") == {"_util/files.py"}
    assert _uses("def fusion_inputs") == {"model/classify.py"}
    assert _uses('fusion == "feature"') == {"model/classify.py"}
    assert _uses("cv2.imdecode(") == {"image/read.py"}  # one image decoder
    assert not (SRC / "_chi2.py").exists()
