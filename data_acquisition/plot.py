"""The plot task: accuracy against rows bought per market and method, the spend per seller, the scores, as PNG."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from common.core.escaping import plot_text
from common.results.plotting import (announce, colours, figure, legend_outside, marker_handle, markers, read_scored,
                                     save_png)
from common.results.publish import current, publish

from . import config


def plot_accuracy_vs_rows(summary: dict, colour_of: dict[str, str], path: Path) -> Path:
    """One point per market and method: x = rows bought, y = accuracy (bars: ±1 std over trials).

    Most strategies spend (nearly) the whole budget, so money spent does not separate them; what the money
    bought does.  The share of the budget spent is in the legend."""
    rows = summary["rows"]
    methods = summary["ranking"]
    markets = summary["groups"]
    fig, ax = figure(10, 6)
    shape = dict(zip(markets, markers(len(markets))))
    for r in rows:
        ax.errorbar(max(r["rows_bought"], 1), r["accuracy"], yerr=r["std"], fmt=shape[str(r["market"])],
                    color=colour_of[r["method"]], capsize=3, markersize=8, alpha=0.85)
    ax.set_xscale("log")
    ax.set_xlabel("rows bought (log scale)")
    ax.set_ylabel("accuracy on the buyer's data (mean over trials)")
    ax.set_title("Data acquisition: accuracy against rows bought")
    legend_outside(fig, [marker_handle("o", colour_of[m]) for m in methods],
                   [f"{m} (spent {summary['methods'][m]['extras']['spent_fraction']:.0%})" for m in methods],
                   title="method (share of budget spent)")
    legend_outside(fig, [marker_handle(shape[k], "black") for k in markets], [f"market {k}" for k in markets],
                   title="market", where="right lower")
    return save_png(fig, path)


def plot_spend_per_seller(summary: dict, path: Path) -> Path:
    """Per method, a market x seller heat map of the share of the budget spent on each seller."""
    rows = summary["rows"]
    methods = summary["ranking"]
    markets = summary["groups"]
    sellers = max(len(r["spend_per_seller"]) for r in rows)
    fig, axes = figure(11, 1.0 + (0.45 + 0.3 * len(markets)) * len(methods), rows=len(methods), squeeze=False,
                       sharex=True)
    image = None
    for ax, method in zip(axes[:, 0], methods):
        share = np.full((len(markets), sellers), np.nan)
        for r in rows:
            if r["method"] == method:
                share[markets.index(str(r["market"])), :len(r["spend_per_seller"])] = \
                    np.array(r["spend_per_seller"]) / r["budget"]
        image = ax.imshow(share, aspect="auto", cmap="viridis", vmin=0, vmax=1)
        ax.set_yticks(range(len(markets)), markets)
        ax.set_ylabel("market")
        ax.set_title(plot_text(method), fontsize=11, loc="left")
        ax.grid(False)
    last = axes[-1, 0]
    last.set_xticks(range(sellers), [str(s) for s in range(sellers)])
    last.set_xlabel("seller")
    fig.colorbar(image, ax=axes[:, 0], label="share of the budget spent", shrink=min(1.0, 3 / len(methods)))
    fig.suptitle("Data acquisition: where each method spends its budget")
    return save_png(fig, path)


def plot_scores(summary: dict, path: Path) -> Path:
    methods = summary["ranking"]
    fig, ax = figure(10, 5.5)
    xs = np.arange(len(methods))
    accuracy = [summary["methods"][m]["mean"] for m in methods]
    low = [summary["methods"][m]["mean"] - summary["methods"][m]["ci95_low"] for m in methods]
    high = [summary["methods"][m]["ci95_high"] - summary["methods"][m]["mean"] for m in methods]
    first = ax.bar(xs - 0.2, accuracy, 0.4, yerr=[low, high], capsize=3, color="C0")
    second = ax.bar(xs + 0.2, [summary["methods"][m]["extras"]["dataperf_score"] for m in methods], 0.4, color="C1")
    ax.set_xticks(xs, [plot_text(m) for m in methods])
    ax.set_xlabel("method (ranked by accuracy)")
    ax.set_ylabel("score, mean over markets")
    ax.set_ylim(0, 1)
    ax.set_title("Data acquisition: score per method")
    legend_outside(fig, [first, second], ["accuracy (the score; bars: 95% interval)",
                                          "DataPerf score 0.98 acc + 0.02 (b - c) / b"], where="lower center")
    return save_png(fig, path)


def plot(parameters_file: Path, results_folder: Path, plot_folder: Path) -> list[Path]:
    config.load(parameters_file)
    with publish(plot_folder, "plot folder") as out:   # the PNGs of one run, published together
        summary = read_scored(current(results_folder))
        colour_of = colours(sorted(summary["methods"]))
        plot_accuracy_vs_rows(summary, colour_of, out.path("accuracy_vs_rows.png"))
        plot_spend_per_seller(summary, out.path("spend_per_seller.png"))
        plot_scores(summary, out.path("scores.png"))
    return announce(out.published)
