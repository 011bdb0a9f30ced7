"""The plot task: F1 per concept for every method, and precision against recall, as PNG."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from common.results.plotting import (announce, colours, figure, legend_outside, marker_handle, markers, read_scored,
                                     save_png)
from common.results.publish import current, publish

from . import config


def plot_f1(summary: dict, colour_of: dict[str, str], path: Path) -> Path:
    """F1 per concept and the mean over concepts (the score, with its 95% interval)."""
    concepts = summary["groups"]
    methods = summary["ranking"]
    columns = concepts + ["mean"]
    fig, ax = figure(10, 5.5)
    width = 0.8 / len(methods)
    handles = []
    for i, method in enumerate(methods):
        s = summary["methods"][method]
        values = [s["groups"].get(c, np.nan) for c in concepts] + [s["mean"]]
        xs = np.arange(len(columns)) + (i - (len(methods) - 1) / 2) * width
        handles.append(ax.bar(xs, values, width, color=colour_of[method]))
        ax.errorbar(xs[-1], s["mean"], yerr=[[s["mean"] - s["ci95_low"]], [s["ci95_high"] - s["mean"]]],
                    color="black", capsize=3, linewidth=1)
    ax.axvline(len(concepts) - 0.5, color="grey", linewidth=0.8)
    ax.set_xticks(np.arange(len(columns)), concepts + ["mean (95% interval)"])
    ax.set_xlabel("concept")
    ax.set_ylabel("F1 of the positive class")
    ax.set_ylim(0, 1.05)
    ax.set_title("Vision selection: F1 per concept (frozen logistic regression)")
    legend_outside(fig, handles, [f"{m} ({summary['methods'][m]['mean']:.3f})" for m in methods],
                   title="method (mean F1)")
    return save_png(fig, path)


def plot_precision_recall(summary: dict, colour_of: dict[str, str], path: Path) -> Path:
    """Each (method, concept) as a point in the precision-recall plane, with curves of equal F1 labelled above
    the plot, where no point can hide them."""
    rows = summary["rows"]
    concepts = summary["groups"]
    methods = summary["ranking"]
    fig, ax = figure(9, 7)
    for f1 in (0.2, 0.4, 0.6, 0.8):
        start = f1 / (2 - f1)                      # where the curve meets precision 1
        recall = np.linspace(start, 1, 200)
        ax.plot(recall, f1 * recall / (2 * recall - f1), color="grey", lw=0.8, alpha=0.6, zorder=1)
        ax.annotate(f"F1={f1}", (start, 1.0), xytext=(0, 4), textcoords="offset points", ha="center",
                    va="bottom", fontsize=9, color="dimgrey", annotation_clip=False)
    shapes = dict(zip(concepts, markers(len(concepts))))
    for r in rows:
        ax.scatter(r["recall"], r["precision"], color=colour_of[r["method"]], marker=shapes.get(r["concept"], "o"),
                   s=60, zorder=3, clip_on=False)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("Precision and recall per method (colour) and concept (marker)", pad=22)
    legend_outside(fig, [marker_handle("o", colour_of[m]) for m in methods], methods, title="method")
    legend_outside(fig, [marker_handle(shapes[c], "black") for c in concepts], concepts, title="concept",
                   where="right lower")
    return save_png(fig, path)


def plot(parameters_file: Path, results_folder: Path, plot_folder: Path) -> list[Path]:
    config.load(parameters_file)
    with publish(plot_folder, "plot folder") as out:   # the PNGs of one run, published together
        summary = read_scored(current(results_folder))
        colour_of = colours(sorted(summary["methods"]))
        plot_f1(summary, colour_of, out.path("f1_per_concept.png"))
        plot_precision_recall(summary, colour_of, out.path("precision_recall.png"))
    return announce(out.published)
