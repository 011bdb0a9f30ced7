"""The plot task: accuracy-vs-fixes curves per task and the time-vs-score scatter, as PNG."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from common.plotting import announce, figure, markers, read_results, save_png
from common.results import current, publish

from . import config


def plot_task(result: dict, path: Path) -> Path:
    fig, ax = figure(9, 7)
    methods = sorted(result["scores"], key=lambda m: result["scores"][m]["fraction_fixes"])
    for method in methods:
        points = [e for e in result["submitted_evaluations"] if e["submission"] == method]
        steps = np.arange(1, len(points) + 1)
        score = result["scores"][method]["fraction_fixes"]
        ax.plot(steps, [p["accuracy"] for p in points], label=f"{method} (score={score:.4f})", linewidth=1.6)
    ax.axhline(result["before_acc"], color="black", linestyle="--", label=f"before correction ({result['before_acc']:.2f})")
    target = result["target_ratio"] * result["clean_acc"]
    ax.axhline(target, color="tab:red", linestyle=":", label=f"target {result['target_ratio']:.0%} of clean ({target:.3f})")
    ax.set_xlabel("fixes (training labels inspected in ranked order)")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"Cleaning on {result['data_id']}")
    ax.legend(loc="lower right", fontsize=9)
    return save_png(fig, path)


def plot_speed(results: list[dict], path: Path) -> Path:
    fig, ax = figure(9, 7)
    methods = sorted({m for r in results for m in r["scores"]})
    shape = dict(zip(methods, markers(len(methods))))
    colours = dict(zip([r["data_id"] for r in results], [f"C{i % 10}" for i in range(len(results))]))
    untimed = []
    for r in results:
        timed = [(m, s) for m, s in r["scores"].items() if s.get("seconds") is not None]
        untimed += [f"{r['data_id']}/{m}" for m, s in r["scores"].items() if s.get("seconds") is None]
        if len(timed) > 1:
            xs, ys = zip(*sorted((max(s["seconds"], 1e-6), s["fraction_fixes"]) for _, s in timed))
            ax.plot(xs, ys, color=colours[r["data_id"]], alpha=0.2)
        for m, s in timed:
            ax.scatter(max(s["seconds"], 1e-6), s["fraction_fixes"], color=colours[r["data_id"]],
                       marker=shape[m], s=80)
    for m in methods:
        ax.scatter([], [], marker=shape[m], color="grey", label=m)
    for d, c in colours.items():
        ax.scatter([], [], marker="s", color=c, label=d)
    ax.set_xscale("log")
    ax.set_xlabel("valuation time (s, log scale)")
    ax.set_ylabel("fraction of fixes (lower is better)")
    ax.set_title("Valuation time vs. fraction of fixes (lower and further left is better)")
    ax.legend(fontsize=8, ncol=2)
    if untimed:
        print(f"plot: no time_*.txt for {', '.join(untimed)}; left out of the speed plot")
    return save_png(fig, path)


def plot(parameters_file: Path, results_folder: Path, plot_folder: Path) -> list[Path]:
    params = config.load(parameters_file)
    with publish(plot_folder, "plot folder") as out:   # the PNGs of one run, published together
        results = []
        for data_id in params.get("data.tasks"):
            results.append(read_results(current(results_folder) / f"{data_id}_evaluation.json"))
        for r in results:
            plot_task(r, out.path(f"{r['data_id']}_evaluation.png"))
        plot_speed(results, out.path("fraction_fixes_speed.png"))
    return announce(out.published)
