"""The DLFERS paper's published accuracies (JAFFE), as data to compare a reproduction with.

Source: A. Hussein, Ibraheem H. M., S. A. Abdulkareem, R. A. Zubaid, N. Thamer,
"Multi-Level Fusion for Facial Expression Recognition in Human Behavior Identification",
Section 4 (Results and discussions), Tables 1-3 and Figures 8-10.  Values are copied
verbatim (percent, per expression).  The paper states neither its protocol nor its
number of folds; it prints an "Average" row for Table 1 only (the figure quoted as the
overall accuracy, 93.96 %, is the Table 1 average for scaling factor 3).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

__all__ = ["CITATION", "EXPRESSION_ORDER", "OVERALL_ACCURACY", "TABLES", "paper_table", "paper_mean"]

CITATION = (
    "A. Hussein, Ibraheem H. M., S. A. Abdulkareem, R. A. Zubaid, N. Thamer, "
    '"Multi-Level Fusion for Facial Expression Recognition in Human Behavior Identification", '
    "Sec. 4, Tables 1-3"
)

#: row order of the paper's tables (the package's class names)
EXPRESSION_ORDER = ("happy", "sad", "surprise", "disgust", "fear", "anger", "neutral")


def _columns(rows: Mapping[str, tuple[float, ...]], names: tuple[str, ...]) -> dict[str, dict[str, float]]:
    return {name: {expr: rows[expr][j] for expr in EXPRESSION_ORDER} for j, name in enumerate(names)}


# Table 1: "Classification Accuracy for facial expression" (crop settings; δ, γ in the text
# below Figure 8: factor 1 δ=0.10 γ=0.7, factor 2 δ=0.12 γ=0.15, factor 3 δ=0.15 γ=0.15).
_T1_COLUMNS = ("Scaled Image", "Entire Face", "Scaling Factor 1", "Scaling Factor 2", "Scaling Factor 3")
_T1 = {
    "happy": (95.89, 94.33, 96.89, 98.77, 97.86),
    "sad": (80.12, 80.09, 79.98, 81.23, 88.9),
    "surprise": (86.78, 85.67, 88.66, 96.77, 95.88),
    "disgust": (83.45, 82.33, 91.23, 87.66, 96.77),
    "fear": (76.65, 76.88, 61.34, 95.17, 95.0),
    "anger": (83.67, 83.44, 87.56, 98.99, 92.33),
    "neutral": (88.99, 81.22, 77.89, 97.89, 90.98),
}
_T1_AVERAGE = dict(zip(_T1_COLUMNS, (85.07, 83.42, 83.36, 93.78, 93.96)))

# Table 2: "Performance Accuracy with different patches with all segmentation levels".
_T2_COLUMNS = ("Patches 1", "Patches 2", "Patches 16", "Patches 4 (upper part)", "Patches 4 (lower part)")
_T2 = {
    "happy": (96.6, 93.44, 97.01, 98.01, 97.11),
    "sad": (78.9, 81.99, 80.05, 80.33, 87.66),
    "surprise": (80.11, 84.33, 89.01, 97.03, 94.21),
    "disgust": (86.33, 80.01, 90.03, 88.67, 95.66),
    "fear": (79.01, 77.89, 62.89, 94.55, 98.12),
    "anger": (80.12, 84.66, 88.56, 92.12, 90.12),
    "neutral": (85.67, 82.77, 78.66, 98.89, 89.02),
}

# Table 3: "Performance Accuracy for various clusters in face image".
_T3_COLUMNS = ("Clusters 20", "Clusters 40", "Clusters 60", "Clusters 80", "Clusters 100")
_T3 = {
    "happy": (85.66, 91.12, 95.12, 96.77, 96.12),
    "sad": (72.12, 79.03, 78.09, 79.88, 86.11),
    "surprise": (81.23, 81.23, 88.12, 96.12, 93.12),
    "disgust": (85.66, 79.03, 89.04, 87.23, 94.55),
    "fear": (77.99, 76.9, 60.88, 92.34, 96.99),
    "anger": (76.88, 81.34, 85.34, 90.12, 91.11),
    "neutral": (82.33, 80.09, 75.66, 97.81, 88.09),
}

#: table id -> {"title", "columns" (paper's column names), "per_class" {column: {expression: %}},
#: "average" {column: %} (printed by the paper; None where it prints none)}
TABLES: MappingProxyType[str, dict[str, Any]] = MappingProxyType({
    "table1": {
        "title": "Table 1: Classification Accuracy for facial expression",
        "columns": _T1_COLUMNS,
        "per_class": _columns(_T1, _T1_COLUMNS),
        "average": _T1_AVERAGE,
    },
    "table2": {
        "title": "Table 2: Performance Accuracy with different patches with all segmentation levels",
        "columns": _T2_COLUMNS,
        "per_class": _columns(_T2, _T2_COLUMNS),
        "average": None,
    },
    "table3": {
        "title": "Table 3: Performance Accuracy for various clusters in face image",
        "columns": _T3_COLUMNS,
        "per_class": _columns(_T3, _T3_COLUMNS),
        "average": None,
    },
})

#: the overall accuracy the paper claims (abstract, Sec. 4 and 5): Table 1, scaling factor 3
OVERALL_ACCURACY = 93.96


def paper_table(table: str) -> dict[str, Any]:
    """The paper's values of ``table`` ("table1", "table2", "table3").

    Parameters
    ----------
    table : str
        "table1", "table2" or "table3".

    Returns
    -------
    dict of str to object
        The paper's values.

    Raises
    ------
    KeyError
        For an unknown table id (the message lists the known ones).
    """
    if table not in TABLES:
        raise KeyError(f"unknown table {table!r}; known: {', '.join(TABLES)}")
    return TABLES[table]


def paper_mean(table: str, column: str) -> float:
    """Mean of the paper's per-expression values of one column (its "Average" where printed).

    Parameters
    ----------
    table : str
        "table1", "table2" or "table3".
    column : str
        A column of it.

    Returns
    -------
    float
        The mean.
    """
    t = paper_table(table)
    if t["average"] is not None:
        return float(t["average"][column])
    vals = t["per_class"][column]
    mean: float = sum(vals[e] for e in EXPRESSION_ORDER) / len(EXPRESSION_ORDER)
    return mean
