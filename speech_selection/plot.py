"""The plot task: macro F1 per language and budget for every method (seed spread), and per-class F1, as PNG."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from common.results.plotting import announce, colours, figure, legend_outside, read_scored, save_png
from common.results.publish import current, publish

from . import config


def _bars(ax, fig, categories: list, methods: list[str], value, colour_of: dict[str, str], error=None):
    """Grouped bars: one group per category, one bar per method; the legend goes in the margin."""
    width = 0.8 / len(methods)
    handles = []
    for i, method in enumerate(methods):
        xs = np.arange(len(categories)) + (i - (len(methods) - 1) / 2) * width
        heights = [value(method, c) for c in categories]
        errors = [error(method, c) for c in categories] if error else None
        handles.append(ax.bar(xs, [np.nan if h is None else h for h in heights], width, color=colour_of[method],
                              yerr=None if errors is None else [0 if e is None else e for e in errors], capsize=3))
    legend_outside(fig, handles, methods, title="method")


def plot_scores(summary: dict, colour_of: dict[str, str], path: Path) -> Path:
    rows = {(r["method"], f"{r['lang']}_{r['budget']}"): r for r in summary["rows"]}
    groups = [g for g in summary["groups"] if any(key[1] == g for key in rows)]
    fig, ax = figure(10, 5.5)
    _bars(ax, fig, groups, summary["ranking"], lambda m, g: rows[(m, g)]["mean"] if (m, g) in rows else None,
          colour_of, lambda m, g: rows[(m, g)]["std"] if (m, g) in rows else None)
    ax.set_xticks(np.arange(len(groups)), [g.replace("_", ", ") + " clips" for g in groups])
    ax.set_xlabel("language, budget")
    ax.set_ylabel("macro F1 (mean over seeds, bars: ±1 std)")
    ax.set_title("Speech selection: score per language and budget")
    ax.set_ylim(0, 1)
    return save_png(fig, path)


def plot_per_class(summary: dict, group: str, colour_of: dict[str, str], path: Path) -> Path:
    part = {r["method"]: r for r in summary["rows"] if f"{r['lang']}_{r['budget']}" == group}
    methods = [m for m in summary["ranking"] if m in part]
    classes = list(part[methods[0]]["per_class_f1"])
    fig, ax = figure(10, 5.5)
    _bars(ax, fig, classes, methods, lambda m, c: part[m]["per_class_f1"].get(c), colour_of)
    ax.set_xticks(np.arange(len(classes)), classes)
    ax.set_xlabel("class (keyword, or nontarget)")
    ax.set_ylabel("F1 (mean over seeds)")
    ax.set_ylim(0, 1)
    lang, budget = group.split("_")
    ax.set_title(f"Per-class F1, {lang}, budget {budget}")
    return save_png(fig, path)


def plot(parameters_file: Path, results_folder: Path, plot_folder: Path) -> list[Path]:
    config.load(parameters_file)
    with publish(plot_folder, "plot folder") as out:   # the PNGs of one run, published together
        summary = read_scored(current(results_folder))
        colour_of = colours(sorted(summary["methods"]))
        plot_scores(summary, colour_of, out.path("scores.png"))
        for group in summary["groups"]:
            if any(f"{r['lang']}_{r['budget']}" == group for r in summary["rows"]):
                plot_per_class(summary, group, colour_of, out.path(f"per_class_f1_{group}.png"))
    return announce(out.published)
