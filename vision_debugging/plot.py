"""The plot task: accuracy-vs-fixes curves per task and the time-vs-score scatter, as PNG."""
from __future__ import annotations

from pathlib import Path

from common.results.plotting import (announce, colours, figure, legend_outside, marker_handle, read_results,
                                     read_scored, save_png)
from common.results.publish import current, publish

from . import config


def plot_task(result: dict, colour_of: dict[str, str], path: Path) -> Path:
    fig, ax = figure(10, 6)
    methods = sorted(result["scores"], key=lambda m: (result["scores"][m]["fraction_fixes"], m))
    handles, labels = [], []
    for method in methods:
        points = [e for e in result["submitted_evaluations"] if e["submission"] == method]
        score = result["scores"][method]["fraction_fixes"]
        line, = ax.plot(range(1, len(points) + 1), [p["accuracy"] for p in points], color=colour_of.get(method, "grey"),
                        linewidth=1.6)
        handles.append(line)
        labels.append(f"{method} ({score:.3f})")
    before = ax.axhline(result["before_acc"], color="black", linestyle="--", linewidth=1)
    target = result["target_ratio"] * result["clean_acc"]
    goal = ax.axhline(target, color="tab:red", linestyle=":", linewidth=1.5)
    handles += [before, goal]
    labels += [f"before cleaning ({result['before_acc']:.3f})",
               f"target: {result['target_ratio']:.0%} of clean ({target:.3f})"]
    ax.set_xlabel("fixes (training labels inspected in ranked order)")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"Cleaning task {result['data_id']}")
    legend_outside(fig, handles, labels, title="method (fraction of fixes)")
    return save_png(fig, path)


def plot_speed(summary: dict, colour_of: dict[str, str], path: Path) -> Path:
    """One point per method: mean time per task against the mean fraction of fixes, with its 95% interval;
    the faint dots are the single tasks."""
    fig, ax = figure(9, 6)
    timed = [m for m in summary["ranking"] if summary["methods"][m]["seconds"] is not None]
    per_task = {(r["method"], r["data_id"]): r for r in summary["rows"]}
    tasks = len(summary["groups"])
    handles, labels = [], []
    for method in timed:
        s = summary["methods"][method]
        seconds = max(s["seconds"] / tasks, 1e-4)
        xs = [max(per_task[(method, d)]["seconds"], 1e-4) for d in summary["groups"] if (method, d) in per_task]
        ys = [per_task[(method, d)]["fraction_fixes"] for d in summary["groups"] if (method, d) in per_task]
        ax.scatter(xs, ys, color=colour_of[method], alpha=0.45, s=24, linewidths=0)
        ax.errorbar([seconds], [s["mean"]], yerr=[[s["mean"] - s["ci95_low"]], [s["ci95_high"] - s["mean"]]],
                    fmt="o", color=colour_of[method], markersize=9, capsize=4)
        handles.append(marker_handle("o", colour_of[method]))
        labels.append(f"{method} ({s['mean']:.3f})")
    handles.append(marker_handle("o", "grey"))
    handles[-1].set_alpha(0.45)
    labels.append("one task")
    ax.set_xscale("log")
    ax.set_xlabel("valuation time per task (s, log scale)")
    ax.set_ylabel("fraction of fixes (lower is better)")
    ax.set_title(f"Time against fraction of fixes, mean over {tasks} tasks with 95% interval")
    legend_outside(fig, handles, labels, title="method (mean)")
    untimed = [m for m in summary["ranking"] if m not in timed]
    if untimed:
        print(f"plot: no time_*.txt for every task of {', '.join(untimed)}; left out of the speed plot")
    return save_png(fig, path)


def plot(parameters_file: Path, results_folder: Path, plot_folder: Path) -> list[Path]:
    config.load(parameters_file)
    with publish(plot_folder, "plot folder") as out:   # the PNGs of one run, published together
        results = current(results_folder)   # resolved once: every file from the same run
        summary = read_scored(results)
        colour_of = colours(sorted(summary["methods"]))
        for data_id in summary["groups"]:
            result = read_results(results / f"{data_id}_evaluation.json")
            plot_task(result, colour_of, out.path(f"{data_id}_evaluation.png"))
        plot_speed(summary, colour_of, out.path("fraction_fixes_speed.png"))
    return announce(out.published)
