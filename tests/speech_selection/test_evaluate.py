"""speech_selection: validation rules, label mapping, parity with the original eval.py, baselines, tasks."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile

import pytest
import yaml

from common.core.errors import DataPerfError, ValidationError, ValidationErrors
from common.parameters.schema import Parameters
from speech_selection import baselines as B
from speech_selection import config
from speech_selection.data import generate_language, language_files, read_id_lists, write_language
from speech_selection.evaluate import Language, evaluate
from speech_selection.submission import find_submissions, validate_selection

from originals.speech_selection import naive_score, naive_scores
from support.speech_selection import TINY, make_workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return make_workspace(tmp_path_factory.mktemp("speech") / "ws")


def _lang(ws, lang="en"):
    return Language(ws / "data", lang)


def _valid(ws, lang="en", per=3, nontargets=6):
    allowed = read_id_lists(language_files(ws / "data", lang).allowed)
    return {"targets": {k: v[:per] for k, v in allowed["targets"].items()}, "nontargets": allowed["nontargets"][:nontargets]}


def _check(ws, data, budget=25, compat=False, lang="en"):
    language = _lang(ws, lang)
    return validate_selection(ws / "f.json", data, language.index, language.keywords, budget, compat)


def _message(ws, data, **kw):
    with pytest.raises((ValidationError, ValidationErrors)) as info:
        _check(ws, data, **kw)
    return str(info.value)


def test_valid_selection_passes_and_missing_keyword_is_allowed(ws):
    sel = _valid(ws)
    assert _check(ws, sel) == sel
    sel["targets"].pop("job")
    assert "job" not in _check(ws, sel)["targets"]


def test_every_rule_names_the_item(ws):
    other = read_id_lists(language_files(ws / "data", "pt").allowed)["nontargets"][0]
    evaluation = read_id_lists(language_files(ws / "data", "en").eval)
    cases = [
        (lambda s: s["targets"].update({"pizza": []}), "keyword 'pizza': unknown keyword"),
        (lambda s: s["targets"]["job"].append("job/common_voice_en_1.wav"), "not in the allowed training set"),
        (lambda s: s["targets"]["job"].append(s["targets"]["route"][0]), "belongs to keyword 'route', not to keyword 'job'"),
        (lambda s: s["targets"]["job"].append(s["nontargets"][0]), "belongs to the nontargets"),
        # an evaluation clip is answered like any unknown id: the answer must not reveal the hidden evaluation set
        (lambda s: s["nontargets"].append(evaluation["nontargets"][0]), "': not in the allowed training set"),
        (lambda s: s["nontargets"].append(other), "is a clip of language 'pt', not 'en'"),
        (lambda s: s["nontargets"].append(s["nontargets"][0]), "duplicate clip (also at nontargets[0])"),
        (lambda s: s["nontargets"].append(7), "clip ids must be strings"),
        (lambda s: s.update({"nontarget": []}), "key 'nontarget': unknown key"),
        (lambda s: s.pop("nontargets"), "key 'nontargets': missing"),
        (lambda s: s.update({"targets": []}), "must map each keyword"),
    ]
    for change, expected in cases:
        sel = _valid(ws)
        change(sel)
        assert expected in _message(ws, sel), expected
    assert "30 clips: over the budget of 25" in _message(ws, _valid(ws, per=4, nontargets=10))
    assert "empty selection" in _message(ws, {"targets": {}, "nontargets": []})
    assert "must be a JSON object" in _message(ws, [1, 2])


def test_compat_accepts_what_the_original_accepted(ws):
    sel = _valid(ws)
    sel["nontargets"].append(sel["nontargets"][0])
    sel["extra"] = 1
    assert _check(ws, sel, compat=True)["nontargets"][-1] == sel["nontargets"][0]
    sel = _valid(ws, per=5, nontargets=1)
    sel["nontargets"] += sel["nontargets"]  # 27 entries with the repeat: over budget in the original too
    assert "over the budget" in _message(ws, sel, compat=True)


def test_file_rules(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "en_25_train.json").write_text("{}")
    (tmp_path / "m" / "xx_25_train.json").write_text("{}")
    with pytest.raises(ValidationError, match="xx_25_train.json: file names must be"):
        find_submissions(tmp_path, ["en"], [25], compat=False)
    (tmp_path / "m" / "xx_25_train.json").unlink()
    with pytest.raises(ValidationError, match=r"method 'm': missing file: every method needs all of \['en_60_train.json'\]"):
        find_submissions(tmp_path, ["en"], [25, 60], compat=False)
    assert len(find_submissions(tmp_path, ["en"], [25, 60], compat=True)) == 1


def _write(ws, method, lang, budget, data):
    path = ws / "submissions" / method / f"{lang}_{budget}_train.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


@pytest.mark.parametrize("compat", [False, True])
def test_scores_equal_the_naive_original(tmp_path, compat):
    ws = make_workspace(tmp_path / "ws", {**TINY, "data": {"languages": ["en"], "scale": 0.05},
                                          "evaluate": {"seeds": [5, 69], "workers": 2, "compat": compat}})
    files = language_files(ws / "data", "en")
    evalset = read_id_lists(files.eval)
    sel = _valid(ws)
    _write(ws, "valid", "en", 25, sel)
    evaluate(ws / "parameters.yaml", ws / "data", ws / "submissions", ws / "results")
    result = json.loads((ws / "results" / "en_25_evaluation.json").read_text())
    want = naive_score(sel, evalset, files.train_embeddings, files.eval_embeddings, [5, 69])
    assert result["methods"]["valid"]["macro_f1"] == want   # identical, not close


def test_every_embedded_baseline_submission_scores_identically_per_seed(ws):
    """The fast route (one kernel pass per file, libsvm's coupling per seed) against the re-stated eval.py on
    every file the baselines write for the embedded data."""
    B.create_baselines(ws / "parameters.yaml", ws / "data", ws / "baseline_submissions")
    evaluate(ws / "parameters.yaml", ws / "data", ws / "baseline_submissions", ws / "baseline_results")
    checked = 0
    for lang in ("en", "pt"):
        files = language_files(ws / "data", lang)
        result = json.loads((ws / "baseline_results" / f"{lang}_25_evaluation.json").read_text())["methods"]
        for method in B.BUILTIN:
            selection = json.loads((ws / "baseline_submissions" / method / f"{lang}_25_train.json").read_text())
            want = naive_scores(selection, read_id_lists(files.eval), files.train_embeddings, files.eval_embeddings,
                                [5, 69])
            assert list(result[method]["per_seed"].values()) == want, (lang, method)
            checked += 1
    assert checked == 8


def test_label_ids_come_from_the_allowed_names_not_the_submission(tmp_path):
    ws = make_workspace(tmp_path / "ws", {**TINY, "data": {"languages": ["en"], "scale": 0.05}})
    files = language_files(ws / "data", "en")
    sel = _valid(ws, per=4)
    sel["targets"].pop("episode")  # sorted first: the original shifts every other keyword's class id
    _write(ws, "m", "en", 25, sel)
    strict = evaluate(ws / "parameters.yaml", ws / "data", ws / "submissions", ws / "results")["m"]["mean"]
    per_class = json.loads((ws / "results" / "en_25_evaluation.json").read_text())["methods"]["m"]["per_class_f1"]
    assert per_class["episode"] == 0 and min(per_class[k] for k in ("fifty", "job", "restaurant", "route")) > 0
    values = {**TINY, "data": {"languages": ["en"], "scale": 0.05}, "evaluate": {"seeds": [5, 69], "compat": True}}
    (ws / "parameters.yaml").write_text(yaml.safe_dump(values))
    shifted = evaluate(ws / "parameters.yaml", ws / "data", ws / "submissions", ws / "results")["m"]["mean"]
    assert shifted == naive_score(sel, read_id_lists(files.eval), files.train_embeddings,
                                  files.eval_embeddings, [5, 69])
    assert strict > shifted


def test_baselines_are_deterministic_and_within_budget(ws):
    params = config.load(ws / "parameters.yaml")
    pool = B.load_pool(ws / "data", "en")
    for spec in B.BUILTIN:
        first = B.make_selector(spec, params).select(pool, 25)
        assert first == B.make_selector(spec, params).select(pool, 25), spec
        B.check_selection(first, pool, 25, spec)
        assert set(first["targets"]) == set(pool.keywords)
    other = Parameters.from_defaults(config.SCHEMA, {"seed": 1})
    assert B.make_selector("random", params).select(pool, 25) != B.make_selector("random", other).select(pool, 25)
    with pytest.raises(DataPerfError, match="invalid selection"):
        B.check_selection({"targets": {}, "nontargets": pool.ids[:30]}, pool, 25, "greedy")


def test_all_four_tasks_and_cli_errors(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "parameters.yaml").write_text(yaml.safe_dump(TINY))
    proc = subprocess.run([sys.executable, "-m", "common", "run", "speech_selection", "--workspace", str(ws)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "macro F1 of the keyword spotter (mean over seeds) (macro_f1, higher is better)" in proc.stdout
    for method in B.BUILTIN:
        for lang in ("en", "pt"):
            assert (ws / "submissions" / method / f"{lang}_25_train.json").is_file()
    summary = json.loads((ws / "results" / "summary.json").read_text())
    assert set(summary["methods"]) == set(B.BUILTIN)
    assert (ws / "plots" / "scores.png").read_bytes()[:4] == b"\x89PNG"
    assert (ws / "plots" / "per_class_f1_pt_25.png").is_file()
    _write(ws, "broken", "en", 25, "{not json")
    _write(ws, "broken", "pt", 25, "{}")
    proc = subprocess.run([sys.executable, "-m", "common", "run", "speech_selection", "--workspace", str(ws),
                           "--task=evaluate"], capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "broken/en_25_train.json: line 1 column 2: malformed JSON" in proc.stderr


def test_official_download_with_non_ascii_names(tmp_path, http_folder):
    root, url = http_folder
    official = {}
    for lang, name in (("en", "eng"), ("pt", "por")):
        src = tmp_path / "src" / lang
        write_language(language_files(src, lang), generate_language(lang, 0.05, 3))
        archive = root / f"dataperf_{name}_data.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            for path in (src / f"dataperf_{lang}_data").rglob("*"):
                zf.write(path, path.relative_to(src))
        official[lang] = {"url": f"{url}/{archive.name}", "sha256": hashlib.sha256(archive.read_bytes()).hexdigest()}
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "parameters.yaml").write_text(yaml.safe_dump({"data": {"source": "official", "languages": ["en", "pt"],
                                                                 "official": official}}, allow_unicode=True))
    proc = subprocess.run([sys.executable, "-m", "common", "run", "speech_selection", "--workspace", str(ws),
                           "--task=download"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (ws / "data" / "dataperf_pt_data" / "train_embeddings" / "então.parquet").is_file()
    assert read_id_lists(language_files(ws / "data", "pt").allowed) == \
        read_id_lists(language_files(tmp_path / "src" / "pt", "pt").allowed)
