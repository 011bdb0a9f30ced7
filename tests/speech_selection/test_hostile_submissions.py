"""Hostile speech_selection submissions: links, clips of the wrong type, probes of the hidden evaluation set,
deep or huge JSON.  Each gets one clear error naming `submission_folder: <file>`, never a traceback."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.core.errors import DataPerfError, ValidationError, ValidationErrors
from speech_selection import CUBE
from speech_selection.data import language_files, read_id_lists
from speech_selection.evaluate import Language
from speech_selection.submission import json_limit, read_json_submission, validate_selection

from support.speech_selection import TINY, make_workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return make_workspace(tmp_path_factory.mktemp("speech") / "ws", TINY)


@pytest.fixture(scope="module")
def english(ws):
    return Language(ws / "data", "en")


def _valid(ws, lang="en"):
    allowed = read_id_lists(language_files(ws / "data", lang).allowed)
    return {"targets": {k: v[:2] for k, v in allowed["targets"].items()}, "nontargets": allowed["nontargets"][:4]}


def _check(english, data, compat=False):
    return validate_selection(Path("s.json"), data, english.index, english.keywords, 25, compat)


def _rule(english, data, compat=False) -> str:
    with pytest.raises((ValidationError, ValidationErrors)) as info:
        _check(english, data, compat)
    return str(info.value)


def _evaluate(ws, tmp_path, content, link: Path | None = None) -> str:
    folder = tmp_path / "subs"
    (folder / "m").mkdir(parents=True)
    path = folder / "m" / "en_25_train.json"
    if link is not None:
        path.symlink_to(link)
    else:
        path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    (folder / "m" / "pt_25_train.json").write_text(json.dumps(_valid(ws, "pt")))
    with pytest.raises(DataPerfError) as info:
        CUBE.task("evaluate")(parameters_file=ws / "parameters.yaml", data_folder=ws / "data", submission_folder=folder,
                          results_folder=tmp_path / "results")
    return str(info.value)


def test_a_link_to_the_evaluation_set_is_refused_without_showing_it(ws, tmp_path):
    evaluation = language_files(ws / "data", "en").eval
    message = _evaluate(ws, tmp_path, None, link=evaluation)
    assert message == "submission_folder: m/en_25_train.json: is a symbolic link (or lies under one): supply the file itself"


@pytest.mark.parametrize("compat", [False, True])
def test_an_evaluation_clip_is_answered_like_any_unknown_clip(ws, english, compat):
    """Otherwise the answers would tell which ids the hidden evaluation set holds."""
    evaluation = read_id_lists(language_files(ws / "data", "en").eval)
    answers = set()
    for clip in (evaluation["nontargets"][0], evaluation["targets"]["job"][0], "job/common_voice_en_1.wav"):
        data = _valid(ws)
        data["nontargets"].append(clip)
        answers.add(_rule(english, data, compat).replace(clip, "<clip>"))
    assert answers == {"s.json: nontargets[4] '<clip>': not in the allowed training set"}


def test_the_language_answer_comes_from_the_id_text_alone(ws, english):
    """A real Portuguese clip and a made-up id with the same text pattern get the same answer."""
    real = read_id_lists(language_files(ws / "data", "pt").allowed)["nontargets"][0]
    answers = set()
    for clip in (real, "made/common_voice_pt_123.wav"):
        data = _valid(ws)
        data["nontargets"].append(clip)
        answers.add(_rule(english, data).replace(clip, "<clip>"))
    assert answers == {"s.json: nontargets[4] '<clip>': is a clip of language 'pt', not 'en'"}


@pytest.mark.parametrize("clip, shown", [(["a", "b"], "['a', 'b']"), ({"a": 1}, "{'a': 1}"), (7, "7"), (None, "None")])
def test_clips_of_the_wrong_type_are_named_not_crashed_on(ws, english, clip, shown):
    for compat in (False, True):
        data = _valid(ws)
        data["nontargets"].append(clip)
        data["targets"]["job"].append(clip)
        message = _rule(english, data, compat)
        assert f"nontargets[4] {shown}: clip ids must be strings, found {shown}" in message
        assert f"targets['job'][2] {shown}: clip ids must be strings" in message


@pytest.mark.parametrize("content, expected", [
    (b"[" * 100_000, "JSON nested more than 32 levels deep"),
    (b'{"targets": {}, "nontargets": [' + b"9" * 5000 + b"]}", "an integer of 5,000 digits"),
    (b'{"targets": {}, "nontargets": [], "targets": {}}', "key 'targets': repeated key: each key once"),
    (b"\xef\xbb\xbf{}", "malformed JSON (Unexpected UTF-8 BOM"),
    (b'{"a": "\xff"}', "line 1: must be UTF-8 text (byte 0xff is not)"),
    (b'{"a": 1}\x00', "line 1: NUL byte: not a text file"),
])
def test_malformed_json_gets_one_clear_line(ws, tmp_path, content, expected):
    message = _evaluate(ws, tmp_path, content)
    assert message.startswith("submission_folder: m/en_25_train.json: ") and expected in message


def test_compat_keeps_the_original_json_load_semantics_for_repeats(tmp_path):
    path = tmp_path / "en_25_train.json"
    path.write_text('{"targets": {"job": ["x"]}, "nontargets": [], "targets": {}}')
    assert read_json_submission(path, 25, compat=True) == {"targets": {}, "nontargets": []}   # the last one wins


def test_huge_files_and_fields(ws, tmp_path):
    field = "job/" + "x" * 500_000                     # under the size limit: only an excerpt comes back
    message = _evaluate(ws, tmp_path, {"targets": {"job": [field]}, "nontargets": []})
    assert "targets['job'][0] 'job/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'…: not in the allowed training set" in message
    assert len(message) < 500
    sparse = tmp_path / "big"
    sparse.mkdir()
    with open(sparse / "en_25_train.json", "wb") as handle:
        handle.truncate(10 << 20)                        # a 10 MB field or file: refused before reading
    with pytest.raises(ValidationError, match=f"is 10,485,760 bytes, over the limit of {json_limit(25):,}"):
        read_json_submission(sparse / "en_25_train.json", 25, compat=False)


# --------------------------------------------------------------- fuzzing

_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
                     lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
                     max_leaves=20)


@st.composite
def _selections(draw, ids):
    """Valid selections with parts replaced by arbitrary JSON, and arbitrary JSON outright."""
    keywords, pool = ids
    data = {"targets": {k: draw(st.lists(st.sampled_from(pool[k]), max_size=4)) for k in keywords},
            "nontargets": draw(st.lists(st.sampled_from(pool[None]), max_size=6))}
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from(["top", "targets", "keyword", "nontargets", "clip"]))
        junk = draw(_JSON)
        if where == "top":
            data = junk if draw(st.booleans()) or not isinstance(data, dict) else {**data, draw(st.text(max_size=10)): junk}
        elif where == "targets" and isinstance(data, dict):
            data["targets"] = junk
        elif where == "keyword" and isinstance(data, dict) and isinstance(data.get("targets"), dict):
            data["targets"][draw(st.sampled_from(keywords + ["zz"]))] = junk
        elif where == "nontargets" and isinstance(data, dict):
            data["nontargets"] = junk
        elif isinstance(data, dict) and isinstance(data.get("nontargets"), list):
            data["nontargets"].append(junk)
    return data


def test_fuzz_selections_parse_or_fail_cleanly(ws, english):
    allowed = read_id_lists(language_files(ws / "data", "en").allowed)
    pool = {**allowed["targets"], None: allowed["nontargets"]}

    @settings(max_examples=150, deadline=None)
    @given(data=_selections((list(allowed["targets"]), pool)), compat=st.booleans(), raw=st.none() | st.binary(max_size=60))
    def run(data, compat, raw):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "en_25_train.json"
            path.write_bytes(raw if raw is not None else json.dumps(data).encode())
            try:
                parsed = read_json_submission(path, 25, compat)
                selection = validate_selection(path, parsed, english.index, english.keywords, 25, compat)
            except DataPerfError as exc:
                assert "\n" not in str(exc) or isinstance(exc, ValidationErrors)
                return
        assert set(selection) == {"targets", "nontargets"}
        assert all(isinstance(c, str) for ids in [*selection["targets"].values(), selection["nontargets"]] for c in ids)
        assert 0 < sum(map(len, selection["targets"].values())) + len(selection["nontargets"]) <= 25

    run()
