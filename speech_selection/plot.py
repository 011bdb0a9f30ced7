"""The plot task: macro F1 per language and budget for every method (seed spread), and per-class F1, as PNG."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from common.plotting import announce, figure, read_results, save_png
from common.results import current, publish

from . import config


def plot_scores(rows: list[dict], path: Path) -> Path:
    columns = sorted({(r["lang"], r["budget"]) for r in rows})
    methods = sorted({r["method"] for r in rows})
    lookup = {(r["method"], r["lang"], r["budget"]): r for r in rows}
    fig, ax = figure(10, 6)
    width = 0.8 / len(methods)
    for i, method in enumerate(methods):
        cells = [lookup.get((method, lang, b)) for lang, b in columns]
        xs = np.arange(len(columns)) + (i - (len(methods) - 1) / 2) * width
        ax.bar(xs, [c["mean"] if c else 0 for c in cells], width, yerr=[c["std"] if c else 0 for c in cells],
               capsize=3, label=method)
    ax.set_xticks(np.arange(len(columns)), [f"{lang}, {b} clips" for lang, b in columns])
    ax.set_ylabel("macro F1 (mean over seeds, bars: ±1 std)")
    ax.set_title("Speech selection: score per language and budget")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=9)
    return save_png(fig, path)


def plot_per_class(rows: list[dict], lang: str, budget: int, path: Path) -> Path:
    part = sorted((r for r in rows if r["lang"] == lang and r["budget"] == budget), key=lambda r: r["method"])
    classes = list(part[0]["per_class_f1"])
    fig, ax = figure(10, 6)
    width = 0.8 / len(part)
    for i, r in enumerate(part):
        xs = np.arange(len(classes)) + (i - (len(part) - 1) / 2) * width
        ax.bar(xs, [r["per_class_f1"][c] for c in classes], width, label=r["method"])
    ax.set_xticks(np.arange(len(classes)), classes)
    ax.set_ylabel("F1 (mean over seeds)")
    ax.set_ylim(0, 1)
    ax.set_title(f"Per-class F1, {lang}, budget {budget}")
    ax.legend(fontsize=9)
    return save_png(fig, path)


def plot(parameters_file: Path, results_folder: Path, plot_folder: Path) -> list[Path]:
    config.load(parameters_file)
    with publish(plot_folder, "plot folder") as out:   # the PNGs of one run, published together
        rows = read_results(current(results_folder) / "summary.json")["rows"]
        plot_scores(rows, out.path("scores.png"))
        for lang, budget in sorted({(r["lang"], r["budget"]) for r in rows}):
            plot_per_class(rows, lang, budget, out.path(f"per_class_f1_{lang}_{budget}.png"))
    return announce(out.published)
