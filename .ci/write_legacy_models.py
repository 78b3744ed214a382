"""Write tests/data/striped_model_<commit>*.dlfers and their predictions with the dlfers on sys.path.

Run with an older checkout first on the path (``PYTHONPATH=OLD/src python .ci/write_legacy_models.py``)
to make the fixture of tests/test_legacy_model_files.py; the files of df5a3d8 are committed.
"""
import json
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))
from _striped_faces import SMALL, striped_faces  # noqa: E402

import dlfers  # noqa: E402

print(dlfers.__file__)
train = striped_faces(36, 0)
y = [("a", "b", "c")[i % 3] for i in range(36)]
test = striped_faces(12, 1)
out = str(TESTS / "data" / "striped_model_df5a3d8.dlfers")
targets = (("feature", out), ("decision", out.replace(".dlfers", "_decision.dlfers")))
existing = [n for _, n in targets if Path(n).exists() or Path(n.replace(".dlfers", ".json")).exists()]
if existing and "--overwrite" not in sys.argv[1:]:
    sys.exit(f"refusing to replace {existing} (the committed fixture); pass --overwrite to write them anew")
for fusion, name in targets:
    m = dlfers.DLFERS(**SMALL, fusion=fusion, texture="lbp+gabor").fit(train, y)
    m.save(name)
    ref = {"labels": m.predict(test).tolist(), "proba": m.predict_proba(test).tolist(),
           "decision": m.decision_function(test).tolist()}
    with open(name.replace(".dlfers", ".json"), "w") as f:
        json.dump(ref, f)
print("ok")
