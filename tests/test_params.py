"""The parameter table (issue 26): each parameter written once, everything else derived from or checked against it."""

from __future__ import annotations

import argparse
import inspect

import pytest

from dlfers import DLFERS
from dlfers.cli.main import build_parser
from dlfers.model.params import PARAMS, SAVED_PARAM_DEFAULTS, check_value, param
from dlfers.model.spec import PARAMETERS, STAGES, Spec


def test_the_estimators_signature_is_the_table():
    sig = inspect.signature(DLFERS.__init__).parameters
    names = [n for n in sig if n != "self"]
    assert sorted(names) == sorted(p.name for p in PARAMS)
    for p in PARAMS:
        assert sig[p.name].default == p.default, p.name
    assert DLFERS().get_params() == {p.name: p.default for p in PARAMS}


def test_stages_and_parameters_come_from_the_table():
    assert PARAMETERS == tuple(p.name for p in PARAMS)
    assert {n: s for s, names in STAGES.items() for n in names} == {p.name: p.stage for p in PARAMS}
    assert list(STAGES) == ["prep", "descriptor", "select", "codebook", "histogram", "svm", "runtime"]


def test_the_docstring_parameters_section_is_the_table():
    doc = DLFERS.__doc__ or ""
    for p in PARAMS:
        assert f"\n    {p.name} : {p.type}, default {p.default!r}\n" in doc, p.name


def test_older_model_files_defaults_are_the_tables():
    # the values files written before each parameter existed were trained with (model file format 1)
    assert SAVED_PARAM_DEFAULTS == {"detector": "cascade", "soft": 1, "soft_beta": 10.0, "precision": "float32",
                                    "n_jobs": None, "align": False, "mirror": False, "texture": "none",
                                    "texture_weight": None, "classifier": "kernel", "frame_scale": 1.0,
                                    "frame_shift": 0.0, "detect_score": None}


def _train_options() -> dict[str, argparse.Action]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {s: a for a in sub.choices["train"]._actions for s in a.option_strings}


def test_every_flag_is_the_tables():
    opts = _train_options()
    for p in PARAMS:
        if not p.cli_flag:
            continue
        action = opts[p.cli_flag]
        choices = p.cli_choices if p.cli_choices is not None else p.choices
        assert (list(action.choices) if action.choices is not None else None) == \
            (list(choices) if choices is not None else None), p.name
        assert action.help == p.help


def test_the_flags_give_the_parameters():
    parser = build_parser()
    args = parser.parse_args(["train", "d", "--out", "m.dlfers", "--step", "2", "--no-detect", "--global-codebook",
                              "--mirror", "--C", "3", "--texture", "none", "--detect-size", "200"])
    from dlfers.cli._options import model_params

    assert model_params(args) == {"step": 2, "detect": False, "per_class": False, "mirror": True, "C": 3.0,
                                  "texture": "none", "detect_size": 200}


def test_protocol_choices_of_the_cli_are_the_evaluators():
    from dlfers.evaluation.protocols import PROTOCOLS

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    ev = {s: a for a in sub.choices["evaluate"]._actions for s in a.option_strings}
    ab = {s: a for a in sub.choices["ablation"]._actions for s in a.option_strings}
    assert list(ev["--protocol"].choices) == list(PROTOCOLS) == list(ab["--protocols"].choices)


@pytest.mark.parametrize("name, value, message", [
    ("step", 0, "step must be an integer >= 1"),
    ("step", -1, "step must be an integer >= 1"),
    ("step", 2.5, "step must be an integer >= 1"),
    ("sigma", 0.0, "sigma must be a number > 0"),
    ("random_state", -1, "random_state must be an integer >= 0"),
    ("n_words", 0, "n_words must be an integer >= 1"),
    ("max_samples", True, "max_samples must be an integer >= 1"),
    ("power", float("nan"), "power must be a finite number > 0"),
    ("C", 0, "C must be a number > 0"),
    ("svm_gamma", -1.0, "svm_gamma must be a number > 0"),
    ("kernel", "poly", "kernel must be one of"),
    ("mirror", 1, "mirror must be True or False"),
])
def test_every_range_of_the_table_is_checked(name, value, message):
    with pytest.raises(ValueError, match=message):
        check_value(name, value)
    with pytest.raises(ValueError, match=message.split(" must")[0]):
        DLFERS(**{name: value}).spec()


def test_good_values_pass():
    for p in PARAMS:
        check_value(p.name, p.default)
    check_value("svm_gamma", None)
    check_value("step", 1)
    assert Spec.from_params(DLFERS().get_params()).get("step") == param("step").default
