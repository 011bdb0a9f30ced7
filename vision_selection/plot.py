"""The plot task: F1 per concept for every method, and precision against recall, as PNG."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from common.plotting import announce, figure, markers, read_results, save_png
from common.results import current, publish

from . import config


def plot_f1(rows: list[dict], path: Path) -> Path:
    concepts = list(dict.fromkeys(r["concept"] for r in rows))
    methods = sorted({r["method"] for r in rows})
    lookup = {(r["method"], r["concept"]): r["f1"] for r in rows}
    columns = concepts + ["mean"]
    fig, ax = figure(10, 6)
    width = 0.8 / len(methods)
    for i, method in enumerate(methods):
        values = [lookup.get((method, c), 0.0) for c in concepts]
        values.append(float(np.mean([lookup[(method, c)] for c in concepts if (method, c) in lookup])))
        xs = np.arange(len(columns)) + (i - (len(methods) - 1) / 2) * width
        ax.bar(xs, values, width, label=method)
    ax.set_xticks(np.arange(len(columns)), columns)
    ax.set_ylabel("F1 of the positive class")
    ax.set_ylim(0, 1)
    ax.set_title("Vision selection: F1 per concept (frozen logistic regression)")
    ax.legend(fontsize=9)
    return save_png(fig, path)


def plot_precision_recall(rows: list[dict], path: Path) -> Path:
    """Each (method, concept) as a point in the precision-recall plane, with curves of equal F1."""
    concepts = list(dict.fromkeys(r["concept"] for r in rows))
    methods = sorted({r["method"] for r in rows})
    fig, ax = figure(8, 7)
    recall = np.linspace(0.01, 1, 200)
    for f1 in (0.2, 0.4, 0.6, 0.8):
        precision = f1 * recall / (2 * recall - f1)
        keep = (precision > 0) & (precision <= 1) & (2 * recall > f1)
        ax.plot(recall[keep], precision[keep], color="grey", lw=0.8, alpha=0.6)
        ax.annotate(f"F1={f1}", (1.0, f1 / (2 - f1)), fontsize=8, color="grey")
    colours = {m: f"C{i}" for i, m in enumerate(methods)}
    shapes = dict(zip(concepts, markers(len(concepts))))
    for r in rows:
        ax.scatter(r["recall"], r["precision"], color=colours[r["method"]], marker=shapes[r["concept"]], s=60)
    for m in methods:
        ax.scatter([], [], color=colours[m], marker="o", label=m)
    for c in concepts:
        ax.scatter([], [], color="black", marker=shapes[c], label=c)
    ax.set_xlim(0, 1.08)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("Precision and recall per method (colour) and concept (marker)")
    ax.legend(fontsize=9, loc="lower left")
    return save_png(fig, path)


def plot(parameters_file: Path, results_folder: Path, plot_folder: Path) -> list[Path]:
    config.load(parameters_file)
    with publish(plot_folder, "plot folder") as out:   # the PNGs of one run, published together
        rows = read_results(current(results_folder) / "summary.json")["rows"]
        plot_f1(rows, out.path("f1_per_concept.png"))
        plot_precision_recall(rows, out.path("precision_recall.png"))
    return announce(out.published)
