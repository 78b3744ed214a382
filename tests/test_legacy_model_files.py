"""Model files written before the restructuring (issue 26) load and predict as they did.

``tests/data/striped_model_df5a3d8*.dlfers`` were written by main at df5a3d8 (the last commit
before the subpackages) with ``.ci/write_legacy_models.py``, trained on the synthetic striped faces of
``tests/_striped_faces.py`` (no image of any data set), with the LBP and Gabor channels and
both fusions.  Beside each, the JSON holds what that dlfers predicted for 12 other synthetic faces.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _striped_faces import striped_faces

import dlfers

DATA = Path(__file__).resolve().parent / "data"


@pytest.mark.parametrize("name", ["striped_model_df5a3d8", "striped_model_df5a3d8_decision"])
def test_a_file_written_before_the_move_predicts_identically(name):
    model = dlfers.load(DATA / f"{name}.dlfers")
    ref = json.loads((DATA / f"{name}.json").read_text())
    test = striped_faces(12, 1)
    assert model.predict(test).tolist() == ref["labels"]
    np.testing.assert_allclose(model.predict_proba(test), ref["proba"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(model.decision_function(test), ref["decision"], rtol=0, atol=1e-12)
    assert model.texture == "lbp+gabor" and set(model.texture_scales_) == {"lbp", "gabor"}
