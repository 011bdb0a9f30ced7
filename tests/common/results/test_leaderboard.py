"""The one summary schema: hand-computed mean, spread and interval, clipping, ranking, CSV, refusals."""
from __future__ import annotations

import csv
import io
import math

import pytest

from common.core.errors import DataPerfError, ValidationError, ValidationErrors
from common.results import leaderboard as S
from common.results.metrics import summarize

F1 = S.Score("f1", "F1", "higher")
FIXES = S.Score("fraction_fixes", "fraction of fixes", "lower")
T_975_2 = 4.302652729911275     # Student's t, 97.5% quantile, 2 degrees of freedom (tables: 4.303)


def test_mean_std_interval_by_hand():
    s = summarize([0.5, 0.6, 0.7], bounds=(0, 1))
    half = T_975_2 * 0.1 / math.sqrt(3)                       # std 0.1 (ddof 1), n 3
    assert s["n"] == 3 and s["mean"] == pytest.approx(0.6) and s["std"] == pytest.approx(0.1)
    assert s["ci95_low"] == pytest.approx(0.6 - half) and s["ci95_high"] == pytest.approx(0.6 + half)
    assert half == pytest.approx(0.248414, abs=1e-6)


def test_interval_is_clipped_to_the_metric_range():
    # mean 0.5, std sqrt(0.13): the t interval [-0.3957, 1.3957] reaches past both ends of an F1's range
    values = [0.2, 0.4, 0.9]
    half = T_975_2 * math.sqrt(0.13) / math.sqrt(3)
    free = summarize(values)
    assert free["ci95_low"] == pytest.approx(0.5 - half) and free["ci95_high"] == pytest.approx(0.5 + half)
    clipped = summarize(values, bounds=(0, 1))
    assert clipped["ci95_low"] == 0.0 and clipped["ci95_high"] == 1.0
    assert clipped["mean"] == free["mean"] and clipped["std"] == free["std"]
    # the case: fps_cv's mean F1 over three concepts, whose interval went to 1.0118
    fps = summarize([0.8690, 0.9390, 0.9950], bounds=(0, 1))
    assert fps["ci95_high"] == 1.0 and summarize([0.8690, 0.9390, 0.9950])["ci95_high"] > 1.0
    assert summarize([0.25], bounds=(0, 1)) == {"n": 1, "mean": 0.25, "std": 0.0, "ci95_low": 0.25,
                                                "ci95_high": 0.25}


def _build(score=F1, results=None, **kw):
    results = results or [S.MethodScores("b", {"x": 0.5, "y": 0.7}, {"extra": 3}, seconds=2.5),
                          S.MethodScores("a", {"x": 0.9, "y": 0.9}),
                          S.MethodScores("c", {"x": 0.2, "y": 0.4})]
    return S.build("cube", "A cube", score, "concept", ["x", "y"], results, extras=[("extra", "an extra")], **kw)


def test_build_ranks_by_the_official_score_in_its_direction():
    higher = _build()
    assert higher["ranking"] == ["a", "b", "c"] and [higher["methods"][m]["rank"] for m in "abc"] == [1, 2, 3]
    assert list(higher["methods"]) == higher["ranking"]
    lower = _build(FIXES)
    assert lower["ranking"] == ["c", "b", "a"]
    b = higher["methods"]["b"]
    assert b["mean"] == pytest.approx(0.6) and b["n"] == 2 and b["std"] == pytest.approx(math.sqrt(0.02))
    assert b["dynabench_percent"] == 60.0 and b["seconds"] == 2.5 and b["extras"] == {"extra": 3}
    assert b["groups"] == {"x": 0.5, "y": 0.7}
    assert higher["score"] == {"name": "f1", "label": "F1", "direction": "higher", "range": [0.0, 1.0]}
    assert higher["schema"] == S.SCHEMA and higher["group_by"] == "concept" and higher["refused"] == []


def test_equal_scores_share_a_rank():
    tied = _build(results=[S.MethodScores("p", {"x": 0.5, "y": 0.5}), S.MethodScores("q", {"x": 0.4, "y": 0.6}),
                           S.MethodScores("r", {"x": 0.1, "y": 0.1})])
    assert tied["ranking"] == ["p", "q", "r"] and [tied["methods"][m]["rank"] for m in "pqr"] == [1, 1, 3]


def test_csv_has_the_schema_columns_one_row_per_method():
    rows = list(csv.DictReader(io.StringIO(S.to_csv(_build()))))
    assert list(rows[0]) == S.CSV_HEAD + ["extra", "concept:x", "concept:y"]
    assert [r["method"] for r in rows] == ["a", "b", "c"]
    b = rows[1]
    assert (b["rank"], b["score"], b["direction"], b["n"], b["seconds"], b["extra"]) == \
        ("2", "f1", "higher", "2", "2.500000", "3")
    assert float(b["mean"]) == pytest.approx(0.6) and b["concept:x"] == "0.500000"
    assert float(b["ci95_low"]) == 0.0 and float(b["ci95_high"]) == 1.0     # two values 0.2 apart: clipped
    assert rows[0]["seconds"] == ""                                             # unknown run time


def test_table_lists_every_method_and_refusal():
    text = S.to_table(_build(refused=[{"method": "z", "file": "z/x.csv", "reason": "z/x.csv: bad\nmore"}]))
    assert "F1 (f1, higher is better); mean over 2 concepts" in text
    assert [line.split()[1] for line in text.splitlines()[2:5]] == ["a", "b", "c"]
    assert "refused: z: z/x.csv: bad" in text


def test_read_refuses_another_schema(tmp_path):
    (tmp_path / "summary.json").write_text('{"methods": {}}')
    with pytest.raises(DataPerfError, match="not a summary of this version"):
        S.read(tmp_path / "summary.json")
    with pytest.raises(DataPerfError, match="run the evaluate task first"):
        S.read(tmp_path / "nothing.json")


def test_refusals_refuse_a_method_with_any_bad_file_and_keep_the_others(tmp_path):
    def check(item):
        method, name, ok = item
        if not ok:
            raise ValidationError(tmp_path / method / name, "line 2", "bad value")
        return name.upper()

    items = [("m", "a", True), ("m", "b", False), ("n", "a", True), ("n", "b", True)]
    refusals = S.Refusals(tmp_path)
    kept = refusals.screen(items, check, lambda i: i[0])
    assert kept == [(("n", "a", True), "A"), (("n", "b", True), "B")]
    assert refusals.methods == {"m"}
    assert refusals.records == [{"method": "m", "file": "m/b", "reason": f"{tmp_path / 'm' / 'b'}: line 2: bad value"}]
    with pytest.raises(ValidationError, match="line 2: bad value"):
        refusals.raise_if_any()
    # several problems (a ValidationErrors is split into its parts) end as one error listing them all
    refusals.add(ValidationErrors([ValidationError("elsewhere.txt", None, "one"),
                                   ValidationError(None, None, "two")]), "k")
    assert [r["file"] for r in refusals.records] == ["m/b", "elsewhere.txt", None]
    with pytest.raises(ValidationErrors, match="3 problem") as info:
        refusals.raise_if_any()
    assert "elsewhere.txt: one" in str(info.value)
    S.Refusals(tmp_path).raise_if_any()     # nothing refused: no error
