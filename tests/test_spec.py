"""The validated spec: one stage list per parameter, one key per stage, errors as the estimator's."""

from __future__ import annotations

import dataclasses

import pytest

from dlfers import DLFERS
from dlfers.model.spec import PARAMETERS, STAGES, DetectorSettings, Spec


def _params(**overrides):
    return {**DLFERS().get_params(), **overrides}


def test_every_parameter_belongs_to_exactly_one_stage():
    names = [p for stage in STAGES.values() for p in stage]
    assert len(names) == len(set(names))
    assert set(names) == set(DLFERS().get_params()) == set(PARAMETERS)


# the first stage whose key must change when the parameter changes (later keys include earlier ones)
FIRST_KEY = {"prep": "prep_key", "descriptor": "descriptor_key", "select": "codebook_key",
             "codebook": "codebook_key", "histogram": "svm_key", "svm": "svm_key", "runtime": None}
KEYS = ("prep_key", "descriptor_key", "codebook_key", "svm_key")
OTHER_VALUE = {"detect": False, "detector": "cascade", "soft": 3, "soft_beta": 5.0,
               "delta": 0.1, "gamma": 0.1, "on_missing": "error", "detect_size": 64,
               "min_face": 0.4, "detect_scale": 1.2, "face_size": 64, "wavelet": "db2", "wavelet_level": 2,
               "step": 2, "sigma": 2.0, "backend": "numpy", "descriptors": "tisf", "layout": "grid4",
               "n_words": 8, "per_class": False, "max_samples": 100, "random_state": 3, "power": 1.0,
               "kernel": "chi2", "C": 1.0, "svm_gamma": 0.5, "fusion": "decision", "progress": True,
               "frame_scale": 1.2, "frame_shift": 0.1, "classifier": "linear",
               "n_jobs": 2, "align": True, "mirror": True, "precision": "float32", "texture": "lbp",
               "texture_weight": 2.0, "detect_score": 0.5}


@pytest.mark.parametrize("name", PARAMETERS)
def test_a_parameter_changes_its_stage_key_and_the_later_ones_only(name):
    stage = next(s for s, names in STAGES.items() if name in names)
    a, b = Spec.from_params(_params()), Spec.from_params(_params(**{name: OTHER_VALUE[name]}))
    first = FIRST_KEY[stage]
    for key in KEYS:
        changed = getattr(a, key) != getattr(b, key)
        should = first is not None and KEYS.index(key) >= KEYS.index(first)
        assert changed == should, (name, key)


def test_layouts_that_pool_the_same_rows_share_codebooks():
    base = Spec.from_params(_params(layout="whole+halves+fused"))
    same_rows = Spec.from_params(_params(layout="grid4+fused4"))
    face_only = Spec.from_params(_params(layout="grid4"))
    assert base.codebook_key == same_rows.codebook_key != face_only.codebook_key
    assert base.svm_key != same_rows.svm_key


def test_spec_holds_kinds_layout_descriptor_specs_and_detector():
    s = Spec.from_params(_params(descriptors="tipm+tisf", layout="eyes+fused", step=4, detect_size=96))
    assert s.kinds == ("tipm", "tisf") and s.layout.name == "eyes+fused" and s.n_regions == 2
    assert [(d.kind, d.step, d.dim) for d in s.descriptor_specs] == [("tipm", 4, 64), ("tisf", 4, 128)]
    assert s.detector == DetectorSettings(detector="cascade+yunet", detect_size=96, min_face=0.02,
                                          scale_factor=1.1)
    assert s.detector.kwargs() == {"detector": "cascade+yunet", "detect_size": 96, "min_face": 0.02,
                                   "scale_factor": 1.1, "score_threshold": 0.7}
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.kinds = ("tisf",)  # type: ignore[misc]
    assert hash(s) == hash(Spec.from_params(_params(descriptors="tipm+tisf", layout="eyes+fused", step=4,
                                                    detect_size=96)))


def test_detector_settings_are_keyword_only_values_checked_on_creation():
    with pytest.raises(ValueError, match="detect_size"):
        DetectorSettings(detect_size=16)
    with pytest.raises(ValueError, match="scale_factor"):
        DetectorSettings(scale_factor=1.0)


@pytest.mark.parametrize("params, message", [
    ({"delta": 0.6}, "delta must be in"), ({"kernel": "poly"}, "kernel must be one of"),
    ({"fusion": "score"}, "fusion must be one of"), ({"descriptors": "surf"}, "descriptors must be"),
    ({"layout": "nose"}, "unknown layout level 'nose'"), ({"backend": "gpu"}, "unknown backend 'gpu'"),
    ({"on_missing": "skip"}, "on_missing must be"), ({"face_size": 8}, "face_size must be an integer"),
    ({"detect_size": 16}, "detect_size must be"), ({"min_face": 1.5}, "min_face must be"),
    ({"detect_scale": 1.0}, "scale_factor must be"), ({"n_wrods": 3}, r"unknown DLFERS parameters \['n_wrods'\]"),
])
def test_invalid_values_raise_the_estimators_errors(params, message):
    with pytest.raises(ValueError, match=message):
        Spec.from_params(_params(**params))
    if "n_wrods" not in params:
        with pytest.raises(ValueError, match=message):
            DLFERS(**params).spec()


def test_the_estimators_spec_follows_set_params():
    m = DLFERS()
    a = m.spec()
    assert m.spec() is a
    m.set_params(layout="whole")
    assert m.spec() is not a and m.spec().layout.name == "whole"
