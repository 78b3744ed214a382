"""Named configurations of :class:`dlfers.DLFERS` (the values older model files imply: :mod:`dlfers.model.params`)."""

from __future__ import annotations

from typing import Any

from ..face.detect import DETECTORS

__all__ = ["CROP_PRESETS", "PRESETS"]

#: "general": the configuration of the shipped pretrained model (dlfers.pretrained()), for tens of
#: thousands of web faces: a 64-pixel face (FER2013's faces are 48 pixels), one codebook of 512 words
#: per descriptor kind, a linear SVM trained in O(n) on the power-normalised histograms
#: (classifier="linear"; with power 0.5 that is the Hellinger kernel's exact map), and the FER2013
#: framing of a detected box (frame_scale 1.2, measured on FER2013 Training faces).  Chosen on
#: FER2013 PublicTest (docs/pretrained.md).
GENERAL: dict[str, Any] = {"classifier": "linear", "kernel": "linear", "C": 0.01, "per_class": False,
                           "n_words": 512, "max_samples": 100000, "face_size": 64, "frame_scale": 1.2}

#: named configurations for :meth:`DLFERS.from_preset` (each gives every parameter that
#: differs from the defaults, so a preset keeps its meaning when a default changes).
#: "default": the defaults: the paper's system with a dense grid every 4 pixels, 15 words
#: per class and soft assignment to the 5 nearest words by exact 7-bit integer distances, the
#: Gabor texture channel beside the descriptors, for a pre-cropped face in about 1.6 ms (the
#: paper's 9), and the cascade+yunet detector (the cascade's faces, YuNet's where it finds none).
#: "paper": the paper's system exactly as dlfers reproduces it (grid every 2 pixels, 30
#: words per class, hard float32 assignment, the single-pass cascade detector); ``dlfers
#: reproduce`` starts from it.  "realtime": a 64-pixel face and 6 words per class, and the
#: cascade+coarse2fine detector (cheaper than YuNet on frames without a face).
#: Their accuracies on JAFFE are in the README.
PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "paper": {"detector": "cascade", **dict(zip(("detect_size", "min_face", "detect_scale"), DETECTORS["cascade"])),
              "step": 2,
              "n_words": 30, "soft": 1, "precision": "float32", "align": False, "mirror": False,
              "descriptors": "tisf+tipm", "texture": "none"},
    "realtime": {"face_size": 64, "step": 2, "n_words": 6, "soft": 1, "texture": "none",
                 "detector": "cascade+coarse2fine"},
    "general": GENERAL,
}


#: name -> (detect, delta, gamma), as Table 1 of the paper
CROP_PRESETS: dict[str, tuple[bool, float, float]] = {
    "scaled": (False, 0.0, 0.0),
    "face": (True, 0.0, 0.0),
    "factor1": (True, 0.10, 0.7),
    "factor2": (True, 0.12, 0.15),
    "factor3": (True, 0.15, 0.15),
}
