"""The report of ``dlfers reproduce``: Markdown, CSV tables, PNG plots and results.json.

:func:`write_outputs` writes every file of a :func:`dlfers.evaluation.reproduce.experiments.reproduce` result
into a folder, each through :func:`dlfers._util.files.atomic_write` (a temporary name renamed
into place); :func:`format_markdown` is the report's text.  Nothing here computes a
figure: every number comes from the results dictionary.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..._util.files import atomic_write, jsonable
from ..._util.plots import confusion_heatmap, grouped_bars, save_png

__all__ = ["REPORT_FILES", "write_outputs", "format_markdown"]

#: every file :func:`write_outputs` may write into its folder (glob patterns)
REPORT_FILES = ("report.md", "results.json", "table*.csv", "table*.png", "overall.csv", "confusion_*.csv",
                "confusion_*.png", "nested_folds.csv")


def _f(v: float | None, signed: bool = False) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "–"
    return f"{v:+.2f}" if signed else f"{v:.2f}"


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    import csv
    import io

    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(header)
    for row in rows:
        w.writerow(["" if v is None else (round(v, 4) if isinstance(v, float) else v) for v in row])
    atomic_write(path, lambda fh: fh.write(buf.getvalue().encode("utf-8")))


def _table_rows(tab: dict[str, Any], classes: Sequence[str]) -> Iterable[list[Any]]:
    for col in tab["columns"]:
        for c in classes:
            yield [col["name"], c, col["per_class"][c], col["paper"]["per_class"][c],
                   col["difference"]["per_class"][c]]
        yield [col["name"], "mean of classes", col["mean_class_accuracy"], col["paper"]["mean"],
               col["difference"]["mean"]]
        yield [col["name"], "overall (per image)", col["overall_accuracy"], None, None]


def _short_protocol(description: str) -> str:
    """'stratified 10-fold' from a protocol description."""
    import re

    m = re.search(r"stratified \d+-fold", description)
    return m.group(0) if m else description.split(":")[0]


def _plot_table(tab: dict[str, Any], classes: Sequence[str], path: Path, protocol: str) -> str:

    groups = list(classes) + ["mean"]
    ours = {c["name"]: {**c["per_class"], "mean": c["mean_class_accuracy"]} for c in tab["columns"]}
    paper = {c["name"]: {**c["paper"]["per_class"], "mean": c["paper"]["mean"]} for c in tab["columns"]}
    title = f"{tab['title']}: this reproduction ({protocol}) vs the paper"
    save_png(grouped_bars([("this reproduction", ours), ("paper", paper)], groups, title), path, title)
    return title


def _plot_confusion(r: dict[str, Any], path: Path, what: str) -> str:

    protocol = {"kfold": f"stratified {r['n_folds']}-fold, person-dependent",
                "loso": "leave-one-subject-out, person-independent",
                "nested": f"nested CV, outer stratified {r['n_folds']}-fold"}[r["protocol"]]
    title = f"Confusion matrix, {what}\n{protocol}: {r['overall_accuracy']:.2f}% correct"
    save_png(confusion_heatmap(r["confusion_matrix"], r["classes"], title), path, title)
    return title


def write_outputs(results: dict[str, Any], out: str | os.PathLike[str], plots: bool = True) -> dict[str, str]:
    """Write report.md, results.json, a CSV per table and the PNG plots into ``out``.

    Parameters
    ----------
    results : dict of str to object
        The results of :func:`dlfers.evaluation.reproduce.experiments.reproduce`.
    out : str or os.PathLike
        The output folder.
    plots : bool, default=True
        Also write the PNG plots.

    Returns
    -------
    file name -> what it holds (also listed in report.md and results.json).
    """
    import json

    t0 = time.perf_counter()
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    classes = results["dataset"]["classes"]
    files: dict[str, str] = {}
    names = {"kfold": "default DLFERS", "loso": "default DLFERS", "nested": "nested-CV choice"}
    for t, tab in results["tables"].items():
        _write_csv(d / f"{t}.csv", ["configuration", "expression", "ours", "paper", "difference"],
                   _table_rows(tab, classes))
        files[f"{t}.csv"] = f"{tab['title']}: per expression, ours, the paper's, difference (points)"
        if plots:
            files[f"{t}.png"] = _plot_table(tab, classes, d / f"{t}.png", _short_protocol(tab["protocol_description"]))
    ov = results["overall"]
    if ov:
        rows = []
        for name, r in ov.items():
            b = r.get("baseline", {})
            rows += [[name, c, r["per_class"][c], b.get("per_class", {}).get(c)] for c in classes]
            rows.append([name, "overall (per image)", r["overall_accuracy"], b.get("overall_accuracy")])
        _write_csv(d / "overall.csv", ["protocol", "expression", "dlfers", "hog_baseline"], rows)
        files["overall.csv"] = "overall figures per protocol (DLFERS and the HOG baseline)"
    for name, r in ov.items():
        _write_csv(d / f"confusion_{name}.csv", ["true \\ predicted", *classes],
                   [[c, *row] for c, row in zip(classes, r["confusion_matrix"])])
        files[f"confusion_{name}.csv"] = f"confusion matrix, {names[name]}, {name} (rows: true class)"
        if plots:
            files[f"confusion_{name}.png"] = _plot_confusion(r, d / f"confusion_{name}.png", names[name])
    if "nested" in ov:
        cands = [c["name"] for c in ov["nested"]["candidates"]]
        _write_csv(d / "nested_folds.csv", ["fold", "chosen", "test_accuracy", *[f"inner: {c}" for c in cands]],
                   [[f["fold"], f["chosen"], f["test_accuracy"], *[f["inner_accuracy"][c] for c in cands]]
                    for f in ov["nested"]["folds"]])
        files["nested_folds.csv"] = "nested CV: the configuration each outer fold chose, inner accuracies"
    results["seconds"]["outputs"] = round(time.perf_counter() - t0, 2)
    results["seconds"]["total"] = round(results["seconds"]["total"] + results["seconds"]["outputs"], 2)
    files["report.md"] = "this report"
    files["results.json"] = "every figure of the report, the configurations and the protocols"
    results["files"] = files
    markdown = format_markdown(results)
    atomic_write(d / "report.md", lambda fh: fh.write(markdown), "w")
    text = json.dumps(results, indent=1, default=jsonable) + "\n"
    atomic_write(d / "results.json", lambda fh: fh.write(text), "w")
    return files


def _md_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def _changes(ch: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in ch.items()) or "none (the base configuration)"


_KERNEL_NAMES = {"chi2": "χ²-kernel", "intersection": "histogram-intersection-kernel", "rbf": "RBF-kernel",
                 "linear": "linear"}


def _run_time(results: dict[str, Any]) -> str:
    sec, m = results["seconds"], results["machine"]
    load = ""
    if m.get("load_average_start") is not None:
        busy = max(m["load_average_start"], m["load_average_end"] or 0) > (m["cpus"] or 1) + 0.5
        load = (f" The 1-minute load average was {m['load_average_start']:.1f} at the start and "
                f"{m['load_average_end']:.1f} at the end"
                + (f" (above {m['cpus']}: other work shared the CPUs)." if busy else "."))
    return (f"Run time: **{sec['total']:.0f} s** wall clock on {m['cpus']} CPUs ({m['worker_threads']} worker "
            f"threads), {sec.get('cpu', float('nan')):.0f} CPU seconds: descriptors {sec['extract']:.0f} s; summed "
            f"over threads, k-means {sec['codebooks']:.0f} s, encoding {sec['encode']:.0f} s, SVMs "
            f"{sec['svm']:.0f} s; writing the outputs {sec.get('outputs', 0):.0f} s.{load}")


def _summary(results: dict[str, Any]) -> list[str]:
    """Key figures: each table column's mean class accuracy beside the paper's, and the overall runs."""
    rows = []
    for tab in results["tables"].values():
        short = tab["title"].split(":")[0]
        for c in tab["columns"]:
            mark = "" if c["paper"]["mean_printed"] else "†"
            rows.append([short, c["name"], f"**{_f(c['mean_class_accuracy'])}**", f"{_f(c['paper']['mean'])}{mark}",
                         _f(c["difference"]["mean"], True)])
    paper = results["paper"]["overall_accuracy"]
    for name, r in results["overall"].items():
        rows.append(["overall", _OVERALL_WHAT[name], f"**{_f(r['mean_class_accuracy'])}**", _f(paper),
                     _f(r["mean_class_accuracy"] - paper, True)])
    if not rows:
        return []
    return (["## Summary", "", "Mean accuracy over the seven expressions (percent; the statistic of the paper's "
             "Average row), ours beside the paper's; † marks a mean we computed from the paper's per-expression "
             "values. Protocols are below.", ""]
            + _md_table(["table", "configuration", "ours", "paper", "ours − paper"], rows) + [""])


_OVERALL_WHAT = {"kfold": "base configuration, stratified k-fold (person-dependent)",
                 "loso": "base configuration, leave-one-subject-out (person-independent)",
                 "nested": "nested-CV choice, stratified k-fold (person-dependent)"}


def format_markdown(results: dict[str, Any]) -> str:
    """The Markdown report: every table beside the paper's, protocols, differences, plots.

    Parameters
    ----------
    results : dict of str to object
        The results of :func:`dlfers.evaluation.reproduce.experiments.reproduce`.

    Returns
    -------
    str
        The report.
    """
    classes = results["dataset"]["classes"]
    base = results["base_config"]
    ds = results["dataset"]
    L: list[str] = ["# DLFERS on JAFFE: reproduction of the paper's experiments", ""]
    L += [f"Paper: {results['paper']['citation']}.", "",
          f"Data: {ds['n_images']} images of {ds['n_subjects']} subjects ({ds['path']}); images per class: "
          + ", ".join(f"{c} {n}" for c, n in ds["class_counts"].items())
          + (f"; {len(ds['skipped_files'])} unreadable files skipped." if ds["skipped_files"] else "."), "",
          _run_time(results), ""]
    L += _summary(results)
    L += ["## How the numbers were obtained", "",
          "- Every accuracy is an out-of-fold test accuracy (percent); nothing was tuned on a test fold. "
          "Codebooks (k-means), histograms and SVMs are fitted inside each training fold only.",
          f"- **Tables 1-3** and the overall figure: {results['protocols']['kfold']}; the same folds for every "
          "column. This is person-dependent (a subject's other images are in the training folds), as the paper's "
          "JAFFE figures most likely are: the paper states no protocol.",
          "- Each table varies **one factor** of the base configuration, the full DLFERS system: "
          f"descriptors {base['descriptors']} with {base['fusion']}-level fusion, per-expression k-means "
          f"codebooks ({base['n_words']} words each), a {_KERNEL_NAMES.get(base['kernel'], base['kernel'])} "
          f"SVM (C={base['C']}), and the SPOF layout `{base['layout']}` (fused* levels pool the fused "
          "eyes+mouth image). All parameters:",
          "", "  " + ", ".join(f"`{k}={v}`" for k, v in base.items()), "",
          "- The paper's per-expression values are copied from its Tables 1-3 "
        "(`dlfers.evaluation.reproduce.paper`). It prints an "
          "average row for Table 1 only; for Tables 2-3, *paper mean* is the mean of its per-expression values "
          "(marked †). *Mean of classes* is the same statistic for us; *overall* is per image.",
          "- Cells read **ours** (paper; difference in points). With about 30 test images per expression, one "
          "image is 3.3 points of a class accuracy and the binomial standard error of a class accuracy near 90% "
          "is about 5.5 points; for the mean of 213 images it is about 2 points.", ""]
    for t, tab in results["tables"].items():
        cols = tab["columns"]
        L += [f"## {tab['title']}", "", f"Varies: {tab['varies']}. Protocol: {tab['protocol_description']}.", ""]
        L += [f"- **{c['name']}**: {c['description']} (changes {_changes(c['changes'])})" for c in cols] + [""]
        rows = [[c] + [f"**{_f(col['per_class'][c])}** ({_f(col['paper']['per_class'][c])}; "
                       f"{_f(col['difference']['per_class'][c], True)})" for col in cols] for c in classes]
        dag = "" if cols[0]["paper"]["mean_printed"] else "†"
        rows.append(["mean of classes"] + [f"**{_f(col['mean_class_accuracy'])}** ({_f(col['paper']['mean'])}{dag}; "
                                           f"{_f(col['difference']['mean'], True)})" for col in cols])
        rows.append(["overall (per image)"] + [f"**{_f(col['overall_accuracy'])}**" for col in cols])
        L += _md_table(["expression"] + [c["name"] for c in cols], rows) + [""]
        best_ours = max(cols, key=lambda c: c["mean_class_accuracy"])
        best_paper = max(cols, key=lambda c: c["paper"]["mean"])
        diffs = [(col["difference"]["per_class"][c], col["name"], c) for col in cols for c in classes
                 if col["difference"]["per_class"][c] is not None]
        worst = max(diffs, key=lambda x: abs(x[0])) if diffs else None
        spread = (max(c["mean_class_accuracy"] for c in cols) - min(c["mean_class_accuracy"] for c in cols),
                  max(c["paper"]["mean"] for c in cols) - min(c["paper"]["mean"] for c in cols))
        L += ["Difference from the paper (ours − paper, mean of classes): "
              + "; ".join(f"{c['name']} {_f(c['difference']['mean'], True)}" for c in cols) + ". "
              f"Best column: ours **{best_ours['name']}** ({_f(best_ours['mean_class_accuracy'])}), the paper's "
              f"**{best_paper['name']}** ({_f(best_paper['paper']['mean'])})"
              + ("" if worst is None else f"; the largest single difference is {_f(worst[0], True)} points "
                 f"({worst[2]}, {worst[1]})") + f". The columns' means span {spread[0]:.2f} points here and "
              f"{spread[1]:.2f} points in the paper.", ""]
        if t + ".png" in results.get("files", {}):
            L += [f"![{tab['title']}]({t}.png)", ""]
    ov = results["overall"]
    if ov:
        L += ["## Overall accuracy", "",
              f"The paper's overall figure is {results['paper']['overall_accuracy']:.2f}% (its Table 1, scaling "
              "factor 3, i.e. the base configuration), with no protocol stated.", ""]
        L += ["The k-fold row is Table 1's *Scaling Factor 3* column (the same configuration and folds).", ""]
        head = ["protocol", "DLFERS overall", "mean of classes", "overall − paper", "HOG baseline"]
        rows = []
        what = {"kfold": "base configuration, person-dependent", "loso": "base configuration, person-independent",
                "nested": "configuration chosen by nested CV, person-dependent"}
        for name, r in ov.items():
            rows.append([f"{name} ({what[name]})", f"**{_f(r['overall_accuracy'])}**", _f(r["mean_class_accuracy"]),
                         _f(r["difference_to_paper"], True),
                         _f(r["baseline"]["overall_accuracy"]) if "baseline" in r else "–"])
        L += _md_table(head, rows) + [""]
        L += [f"- **{name}**: {r['protocol_description']}." for name, r in ov.items()] + [""]
        if any("baseline" in r for r in ov.values()):
            L += ["HOG baseline: " + next(r["baseline"]["name"] for r in ov.values() if "baseline" in r)
                  + ", on the same crop and folds.", ""]
        rows = [[c] + [_f(r["per_class"][c]) for r in ov.values()] for c in classes]
        L += ["Per expression:", ""] + _md_table(["expression"] + list(ov), rows) + [""]
        for name, r in ov.items():
            L += [f"### Confusion matrix: {name} ({what[name]})", "", "Rows: true class; columns: predicted.", ""]
            L += _md_table(["true \\ predicted"] + classes,
                           [[c] + [str(v) for v in row] for c, row in zip(classes, r["confusion_matrix"])]) + [""]
            if f"confusion_{name}.png" in results.get("files", {}):
                L += [f"![confusion matrix {name}](confusion_{name}.png)", ""]
        if "nested" in ov:
            n = ov["nested"]
            L += ["### Best configuration by nested cross-validation", "", n["protocol_description"] + ".", "",
                  "Candidates: " + "; ".join(f"**{c['name']}** ({_changes(c['changes'])})" for c in n["candidates"])
                  + ".", ""]
            cands = [c["name"] for c in n["candidates"]]
            rows = [[str(f["fold"]), f["chosen"], _f(f["test_accuracy"])] + [_f(f["inner_accuracy"][c]) for c in cands]
                    for f in n["folds"]]
            L += _md_table(["outer fold", "chosen", "outer test %"] + [f"inner: {c}" for c in cands], rows) + [""]
            counts: dict[str, int] = {}
            for f in n["folds"]:
                counts[f["chosen"]] = counts.get(f["chosen"], 0) + 1
            L += [f"Outer accuracy of the chosen configurations: **{_f(n['overall_accuracy'])}%** "
                  f"({_f(n['difference_to_paper'], True)} points from the paper's "
                  f"{results['paper']['overall_accuracy']:.2f}%); chosen: "
                  + ", ".join(f"{k} ({v} fold{'s' if v > 1 else ''})"
                              for k, v in sorted(counts.items(), key=lambda kv: -kv[1])) + ".", ""]
    L += ["## Files", ""] + [f"- `{k}`: {v}" for k, v in results.get("files", {}).items()] + [""]
    return "\n".join(L)
