#!/usr/bin/env bash
# The user's install path, checked end to end: .ci/wheel_smoke.sh [WHEEL]
#
# Without an argument, builds the sdist and, from it, the wheel (`python -m build`, so the
# sdist must build from scratch with no generated C in it).  Then installs the wheel, with
# its dependencies from the package index, into a new venv outside the source tree, and from
# an empty directory outside the tree, with the venv's python in isolated mode (-I: no
# PYTHONPATH, no user site, no current directory on sys.path) so the source tree cannot be
# imported, checks that
#   - dlfers and its four compiled kernels are loaded from the venv's site-packages, and
#     show_config() reports the cython backend;
#   - the installed metadata, dlfers.__version__ and `dlfers --version` agree;
#   - a small model fitted on JAFFE predicts a JAFFE image, survives a save/load round trip,
#     and predicts what the same code in the outer environment predicts;
#   - the fallback without compiled kernels: DLFERS_BACKEND=numba, and then the compiled
#     extensions removed from the venv (as after an install with no C compiler), both pick
#     Numba (show_config says so and why) and predict the same.
# Reads JAFFE from $DLFERS_DATA/jaffe or ../shared/data/jaffe beside the repository.
# Prints its wall time; about 1-2 minutes on 2 cores with a warm pip cache.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-python}"
DATA="${DLFERS_DATA:-$REPO/../shared/data}"
if [ ! -d "$DATA/jaffe" ]; then
    echo "wheel_smoke: JAFFE not found at $DATA/jaffe (set DLFERS_DATA)" >&2
    exit 1
fi
JAFFE="$(cd "$DATA/jaffe" && pwd)"
START=$SECONDS
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

if [ $# -ge 1 ]; then
    WHEEL="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
else
    echo "== python -m build: sdist, then the wheel from the sdist"
    if ! DLFERS_STRICT_BUILD=1 "$PY" -m build --outdir "$WORK/dist" "$REPO" >"$WORK/build.log" 2>&1; then
        tail -n 60 "$WORK/build.log" >&2
        exit 1
    fi
    WHEEL="$(ls "$WORK"/dist/*.whl)"
    echo "   built in $((SECONDS - START)) s: $(cd "$WORK/dist" && echo *)"
fi
[ -f "$WHEEL" ] || { echo "wheel_smoke: no wheel at $WHEEL" >&2; exit 1; }

echo "== fresh venv outside the tree, pip install $(basename "$WHEEL")"
T=$SECONDS
"$PY" -m venv "$WORK/venv"
VPY="$WORK/venv/bin/python"
[ -x "$VPY" ] || VPY="$WORK/venv/Scripts/python.exe"
"$VPY" -m pip install --quiet --disable-pip-version-check "$WHEEL"
echo "   installed in $((SECONDS - T)) s"

RUN="$WORK/run"
mkdir "$RUN"
cd "$RUN"
unset PYTHONPATH DLFERS_BACKEND
export MPLBACKEND=Agg

echo "== the installed wheel: location, compiled kernels, version"
"$VPY" -I - "$WORK/venv" <<'EOF'
import importlib
import importlib.machinery
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import dlfers

venv = Path(sys.argv[1]).resolve()
site = Path(dlfers.__file__).resolve().parent.parent
assert venv in site.parents, f"dlfers imported from {dlfers.__file__}, not from the venv {venv}"
config = dlfers.show_config()
assert config["backend"] == "cython", f"active backend is {config['backend']}: {config['reason']}"
for name in ("_gradients", "_descriptors", "_encode", "_histkernels"):
    mod = importlib.import_module(f"dlfers._kernels.{name}")
    path = Path(mod.__file__).resolve()
    assert path.parent == site / "dlfers" / "_kernels", f"{mod.__name__} loaded from {path}"
    assert path.name.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)), f"{path} is not an extension"
    print(f"   {mod.__name__}: {path}")
meta = importlib.metadata.version("dlfers")
cli = subprocess.run([str(Path(sys.executable).parent / "dlfers"), "--version"], capture_output=True, text=True,
                     check=True).stdout.strip()
assert meta == dlfers.__version__ and cli == f"dlfers {meta}", (meta, dlfers.__version__, cli)
print(f"   version {meta} (metadata, __version__ and the dlfers command agree)")
EOF

# fit a small model on 3 images per expression from subjects other than KA, predict KA's
# happy face; prints one JSON line (label and probabilities) and saves/loads the model
SMOKE='
import json, sys, time
import numpy as np
import dlfers
t0 = time.perf_counter()
jaffe, model_file, mode = sys.argv[1], sys.argv[2], sys.argv[3]
frame = dlfers.read_image(jaffe + "/KA.HA1.29.tiff")
if mode == "fit":
    data = dlfers.load_jaffe(jaffe)
    idx = [i for c in dlfers.EXPRESSIONS
           for i in np.flatnonzero((data.labels == c) & (data.subjects != "KA"))[:3]]
    model = dlfers.DLFERS(face_size=64, layout="whole+halves+fused", descriptors="tisf+tipm", step=4,
                          n_words=8, max_samples=2000, random_state=0)
    model.fit([data.images[i] for i in idx], data.labels[idx])
    model.save(model_file)
    (res,) = model.predict_image(frame)
    (again,) = dlfers.load(model_file).predict_image(frame)
    assert again == res, (again, res)
else:
    (res,) = dlfers.load(model_file).predict_image(frame)
assert res.found and res.label in dlfers.EXPRESSIONS, res
assert abs(sum(res.probabilities.values()) - 1) < 1e-6, res.probabilities
import io
backend = dlfers.show_config(file=io.StringIO())["backend"]
print(json.dumps({"backend": backend, "label": res.label,
                  "proba": res.probabilities, "seconds": round(time.perf_counter() - t0, 2)}))
'

compare() {  # compare LABEL JSON_A JSON_B TOLERANCE
    "$VPY" -I -c '
import json, sys
a, b, tol = json.loads(sys.argv[2]), json.loads(sys.argv[3]), float(sys.argv[4])
assert a["label"] == b["label"], (sys.argv[1], a, b)
diff = max(abs(a["proba"][k] - b["proba"][k]) for k in a["proba"])
assert diff <= tol, f"{sys.argv[1]}: probabilities differ by {diff:.3g} > {tol}"
label = a["label"]
print(f"   {sys.argv[1]}: same label ({label}), probabilities within {diff:.2g}")
' "$@"
}

echo "== smoke prediction on a JAFFE image with the wheel (python -c)"
WHEEL_OUT="$("$VPY" -I -c "$SMOKE" "$JAFFE" "$RUN/model.dlfers" fit)"
echo "   $WHEEL_OUT"
"$VPY" -I -c 'import json, sys; r = json.loads(sys.argv[1]); assert r["backend"] == "cython", r' "$WHEEL_OUT"

if "$PY" -c "import dlfers" 2>/dev/null; then
    # the outer environment's dlfers (in CI: `pip install .` of the same tree) on the same model
    TREE_OUT="$("$PY" -c "$SMOKE" "$JAFFE" "$RUN/model.dlfers" load)"
    compare "outer environment's dlfers" "$WHEEL_OUT" "$TREE_OUT" 1e-9
fi

echo "== fallback: DLFERS_BACKEND=numba"
NUMBA_OUT="$(DLFERS_BACKEND=numba "$VPY" -I -c "$SMOKE" "$JAFFE" "$RUN/model.dlfers" load)"
echo "   $NUMBA_OUT"
"$VPY" -I -c 'import json, sys; r = json.loads(sys.argv[1]); assert r["backend"] == "numba", r' "$NUMBA_OUT"
compare "numba vs cython" "$WHEEL_OUT" "$NUMBA_OUT" 1e-4

echo "== fallback: the compiled kernels removed (an install without a C compiler)"
"$VPY" -I -c '
import pathlib, dlfers._kernels as k
for so in pathlib.Path(k.__file__).parent.glob("_*.*"):
    if so.suffix in (".so", ".pyd"):
        so.unlink()
'
"$VPY" -I -c '
import io, dlfers
out = io.StringIO()
config = dlfers.show_config(file=out)
print(out.getvalue().rstrip())
assert config["backend"] == "numba", config
assert config["backends"]["cython"].startswith("unavailable"), config
'
NOCC_OUT="$("$VPY" -I -c "$SMOKE" "$JAFFE" "$RUN/model.dlfers" load)"
compare "no compiled kernels vs cython" "$WHEEL_OUT" "$NOCC_OUT" 1e-4

echo "wheel_smoke: OK in $((SECONDS - START)) s"
