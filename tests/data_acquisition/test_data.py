"""data_acquisition: file formats, summaries against their definitions, exact pricing, the generator."""
from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

from common.core.errors import ValidationError
from data_acquisition.algorithm import load_market
from data_acquisition.data import (affordable_rows, column_histograms, cost_of, market_files, read_budget, read_matrix_csv, read_prices,
                                   summarize_seller)
from data_acquisition.generator import generate_market

from support.data_acquisition import generated_workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return generated_workspace(tmp_path_factory.mktemp("da") / "ws")


def test_summary_matches_its_definition():
    rng = np.random.default_rng(3)
    x = np.round(rng.normal(size=(40, 3)), 2)
    x[:, 2] = 0.5                                       # a constant feature: correlation undefined
    y = (rng.random(40) < 0.4).astype(int)
    s = summarize_seller(x, y)
    assert s["row_number"] == 40 and s["column_number"] == 4 and list(s["hist"]) == ["0", "1", "2"]
    for j in range(2):
        h = s["hist"][str(j)]
        lo, hi = x[:, j].min(), x[:, j].max()
        edges = [h[f"{b}_range"] for b in range(11)]
        assert edges[0] == lo and edges[10] == hi
        assert np.allclose(np.diff(edges), (hi - lo) / 10)
        for b in range(10):  # bins are [e_b, e_b+1), the last one closed
            inside = (x[:, j] >= edges[b]) & ((x[:, j] < edges[b + 1]) if b < 9 else (x[:, j] <= edges[10]))
            assert h[f"{b}_size"] == int(inside.sum())
        assert s["label_correlation"][str(j)] == pytest.approx(np.corrcoef(x[:, j], y)[0, 1], abs=1e-12)
    assert s["label_correlation"]["2"] is None
    json.dumps(s, allow_nan=False)


def test_column_histograms_equal_numpy_histogram():
    rng = np.random.default_rng(0)
    x = np.column_stack([np.round(rng.normal(size=500), 1), rng.normal(size=500) * 1e-9, np.full(500, 2.0),
                         np.tile([0.1, 0.2, 0.3, 0.7], 125), rng.integers(0, 3, 500).astype(float),
                         np.round(rng.normal(size=(500, 300)) * 0.2, 4)])
    counts, edges = column_histograms(x, 10)
    for j in range(x.shape[1]):
        want_counts, want_edges = np.histogram(x[:, j], bins=10)
        np.testing.assert_array_equal(counts[j], want_counts)
        np.testing.assert_array_equal(edges[j], want_edges)


def test_linear_prices_are_exact():
    assert cost_of(Fraction(100), 300, 30000) == 1
    assert cost_of(Fraction("87.5"), 0, 10) == 0
    assert affordable_rows(Fraction(1), Fraction(100), 30000) == 300
    assert affordable_rows(Fraction("0.999"), Fraction(100), 30000) == 299
    assert affordable_rows(Fraction(500), Fraction(100), 30000) == 30000   # at most the whole data
    # 0.1 + 0.2 > 0.3 in floating point; exact fractions make spending exactly the budget legal
    assert cost_of(Fraction("0.1"), 1, 1) + cost_of(Fraction("0.2"), 1, 1) == Fraction("0.3")


def test_readers_name_file_and_rule(tmp_path):
    (tmp_path / "price.txt").write_text("Lin,100\nExp,3\n")
    with pytest.raises(ValidationError, match=r"price.txt: line 2: must be 'Lin,<max price>'"):
        read_prices(tmp_path / "price.txt")
    (tmp_path / "price.txt").write_text("Lin,abc\n")
    with pytest.raises(ValidationError, match="line 1: must be a decimal number$"):   # not quoted
        read_prices(tmp_path / "price.txt")
    with pytest.raises(ValidationError, match="budget.txt: budget file not found"):
        read_budget(tmp_path / "budget.txt")
    (tmp_path / "budget.txt").write_text("-3\n")
    with pytest.raises(ValidationError, match="must not be negative"):
        read_budget(tmp_path / "budget.txt")
    (tmp_path / "s.csv").write_text("0.1,0.2,1\n0.3,,0\n")
    with pytest.raises(ValidationError, match="s.csv: row 2: missing or non-finite value"):
        read_matrix_csv(tmp_path / "s.csv", "seller data")
    for text in ("0.1,x,1\n", "0.1,0.2,1\n0.3,0\n"):
        (tmp_path / "s.csv").write_text(text)
        with pytest.raises(ValidationError, match="s.csv: not a CSV of 3 numbers per row"):
            read_matrix_csv(tmp_path / "s.csv", "seller data")
    (tmp_path / "s.csv").write_text("0.1,0.2,1\n0.3,0.4,0.5\n")
    with pytest.raises(ValidationError, match="row 2: the label"):
        read_matrix_csv(tmp_path / "s.csv", "seller data")


def test_generated_layout_and_csv_round_trip(ws):
    files = market_files(ws / "marketinfo", ws / "features", 1)
    market = load_market(ws / "marketinfo", 1)
    assert market.sellers == 20 and len(market.max_prices) == 20 and market.budget > 0
    assert files.model.is_file() and files.prices.read_text().startswith("Lin,")
    x, y = read_matrix_csv(files.seller(3), "seller data")
    assert x.shape == (market.sizes[3], 16) and set(np.unique(y)) <= {0, 1}
    # the numbers numpy.loadtxt reads (the original's reader) are the same float64 values
    np.testing.assert_array_equal(np.loadtxt(files.seller(3), delimiter=","), np.column_stack([x, y]))
    assert market.summaries[3] == summarize_seller(x, y)
    assert market.samples[3].shape == (5, 17)
    assert all(any(np.array_equal(s, r) for r in np.column_stack([x, y])) for s in market.samples[3])
    assert not (ws / "marketinfo" / "1" / "0.csv").exists()     # the sellers' data is only in features/


def test_generator_is_seeded_and_sellers_differ():
    def run(seed):
        return list(generate_market(2, 0.002, 8, seed))
    a, b, c = run(0), run(0), run(1)
    np.testing.assert_array_equal(a[3][2], b[3][2])
    assert not np.array_equal(a[0][1], c[0][1])
    profiles = [item[4] for item in a if item[0] == "seller"]
    assert {p["shift"] for p in profiles} >= {"matched", "shifted"}
    assert len({p["label_noise"] for p in profiles}) >= 3 and len({p["max_price"] for p in profiles}) == 20
    for item in a:
        if item[0] == "seller" and item[4]["duplicate_share"] >= 0.5:
            unique = len(np.unique(item[2], axis=0))
            assert unique <= len(item[2]) * (1 - item[4]["duplicate_share"]) + 1
    budget = a[-1][1]["budget"]
    assert 0.04 * sum(p["max_price"] for p in profiles) - 0.01 <= budget <= 0.08 * sum(p["max_price"] for p in profiles) + 0.01
