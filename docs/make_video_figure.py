"""Make docs/video_tracks.png, the README's plot of a synthetic clip, and print the CSV's first lines.

The clip (not saved): two JAFFE subjects (KA, YM) on a 640x480 gray canvas, moving across
each other for 8 s at 10 frames per second, each changing expression every 2 s
(neutral, happy, surprise, neutral for KA; neutral, sad, angry, neutral for YM).  The model
is the "realtime" preset fitted on the eight other JAFFE subjects, so the clip's faces
were never seen in training.  The clip is analysed as ``dlfers video --detect-every 5
--smooth 0.3`` would.

    python docs/make_video_figure.py [--data ../shared/data/jaffe] [--out docs/video_tracks.png] [--overwrite]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

FPS, SECONDS = 10, 8
PLAN = {"KA": ["NE1.26", "HA2.30", "SU1.36", "NE2.27"], "YM": ["NE1.49", "SA1.55", "AN1.61", "NE2.50"]}


def main(argv: list[str] | None = None) -> int:
    from _clips import face_patch, frames, line, write_clip

    from dlfers import DLFERS, load_jaffe, read_image
    from dlfers.video.annotate import annotate_video

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=HERE.parents[1] / "shared" / "data" / "jaffe")
    ap.add_argument("--out", type=Path, default=HERE / "video_tracks.png")
    ap.add_argument("--overwrite", action="store_true")
    args = ap.parse_args(argv)

    data = load_jaffe(args.data)
    keep = [i for i, s in enumerate(data.subjects) if s not in PLAN]
    model = DLFERS.from_preset("realtime").fit([data.images[i] for i in keep], data.labels[keep])

    n, step = FPS * SECONDS, FPS * SECONDS // 4
    faces = {s: [face_patch(read_image(args.data / f"{s}.{name}.tiff")) for name in names]
             for s, names in PLAN.items()}
    paths = [line((30, 40), (450, 90), n), line((450, 280), (30, 250), n)]

    def clip():  # noqa: ANN202
        for i in range(n):
            k = min(3, i // step)
            at = [p(i) for p in paths]
            yield next(frames([faces["KA"][k], faces["YM"][k]], [lambda _, a=a: a for a in at], 1))

    with tempfile.TemporaryDirectory() as tmp:
        src = write_clip(Path(tmp) / "clip.avi", clip(), fps=FPS)
        table = Path(tmp) / "clip.csv"
        stats = annotate_video(model, src, plot=args.out, csv=table, progress=False, overwrite=args.overwrite,
                               detect_every=5, smooth=0.3)
        print(f"{stats.frames} frames, {stats.tracks} tracks; wrote {args.out}", file=sys.stderr)
        print("\n".join(table.read_text().splitlines()[:4]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
