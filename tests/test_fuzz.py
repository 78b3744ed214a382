"""Fuzzing the two loaders of untrusted files: random and mutated bytes never crash them.

``read_image`` may only return a 2-D uint8 array or raise :class:`ImageError`; ``load``
may only return a model or raise :class:`ModelFileError`.  Bounded: 200 examples each.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlfers import DLFERS, ImageError, ModelFileError, load, read_image

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
MAX_PIXELS = 4_000_000  # keeps a mutated header from asking for a huge (but legal) decode


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def seeds(jaffe_file) -> list[bytes]:
    """Small valid images in several formats, to be mutated."""
    gray = cv2.resize(cv2.imread(str(jaffe_file), cv2.IMREAD_GRAYSCALE), (24, 24))
    out = [jaffe_file.read_bytes()[:4096]]
    for ext, img in ((".png", gray), (".tiff", gray), (".jpg", gray), (".bmp", gray),
                     (".png", np.dstack([gray, gray, gray, gray]))):
        ok, buf = cv2.imencode(ext, img)
        assert ok
        out.append(buf.tobytes())
    return out


@pytest.fixture(scope="module")
def model_bytes(jaffe, workdir) -> bytes:
    """A tiny fitted model's file."""
    pick = [i for c in sorted(set(jaffe.labels)) for i in np.flatnonzero(jaffe.labels == c)[:2]]
    faces = [cv2.resize(jaffe.images[i][60:200, 60:200], (48, 48)) for i in pick]
    m = DLFERS(detect=False, face_size=32, layout="whole", descriptors="tisf", step=8, n_words=2, max_samples=300)
    m.fit(faces, jaffe.labels[pick])
    m.save(workdir / "tiny.dlfers")
    return (workdir / "tiny.dlfers").read_bytes()


mutations = st.lists(st.tuples(st.integers(0, 2**20), st.integers(0, 255)), min_size=1, max_size=8)


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    b = bytearray(data)
    for pos, val in edits:
        b[pos % len(b)] = val
    return bytes(b[:cut] if cut is not None else b)


def _check_image(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        img = read_image(path, max_pixels=MAX_PIXELS)
    except ImageError as exc:
        assert str(path) in str(exc)
        return
    assert img.ndim == 2 and img.dtype == np.uint8 and img.size > 0


def _check_model(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        model = load(path)
    except ModelFileError as exc:
        assert str(path) in str(exc)
        return
    assert hasattr(model, "svms_")


@FUZZ
@given(data=st.binary(max_size=2048), prefix=st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"II*\x00", b"MM\x00*",
                                                               b"\xff\xd8\xff", b"BM", b"P5\n", b"RIFF"]))
def test_image_loader_on_random_bytes(workdir, data, prefix):
    _check_image(workdir / "random.img", prefix + data)


@FUZZ
@given(which=st.integers(0, 5), edits=mutations, cut=st.none() | st.integers(0, 4096))
def test_image_loader_on_mutated_images(workdir, seeds, which, edits, cut):
    _check_image(workdir / "mutated.img", _mutate(seeds[which], edits, cut))


@FUZZ
@given(data=st.binary(max_size=2048), prefix=st.sampled_from([b"", b"PK\x03\x04", b"PK\x05\x06"]))
def test_model_loader_on_random_bytes(workdir, data, prefix):
    _check_model(workdir / "random.dlfers", prefix + data)


@FUZZ
@given(edits=mutations, cut=st.none() | st.integers(0, 2**16))
def test_model_loader_on_mutated_models(workdir, model_bytes, edits, cut):
    _check_model(workdir / "mutated.dlfers", _mutate(model_bytes, edits, cut))
