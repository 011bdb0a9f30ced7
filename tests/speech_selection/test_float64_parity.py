"""Embeddings keep the parquet file's dtype, as the original (pandas) does: on float64 files the evaluator
trains on the same float64 values as the re-stated original and gets its score."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from speech_selection.data import EmbeddingStore, language_files, load_design_matrix, load_samples, read_id_lists
from speech_selection.evaluate import Language, evaluate

from originals.speech_selection import _dataset, _load, naive_score
from support.speech_selection import TINY, make_workspace

SEEDS = [5, 69, 98, 70]


def _to_float64(folder, rng) -> None:
    """Rewrite every <word>.parquet with float64 embeddings that float32 cannot hold exactly."""
    for path in folder.glob("*.parquet"):
        table = pq.read_table(path)
        x = np.stack(table.column("mswc_embedding_vector").to_pylist()).astype(np.float64)
        x += rng.normal(scale=1e-3, size=x.shape)
        column = pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), x.shape[1]).cast(pa.list_(pa.float64()))
        pq.write_table(pa.table({"clip_id": table.column("clip_id"), "mswc_embedding_vector": column}), path)


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    ws = make_workspace(tmp_path_factory.mktemp("speech64") / "ws",
                        {**TINY, "data": {"languages": ["en"], "scale": 0.05}, "evaluate": {"seeds": SEEDS}})
    files = language_files(ws / "data", "en")
    rng = np.random.default_rng(7)
    _to_float64(files.train_embeddings, rng)
    _to_float64(files.eval_embeddings, rng)
    return ws


def test_float64_files_are_loaded_as_float64_values(ws):
    files = language_files(ws / "data", "en")
    word = next(files.eval_embeddings.glob("*.parquet"))
    stored = np.stack(pq.read_table(word).column("mswc_embedding_vector").to_pylist())
    loaded = EmbeddingStore(files.eval_embeddings).word(word.stem).x
    assert loaded.dtype == np.float64 and np.array_equal(loaded, stored)
    assert not np.array_equal(stored.astype(np.float32).astype(np.float64), stored)   # float32 would round them
    language = Language(ws / "data", "en")
    assert language.eval_x.dtype == np.float64
    allowed = read_id_lists(files.allowed)
    selection = {"targets": {k: v[:3] for k, v in allowed["targets"].items()}, "nontargets": allowed["nontargets"][:6]}
    x, _ = load_design_matrix(selection, language.train_store, files.allowed, {k: 1 for k in allowed["targets"]})
    targets, nontargets = load_samples(selection, language.train_store, files.allowed)
    assert x.dtype == nontargets.dtype == np.float64 and all(t.dtype == np.float64 for t in targets.values())


@pytest.mark.parametrize("compat", [False, True])
def test_scores_on_float64_files_equal_the_original(ws, compat):
    (ws / "parameters.yaml").write_text(json.dumps({**TINY, "data": {"languages": ["en"], "scale": 0.05},
                                                    "evaluate": {"seeds": SEEDS, "workers": 1, "compat": compat}}))
    files = language_files(ws / "data", "en")
    allowed = read_id_lists(files.allowed)
    # This selection scores 0.17324 with the original and 0.17319 once the embeddings are rounded to float32.
    selection = {"targets": {k: v[:2] for k, v in allowed["targets"].items()}, "nontargets": allowed["nontargets"][:4]}
    path = ws / "submissions" / "m" / "en_25_train.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(selection))
    evaluate(ws / "parameters.yaml", ws / "data", ws / "submissions", ws / "results")
    result = json.loads((ws / "results" / "en_25_evaluation.json").read_text())["methods"]["m"]["macro_f1"]
    want = naive_score(selection, read_id_lists(files.eval), files.train_embeddings, files.eval_embeddings, SEEDS)
    assert result == pytest.approx(want, abs=1e-12)


@pytest.fixture(scope="module")
def mixed_ws(tmp_path_factory):
    """Every other word file float64, the rest float32, in both the training pool and the evaluation set."""
    ws = make_workspace(tmp_path_factory.mktemp("speech_mixed") / "ws",
                        {**TINY, "data": {"languages": ["en"], "scale": 0.05}, "evaluate": {"seeds": SEEDS}})
    files = language_files(ws / "data", "en")
    rng = np.random.default_rng(11)
    for folder in (files.train_embeddings, files.eval_embeddings):
        for path in sorted(folder.glob("*.parquet"))[::2]:
            _to_float64_file(path, rng)
    return ws


def _to_float64_file(path, rng) -> None:
    table = pq.read_table(path)
    x = np.stack(table.column("mswc_embedding_vector").to_pylist()).astype(np.float64)
    x += rng.normal(scale=1e-3, size=x.shape)
    column = pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), x.shape[1]).cast(pa.list_(pa.float64()))
    pq.write_table(pa.table({"clip_id": table.column("clip_id"), "mswc_embedding_vector": column}), path)


def test_mixed_files_are_gathered_as_np_vstack_would(mixed_ws):
    files = language_files(mixed_ws / "data", "en")
    store = EmbeddingStore(files.train_embeddings)
    allowed = read_id_lists(files.allowed)
    dtypes = {store.word(k).x.dtype for k in allowed["targets"]}
    assert dtypes == {np.dtype(np.float32), np.dtype(np.float64)}   # the fixture really mixes them
    x, _ = load_design_matrix(allowed, store, files.allowed, {k: 1 for k in allowed["targets"]})
    want, _ = _dataset(*_load(allowed, files.train_embeddings))   # the original's np.vstack
    assert want.dtype == x.dtype == np.float64 and np.array_equal(x, want)


@pytest.mark.parametrize("compat", [False, True])
def test_scores_on_mixed_dtype_files_equal_the_original(mixed_ws, compat):
    ws = mixed_ws
    (ws / "parameters.yaml").write_text(json.dumps({**TINY, "data": {"languages": ["en"], "scale": 0.05},
                                                    "evaluate": {"seeds": SEEDS, "workers": 1, "compat": compat}}))
    files = language_files(ws / "data", "en")
    allowed = read_id_lists(files.allowed)
    selections = {   # targets from float32 and float64 files, nontargets spread over many words of both
        "a": {"targets": {k: v[:2] for k, v in allowed["targets"].items()},
              "nontargets": allowed["nontargets"][::97][:6]},
        "b": {"targets": {k: v[-3:] for k, v in allowed["targets"].items()},
              "nontargets": allowed["nontargets"][::53][:9]},
    }
    for method, selection in selections.items():
        path = ws / "submissions" / method / "en_25_train.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(selection))
    results = ws / f"results_{compat}"
    evaluate(ws / "parameters.yaml", ws / "data", ws / "submissions", results)
    got = json.loads((results / "en_25_evaluation.json").read_text())["methods"]
    evalset = read_id_lists(files.eval)
    for method, selection in selections.items():
        want = naive_score(selection, evalset, files.train_embeddings, files.eval_embeddings, SEEDS)
        assert got[method]["macro_f1"] == pytest.approx(want, abs=1e-12)
