"""Model files: save/load round trip, pickle-free container, every malformed-file case."""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
from _trained import fast_model
from sklearn.exceptions import NotFittedError
from sklearn.svm import SVC

from dlfers import DLFERS, ModelFileError, load
from dlfers.model import file as model_io
from dlfers.model.classify import KERNELS, KernelSVC, kernel_matrix


@pytest.fixture(scope="module")
def held_out(jaffe):
    """JAFFE images outside ``jaffe_small`` (every third image from the second)."""
    return jaffe.images[1::3][:24]


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _write(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    return path


def _npy(arr: np.ndarray, allow_pickle: bool = False) -> bytes:
    f = io.BytesIO()
    np.lib.format.write_array(f, arr, allow_pickle=allow_pickle)
    return f.getvalue()


def _header(members: dict[str, bytes]) -> dict:
    return json.loads(np.lib.format.read_array(io.BytesIO(members["header.npy"])).tobytes())


def _with_header(members: dict[str, bytes], header: dict, rehash: bool = False) -> dict[str, bytes]:
    if rehash:
        arrays = {n[:-4]: np.lib.format.read_array(io.BytesIO(b)) for n, b in members.items() if n != "header.npy"}
        header["checksum"]["value"] = model_io._checksum(header, arrays)
    text = np.frombuffer(json.dumps(header).encode(), np.uint8)
    return {**members, "header.npy": _npy(text)}


# ----------------------------------------------------------------------------- round trip
@pytest.mark.parametrize("fusion", ["feature", "decision"])
def test_loaded_model_predicts_exactly_as_the_fitted_one(jaffe_small, held_out, tmp_path, fusion):
    m = fast_model(jaffe_small, fusion)
    m.save(tmp_path / "m.dlfers")
    loaded = load(tmp_path / "m.dlfers")
    assert loaded.get_params() == m.get_params()
    np.testing.assert_array_equal(loaded.classes_, m.classes_)
    np.testing.assert_array_equal(loaded.predict(held_out), m.predict(held_out))
    np.testing.assert_allclose(loaded.predict_proba(held_out), m.predict_proba(held_out), rtol=0, atol=1e-12)
    np.testing.assert_allclose(loaded.decision_function(held_out), m.decision_function(held_out), rtol=0, atol=1e-12)
    (a,), (b,) = loaded.predict_image(held_out[0]), m.predict_image(held_out[0])
    assert (a.box, a.label) == (b.box, b.label)
    np.testing.assert_allclose(list(a.probabilities.values()), list(b.probabilities.values()), rtol=0, atol=1e-12)


def test_file_is_a_pickle_free_npz_with_a_documented_header(model, model_file):
    with np.load(model_file, allow_pickle=False) as z:
        header = json.loads(z["header"].tobytes())
        assert set(z.files) == {"header", *header["arrays"]}
        np.testing.assert_array_equal(z["classes"], model.classes_)
        np.testing.assert_array_equal(z["codebook__tisf"], model.codebooks_["tisf"])
    assert header["format"] == "dlfers-model" and header["format_version"] == model_io.FORMAT_VERSION
    assert header["dlfers_version"] == __import__("dlfers").__version__
    assert header["params"] == model.get_params()
    assert header["checksum"]["algorithm"] == "sha256" and len(header["checksum"]["value"]) == 64
    assert header["svms"][0]["name"] == "tisf+tipm+gabor"
    assert header["texture_scales"] == model.texture_scales_ and set(model.texture_scales_) == {"gabor"}


def test_save_refuses_an_unfitted_model(tmp_path):
    with pytest.raises(NotFittedError):
        DLFERS().save(tmp_path / "m.dlfers")
    assert not (tmp_path / "m.dlfers").exists()


def test_save_replaces_an_existing_file(model, tmp_path):
    path = tmp_path / "m.dlfers"
    path.write_bytes(b"old")
    model.save(path)
    assert load(path).n_words == model.n_words
    assert [p.name for p in tmp_path.iterdir()] == ["m.dlfers"]


def test_backend_override(model_file):
    assert load(model_file, backend="numpy").backend == "numpy"
    with pytest.raises(ModelFileError, match="invalid model configuration"):
        load(model_file, backend="fortran")


# ----------------------------------------------------------------------------- the SVM without LIBSVM
def _hists(seed, n, k):
    proto = np.random.default_rng(100).dirichlet(np.ones(30), k)
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    return np.array([rng.dirichlet(50 * proto[c] + 0.3) for c in y], np.float32), y


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("k", [2, 3, 7])
def test_numpy_decisions_equal_libsvm_on_held_out_data(kernel, k):
    x, y = _hists(0, 15 * k, k)
    xt, _ = _hists(1, 40, k)
    m = KernelSVC(kernel, C=1.0).fit(x, y)
    full = np.zeros((len(xt), len(x)))
    full[:, m.support_] = kernel_matrix(xt, m.support_vectors_, kernel, m.gamma_)
    ref = SVC(kernel="precomputed", C=1.0).fit(kernel_matrix(x, x, kernel, m.gamma_), y)
    np.testing.assert_array_equal(m.predict(xt), ref.predict(full))
    d = ref.decision_function(full)
    np.testing.assert_allclose(m.decision_function(xt), np.stack([-d, d], 1) if k == 2 else d, rtol=0, atol=1e-10)


def test_svm_state_round_trip_and_validation():
    x, y = _hists(0, 45, 3)
    m = KernelSVC("chi2", probability=True).fit(x, y)
    meta, arrays = m.get_state()
    back = KernelSVC.from_state(json.loads(json.dumps(meta)), arrays)
    np.testing.assert_array_equal(back.predict_proba(x), m.predict_proba(x))
    bad = {**arrays, "ovo_coef": arrays["ovo_coef"][:, 1:]}
    with pytest.raises(ValueError, match="ovo_coef"):
        KernelSVC.from_state(meta, bad)
    with pytest.raises(ValueError, match="incomplete"):
        KernelSVC.from_state({"kernel": "chi2"}, arrays)


# ----------------------------------------------------------------------------- malformed files
def test_missing_empty_and_folder(tmp_path):
    with pytest.raises(ModelFileError, match="no such file"):
        load(tmp_path / "none.dlfers")
    (tmp_path / "empty.dlfers").write_bytes(b"")
    with pytest.raises(ModelFileError, match="empty"):
        load(tmp_path / "empty.dlfers")
    with pytest.raises(ModelFileError, match="folder"):
        load(tmp_path)


def test_files_that_are_not_models(tmp_path, jaffe_file):
    with pytest.raises(ModelFileError, match="not a dlfers model") as exc:
        load(jaffe_file)
    assert str(jaffe_file) in str(exc.value) and isinstance(exc.value, ValueError)
    (tmp_path / "text.dlfers").write_text("hello")
    with pytest.raises(ModelFileError, match="not a dlfers model"):
        load(tmp_path / "text.dlfers")
    np.savez(tmp_path / "other.npz", a=np.arange(3))
    with pytest.raises(ModelFileError, match="without header"):
        load(tmp_path / "other.npz")
    text = np.frombuffer(json.dumps({"format": "something-else"}).encode(), np.uint8)
    _write(tmp_path / "fmt.npz", {"header.npy": _npy(text)})
    with pytest.raises(ModelFileError, match="format 'something-else'"):
        load(tmp_path / "fmt.npz")
    _write(tmp_path / "junk.npz", {"header.npy": b"\x93NUMPY garbage"})
    with pytest.raises(ModelFileError, match="unreadable header"):
        load(tmp_path / "junk.npz")


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.999])
def test_truncated_file(model_file, tmp_path, keep):
    data = model_file.read_bytes()
    (tmp_path / "t.dlfers").write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ModelFileError, match="truncated or corrupt"):
        load(tmp_path / "t.dlfers")


def test_flipped_bytes_are_detected(model_file, tmp_path):
    data = bytearray(model_file.read_bytes())
    for pos in range(200, len(data) - 200, len(data) // 15):
        bad = bytearray(data)
        bad[pos] ^= 0xFF
        (tmp_path / "f.dlfers").write_bytes(bytes(bad))
        try:
            loaded = load(tmp_path / "f.dlfers")
        except ModelFileError:
            continue
        # a flip in a byte the container ignores (e.g. a timestamp) must leave the model intact
        assert all(np.array_equal(loaded.codebooks_[k], v) for k, v in load(model_file).codebooks_.items())


def test_modified_array_fails_the_checksum(model_file, tmp_path):
    members = _members(model_file)
    cb = np.lib.format.read_array(io.BytesIO(members["codebook__tisf.npy"]))
    cb[0, 0] += 1e-3
    _write(tmp_path / "m.dlfers", {**members, "codebook__tisf.npy": _npy(cb)})
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        load(tmp_path / "m.dlfers")


def test_modified_header_fails_the_checksum(model_file, tmp_path):
    members = _members(model_file)
    header = _header(members)
    header["params"]["C"] = 1.0
    _write(tmp_path / "m.dlfers", _with_header(members, header))
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        load(tmp_path / "m.dlfers")


def test_newer_format_asks_for_an_upgrade(model_file, tmp_path):
    members = _members(model_file)
    header = _header(members)
    header["format_version"] = model_io.FORMAT_VERSION + 1
    _write(tmp_path / "m.dlfers", _with_header(members, header, rehash=True))
    with pytest.raises(ModelFileError, match="upgrade dlfers"):
        load(tmp_path / "m.dlfers")


def test_pickled_member_is_refused_without_running_it(model_file, tmp_path):
    class Boom:
        def __reduce__(self):
            return (Path.write_text, (tmp_path / "pwned", "x"))

    members = _members(model_file)
    evil = np.empty(1, dtype=object)
    evil[0] = Boom()
    _write(tmp_path / "m.dlfers", {**members, "classes.npy": _npy(evil, allow_pickle=True)})
    with pytest.raises(ModelFileError, match="disallowed dtype"):
        load(tmp_path / "m.dlfers")
    assert not (tmp_path / "pwned").exists()


def test_extra_or_missing_members(model_file, tmp_path):
    members = _members(model_file)
    _write(tmp_path / "extra.dlfers", {**members, "extra.npy": _npy(np.zeros(2))})
    with pytest.raises(ModelFileError, match="do not match the header"):
        load(tmp_path / "extra.dlfers")
    _write(tmp_path / "missing.dlfers", {k: v for k, v in members.items() if k != "svm0__ovo_coef.npy"})
    with pytest.raises(ModelFileError, match="do not match the header"):
        load(tmp_path / "missing.dlfers")


def test_member_that_lies_about_its_size(model_file, tmp_path):
    members = _members(model_file)
    data = members["codebook__tisf.npy"]
    _write(tmp_path / "m.dlfers", {**members, "codebook__tisf.npy": data[:-40]})
    with pytest.raises(ModelFileError, match="bad array member"):
        load(tmp_path / "m.dlfers")


@pytest.mark.parametrize("edit, message", [
    (lambda h: h["params"].update(bogus=1), r"written by dlfers .* parameters \['bogus'\] .* upgrade dlfers"),
    (lambda h: h["params"].update(n_words="many", descriptors="sift"), "invalid model configuration"),
    (lambda h: h.update(codebooks=["tisf"]), "inconsistent model"),
    (lambda h: h["svms"][0].update(name="tisf"), "inconsistent model"),
    (lambda h: h["svms"][0]["meta"].update(kernel="poly"), "inconsistent model"),
    (lambda h: h.pop("svms"), "inconsistent model"),
    (lambda h: h.update(format_version="1"), "invalid format_version"),
])
def test_consistent_checksum_but_inconsistent_content(model_file, tmp_path, edit, message):
    members = _members(model_file)
    header = _header(members)
    edit(header)
    _write(tmp_path / "m.dlfers", _with_header(members, header, rehash=True))
    with pytest.raises(ModelFileError, match=message):
        load(tmp_path / "m.dlfers")


def test_dropping_calibration_is_inconsistent(model_file, tmp_path):
    members = _members(model_file)
    header = _header(members)
    for name in ("svm0__calib_coef", "svm0__calib_intercept"):
        del members[name + ".npy"]
        del header["arrays"][name]
    _write(tmp_path / "m.dlfers", _with_header(members, header, rehash=True))
    with pytest.raises(ModelFileError, match="calibration"):
        load(tmp_path / "m.dlfers")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_model_files_respect_the_umask(model, tmp_path):
    """Issue 13 item 6: 0644 under the usual umask 022, as ``open()`` would create it (not mkstemp's 0600)."""
    old = os.umask(0o022)
    try:
        model.save(tmp_path / "m.dlfers")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "m.dlfers").stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["m.dlfers"]


def test_a_parameter_from_a_newer_dlfers_asks_for_an_upgrade(model_file, tmp_path):
    """Issue 17: an unknown parameter names the version that wrote the file, not "invalid configuration"."""
    members = _members(model_file)
    header = _header(members)
    header["params"]["detect_pyramid"] = "coarse"
    header["dlfers_version"] = "9.1.0"
    _write(tmp_path / "m.dlfers", _with_header(members, header, rehash=True))
    with pytest.raises(ModelFileError) as info:
        load(tmp_path / "m.dlfers")
    msg = str(info.value)
    assert "written by dlfers 9.1.0" in msg and "['detect_pyramid']" in msg and "upgrade dlfers" in msg
    assert info.value.path == str(tmp_path / "m.dlfers")


def test_model_io_uses_the_estimators_public_state_only():
    """model_io reads and writes models through DLFERS.to_state/from_state, no private helper."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(model_io))
    private = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr.startswith("_")
               and not n.attr.startswith("__") and isinstance(n.value, ast.Name) and n.value.id in ("model", "DLFERS")}
    assert private == set()


def test_state_round_trip_in_memory(model):
    meta, arrays = model.to_state()
    again = DLFERS.from_state(meta, arrays)
    assert again.get_params() == model.get_params()
    for name, a in again.to_state()[1].items():
        np.testing.assert_array_equal(a, arrays[name])
