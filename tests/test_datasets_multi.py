"""Several data sets: label aliases, subject ids, group-kfold, metrics, pre-cropped sets, --test-data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import FAST, data_dir

from dlfers.cli.main import main
from dlfers.data.folders import JAFFE_CODES, load_dataset
from dlfers.data.labels import DEFAULT_ALIASES, alias_table, apply_aliases, parse_alias, read_aliases
from dlfers.data.sources import extract_sources, load_datasets
from dlfers.data.subjects import compile_subject_pattern, subject_of
from dlfers.evaluation.crossdata import evaluate_transfer
from dlfers.evaluation.protocols import make_splits, scores
from dlfers.face.detect import FaceBox, crop_box
from dlfers.model.estimator import DLFERS

#: the FAST configuration as command-line options
FAST_ARGS = ["--face-size", "64", "--layout", "whole+halves+fused", "--step", "4", "--n-words", "8",
             "--jobs", "1", "--quiet"]


@pytest.fixture(scope="session")
def ck_dir() -> Path:
    path = data_dir() / "ckplus48"
    if not path.is_dir():
        pytest.skip(f"CK+48 not found at {path} (set DLFERS_DATA to the folder holding ckplus48/)")
    return path


def _halves(jaffe_dir: Path, tmp_path: Path) -> tuple[Path, Path, set[str], set[str]]:
    """JAFFE split by subject into two folders of symbolic links (first five subjects, last five)."""
    files = sorted(p for p in jaffe_dir.iterdir() if p.suffix.lower() in (".tiff", ".tif"))
    subjects = sorted({p.name.split(".")[0] for p in files})
    a, b = tmp_path / "jaffe_a", tmp_path / "jaffe_b"
    a.mkdir()
    b.mkdir()
    for p in files:
        (a if p.name.split(".")[0] in subjects[:5] else b).joinpath(p.name).symlink_to(p)
    return a, b, set(subjects[:5]), set(subjects[5:])


# ------------------------------------------------------------------ label aliases
def test_default_aliases_meet_jaffe_vocabulary():
    jaffe = set(JAFFE_CODES.values())
    assert set(DEFAULT_ALIASES.values()) <= jaffe
    table = alias_table()
    assert table == {"angry": "anger", "sadness": "sad", "happiness": "happy", "surprised": "surprise"}
    lab, applied = apply_aliases(["angry", "Sadness", "neutral", "contempt", "happy", "surprised"], table)
    assert lab.tolist() == ["anger", "sad", "neutral", "contempt", "happy", "surprise"]
    assert applied == {"angry": "anger", "Sadness": "sad", "surprised": "surprise"}  # only what occurred


def test_user_aliases_extend_chain_and_undo():
    table = alias_table({"mad": "angry", "Joy": "happiness", "sadness": "sadness"})
    assert table["mad"] == "anger" and table["joy"] == "happy"  # chains followed, keys case-insensitive
    assert "sadness" not in table  # undone
    assert alias_table([("x", "y")], defaults=False) == {"x": "y"}
    with pytest.raises(ValueError, match="cycle"):
        alias_table({"a": "b", "b": "a"})


@pytest.mark.parametrize("text", ["angry", "a=b=c", "=anger", "angry= "])
def test_bad_alias_text(text):
    with pytest.raises(ValueError, match="FROM=TO"):
        parse_alias(text)
    assert parse_alias(" angry = anger ") == ("angry", "anger")


def test_alias_file(tmp_path):
    good = tmp_path / "a.json"
    good.write_text('{"mad": "anger"}')
    assert read_aliases(good) == {"mad": "anger"}
    bad = tmp_path / "b.json"
    bad.write_text('["mad", "anger"]')
    with pytest.raises(ValueError, match=str(bad)):
        read_aliases(bad)
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not a JSON"):
        read_aliases(bad)
    with pytest.raises(FileNotFoundError, match="missing.json"):
        read_aliases(tmp_path / "missing.json")


# ------------------------------------------------------------------ subjects
def test_subject_rule_and_pattern():
    assert subject_of("S010_004_00000017.png") == "S010"
    assert subject_of("anna.happy.png") == "anna"
    rx = compile_subject_pattern(r"^p(\d+)-")
    assert subject_of("p12-take3.png", rx) == "12"
    assert subject_of("q12-take3.png", rx) is None
    named = compile_subject_pattern(r"(?P<take>t\d)_(?P<subject>[a-z]+)")
    assert subject_of("x_t1_bob.png", named) == "bob"
    with pytest.raises(ValueError, match="group"):
        compile_subject_pattern(r"^S\d+")
    with pytest.raises(ValueError, match="not a valid regular expression"):
        compile_subject_pattern("(")


def _folder_set(tmp_path: Path, jaffe_dir: Path, names: dict[str, list[str]]) -> Path:
    """A folder-per-class set of symbolic links to JAFFE images under the given names."""
    root = tmp_path / "faces"
    src = sorted(jaffe_dir.glob("*.tiff"))
    k = 0
    for cls, files in names.items():
        (root / cls).mkdir(parents=True)
        for name in files:
            (root / cls / name).symlink_to(src[k])
            k += 1
    return root


def test_subject_pattern_on_a_folder_set(tmp_path, jaffe_dir):
    root = _folder_set(tmp_path, jaffe_dir, {"angry": ["p1-a_1.tiff", "p2-b_1.tiff"], "happy": ["p1-c_2.tiff"]})
    assert sorted(load_dataset(root).subjects) == ["p1-a", "p1-c", "p2-b"]  # default rule
    src = load_datasets(root, subject_pattern=r"^(p\d+)-")
    assert sorted(src.dataset.subjects) == ["p1", "p1", "p2"]
    assert sorted(src.dataset.labels) == ["anger", "anger", "happy"]
    text = "\n".join(src.notes)
    assert "2 subjects" in text and "p1 (2)" in text and "angry -> anger" in text
    with pytest.raises(ValueError, match=r"does not match 3 file name\(s\).*p1-a_1.tiff"):
        load_datasets(root, subject_pattern=r"^(S\d+)_")


# ------------------------------------------------------------------ protocols
def test_group_kfold_never_splits_a_subject(jaffe, ck_dir):
    ck = load_datasets([ck_dir, data_dir() / "jaffe"])
    for labels, subjects, folds in ((jaffe.labels, jaffe.subjects, 5),
                                    (ck.dataset.labels, ck.dataset.subjects, 10)):
        splits = make_splits(np.asarray(labels), np.asarray(subjects), "group-kfold", folds, 0)
        assert len(splits) == folds
        assert sorted(np.concatenate([te for _, te in splits])) == list(range(len(labels)))
        for tr, te in splits:
            assert not set(np.asarray(subjects)[tr]) & set(np.asarray(subjects)[te])
        assert splits[0][1].tolist() == make_splits(np.asarray(labels), np.asarray(subjects), "group-kfold",
                                                    folds, 0)[0][1].tolist()  # seeded
    assert {s.split(":")[0] for s in ck.dataset.subjects} == {"ckplus48", "jaffe"}  # kept apart per data set
    with pytest.raises(ValueError, match="at least 11 subjects"):
        make_splits(jaffe.labels, jaffe.subjects, "group-kfold", 11, 0)


# ------------------------------------------------------------------ metrics
def test_metrics_match_sklearn():
    from sklearn.metrics import f1_score, recall_score

    rng = np.random.default_rng(0)
    classes = ["happy", "sad", "fear", "anger"]
    y = rng.choice(classes[:3], 200)  # "anger" never occurs
    pred = np.where(rng.random(200) < 0.6, y, rng.choice(["happy", "sad", "anger"], 200))  # "fear" never predicted
    r = scores(y, pred, classes)
    assert r["macro_f1"] == pytest.approx(100 * f1_score(y, pred, labels=classes, average="macro", zero_division=0))
    f1 = f1_score(y, pred, labels=classes, average=None, zero_division=0)
    rec = recall_score(y, pred, labels=classes[:3], average=None, zero_division=0)
    assert [r["per_class_f1"][c] for c in classes] == pytest.approx(100 * f1)
    assert [r["per_class_recall"][c] for c in classes[:3]] == pytest.approx(100 * rec)
    assert r["per_class"] == r["per_class_recall"]
    assert r["overall_accuracy"] == pytest.approx(100 * np.mean(y == pred))


# ------------------------------------------------------------------ CK+48 and pre-cropped sets
def test_ckplus48_loads_as_precropped_faces_on_jaffe_vocabulary(ck_dir):
    src = load_datasets(ck_dir)
    ds = src.dataset
    assert len(ds) == 981 and src.precropped == [True]
    assert set(ds.labels) == {"anger", "contempt", "disgust", "fear", "happy", "sad", "surprise"}
    assert len(set(ds.subjects)) == 118 and ds.subjects[0] == "S010"
    assert src.info[0]["aliases_applied"] == {"sadness": "sad"}
    assert not load_datasets(ck_dir, precropped_side=0).precropped[0]
    # the pre-cropped set's faces are the whole frame (detect=False), the model keeps detecting
    model = DLFERS(**FAST)
    idx = np.arange(0, 981, 97)
    feats = extract_sources(model, src, subset=idx)
    whole = crop_box(FaceBox(0, 0, 48, 48), model.delta, model.gamma, (48, 48))
    assert model.detect and all(f.found and f.box == whole for f in feats)
    ref = DLFERS(**FAST, detect=False).extract([ds.images[i] for i in idx])
    for a, b in zip(feats, ref):
        assert np.array_equal(a.descriptors["tisf"], b.descriptors["tisf"])


def test_extract_sources_in_parallel_equals_serial(jaffe_dir, ck_dir):
    from dlfers._util.parallel import Executor

    src = load_datasets([jaffe_dir, ck_dir])
    idx = np.r_[0:4, 300:304]
    model = DLFERS(**FAST)
    serial = extract_sources(model, src, subset=idx)
    with Executor(2) as ex:
        par = extract_sources(model, src, ex, subset=idx)
    assert [f.found for f in serial] == [f.found for f in par]
    for a, b in zip(serial, par):
        assert np.array_equal(a.descriptors["tipm"], b.descriptors["tipm"])


# ------------------------------------------------------------------ train on A, test on B
def test_test_data_on_two_halves_of_jaffe_split_by_subject(tmp_path, jaffe_dir):
    a, b, sa, sb = _halves(jaffe_dir, tmp_path)
    out = tmp_path / "r.json"
    assert main(["evaluate", str(a), "--test-data", str(b), "--json", str(out), *FAST_ARGS]) == 0
    r = json.loads(out.read_text())
    assert r["protocol"] == "transfer" and r["n_train"] + r["n_images"] == 213
    assert set(r["subjects"]) == sb and not sb & sa
    assert len(r["shared_classes"]) == 7 and r["dropped_classes"] == {"train": {}, "test": {}}
    y, pred = np.array(r["labels"]), np.array(r["predictions"])
    assert r["overall_accuracy"] == pytest.approx(100 * np.mean(y == pred))
    assert r["overall_accuracy"] > 100 / 7  # better than chance on five people never seen
    assert "macro_f1" in r and "macro_f1" in r["baseline"]
    # training on both halves at once gives one model of the union
    model = tmp_path / "m.dlfers"
    assert main(["train", str(a), str(b), "--out", str(model), *FAST_ARGS]) == 0
    from dlfers import load

    assert sorted(load(model).classes_) == sorted(JAFFE_CODES.values())


def test_jaffe_to_ckplus48_on_shared_classes(jaffe_dir, ck_dir):
    r = evaluate_transfer(jaffe_dir, ck_dir, model=DLFERS(**FAST))
    assert r["shared_classes"] == ["happy", "sad", "surprise", "disgust", "fear", "anger"]
    assert r["dropped_classes"] == {"train": {"neutral": 30}, "test": {"contempt": 54}}
    assert r["n_train"] == 183 and r["n_images"] == 981 - 54 and r["faces_found"] == 927
    assert any("dropped from test" in n and "contempt (54 images)" in n for n in r["notes"])
    assert any("sadness -> sad" in n for n in r["notes"])
    y, pred = np.array(r["labels"]), np.array(r["predictions"])
    assert set(pred) <= set(r["shared_classes"])
    assert r["overall_accuracy"] == pytest.approx(100 * np.mean(y == pred))


def test_no_shared_classes_is_an_error(tmp_path, jaffe_dir):
    root = _folder_set(tmp_path, jaffe_dir, {"smile": ["a_1.tiff", "a_2.tiff"], "frown": ["b_1.tiff"]})
    with pytest.raises(ValueError, match="share 0 class"):
        evaluate_transfer(jaffe_dir, root, model=DLFERS(**FAST))


def test_cli_evaluates_the_union_by_subject_with_user_aliases(tmp_path, jaffe_dir, capsys):
    a, b, sa, sb = _halves(jaffe_dir, tmp_path)
    out = tmp_path / "r.json"
    args = ["evaluate", str(a), str(b), "--protocol", "group-kfold", "--folds", "5", "--alias", "sad=gloomy",
            "--no-baseline", "--json", str(out), *FAST_ARGS]
    assert main(args) == 0
    r = json.loads(out.read_text())
    assert r["protocol"] == "group-kfold" and r["n_folds"] == 5 and r["n_images"] == 213
    assert {s.split(":")[0] for s in r["subjects"]} == {"jaffe_a", "jaffe_b"}
    assert "gloomy" in r["classes"] and "sad" not in r["classes"]
    assert [d["aliases_applied"] for d in r["datasets"]] == [{"sad": "gloomy"}] * 2
    y, pred = np.array(r["labels"]), np.array(r["predictions"])
    first = np.array([s.startswith("jaffe_a:") for s in r["subjects"]])
    assert r["per_dataset"]["jaffe_a"]["overall_accuracy"] == pytest.approx(100 * np.mean((y == pred)[first]))
    text = capsys.readouterr().out
    assert "sad -> gloomy" in text and "5 subjects" in text and "macro-F1" in text
    bad = tmp_path / "bad.json"
    bad.write_text("[1]")
    assert main(["evaluate", str(a), "--aliases", str(bad), *FAST_ARGS]) == 1
    assert str(bad) in capsys.readouterr().err
