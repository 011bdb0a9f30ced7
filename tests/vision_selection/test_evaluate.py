"""vision_selection evaluate: metrics by hand, every validation rule, both JSON shapes, parity with the original."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest

from common.core.errors import DataPerfError, ValidationError, ValidationErrors
from vision_selection.data import layout, read_examples, read_pool_ids
from vision_selection.evaluate import evaluate
from vision_selection.model import binary_f1, scores
from vision_selection.submission import PoolIndex, find_submissions, read_entries, validate

from originals.vision_selection import original_scores
from support.vision_selection import TINY, make_workspace, set_parameters

CONCEPTS = ["Cupcake", "Hawk", "Sushi"]


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return make_workspace(tmp_path_factory.mktemp("vs") / "ws")


@pytest.fixture(scope="module")
def pool_ids(ws):
    return read_pool_ids(layout(ws / "data").pool).to_pylist()


def _csv(rows, header="ImageID,Confidence"):
    return header + "\n" + "".join(f"{i},{label}\n" for i, label in rows)


def _valid_rows(ws, pool_ids, concept="Cupcake", n_neg=30):
    positives = read_examples(layout(ws / "data").examples(concept))
    negatives = [i for i in pool_ids[:200] if i not in positives][:n_neg]
    return [(i, 1) for i in positives] + [(i, 0) for i in negatives]


def _check(ws, pool_ids, path, text, compat=False, budget=1000, concept="Cupcake"):
    path.write_text(text)
    return validate(path, read_entries(path, concept, compat), PoolIndex(read_pool_ids(layout(ws / "data").pool)),
                    budget, compat)


def _message(*args, **kwargs):
    with pytest.raises((ValidationError, ValidationErrors)) as info:
        _check(*args, **kwargs)
    return str(info.value)


def test_scores_by_hand():
    y, predicted = np.array([1, 1, 0, 0, 1]), np.array([1, 0, 0, 1, 1])   # TP 2, FN 1, FP 1, TN 1
    assert scores(y, predicted) == pytest.approx({"accuracy": 0.6, "recall": 2 / 3, "precision": 2 / 3, "f1": 2 / 3})
    assert binary_f1(y, predicted) == pytest.approx(2 / 3)
    nothing = scores(np.array([1, 0]), np.array([0, 0]))
    assert nothing["f1"] == 0 and nothing["precision"] == 0 and nothing["accuracy"] == 0.5
    assert binary_f1(np.array([1, 0]), np.array([0, 0])) == 0.0


def test_valid_csv_and_both_json_shapes_read_the_same(ws, pool_ids, tmp_path):
    rows = _valid_rows(ws, pool_ids)
    from_csv = _check(ws, pool_ids, tmp_path / "Cupcake.csv", _csv(rows))
    assert from_csv.ids == sorted(i for i, _ in rows) and sorted(from_csv.labels) == sorted(label for _, label in rows)
    flat = {i: label for i, label in rows}
    assert _check(ws, pool_ids, tmp_path / "Cupcake.json", json.dumps(flat)) == from_csv
    assert _check(ws, pool_ids, tmp_path / "Cupcake.json", json.dumps({"Cupcake": flat})) == from_csv


def test_every_rule_names_file_item_and_rule(ws, pool_ids, tmp_path):
    rows = _valid_rows(ws, pool_ids)
    csv_path, json_path = tmp_path / "Cupcake.csv", tmp_path / "Cupcake.json"
    cases = [
        (_csv(rows + [("ffffffffffffffff", 0)]), "line 52 'ffffffffffffffff': ImageID not in the candidate pool"),
        (_csv(rows + [rows[3]]), f"line 52 '{rows[3][0]}': duplicate ImageID (also at line 5)"),
        (_csv(rows[:-1] + [(rows[-1][0], 2)]), f"line 51 '{rows[-1][0]}': label must be 0 or 1, found '2'"),
        (_csv(rows[:-1] + [(rows[-1][0], "1.0")]), "label must be 0 or 1, found '1.0'"),
        (_csv(rows[:20]), "only label 1: the frozen model needs both 0 and 1"),
        (_csv(rows, header="ImageID,Label"), "line 1: header must name the columns ImageID and Confidence"),
        (_csv(rows) + "abc,1,extra\n", "line 52: malformed CSV: 3 fields, the header has 2"),
        ("", "empty file"),
        ("ImageID,Confidence\n", "empty training set"),
        (_csv(rows).replace(rows[2][0], '"' + rows[2][0]), "malformed CSV"),
    ]
    for text, expected in cases:
        message = _message(ws, pool_ids, csv_path, text)
        assert str(csv_path) in message and expected in message, (expected, message)
    assert len(rows) == 50
    assert "50 rows: over the budget of 49 per concept" in _message(ws, pool_ids, csv_path, _csv(rows), budget=49)
    flat = {i: label for i, label in rows}
    text = json.dumps(flat)[:-1] + f', "{rows[0][0]}": 1}}'
    assert f"key '{rows[0][0]}': duplicate ImageID" in _message(ws, pool_ids, json_path, text)
    json_cases = [
        (json.dumps({**flat, rows[0][0]: True}), f"entry 1 '{rows[0][0]}': label must be 0 or 1, found True"),
        (json.dumps({**flat, "ffffffffffffffff": 1}), "entry 51 'ffffffffffffffff': ImageID not in the candidate pool"),
        (json.dumps({**flat, rows[0][0]: 0.5}), "label must be 0 or 1, found 0.5"),
        (json.dumps({"Hawk": flat}), "key 'Hawk': a wrapped training set has the single key 'Cupcake'"),
        (json.dumps([1, 2]), "must be a JSON object"),
        ('{"a": 1,', "line 1 column 9: malformed JSON"),
    ]
    for text, expected in json_cases:
        assert expected in _message(ws, pool_ids, json_path, text), expected


def test_folder_rules(tmp_path):
    (tmp_path / "m").mkdir()
    for concept in CONCEPTS:
        (tmp_path / "m" / f"{concept}.csv").write_text("")
    assert len(find_submissions(tmp_path, CONCEPTS, compat=False)) == 3
    (tmp_path / "m" / "Sushi.json").write_text("{}")
    with pytest.raises(ValidationError, match=r"Sushi.json: concept 'Sushi': two training sets"):
        find_submissions(tmp_path, CONCEPTS, compat=False)
    (tmp_path / "m" / "Sushi.json").unlink()
    (tmp_path / "m" / "Hawk.csv").unlink()
    with pytest.raises(ValidationError, match=r"Hawk.csv: method 'm': missing file"):
        find_submissions(tmp_path, CONCEPTS, compat=True)   # the original crashes on a missing file too
    (tmp_path / "m" / "Hawk.csv").write_text("")
    (tmp_path / "m" / "Pizza.csv").write_text("")
    with pytest.raises(ValidationError, match=r"Pizza.csv: file names must be <Concept>.csv"):
        find_submissions(tmp_path, CONCEPTS, compat=False)
    assert len(find_submissions(tmp_path, CONCEPTS, compat=True)) == 3


def test_compat_reads_like_the_original(ws, pool_ids, tmp_path):
    rows = _valid_rows(ws, pool_ids)
    path = tmp_path / "Cupcake.csv"
    sel = _check(ws, pool_ids, path, _csv(rows + [rows[0], ("ffffffffffffffff", 0)]), compat=True, budget=10)
    assert len(sel.ids) == len(rows) + 1 and sel.ids.count(rows[0][0]) == 2 and set(sel.labels) == {"0", "1"}
    # Any text is a class of its own, as Spark reads it: '1.0' and ' 1' too (what the fit then predicts decides
    # whether the original can score it: see test_compat_labels_score_or_fail_as_the_original).
    odd = _check(ws, pool_ids, path, _csv(rows + [(pool_ids[300], "1.0")]), compat=True)
    assert set(odd.labels) == {"0", "1", "1.0"}
    assert "empty label (Spark reads it as null" in _message(ws, pool_ids, path, _csv(rows + [(rows[0][0], "")]),
                                                             compat=True)
    assert "only label '1'" in _message(ws, pool_ids, path, _csv(rows[:20]), compat=True)
    assert "only label '1.0'" in _message(ws, pool_ids, path, _csv([(i, "1.0") for i, _ in rows]), compat=True)
    spaced = _csv(rows).replace(",1\n", ", 1\n")
    assert _check(ws, pool_ids, path, spaced).ids == sorted(i for i, _ in rows)
    assert set(_check(ws, pool_ids, path, spaced, compat=True).labels) == {"0", " 1"}
    # The header stays as Spark reads it too: ' Confidence' is not the label column.
    assert "missing ['Confidence']" in _message(ws, pool_ids, path, _csv(rows, "ImageID, Confidence"), compat=True)
    assert _check(ws, pool_ids, path, _csv(rows, "ImageID, Confidence")).ids == sorted(i for i, _ in rows)
    # JSON labels are Dynabench's numbers: 1.0 is 1.
    flat = json.dumps({i: float(label) for i, label in rows})
    (tmp_path / "Cupcake.json").write_text(flat)
    as_json = validate(tmp_path / "Cupcake.json", read_entries(tmp_path / "Cupcake.json", "Cupcake", True),
                       PoolIndex(read_pool_ids(layout(ws / "data").pool)), 1000, True)
    assert sorted(zip(as_json.ids, as_json.labels)) == sorted((i, str(label)) for i, label in rows)
    assert "no ImageID of the file is in the candidate pool" in _message(
        ws, pool_ids, path, _csv([("ffffffffffffffff", 0)]), compat=True)


def _submit(ws, method, rows_by_concept):
    folder = ws / "submissions" / method
    folder.mkdir(parents=True, exist_ok=True)
    for concept, rows in rows_by_concept.items():
        (folder / f"{concept}.csv").write_text(_csv(rows))


@pytest.mark.parametrize("compat", [False, True])
def test_scores_equal_the_original(tmp_path, compat):
    ws = make_workspace(tmp_path / "ws")
    ids = read_pool_ids(layout(ws / "data").pool).to_pylist()
    rng = np.random.default_rng(1)
    for method in ("valid", "noisy"):
        rows = {}
        for concept in CONCEPTS:
            base = _valid_rows(ws, ids, concept, n_neg=60)
            taken = {image for image, _ in base}
            extra = [(ids[int(i)], int(rng.integers(2))) for i in rng.choice(len(ids), 40, replace=False)]
            rows[concept] = base + [r for r in extra if r[0] not in taken]
            if method == "noisy":   # only the original accepts this: repeats and ids outside the pool
                rows[concept] += rows[concept][:5] + [("0123456789abcdef", 1)]
        _submit(ws, method, rows)
    if not compat:
        shutil.rmtree(ws / "submissions" / "noisy")
    set_parameters(ws, {**TINY, "evaluate": {"compat": compat}})
    summary = evaluate(ws / "parameters.yaml", ws / "data", ws / "submissions", ws / "results")
    lay = layout(ws / "data")
    for method in summary:
        ours = json.loads((ws / "results" / f"{method}_result.json").read_text())
        for concept in CONCEPTS:
            want = original_scores(lay.pool, ws / "submissions" / method / f"{concept}.csv", lay.test_set(concept))
            assert ours[concept] == pytest.approx(want, abs=1e-12), (method, concept)
    assert set(summary) == ({"valid", "noisy"} if compat else {"valid"})


def test_compat_labels_score_or_fail_as_the_original(tmp_path):
    """Labels other than '0'/'1' (a CSV written from floats: '1.0') are classes of their own for the original.
    It scores the file when the model predicts only '0' and '1' on the test set, and fails (its positive-class
    scores on a multiclass target) when it predicts another: compat does exactly the same."""
    ws = make_workspace(tmp_path / "ws")
    ids = read_pool_ids(layout(ws / "data").pool).to_pylist()
    base = {c: _valid_rows(ws, ids, c, n_neg=60) for c in CONCEPTS}
    variants = {
        "few_floats": {c: rows[:-3] + [(i, "1.0") for i, _ in rows[-3:]] for c, rows in base.items()},
        "float_positives": {c: [(i, "1.0" if label else "0") for i, label in rows] for c, rows in base.items()},
        "all_floats": {c: [(i, f"{label}.0") for i, label in rows] for c, rows in base.items()},
    }
    for method, rows in variants.items():
        _submit(ws, method, rows)
    set_parameters(ws, {**TINY, "evaluate": {"compat": True}})
    with pytest.raises(DataPerfError) as info:
        evaluate(ws / "parameters.yaml", ws / "data", ws / "submissions", ws / "results")
    summary = json.loads((ws / "results" / "summary.json").read_text())
    refused = {r["method"] for r in summary["refused"]}
    lay = layout(ws / "data")
    outcomes = {}
    for method in variants:
        crashed = False
        for concept in CONCEPTS:
            try:
                want = original_scores(lay.pool, ws / "submissions" / method / f"{concept}.csv", lay.test_set(concept))
            except ValueError:
                crashed = True
                continue
            if method not in refused:
                ours = json.loads((ws / "results" / f"{method}_result.json").read_text())
                assert ours[concept] == pytest.approx(want, abs=1e-12), (method, concept)
        outcomes[method] = crashed
        assert (method in refused) == crashed, method
    assert outcomes == {"few_floats": False, "float_positives": True, "all_floats": True}   # both kinds tested
    assert "besides '0' and '1'" in str(info.value) and "Cupcake.csv" in str(info.value)


def test_pool_may_be_one_file_and_a_bad_file_fails_cleanly(tmp_path, pool_ids):
    ws = make_workspace(tmp_path / "ws")
    lay = layout(ws / "data")
    rows = {c: _valid_rows(ws, read_pool_ids(lay.pool).to_pylist(), c) for c in CONCEPTS}
    _submit(ws, "m", rows)
    folder_scores = evaluate(ws / "parameters.yaml", ws / "data", ws / "submissions", ws / "r1")["m"]["groups"]
    table = pq.read_table(lay.pool)
    shutil.rmtree(lay.pool)
    pq.write_table(table, lay.pool)
    assert lay.pool.is_file()
    assert evaluate(ws / "parameters.yaml", ws / "data", ws / "submissions", ws / "r2")["m"]["groups"] == folder_scores
    (ws / "submissions" / "m" / "Hawk.csv").write_text("ImageID,Confidence\nnope,1\n")
    (ws / "submissions" / "m" / "Sushi.csv").write_text("ImageID,Confidence\n")
    with pytest.raises(DataPerfError) as info:
        evaluate(ws / "parameters.yaml", ws / "data", ws / "submissions", ws / "r3")
    assert "Hawk.csv: line 2 'nope': ImageID not in the candidate pool" in str(info.value)
    assert "Sushi.csv: empty training set" in str(info.value)


def test_a_bad_file_refuses_its_method_and_the_others_are_scored(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    ids = read_pool_ids(layout(ws / "data").pool).to_pylist()
    rows = {c: _valid_rows(ws, ids, c) for c in CONCEPTS}
    _submit(ws, "good", rows)
    _submit(ws, "bad", {**rows, "Hawk": rows["Hawk"] + [rows["Hawk"][0]]})
    alone = evaluate(ws / "parameters.yaml", ws / "data", ws / "submissions" / "good", ws / "alone")
    with pytest.raises(ValidationError, match="Hawk.csv: line 52 .*: duplicate ImageID"):
        evaluate(ws / "parameters.yaml", ws / "data", ws / "submissions", ws / "results")
    summary = json.loads((ws / "results" / "summary.json").read_text())
    assert summary["ranking"] == ["good"] and summary["methods"]["good"]["groups"] == alone["submission"]["groups"]
    assert [(r["method"], r["file"]) for r in summary["refused"]] == [("bad", "bad/Hawk.csv")]
    assert "duplicate ImageID" in summary["refused"][0]["reason"]
    assert not (ws / "results" / "bad_result.json").exists()
