"""speech_selection's public and private parts: each part's macro F1 (mean over the seeds) is what evaluate gives
with the evaluation set cut to that part's clips, both budgets of a language share one split of its clips, the
split is stratified by class, and the seed is written nowhere."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import yaml

from speech_selection.baselines import create_baselines
from speech_selection.data import EmbeddingStore, _sample_rows, language_files, read_id_lists
from speech_selection.evaluate import Language, evaluate

from support.parts import (NO_RANKS, SEED, SPLIT, assert_parts_are_the_reduced_scores, assert_seed_nowhere,
                           assert_stratified, parts_of, summary)
from support.speech_selection import TINY, make_workspace

METHODS = ["random", "cross_validation", "balanced_prototypes"]


def clip_of_row(files) -> list[str]:
    """The clip id of each row of the language's evaluation matrix, in the evaluator's row order."""
    evalset = read_id_lists(files.eval)
    targets, nontargets = _sample_rows(evalset, EmbeddingStore(files.eval_embeddings), files.eval)
    return ([table.ids[i] for _, table, rows in targets for i in rows]
            + [table.ids[i] for table, rows in nontargets for i in rows])


def reduced_id_lists(files, rows: np.ndarray) -> str:
    """The evaluation id lists with only these rows' clips (every keyword kept, in its order)."""
    evalset = read_id_lists(files.eval)
    keep = set(np.asarray(clip_of_row(files))[rows].tolist())
    reduced = {"targets": {k: [c for c in ids if c in keep] for k, ids in evalset["targets"].items()},
               "nontargets": [c for c in evalset["nontargets"] if c in keep]}
    return yaml.safe_dump(reduced, sort_keys=False)


@pytest.mark.parametrize("compat", [False, True])
def test_each_part_scores_as_the_evaluation_set_cut_to_it(tmp_path, capsys, compat):
    values = {**TINY, "budgets": [25, 60], "baselines": {**TINY["baselines"], "methods": METHODS},
              "evaluate": {"seeds": [5, 69], "workers": 1, "compat": compat, "split": SPLIT}}
    ws = make_workspace(tmp_path / "ws", values)
    create_baselines(ws / "parameters.yaml", ws / "data", ws / "submissions")
    evaluate(ws / "parameters.yaml", ws / "data", ws / "submissions", ws / "results")
    split = summary(ws / "results")
    reduced = {}
    for part in ("public", "private"):
        alone = tmp_path / part
        shutil.copytree(ws / "data", alone / "data")
        for lang in values["data"]["languages"]:
            files = language_files(ws / "data", lang)
            labels = Language(ws / "data", lang).eval_y
            indices = parts_of(labels, lang)                     # the language's clips, whatever the budget
            assert_stratified(labels, indices)
            for budget in values["budgets"]:
                assert split["split"]["items"][f"{lang}_{budget}"] == {p: len(indices[p]) for p in indices}
            language_files(alone / "data", lang).eval.write_text(reduced_id_lists(files, indices[part]))
            assert len(Language(alone / "data", lang).eval_y) == len(indices[part])
        (alone / "parameters.yaml").write_text(yaml.safe_dump(
            {**values, "evaluate": {**values["evaluate"], "split": {"seed": None}, "bootstrap": NO_RANKS}}))
        evaluate(alone / "parameters.yaml", alone / "data", ws / "submissions", alone / "results")
        reduced[part] = summary(alone / "results")
    assert assert_parts_are_the_reduced_scores(split, reduced) == 2 * len(METHODS) * (1 + len(split["groups"]))
    assert any(split["methods"][m]["parts"]["public"]["score"] != split["methods"][m]["mean"] for m in METHODS)
    assert split["ranking_method"]["resampled"].startswith("each language's evaluation clips, one resample")
    assert assert_seed_nowhere(SEED, ws / "results", texts=(capsys.readouterr().out,)) >= 6
