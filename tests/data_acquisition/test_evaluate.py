"""data_acquisition evaluate: every submission rule, hand-computed scores, parity with the original evaluator."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from common.core.errors import ValidationError, ValidationErrors
from data_acquisition.data import market_files, read_matrix_csv
from data_acquisition.evaluate import evaluate
from data_acquisition.model import dataperf_score

from support.data_acquisition import TINY, generated_workspace, hand_market, write_counts, write_parameters
from originals.data_acquisition import original_evaluate

X0 = np.array([-2, -1.5, -1, -0.5, -0.2, 0.2, 0.5, 1, 1.5, 2.0])


def hand_workspace(ws, budget="12", compat=False, trials=3):
    """Seller 0: 10 separable rows (price 10); seller 1: 4 rows of class 1 (price 2); 4 buyer rows."""
    write_parameters(ws, {"data": {"markets": [0]}, "evaluate": {"workers": 1, "compat": compat, "trials": trials}})
    seller0 = (np.column_stack([X0, np.zeros(10)]), (X0 > 0).astype(int))
    seller1 = (np.column_stack([np.full(4, 3.0), np.ones(4)]), np.ones(4, dtype=int))
    buyer = (np.array([[-1, 0], [-0.3, 0], [0.4, 0], [1.2, 0]]), np.array([0, 0, 1, 1]))
    hand_market(ws, 0, [seller0, seller1], ["10", "2"], budget, buyer)
    (ws / "submissions").mkdir(exist_ok=True)
    return ws


def run(ws):
    return evaluate(ws / "parameters.yaml", ws / "marketinfo", ws / "features", ws / "submissions", ws / "results")


def rows(ws):
    return {r["method"]: r for r in json.loads((ws / "results" / "summary.json").read_text())["rows"]}


def test_hand_computed_scores(tmp_path):
    ws = hand_workspace(tmp_path / "ws")
    write_counts(ws, "all", 0, "10,4\n")            # cost 12 == budget: allowed
    write_counts(ws, "ones", 0, "0, 4")             # a single class: constant prediction of class 1
    write_counts(ws, "none", 0, "0,0")              # nothing bought
    write_counts(ws, "half", 0, "5,0", suffix=".csv")
    summary = run(ws)
    r = rows(ws)
    assert r["all"]["accuracy"] == 1.0 and r["all"]["cost"] == 12 and r["all"]["dataperf_score"] == pytest.approx(0.98)
    assert r["all"]["spend_per_seller"] == [10.0, 2.0] and r["all"]["per_trial"] == [1.0, 1.0, 1.0]
    assert r["ones"]["accuracy"] == 0.5 and "a single class (1) bought" in r["ones"]["warnings"][0]
    assert r["ones"]["dataperf_score"] == pytest.approx(0.98 * 0.5 + 0.02 * 10 / 12)
    assert r["none"]["accuracy"] == 0.0 and r["none"]["dataperf_score"] == pytest.approx(0.02)
    assert r["none"]["warnings"] == ["nothing bought: accuracy 0"]
    assert r["half"]["cost"] == 5.0 and summary["half"]["n"] == 1
    assert dataperf_score(0.7, 30, 120) == pytest.approx(0.98 * 0.7 + 0.02 * 0.75)


def test_compat_refuses_where_the_original_fit_fails_and_scores_the_rest(tmp_path):
    """Nothing bought, or a single class drawn: the original's LogisticRegression fit raises there, so compat
    refuses the method (the default mode scores it, see above); the others get the original's scores."""
    ws = hand_workspace(tmp_path / "ws", compat=True, trials=10)
    write_counts(ws, "all", 0, "10,4")
    write_counts(ws, "ones", 0, "0,4")
    write_counts(ws, "none", 0, "0,0")
    message = _message(ws)
    assert "ones/0.txt: trial 1: a single class (1) bought: the original evaluator fails here" in message
    assert "none/0.txt: trial 1: nothing bought: the original evaluator fails here" in message
    assert set(rows(ws)) == {"all"}
    for method in ("ones", "none"):
        with pytest.raises(ValueError):
            original_evaluate(ws / "marketinfo", ws / "features", ws / "submissions" / method, [0])
    want = original_evaluate(ws / "marketinfo", ws / "features", ws / "submissions" / "all", [0])
    assert rows(ws)["all"]["accuracy"] == want[0]["acc"]


def _message(ws, **kw):
    with pytest.raises((ValidationError, ValidationErrors)) as info:
        run(ws)
    return str(info.value)


@pytest.mark.parametrize("text, expected", [
    ("1,2,3", "wrong count of numbers: 3 given, the market has 2 sellers"),
    ("10", "wrong count of numbers: 1 given"),
    ("1.5,2", "seller 0: count must be a whole number, found '1.5'"),
    ("a,2", "seller 0: count must be a whole number, found 'a'"),
    ("1,", "seller 1: count must be a whole number, found ''"),
    ("-1,2", "seller 0: count must not be negative, found -1"),
    ("11,0", "seller 0: 11 rows asked, the seller has only 10"),
    ("0,5", "seller 1: 5 rows asked, the seller has only 4"),
    ("1,2\n3,4\n", "must hold exactly one line"),
])
def test_every_count_rule_names_file_and_item(tmp_path, text, expected):
    ws = hand_workspace(tmp_path / "ws")
    write_counts(ws, "m", 0, text)
    message = _message(ws)
    assert "m/0.txt" in message and expected in message


def test_budget_rule_and_compat_turns_it_off(tmp_path):
    ws = hand_workspace(tmp_path / "ws", budget="11.99")
    write_counts(ws, "m", 0, "10,4")
    assert "m/0.txt: cost 12: over the budget of 11.99 (a cost equal to the budget is allowed)" in _message(ws)
    ws = hand_workspace(tmp_path / "compat", budget="11.99", compat=True)
    write_counts(ws, "m", 0, "10,4")
    run(ws)
    assert rows(ws)["m"]["over_budget"] is True
    write_counts(ws, "m", 0, "-1,4")
    assert "seller 0: count must not be negative" in _message(ws)


def test_file_rules(tmp_path):
    ws = hand_workspace(tmp_path / "ws")
    write_parameters(ws, {"data": {"markets": [0]}, "evaluate": {"workers": 1, "trials": 1}})
    write_counts(ws, "m", 0, "1,1")
    write_counts(ws, "m", 0, "1,1", suffix=".csv")
    write_counts(ws, "m", 7, "1,1")
    message = _message(ws)
    assert "two files for market 0 (0.csv and 0.txt)" in message
    assert "7.txt: file names must be <market>.txt (or .csv) with a market in [0]" in message


def test_missing_market_file_and_missing_seller_data(tmp_path):
    ws = generated_workspace(tmp_path / "ws")
    write_counts(ws, "m", 0, ",".join(["1"] * 20))
    assert "m/1.txt: method 'm': missing market file" in _message(ws)
    write_counts(ws, "m", 1, ",".join(["1"] * 20))
    market_files(ws / "marketinfo", ws / "features", 1).seller(4).unlink()
    assert "features/1/4.csv: seller data not found" in _message(ws)
    market_files(ws / "marketinfo", ws / "features", 1).budget.unlink()
    assert "marketinfo/1/price/budget.txt: budget file not found" in _message(ws)


@pytest.fixture(scope="module")
def gws(tmp_path_factory):
    ws = generated_workspace(tmp_path_factory.mktemp("da") / "ws")
    for market in (0, 1):
        write_counts(ws, "a", market, "5,0,3,0,0,8,0,0,0,0,0,2,0,0,0,0,9,0,0,4")
        write_counts(ws, "b", market, "5,0,3,0,0,8,0,0,0,0,0,2,0,0,0,0,9,0,0,4")   # same counts: same draws
        write_counts(ws, "c", market, "0,3,0,5,0,0,4,0,0,0,0,4,0,0,5,0,0,3,0,0")
    return ws


def test_strict_mode_equals_a_naive_restatement(gws, capsys):
    write_parameters(gws, {**TINY, "evaluate": {"workers": 1}})
    run(gws)
    assert "evaluate: 20 fits for 6 files x 5 trials" in capsys.readouterr().out   # a and b share their fits
    got = rows_by(gws)
    for market in (0, 1):
        counts = [int(v) for v in (gws / "submissions" / "c" / f"{market}.txt").read_text().split(",")]
        files = market_files(gws / "marketinfo", gws / "features", market)
        data = [read_matrix_csv(files.seller(i), "s") for i in range(20)]
        bx, by = read_matrix_csv(files.buyer, "b")
        accs = []
        for trial in range(5):
            rng = np.random.default_rng([0, market, trial])
            picks = [rng.choice(len(y), size=n, replace=False) for n, (x, y) in zip(counts, data)]
            assert all(len(set(p)) == len(p) for p in picks)                    # without replacement
            tx = np.vstack([x[p] for p, (x, y) in zip(picks, data)])
            ty = np.concatenate([y[p] for p, (x, y) in zip(picks, data)])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                accs.append(LogisticRegression(random_state=0, max_iter=3000).fit(tx, ty).score(bx, by))
        assert got[("c", market)]["per_trial"] == accs
        assert got[("a", market)]["per_trial"] == got[("b", market)]["per_trial"]


def rows_by(ws):
    return {(r["method"], r["market"]): r for r in json.loads((ws / "results" / "summary.json").read_text())["rows"]}


def test_compat_equals_the_original_evaluator_and_workers_do_not_matter(gws):
    write_parameters(gws, {**TINY, "evaluate": {"workers": 2, "compat": True}})
    run(gws)
    got = rows_by(gws)
    for method in ("a", "c"):
        want = original_evaluate(gws / "marketinfo", gws / "features", gws / "submissions" / method, [0, 1])
        for market in (0, 1):
            assert got[(method, market)]["accuracy"] == want[market]["acc"]   # identical, to the last bit
            assert got[(method, market)]["cost"] == pytest.approx(want[market]["cost"], abs=1e-12)
            assert len(got[(method, market)]["per_trial"]) == 10
    write_parameters(gws, {**TINY, "evaluate": {"workers": 1, "compat": True}})
    run(gws)
    assert rows_by(gws)[("c", 1)]["per_trial"] == got[("c", 1)]["per_trial"]
    # the original's generator runs through the markets in the configured order
    write_parameters(gws, {**TINY, "data": {**TINY["data"], "markets": [1, 0]}, "evaluate": {"compat": True, "trials": 2}})
    run(gws)
    want = original_evaluate(gws / "marketinfo", gws / "features", gws / "submissions" / "c", [1, 0], num_trial=2)
    assert rows_by(gws)[("c", 0)]["accuracy"] == want[0]["acc"]
