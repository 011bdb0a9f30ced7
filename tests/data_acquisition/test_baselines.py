"""data_acquisition baselines: the repository's formulas, exact budgets, determinism, the tasks end to end."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from fractions import Fraction

import numpy as np
import pytest

from common.core.errors import DataPerfError
from common.parameters.schema import Parameters
from data_acquisition import baselines as B
from data_acquisition import config
from data_acquisition.algorithm import Market, load_market

from support.data_acquisition import TINY, generated_workspace, write_parameters


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return generated_workspace(tmp_path_factory.mktemp("da") / "ws")


def toy_market(prices=("10", "4", "30"), sizes=(10, 8, 30), budget="20") -> Market:
    n = len(sizes)
    return Market(0, Fraction(budget), [Fraction(p) for p in prices], list(sizes), [{}] * n,
                  [np.zeros((0, 3))] * n, np.zeros((4, 2)), np.array([0, 1, 0, 1]))


def test_water_fill_against_brute_force():
    market = toy_market()
    # equal money 20/3 each: seller 1 (full price 4) is bought whole, 16 is shared by sellers 0 and 2 (8 each):
    # 8 rows of seller 0 (cost 8), 8 rows of seller 2 (cost 8): then flooring leaves nothing
    assert B.water_fill(market, [1, 1, 1]) == [8, 8, 8]
    assert market.cost([8, 8, 8]) == 20
    # brute force: no integer plan with the same money shares buys more rows from the uncapped sellers
    best = max((a + c, a, c) for a in range(11) for c in range(31)
               if market.cost([a, 8, c]) <= 20 and abs(Fraction(a) - Fraction(c, 3) * 3) <= 1)
    assert best[0] <= 16 + 8
    assert B.water_fill(market, [0, 1, 0]) == [0, 8, 0]


def test_single_and_uniform_follow_the_repository_and_stay_in_budget(ws):
    params = config.load(ws / "parameters.yaml")
    for m in (0, 1):
        market = load_market(ws / "marketinfo", m)
        single = B.make_strategy("single", params).purchase(market)
        chosen = [i for i, n in enumerate(single) if n]
        assert len(chosen) == 1
        j = chosen[0]
        assert single[j] == min(market.sizes[j], int(market.budget * market.sizes[j] / market.max_prices[j]))
        uniform = B.make_strategy("uniform", params).purchase(market)
        scale = market.budget / (sum(market.max_prices) / 20)
        assert all(n < max(1, int(size * scale / 20 * 2)) for n, size in zip(uniform, market.sizes))
        assert market.cost(uniform) <= market.budget


def test_every_baseline_is_deterministic_valid_and_seeded(ws):
    params = config.load(ws / "parameters.yaml")
    other = Parameters.from_defaults(config.SCHEMA, {"seed": 5})
    market = load_market(ws / "marketinfo", 0)
    for name in B.BUILTIN:
        first = B.make_strategy(name, params).purchase(market)
        assert first == B.make_strategy(name, params).purchase(market), name
        assert B.check_purchase(first, market, name) == first
        assert market.cost(first) <= market.budget
    assert B.make_strategy("uniform", params).purchase(market) != B.make_strategy("uniform", other).purchase(market)
    with pytest.raises(DataPerfError, match="method 'x' in market 0: cost .* over the budget"):
        B.check_purchase(market.sizes, market, "x")
    with pytest.raises(DataPerfError, match="19 counts for 20 sellers"):
        B.check_purchase([0] * 19, market, "x")


def test_quality_greedy_finds_the_good_sellers(ws):
    """The generator's hidden truth: quality_greedy buys from cleaner sellers than the market's average."""
    for m in (0, 1):
        market = load_market(ws / "marketinfo", m)
        truth = json.loads((ws / "features" / str(m) / "sellers.json").read_text())["sellers"]
        counts = B.QualityGreedy().purchase(market)
        bought = [t for t, n in zip(truth, counts) if n]
        assert bought and market.cost(counts) <= market.budget
        assert np.mean([t["label_noise"] for t in bought]) < np.mean([t["label_noise"] for t in truth])
        assert all(t["shift"] != "shifted" or t["label_noise"] == 0 for t in bought)


def test_all_four_tasks_and_a_clean_failure(tmp_path):
    ws = tmp_path / "ws"
    write_parameters(ws, TINY)
    proc = subprocess.run([sys.executable, "-m", "common", "run", "data_acquisition", "--workspace", str(ws)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "accuracy on the buyer's data" in proc.stdout
    for method in B.BUILTIN:
        for m in (0, 1):
            line = (ws / "submissions" / method / f"{m}.txt").read_text()
            assert len(line.strip().split(",")) == 20 and line.count("\n") == 1
    summary = json.loads((ws / "results" / "summary.json").read_text())
    assert set(summary["methods"]) == set(B.BUILTIN)
    assert all(0 <= s["mean"] <= 1 for s in summary["methods"].values())
    for name in ("accuracy_vs_rows.png", "spend_per_seller.png", "scores.png"):
        assert (ws / "plots" / name).read_bytes()[:4] == b"\x89PNG"
    first = (ws / "results" / "summary.csv").read_text()
    proc = subprocess.run([sys.executable, "-m", "common", "run", "data_acquisition", "--workspace", str(ws),
                           "--task=evaluate"], capture_output=True, text=True)
    assert proc.returncode == 0 and (ws / "results" / "summary.csv").read_text() == first   # same scores
    (ws / "submissions" / "broken").mkdir()
    (ws / "submissions" / "broken" / "0.txt").write_text("1,2,x\n")
    (ws / "submissions" / "broken" / "1.txt").write_text("-1\n")
    proc = subprocess.run([sys.executable, "-m", "common", "run", "data_acquisition", "--workspace", str(ws),
                           "--task=evaluate"], capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "broken/0.txt: seller 2: count must be a whole number, found 'x'" in proc.stderr
    assert "broken/1.txt: seller 0: count must not be negative, found -1" in proc.stderr


def test_official_download_from_a_loopback_server(tmp_path, http_folder):
    root, url = http_folder
    src = generated_workspace(tmp_path / "src")
    archives = {}
    for name, folder in (("marketinfo", "marketinfo"), ("features", "features")):
        archive = root / f"{name}.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            for path in (src / folder).rglob("*"):
                zf.write(path, path.relative_to(src))
        archives[name] = {"url": f"{url}/{archive.name}", "sha256": hashlib.sha256(archive.read_bytes()).hexdigest()}
    ws = tmp_path / "ws"
    write_parameters(ws, {"data": {"source": "official", "markets": [0, 1], "official": {"marketinfo": archives["marketinfo"]}}})
    proc = subprocess.run([sys.executable, "-m", "common", "run", "data_acquisition", "--workspace", str(ws),
                           "--task=download"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "the sellers' data is not public" in proc.stdout
    assert (ws / "marketinfo" / "1" / "summary" / "19.csv.json").read_bytes() == \
        (src / "marketinfo" / "1" / "summary" / "19.csv.json").read_bytes()
    assert not (ws / "features" / "0").exists()
    write_parameters(ws, {"data": {"source": "official", "markets": [0, 1], "official": archives}})
    proc = subprocess.run([sys.executable, "-m", "common", "run", "data_acquisition", "--workspace", str(ws),
                           "--task=download"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (ws / "features" / "1" / "7.csv").read_bytes() == (src / "features" / "1" / "7.csv").read_bytes()
    bad = {"url": archives["marketinfo"]["url"], "sha256": "0" * 64}
    write_parameters(ws, {"data": {"source": "official", "official": {"marketinfo": bad}}})
    (ws / "marketinfo" / ".download" / "marketinfo.zip").unlink()
    proc = subprocess.run([sys.executable, "-m", "common", "run", "data_acquisition", "--workspace", str(ws),
                           "--task=download"], capture_output=True, text=True)
    assert proc.returncode == 1 and "download rejected" in proc.stderr and "Traceback" not in proc.stderr


def test_a_participant_strategy_is_loaded_run_and_checked(ws, tmp_path):
    values = {**TINY, "baselines": {"methods": ["equal_spend", "support.data_acquisition:CheapestFirst"], "workers": 1}}
    params_file = write_parameters(tmp_path / "p", values)
    B.create_baselines(params_file, ws / "marketinfo", tmp_path / "subs")
    market = load_market(ws / "marketinfo", 1)
    counts = [int(v) for v in (tmp_path / "subs" / "cheapest_first" / "1.txt").read_text().split(",")]
    cheapest = min(range(20), key=market.price_per_row)
    assert counts[cheapest] == min(market.sizes[cheapest], market.affordable(cheapest, market.budget))
    assert market.cost(counts) <= market.budget
    values["baselines"]["methods"] = ["support.data_acquisition:Overspender"]
    with pytest.raises(DataPerfError, match="method 'overspender' in market 0: cost .* over the budget"):
        B.create_baselines(write_parameters(tmp_path / "p", values), ws / "marketinfo", tmp_path / "subs")
    values["baselines"]["methods"] = ["support.data_acquisition:Nope"]
    with pytest.raises(DataPerfError, match="Nope is not a subclass"):
        B.create_baselines(write_parameters(tmp_path / "p", values), ws / "marketinfo", tmp_path / "subs")
