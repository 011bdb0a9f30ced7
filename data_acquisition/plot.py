"""The plot task: accuracy against money spent per market and method, and the spend per seller, as PNG."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from common.plotting import announce, figure, markers, read_results, save_png
from common.results import current, publish

from . import config


def plot_accuracy_vs_spend(rows: list[dict], path: Path) -> Path:
    """One point per market and method: x = cost / budget, y = accuracy (bars: ±1 std over trials)."""
    methods = sorted({r["method"] for r in rows})
    markets = sorted({r["market"] for r in rows})
    fig, ax = figure(9, 6)
    colors = {m: f"C{i}" for i, m in enumerate(markets)}
    shapes = dict(zip(methods, markers(len(methods))))
    for r in rows:
        ax.errorbar(r["spent_fraction"], r["accuracy"], yerr=r["std"], fmt=shapes[r["method"]],
                    color=colors[r["market"]], capsize=3, markersize=8, alpha=0.85)
    for method in methods:
        ax.plot([], [], shapes[method], color="gray", label=method)
    for market in markets:
        ax.plot([], [], "s", color=colors[market], label=f"market {market}")
    ax.set_xlabel("money spent / budget")
    ax.set_ylabel("accuracy on the buyer's data (mean over trials)")
    ax.set_title("Data acquisition: accuracy against money spent")
    ax.legend(fontsize=8, ncol=2)
    return save_png(fig, path)


def plot_spend_per_seller(rows: list[dict], path: Path) -> Path:
    """Per method, a market x seller heat map of the share of the budget spent on each seller."""
    methods = sorted({r["method"] for r in rows})
    markets = sorted({r["market"] for r in rows})
    sellers = max(len(r["spend_per_seller"]) for r in rows)
    fig, axes = figure(12, 1.2 + 1.1 * len(methods) * max(1, len(markets)) / 5)
    fig.clf()
    axes = fig.subplots(len(methods), 2, squeeze=False, gridspec_kw={"width_ratios": [60, 1]})
    grid = axes[:, 0]
    for ax, bar, method in zip(grid, axes[:, 1], methods):
        share = np.full((len(markets), sellers), np.nan)
        for r in rows:
            if r["method"] == method:
                share[markets.index(r["market"]), :len(r["spend_per_seller"])] = \
                    np.array(r["spend_per_seller"]) / r["budget"]
        image = ax.imshow(share, aspect="auto", cmap="viridis", vmin=0, vmax=1)
        ax.set_yticks(range(len(markets)), [f"market {m}" for m in markets], fontsize=7)
        ax.set_xticks(range(sellers), [str(s) if s % 2 == 0 else "" for s in range(sellers)], fontsize=7)
        ax.set_title(f"{method}: share of the budget spent per seller", fontsize=9, loc="left")
        ax.grid(False)
        fig.colorbar(image, cax=bar)
    grid[-1].set_xlabel("seller")
    return save_png(fig, path)


def plot_scores(summary: dict, path: Path) -> Path:
    methods = sorted(summary, key=lambda m: -summary[m]["mean"])
    fig, ax = figure(9, 5)
    xs = np.arange(len(methods))
    ax.bar(xs - 0.2, [summary[m]["mean"] for m in methods], 0.4, yerr=[summary[m]["std"] for m in methods],
           capsize=3, label="accuracy (mean over markets, bars: ±1 std)")
    ax.bar(xs + 0.2, [summary[m]["dataperf_score"] for m in methods], 0.4,
           label="DataPerf score 0.98 acc + 0.02 (b - c) / b")
    ax.set_xticks(xs, methods)
    ax.set_ylim(0, 1)
    ax.set_title("Data acquisition: score per method")
    ax.legend(fontsize=9, loc="lower right")
    return save_png(fig, path)


def plot(parameters_file: Path, results_folder: Path, plot_folder: Path) -> list[Path]:
    config.load(parameters_file)
    with publish(plot_folder, "plot folder") as out:   # the PNGs of one run, published together
        results = read_results(current(results_folder) / "summary.json")
        rows = results["rows"]
        plot_accuracy_vs_spend(rows, out.path("accuracy_vs_spend.png"))
        plot_spend_per_seller(rows, out.path("spend_per_seller.png"))
        plot_scores(results["methods"], out.path("scores.png"))
    return announce(out.published)
