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


def _schema_1(summary: dict) -> dict:
    """A summary as schema 1 wrote it: no split, no ranks."""
    old = {k: v for k, v in summary.items() if k not in ("split", "ranking_method", "rank_statistics")}
    return {**old, "schema": S.SCHEMA_1}


def test_read_accepts_schema_1_and_2_and_nothing_else(tmp_path):
    import json
    path = tmp_path / "summary.json"
    current = _build()
    assert current["schema"] == "dataperf-summary/2" and current["split"] is None
    for document in (current, _schema_1(current)):
        path.write_text(json.dumps(document))
        assert S.read(path)["ranking"] == ["a", "b", "c"]
    path.write_text(json.dumps({**current, "schema": "dataperf-summary/3"}))
    with pytest.raises(DataPerfError, match="not a summary of this version"):
        S.read(path)
    # schema 2 must say "no split" and "no ranks" explicitly
    path.write_text(json.dumps({k: v for k, v in current.items() if k != "ranking_method"}))
    with pytest.raises(DataPerfError, match="split, ranking_method and rank_statistics must be present"):
        S.read(path)


def _ranked():
    """A schema 2 summary with a split and rank statistics (common.results.parts on a toy cube)."""
    import numpy as np
    from common.results import ranking
    from common.results.parts import GroupItems, Settings, annotate
    rng = np.random.default_rng(0)
    correct = {m: rng.random(200) < p for m, p in (("a", 0.9), ("b", 0.7), ("c", 0.5))}
    items = {g: GroupItems(rng.integers(0, 2, 200), lambda idx: {m: float(c[idx].mean()) for m, c in correct.items()},
                           lambda idx, methods: ranking.MeanScorer(np.stack([correct[m][idx] for m in methods])))
             for g in ("x", "y")}
    results = [S.MethodScores(m, {g: float(c.mean()) for g in items}) for m, c in correct.items()]
    summary = S.build("cube", "A cube", F1, "concept", ["x", "y"], results)
    annotate(summary, items, Settings(12345, 0.3, replicates=100))
    return summary


BROKEN = {
    "split of text": lambda s: s.update(split="public"),
    "a fraction of 1": lambda s: s["split"].update(public_fraction=1.0),
    "part counts of text": lambda s: s["split"]["items"]["x"].update(public="3"),
    "a split of an unknown group": lambda s: s["split"]["items"].update({"../z": {"public": 1, "private": 1}}),
    "no B": lambda s: s["ranking_method"].pop("B"),
    "B of zero": lambda s: s["ranking_method"].update(B=0),
    "resolution as text": lambda s: s["ranking_method"].update(resolution_ok="yes"),
    "an unknown part": lambda s: s["rank_statistics"].update(secret=s["rank_statistics"]["all"]),
    "a ghost in the bands": lambda s: s["rank_statistics"]["all"]["groups"].append(["ghost"]),
    "a method left out of the bands": lambda s: s["rank_statistics"]["public"]["groups"].pop(),
    "rank frequencies as text": lambda s: s["rank_statistics"]["all"]["methods"]["a"].update(rank_frequencies="x"),
    "countless rank frequencies": lambda s: s["rank_statistics"]["all"]["methods"]["a"].update(
        rank_frequencies=[[1, 0.1]] * 10_000),
    "an interval of one rank": lambda s: s["rank_statistics"]["private"]["methods"]["b"].update(rank_ci95=[1]),
    "a rank group of text": lambda s: s["methods"]["a"]["ranks"].update(rank_group="1"),
    "a boolean rank group": lambda s: s["methods"]["a"]["parts"]["public"].update(rank_group=True),
    "a part score of NaN": lambda s: s["methods"]["b"]["parts"]["private"].update(score=float("nan")),
    "a method without parts": lambda s: s["methods"]["c"].pop("parts"),
    "a third part": lambda s: s["methods"]["c"]["parts"].update(holdout={"score": 0.5}),
}


def test_a_summary_with_a_split_and_ranks_has_the_shape_readers_need():
    assert S.shape_problem(_ranked()) is None


@pytest.mark.parametrize("case", list(BROKEN))
def test_the_shape_check_covers_the_split_and_the_ranks(case):
    summary = _ranked()
    BROKEN[case](summary)
    assert S.shape_problem(summary), case
