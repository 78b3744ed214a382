"""Mirror augmentation: flips of training faces only, same labels, and a clear error without faces."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FAST

from dlfers import DLFERS
from dlfers.evaluation.protocols import evaluate, make_splits
from dlfers.features.mirror import flip_face
from dlfers.model import codebook as codebook_mod  # every k-means run of a fit goes through it
from dlfers.model import stages as mirror_mod  # the fit stage flips through stages.flip_face
from dlfers.model.stages import mirrored


def test_no_test_fold_face_is_ever_flipped_into_training(jaffe, monkeypatch):
    """Every face flipped in a fold is a training face of that fold; k-means sees each training
    face and its flip, and nothing of the test fold."""
    model = DLFERS(**FAST, mirror=True)
    feats = model.extract(jaffe.images)
    owner = {id(f.face): i for i, f in enumerate(feats)}
    desc_owner = {id(a): i for i, f in enumerate(feats) for a in f.descriptors.values()}
    flipped: list[int] = []
    seen: list[list[int]] = []
    real_flip, real_fit = mirror_mod.flip_face, codebook_mod.fit_codebook

    def spy_flip(face):
        flipped.append(owner[id(face)])
        return real_flip(face)

    def spy_fit(descriptors, labels, *args, **kwargs):
        seen.append([desc_owner.get(id(d), -1) for d in descriptors])  # -1: a flip's descriptors
        return real_fit(descriptors, labels, *args, **kwargs)

    monkeypatch.setattr(mirror_mod, "flip_face", spy_flip)
    monkeypatch.setattr(codebook_mod, "fit_codebook", spy_fit)
    report = evaluate(jaffe, "kfold", folds=3, model=model, baseline=False, features=feats)
    splits = make_splits(jaffe.labels, jaffe.subjects, "kfold", 3, 0)
    assert len(flipped) == sum(len(tr) for tr, _ in splits)
    start = 0
    for k, (tr, te) in enumerate(splits):
        fold = flipped[start : start + len(tr)]
        start += len(tr)
        assert sorted(fold) == sorted(tr.tolist()) and not set(fold) & set(te.tolist())
        for used in seen[2 * k : 2 * k + 2]:  # tisf and tipm codebooks
            assert sorted(i for i in used if i >= 0) == sorted(tr.tolist())
            assert used.count(-1) == len(tr)
    assert 0 <= report["overall_accuracy"] <= 100


def test_flips_are_the_features_of_the_mirrored_face(jaffe_small):
    images, labels, _ = jaffe_small
    model = DLFERS(**FAST)
    feats = model.extract(images[:4], progress=False)
    both, y2 = mirrored(feats, np.asarray(labels[:4]), model.spec())
    assert len(both) == 8 and y2.tolist() == list(labels[:4]) * 2
    for f, g in zip(feats, both[4:]):
        np.testing.assert_array_equal(g.face, f.face[:, ::-1])
        ref = model.face_features(np.ascontiguousarray(f.face[:, ::-1]))
        for kind in model.spec().kinds:
            np.testing.assert_array_equal(g.descriptors[kind], ref.descriptors[kind])
    assert flip_face(np.arange(6.0).reshape(2, 3)).tolist() == [[2.0, 1.0, 0.0], [5.0, 4.0, 3.0]]


def test_mirror_needs_the_faces(jaffe_small):
    images, labels, _ = jaffe_small
    feats = DLFERS(**FAST).extract(images[:6], progress=False)
    feats[2].face = None
    with pytest.raises(ValueError, match="item 2 has none"):
        DLFERS(**FAST, mirror=True).fit_features(feats, labels[:6])
    DLFERS(**FAST).fit_features(feats, labels[:6])  # without mirror the faces are not needed


def test_mirror_does_not_change_prediction_features(jaffe_small):
    """Only training sees flips: a mirror model's prediction path is the plain one."""
    images, labels, _ = jaffe_small
    m = DLFERS(**FAST, mirror=True).fit(images[::2], labels[::2])
    assert m.predict(images[1::2][:5]).shape == (5,)
    assert m.transform(images[:3]).shape[0] == 3
