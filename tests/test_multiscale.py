"""Second-scale descriptor kinds: the first scale's grid centres, the same kernels, every backend."""

from __future__ import annotations

import numpy as np
import pytest

from dlfers import DLFERS, _kernels
from dlfers.features.descriptors import KIND_SCALE, DescriptorSpec, dense_descriptors, grid_points, grid_shape
from dlfers.features.multiscale import padding
from dlfers.model.spec import Spec

ALL = "tisf+tipm+tisf2+tipm2"


@pytest.fixture(scope="module")
def face():
    rng = np.random.default_rng(1)
    import cv2

    img = cv2.GaussianBlur(rng.uniform(0, 255, (64, 64)).astype(np.float32), (0, 0), 2.0)
    return img * 3.0


@pytest.mark.parametrize("step", [2, 3, 4])
def test_second_scale_is_the_padded_image_at_twice_the_cell_on_the_same_centres(face, step):
    import cv2

    model = DLFERS(face_size=64, step=step, descriptors=ALL, layout="whole+fused", backend="numpy")
    feats = model.face_features(face)
    ny, nx = grid_shape(64, 64, step)
    n = ny * nx
    base_pts = grid_points(ny, nx, DescriptorSpec("tisf", step))
    for kind, plain in (("tisf2", "tisf"), ("tipm2", "tipm")):
        s = KIND_SCALE[kind]
        p = padding(4 * s)
        padded = cv2.copyMakeBorder(face, p, p, p, p, cv2.BORDER_REFLECT_101)
        pts, ref = dense_descriptors(padded, plain, step, cell=4 * s, sigma=1.0 * s, backend="numpy")
        np.testing.assert_allclose(pts - p, base_pts)  # the same centres as the first scale
        np.testing.assert_array_equal(feats.descriptors[kind][:n], ref)
        assert feats.descriptors[kind].shape == feats.descriptors[plain].shape
    # the first scale is unchanged by the second's presence
    only = DLFERS(face_size=64, step=step, layout="whole+fused", backend="numpy").face_features(face)
    for kind in ("tisf", "tipm"):
        np.testing.assert_array_equal(feats.descriptors[kind], only.descriptors[kind])


def test_spec_scales_cell_and_sigma():
    spec = Spec.from_params({**DLFERS(descriptors=ALL, sigma=1.5).get_params()})
    cells = {d.kind: (d.cell, d.sigma, d.dim) for d in spec.descriptor_specs}
    assert cells == {"tisf": (4, 1.5, 128), "tipm": (4, 1.5, 64), "tisf2": (8, 3.0, 128), "tipm2": (8, 3.0, 64)}


@pytest.mark.parametrize("name", ["numba", "cython"])
def test_backends_agree_on_the_second_scale(face, name):
    if _kernels.load(name) is None:
        pytest.skip(f"{name} backend unavailable")
    ref = DLFERS(face_size=64, descriptors=ALL, backend="numpy").face_features(face)
    got = DLFERS(face_size=64, descriptors=ALL, backend=name).face_features(face)
    for kind in ("tisf2", "tipm2"):
        np.testing.assert_allclose(got.descriptors[kind], ref.descriptors[kind], atol=1e-5)


def test_multiscale_model_round_trips_through_a_model_file(jaffe_small, tmp_path):
    from dlfers import load

    images, labels, _ = jaffe_small
    m = DLFERS(face_size=64, layout="whole+halves+fused", descriptors=ALL, n_words=6, max_samples=2000,
               mirror=True).fit(images[::2], labels[::2])
    assert set(m.codebooks_) == {"tisf", "tipm", "tisf2", "tipm2"}
    m.save(tmp_path / "m.dlfers")
    back = load(tmp_path / "m.dlfers")
    assert back.get_params()["descriptors"] == ALL and back.mirror is True and back.align is False
    np.testing.assert_allclose(back.predict_proba(images[1::8]), m.predict_proba(images[1::8]), atol=1e-12)
