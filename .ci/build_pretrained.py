#!/usr/bin/env python
"""Rebuild the pretrained model shipped in the package, from FER2013, deterministically.

    python .ci/build_pretrained.py [--data ../shared/data/fer2013] [--out FILE] [--overwrite]

Runs ``dlfers train DATA/train --preset general --test-data DATA/publictest`` (all 28,709
Training faces; the PublicTest figures go into the file's provenance), adds the notes below
to the provenance and writes ``src/dlfers/model/weights/fer2013.dlfers`` (or ``--out``), then
records the model's predictions on a fixed sample of PublicTest faces in
``tests/data/pretrained_sample.json`` (tests/test_pretrained.py checks the shipped file
against it, and ``--check`` checks a rebuild against the shipped file).

    python .ci/build_pretrained.py --check   # rebuild into a temporary file, compare on the sample

The same machine gives the same file; another CPU may round the solver's float sums
differently (fastmath reductions), and ``--check`` then reports how many sample predictions differ.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "src" / "dlfers" / "model" / "weights" / "fer2013.dlfers"
SAMPLE = ROOT / "tests" / "data" / "pretrained_sample.json"
SAMPLE_SIZE = 70  # PublicTest faces, 10 per class, the first by file name
NOTES = [
    "FER2013 (Goodfellow et al., ICONIP 2013): faces gathered from web image searches, research data; "
    "the model is offered for research and evaluation; train your own with `dlfers train` for other uses",
    "settings (preset 'general') chosen on FER2013 PublicTest, so its figure carries that selection; "
    "the PrivateTest split was never used",
    "frame_scale 1.2: the median OpenCV cascade box of 3,000 FER2013 Training faces is 0.84 of their 48-pixel "
    "frame, centred (measured on the Training split)",
]


def sample_files(data: Path) -> list[Path]:
    out: list[Path] = []
    for cls in sorted(p for p in (data / "publictest").iterdir() if p.is_dir()):
        out += sorted(cls.glob("*.jpg"))[: SAMPLE_SIZE // 7]
    return out


def predictions(model_path: Path, files: list[Path], data: Path) -> dict[str, str]:
    import numpy as np

    import dlfers

    model = dlfers.load(model_path)
    faces = [dlfers.read_image(f) for f in files]
    labels = model.predict_faces(faces)
    return {str(f.relative_to(data)): str(lab) for f, lab in zip(files, np.asarray(labels).tolist())}


def build(data: Path, out: Path) -> None:
    rel = os.path.relpath(data, ROOT)
    cmd = [sys.executable, "-m", "dlfers", "train", f"{rel}/train", "--preset", "general",
           "--test-data", f"{rel}/publictest", "--out", os.path.relpath(out, ROOT), "--overwrite", "--jobs", "2",
           "--progress"]
    print("$", " ".join(["dlfers", *cmd[3:]]), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True)
    import dlfers

    model = dlfers.load(out)
    model.provenance_ = {**model.provenance_, "notes": NOTES, "rebuild": "python .ci/build_pretrained.py"}
    model.save(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "fer2013")
    ap.add_argument("--out", type=Path, default=SHIPPED)
    ap.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    ap.add_argument("--check", action="store_true",
                    help="rebuild into a temporary file and compare its predictions with the shipped model's")
    args = ap.parse_args()
    data = args.data.resolve()
    if not (data / "train").is_dir() or not (data / "publictest").is_dir():
        print(f"FER2013 not found at {data} (train/ and publictest/)", file=sys.stderr)
        return 2
    files = sample_files(data)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / "fer2013.dlfers"
            build(data, fresh)
            a, b = predictions(fresh, files, data), predictions(SHIPPED, files, data)
        differ = [k for k in a if a[k] != b[k]]
        print(f"rebuild vs shipped: {len(files) - len(differ)} of {len(files)} sample predictions equal")
        return 0 if not differ else 1
    shipped = args.out.resolve() == SHIPPED.resolve()
    for path in (args.out, *((SAMPLE,) if shipped else ())):
        if path.exists() and not args.overwrite:
            print(f"{path} exists: give --overwrite to replace it", file=sys.stderr)
            return 2
    build(data, args.out)
    if shipped:
        from dlfers._util.files import atomic_write

        pred = predictions(SHIPPED, files, data)
        text = json.dumps({"model": "src/dlfers/model/weights/fer2013.dlfers", "predictions": pred}, indent=1)
        atomic_write(SAMPLE, lambda f: f.write(text + "\n"), mode="w")
        print(f"wrote {SAMPLE.relative_to(ROOT)} ({len(pred)} predictions)")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
