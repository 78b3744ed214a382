"""Loading JAFFE and folder data sets; every kind of bad file gets a named outcome."""

from __future__ import annotations

import collections

import cv2
import numpy as np
import pytest

from dlfers import ImageError, load_folder, load_jaffe, read_image
from dlfers.data.folders import EXPRESSIONS, jaffe_label
from dlfers.image.read import to_gray_uint8


def test_jaffe_labels_and_subjects(jaffe):
    assert len(jaffe) == 213 and not jaffe.errors
    assert sorted(set(jaffe.labels)) == sorted(EXPRESSIONS)
    assert len(set(jaffe.subjects)) == 10
    counts = collections.Counter(jaffe.labels)
    assert min(counts.values()) >= 29 and max(counts.values()) <= 32
    for img in jaffe.images:
        assert img.dtype == np.uint8 and img.ndim == 2 and img.shape == (256, 256)
    i = jaffe.paths.index(next(p for p in jaffe.paths if p.endswith("KA.HA1.29.tiff")))
    assert (jaffe.labels[i], jaffe.subjects[i]) == ("happy", "KA")


def test_jaffe_palette_images_are_gray(jaffe_dir):
    # palette TIFFs decode to 3 channels in OpenCV; they must come back 2-D gray like the rest
    raw = {p.name: cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted(jaffe_dir.glob("*.tiff"))}
    colour = [n for n, im in raw.items() if im is not None and im.ndim == 3]
    assert colour, "expected some palette (colour-decoded) JAFFE files"
    img = read_image(jaffe_dir / colour[0])
    assert img.ndim == 2 and img.dtype == np.uint8


@pytest.mark.parametrize(
    "name, want",
    [("KA.HA1.29.tiff", ("happy", "KA")), ("NA.DI2.215.tiff", ("disgust", "NA")), ("KM.NE3.3.tiff", ("neutral", "KM")),
     ("README.txt", None), ("KA.XX1.1.tiff", None)],
)
def test_jaffe_file_names(name, want):
    assert jaffe_label(name) == want


def test_missing_folder():
    with pytest.raises(FileNotFoundError, match="not a folder"):
        load_jaffe("/nonexistent/jaffe")


def _write_bad_files(tmp_path, jaffe_file):
    good = jaffe_file.read_bytes()
    files = {
        "text.png": b"this is not an image at all\n",
        "empty.png": b"",
        "truncated.tiff": good[: len(good) // 3],
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return files


@pytest.mark.parametrize(
    "name, message",
    [("text.png", "not a recognised image format"), ("empty.png", "empty"), ("truncated.tiff", "corrupt or truncated")],
)
def test_bad_files_name_the_file_and_problem(tmp_path, jaffe_file, name, message):
    _write_bad_files(tmp_path, jaffe_file)
    with pytest.raises(ImageError, match=message) as info:
        read_image(tmp_path / name)
    assert info.value.path == str(tmp_path / name)
    assert name in str(info.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ImageError, match="does not exist"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="directory"):
        read_image(tmp_path)


def test_huge_image_rejected_from_header(tmp_path):
    img = np.zeros((3000, 3000), np.uint8)
    cv2.imwrite(str(tmp_path / "big.png"), img)
    with pytest.raises(ImageError, match="exceeds the limit"):
        read_image(tmp_path / "big.png", max_pixels=1_000_000)


def test_rgb_rgba_and_16bit_files_become_gray(tmp_path, jaffe):
    gray = jaffe.images[0]
    bgr = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    cv2.imwrite(str(tmp_path / "rgb.png"), bgr)
    cv2.imwrite(str(tmp_path / "rgba.png"), cv2.cvtColor(gray, cv2.COLOR_GRAY2BGRA))
    cv2.imwrite(str(tmp_path / "deep.png"), gray.astype(np.uint16) * 257)
    for name in ("rgb.png", "rgba.png", "deep.png"):
        out = read_image(tmp_path / name)
        assert out.shape == gray.shape and out.dtype == np.uint8
        assert np.abs(out.astype(int) - gray).max() <= 1, name


@pytest.mark.parametrize(
    "arr, message",
    [(np.zeros((0, 5), np.uint8), "empty"), (np.zeros((4, 4, 2), np.uint8), "channels"),
     (np.zeros((2, 3, 4, 5), np.uint8), "shape"), (np.zeros((4, 4), np.int64), "dtype"),
     (np.full((4, 4), np.nan, np.float32), "NaN"), ("image.png", "numpy array")],
)
def test_bad_arrays(arr, message):
    with pytest.raises(ImageError, match=message):
        to_gray_uint8(arr)


def test_batch_with_bad_files_keeps_the_good_ones(tmp_path, jaffe_dir, jaffe_file):
    for cls in ("happy", "sad"):
        (tmp_path / cls).mkdir()
    for i, p in enumerate(sorted(jaffe_dir.glob("*.HA*.tiff"))[:3]):
        (tmp_path / "happy" / f"s{i}_{p.name}").write_bytes(p.read_bytes())
    for i, p in enumerate(sorted(jaffe_dir.glob("*.SA*.tiff"))[:3]):
        (tmp_path / "sad" / f"s{i}_{p.name}").write_bytes(p.read_bytes())
    (tmp_path / "sad" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (tmp_path / "happy" / "empty.jpg").write_bytes(b"")
    ds = load_folder(tmp_path)
    assert len(ds) == 6
    assert sorted(ds.labels.tolist()) == ["happy"] * 3 + ["sad"] * 3
    assert sorted(e.path.rsplit("/", 1)[1] for e in ds.errors) == ["broken.png", "empty.jpg"]
    assert all(e.problem for e in ds.errors)
