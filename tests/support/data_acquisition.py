"""Tiny data_acquisition workspaces for the tests: generated markets, or markets written by hand."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from data_acquisition.data import market_files, summarize_seller, summary_json, write_matrix_csv, write_samples
from data_acquisition.download import download

TINY = {"data": {"markets": [0, 1], "scale": 0.002, "features": 16},
        "baselines": {"workers": 1}, "evaluate": {"workers": 1}}


def write_parameters(ws: Path, values: dict) -> Path:
    ws.mkdir(parents=True, exist_ok=True)
    path = ws / "parameters.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def generated_workspace(ws: Path, values: dict = TINY) -> Path:
    download(write_parameters(ws, values), ws / "marketinfo", ws / "features")
    (ws / "submissions").mkdir(exist_ok=True)
    return ws


def hand_market(ws: Path, market: int, sellers: list[tuple[np.ndarray, np.ndarray]], max_prices: list[str],
                budget: str, buyer: tuple[np.ndarray, np.ndarray]) -> None:
    """A market written file by file, for hand-computed cases."""
    files = market_files(ws / "marketinfo", ws / "features", market)
    files.budget.parent.mkdir(parents=True, exist_ok=True)
    files.budget.write_text(budget + "\n")
    files.prices.write_text("".join(f"Lin,{p}\n" for p in max_prices))
    files.seller_ids.write_text("".join(f"{i}\n" for i in range(len(sellers))))
    write_matrix_csv(files.buyer, *buyer)
    for i, (x, y) in enumerate(sellers):
        write_matrix_csv(files.seller(i), x, y)
        files.summary(i).parent.mkdir(parents=True, exist_ok=True)
        files.summary(i).write_text(summary_json(summarize_seller(x, y)))
        write_samples(files.samples(i), np.column_stack([x[:5], y[:5]]))


def write_counts(ws: Path, method: str, market: int, text: str, suffix: str = ".txt") -> Path:
    path = ws / "submissions" / method / f"{market}{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


from data_acquisition.algorithm import Strategy  # noqa: E402


class CheapestFirst(Strategy):
    """A participant's strategy, loaded by name: whole sellers, cheapest per row first."""
    name = "cheapest_first"

    def purchase(self, market):
        counts, money = [0] * market.sellers, market.budget
        for i in sorted(range(market.sellers), key=market.price_per_row):
            counts[i] = market.affordable(i, money)
            money -= market.cost([counts[j] if j == i else 0 for j in range(market.sellers)])
        return counts


class Overspender(Strategy):
    name = "overspender"

    def purchase(self, market):
        return list(market.sizes)
