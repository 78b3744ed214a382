"""Packaging: one version, the public API, the wheel and sdist contents, cibuildwheel's config.

The wheel and sdist under test are ``$DLFERS_WHEEL`` and ``$DLFERS_SDIST`` when set (CI
builds them once with ``python -m build``, the wheel from the sdist); otherwise they are
built here, once per session, with ``python -m build`` (needs the ``build`` package, in
the test extras, and the package index for the isolated build environment).  The tests
that need the source tree skip where it is absent (as in cibuildwheel's test step, which
runs them against the installed wheel).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import dlfers
from dlfers import _kernels

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
KERNEL_DIR = REPO / "src" / "dlfers" / "_kernels"
IN_SOURCE_TREE = (REPO / "setup.py").is_file() and KERNEL_DIR.is_dir()
#: the compiled modules every binary wheel must carry (setup.py builds one per .pyx): the
#: kernels the package loads and the CPU feature probe of the runtime dispatch
KERNELS = tuple(sorted((*_kernels._CYTHON_MODULES, "_cpuid")))
#: and, in an x86-64 wheel, the AVX2+FMA build of every kernel (not of the probe)
AVX2_KERNELS = tuple(sorted(m + _kernels.AVX2_SUFFIX for m in _kernels._CYTHON_MODULES
                            if m not in _kernels._NO_AVX2_VARIANT))


def _is_x86_64_wheel(wheel: Path) -> bool:
    return bool(re.search(r"(x86_64|amd64|win_amd64)\.whl$", wheel.name, re.I))
VERSION_RE = re.compile(r'^__version__ = "([^"]+)"$', re.M)

needs_tree = pytest.mark.skipif(not IN_SOURCE_TREE, reason="needs the source tree (setup.py, src/)")


def _tomllib():
    return pytest.importorskip("tomllib", reason="tomllib needs Python 3.11+")


# ---------------------------------------------------------------------------- version


def test_version_is_single_sourced_and_agrees_everywhere():
    meta = importlib.metadata.version("dlfers")
    assert dlfers.__version__ == meta
    assert re.fullmatch(r"\d+\.\d+\.\d+([abc]|rc|\.dev|\.post)?\d*", meta), meta
    out = subprocess.run([sys.executable, "-m", "dlfers", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"dlfers {meta}"
    script = Path(sys.executable).parent / ("dlfers.exe" if os.name == "nt" else "dlfers")
    if script.exists():  # the console script of this environment's install
        out = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == f"dlfers {meta}"


@needs_tree
def test_version_has_one_source_in_the_tree():
    source = (REPO / "src" / "dlfers" / "_version.py").read_text()
    assert VERSION_RE.findall(source) == [dlfers.__version__]
    project = _tomllib().loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"], "pyproject.toml must not repeat the version"
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "dlfers._version.__version__"}


# ---------------------------------------------------------------------------- public API


def _readme_api() -> list[str]:
    """The names listed under README's '### Public API' (first backticked names of each item)."""
    if not README.is_file():
        pytest.skip("README.md not found beside tests/")
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^### Public API\n(.*?)(?=^#)", text, re.M | re.S)
    assert match, "README.md has no '### Public API' section"
    names = []
    for line in match.group(1).splitlines():
        if line.startswith("- "):
            head = line[2:].split(":", 1)[0]  # "`a`, `b`: what they are" -> a, b
            names += re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", head)
    return names


def test_readme_lists_exactly_the_public_api():
    names = _readme_api()
    assert len(names) == len(set(names)), f"listed twice: {sorted(n for n in names if names.count(n) > 1)}"
    assert set(names) == set(dlfers.__all__), (
        f"missing from README: {sorted(set(dlfers.__all__) - set(names))}; "
        f"not in __all__: {sorted(set(names) - set(dlfers.__all__))}"
    )


def test_every_public_name_resolves_and_dir_is_the_public_api():
    assert len(dlfers.__all__) == len(set(dlfers.__all__))
    for name in dlfers.__all__:
        value = getattr(dlfers, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert value.__module__.startswith("dlfers"), (name, value.__module__)
    assert dir(dlfers) == sorted(dlfers.__all__)
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        dlfers.not_a_name  # noqa: B018


def test_nothing_public_leaks_from_the_package_namespace():
    code = "import dlfers; print(' '.join(n for n in vars(dlfers) if not n.startswith('_')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert set(out.stdout.split()) <= set(dlfers.__all__)


def _public_callables():
    for name in dlfers.__all__:
        value = getattr(dlfers, name)
        if inspect.isfunction(value):
            yield name, value
        elif inspect.isclass(value) and not issubclass(value, BaseException):
            for attr, member in vars(value).items():
                if inspect.isfunction(member) and (not attr.startswith("_") or attr == "__init__"):
                    yield f"{name}.{attr}", member


def test_public_api_is_annotated():
    missing = []
    for name, func in _public_callables():
        sig = inspect.signature(func)
        if sig.return_annotation is inspect.Signature.empty:
            missing.append(f"{name} -> ?")
        missing += [f"{name}({p})" for p, param in sig.parameters.items()
                    if p not in ("self", "cls") and param.annotation is inspect.Parameter.empty]
    assert not missing, f"unannotated: {missing}"


# ---------------------------------------------------------------------------- wheel and sdist


@pytest.fixture(scope="session")
def dists(tmp_path_factory) -> dict[str, Path]:
    """{'wheel': path, 'sdist': path}: from $DLFERS_WHEEL / $DLFERS_SDIST, or built here."""
    found = {kind: os.environ.get(f"DLFERS_{kind.upper()}") for kind in ("wheel", "sdist")}
    if all(found.values()):
        return {kind: Path(p) for kind, p in found.items()}  # type: ignore[arg-type]
    if not IN_SOURCE_TREE:
        pytest.skip("no source tree to build from; set DLFERS_WHEEL and DLFERS_SDIST")
    if importlib.util.find_spec("build") is None:
        pytest.skip("the 'build' package is not installed (pip install build, or set DLFERS_WHEEL and DLFERS_SDIST)")
    out = tmp_path_factory.mktemp("dist")
    env = dict(os.environ, DLFERS_STRICT_BUILD="1")
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(REPO)],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, f"python -m build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    (wheel,) = out.glob("dlfers-*.whl")
    (sdist,) = out.glob("dlfers-*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


def _wheel_names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        return zf.namelist()


def test_wheel_is_binary_with_every_compiled_kernel(dists):
    names = _wheel_names(dists["wheel"])
    for kernel in KERNELS + (AVX2_KERNELS if _is_x86_64_wheel(dists["wheel"]) else ()):
        compiled = [n for n in names if re.fullmatch(rf"dlfers/_kernels/{kernel}\.[^/]*(\.so|\.pyd)", n)]
        assert len(compiled) == 1, f"{kernel}: {compiled}"
    # exactly the variants the dispatcher loads (setup.py and _kernels agree on which)
    variants = {n.split("/")[-1].split(".")[0] for n in names if re.search(r"_avx2\.[^/]*(\.so|\.pyd)$", n)}
    assert variants == (set(AVX2_KERNELS) if _is_x86_64_wheel(dists["wheel"]) else set())
    if IN_SOURCE_TREE:  # and nothing the tree has is left out
        assert {p.stem for p in KERNEL_DIR.glob("*.pyx")} == set(KERNELS)
    with zipfile.ZipFile(dists["wheel"]) as zf:
        wheel_meta = zf.read(next(n for n in names if n.endswith(".dist-info/WHEEL"))).decode()
    assert "Root-Is-Purelib: false" in wheel_meta
    assert "-none-any" not in dists["wheel"].name


def test_wheel_ships_py_typed_and_no_generated_or_test_files(dists):
    names = _wheel_names(dists["wheel"])
    assert "dlfers/py.typed" in names
    assert "dlfers/_version.py" in names
    assert not [n for n in names if n.endswith((".c", ".html", ".pyc"))], names
    assert not [n for n in names if not n.startswith(("dlfers/", "dlfers-"))], "files outside the package"


def test_wheel_metadata(dists):
    with zipfile.ZipFile(dists["wheel"]) as zf:
        names = zf.namelist()
        meta = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        entry_points = zf.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert f"\nVersion: {dlfers.__version__}\n" in meta
    assert dists["wheel"].name.startswith(f"dlfers-{dlfers.__version__}-")
    assert "Classifier: Typing :: Typed" in meta
    assert re.search(r"^Requires-Dist: dask\[distributed\].*extra == \"test\"", meta, re.M)
    assert "dlfers = dlfers.cli.main:main" in entry_points


def test_sdist_has_the_cython_sources_and_no_generated_c(dists):
    with tarfile.open(dists["sdist"]) as tf:
        names = [n.split("/", 1)[1] for n in tf.getnames() if "/" in n]
    for kernel in KERNELS:
        assert f"src/dlfers/_kernels/{kernel}.pyx" in names
    assert not [n for n in names if "_avx2" in n], "variant sources are made at build time, not shipped"
    if IN_SOURCE_TREE:  # every hand-written kernel source (headers included) is carried
        for path in KERNEL_DIR.iterdir():
            if path.suffix in (".pyx", ".pxd", ".h", ".py"):
                assert f"src/dlfers/_kernels/{path.name}" in names, path.name
    for needed in ("setup.py", "pyproject.toml", "README.md", "MANIFEST.in", "src/dlfers/py.typed",
                   "src/dlfers/_version.py", "PKG-INFO"):
        assert needed in names, needed
    assert not [n for n in names if n.endswith((".c", ".so", ".pyd", ".html", ".pyc"))]


def _can_build_here() -> bool:
    """True if this environment has what pyproject's build-system asks for (no isolation needed)."""
    if any(importlib.util.find_spec(m) is None for m in ("setuptools", "Cython", "numpy", "scipy")):
        return False
    # bdist_wheel: in setuptools itself from 70.1, before that in the wheel package
    return any(importlib.util.find_spec(m) is not None for m in ("setuptools.command.bdist_wheel", "wheel"))


@needs_tree
@pytest.mark.skipif(os.name != "posix", reason="CC selects the compiler on POSIX only")
@pytest.mark.skipif(not _can_build_here(), reason="needs setuptools, wheel and Cython to build without isolation")
def test_sdist_builds_without_a_compiler_into_a_fallback_install(dists, tmp_path):
    """No C compiler: a wheel without compiled kernels (and a warning), or an error when strict."""
    with tarfile.open(dists["sdist"]) as tf:
        if hasattr(tarfile, "data_filter"):  # Python 3.10.12+, 3.11.4+
            tf.extractall(tmp_path, filter="data")
        else:
            tf.extractall(tmp_path)
    (src,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    env = {k: v for k, v in os.environ.items() if k != "DLFERS_STRICT_BUILD"}
    env["CC"] = str(tmp_path / "no-such-compiler")
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-cache-dir", "-v",
           "--wheel-dir", str(tmp_path / "out"), str(src)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Numba kernels will be used" in proc.stdout + proc.stderr
    (wheel,) = (tmp_path / "out").glob("dlfers-*.whl")
    names = _wheel_names(wheel)
    assert "dlfers/_kernels/_numba.py" in names and "dlfers/py.typed" in names
    assert not [n for n in names if n.endswith((".so", ".pyd"))]

    strict = subprocess.run(cmd, capture_output=True, text=True, env=dict(env, DLFERS_STRICT_BUILD="1"))
    assert strict.returncode != 0


def test_installed_distribution_files():
    """A regular (not editable) install lists py.typed and the compiled kernels in its RECORD."""
    files = importlib.metadata.files("dlfers") or []
    names = {f.as_posix() for f in files}
    if not any(n.startswith("dlfers/") for n in names):
        pytest.skip("editable install: the package files are not in the distribution's RECORD")
    assert "dlfers/py.typed" in names
    for kernel in KERNELS:
        assert any(re.fullmatch(rf"dlfers/_kernels/{kernel}\.[^/]*(\.so|\.pyd)", n) for n in names), kernel


# ---------------------------------------------------------------------------- cibuildwheel


@needs_tree
@pytest.mark.skipif(importlib.util.find_spec("cibuildwheel") is None, reason="cibuildwheel is not installed")
@pytest.mark.parametrize(("platform", "archs"), [
    ("linux", ("manylinux_x86_64", "manylinux_aarch64")),
    ("macos", ("macosx_x86_64", "macosx_arm64")),
    ("windows", ("win_amd64",)),
])
def test_cibuildwheel_config_is_valid(platform, archs):
    proc = subprocess.run([sys.executable, "-m", "cibuildwheel", "--print-build-identifiers", "--platform", platform],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    expected = {f"cp3{minor}-{arch}" for minor in (10, 11, 12, 13) for arch in archs}
    assert set(proc.stdout.split()) == expected


@needs_tree
def test_cibuildwheel_tests_the_installed_wheel():
    config = _tomllib().loads((REPO / "pyproject.toml").read_text())["tool"]["cibuildwheel"]
    assert config["environment"]["DLFERS_STRICT_BUILD"] == "1"
    assert config["macos"]["environment"]["DLFERS_STRICT_BUILD"] == "1"
    commands = " ".join(config["test-command"])
    assert "show_config()['backend'] != 'cython'" in commands
    for path in ("tests/test_kernels.py", "tests/test_packaging.py"):
        assert path in commands and (REPO / path).is_file()
        assert path.split("/")[0] in config["test-sources"]


# ------------------------------------------------------------------- the detector models (issue 28)

#: the files of dlfers/face/models that every wheel and sdist carries
DETECTOR_FILES = ("face_detection_yunet_2026may.onnx", "LICENSE-YUNET", "haarcascade_frontalface_default.xml",
                  "haarcascade_frontalface_alt2.xml", "haarcascade_eye.xml", "LICENSE-OPENCV")


def test_wheel_and_sdist_ship_the_detector_models_and_their_licences(dists):
    names = _wheel_names(dists["wheel"])
    for f in DETECTOR_FILES:
        assert f"dlfers/face/models/{f}" in names, f
    with tarfile.open(dists["sdist"]) as tf:
        members = tf.getnames()
    for f in DETECTOR_FILES:
        assert any(m.endswith(f"src/dlfers/face/models/{f}") for m in members), f


_EMPTY_CV2_DATA = """
import os, sys, tempfile
import cv2
cv2.data.haarcascades = tempfile.mkdtemp() + os.sep  # an opencv-python whose cv2/data is empty
import dlfers
from dlfers.face import haar
assert dlfers.__file__.startswith(sys.argv[1]), dlfers.__file__
img = dlfers.read_image(sys.argv[3])
faces = dlfers.load(sys.argv[2]).predict_image(img)
assert faces[0].found, faces
assert haar.cascade_path("haarcascade_frontalface_default.xml").startswith(sys.argv[1])
assert dlfers.detect_faces(img, detector="yunet")[0].landmarks is not None
print("ok", faces[0].label)
"""


def test_the_installed_wheel_predicts_with_an_empty_cv2_data(dists, tmp_path, model_file, jaffe_file):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(site),
                    str(dists["wheel"])], check=True, capture_output=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)
    proc = subprocess.run([sys.executable, "-c", _EMPTY_CV2_DATA, str(site), str(model_file), str(jaffe_file)],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("ok"), proc.stdout[-2000:] + proc.stderr[-3000:]


# ------------------------------------------------------------------- the pretrained model (issue 29)
def test_wheel_and_sdist_ship_the_pretrained_model(dists):
    from dlfers.model.pretrained import PRETRAINED_FILE

    if not PRETRAINED_FILE.is_file():
        pytest.skip(f"no pretrained model in this checkout ({PRETRAINED_FILE})")
    names = _wheel_names(dists["wheel"])
    assert "dlfers/model/weights/fer2013.dlfers" in names
    with tarfile.open(dists["sdist"]) as tf:
        sizes = {m.name: m.size for m in tf.getmembers()}
    shipped = [n for n in sizes if n.endswith("src/dlfers/model/weights/fer2013.dlfers")]
    assert shipped and sizes[shipped[0]] == PRETRAINED_FILE.stat().st_size <= 5_000_000
