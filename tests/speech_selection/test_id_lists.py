"""read_id_lists' fast reader of the plain block layout gives exactly what PyYAML gives, or steps aside."""
from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.core.errors import ValidationError
from speech_selection.data import _plain_id_lists, generate_language, language_files, read_id_lists, write_language

# Words and ids drawn from letters that YAML treats specially too: digits, 'y'/'n'/'o' words, dots, dashes,
# non-ASCII letters (quoted and escaped by safe_dump unless allow_unicode).
WORD = st.text(st.sampled_from(list("aeinoy0129._-ãêçé日")), min_size=1, max_size=6)
CLIP = st.builds(lambda w, n: f"{w}/common_voice_{n}.wav", WORD, st.integers(0, 10**9))
ODD = st.sampled_from(["yes", "no", "on", "off", "null", "~", "1", "0x1f", "1.5", ".inf", "2001-01-01", "<<", "=",
                       "a b", "é", "x:y", "-", "1/2", "12:30/x", "#c/x"])
ID_LISTS = st.fixed_dictionaries({
    "targets": st.dictionaries(st.one_of(WORD, ODD), st.lists(st.one_of(CLIP, ODD), min_size=1, max_size=4),
                               min_size=1, max_size=4),
    "nontargets": st.lists(st.one_of(CLIP, ODD), min_size=1, max_size=6)})


def _safe_load(raw: bytes):
    return yaml.load(raw, Loader=yaml.CSafeLoader)


@settings(max_examples=400, deadline=None)
@given(ID_LISTS, st.booleans())
def test_fast_reader_equals_pyyaml_on_dumped_lists(lists, allow_unicode):
    raw = yaml.safe_dump(lists, sort_keys=False, allow_unicode=allow_unicode).encode()
    fast = _plain_id_lists(raw)
    if fast is not None:
        want = _safe_load(raw)
        assert fast == want and list(fast["targets"]) == list(want["targets"])


def test_fast_reader_takes_the_generated_lists_of_every_language(tmp_path):
    for lang in ("en", "id", "pt"):
        files = language_files(tmp_path, lang)
        write_language(files, generate_language(lang, 0.05, 0))
        for path in (files.allowed, files.eval):
            raw = path.read_bytes()
            fast = _plain_id_lists(raw)
            assert fast is not None, path   # the fast route is really taken
            assert fast == _safe_load(raw) and list(fast["targets"]) == list(_safe_load(raw)["targets"])


BASE = "targets:\n  job:\n  - job/a.wav\n  - job/b.wav\nnontargets:\n- tree/c.wav\n"


def test_each_departure_from_the_plain_layout_goes_to_pyyaml():
    assert _plain_id_lists(BASE.encode()) == _safe_load(BASE.encode())
    assert _plain_id_lists(BASE.rstrip("\n").encode()) == _safe_load(BASE.encode())   # no final newline
    for text in [
        "\ufeff" + BASE,                                   # byte-order mark
        BASE.replace("\n", "\r\n"),                        # CRLF
        BASE.replace("  job:", "  yes:"),                  # a key that loads as True
        BASE.replace("  job:", "  '1':"),                  # single-quoted
        BASE.replace("- tree/c.wav", "- 1"),               # an id that loads as an int
        BASE.replace("- tree/c.wav", "- tree/c.wav # x"),  # a comment
        BASE.replace("- tree/c.wav", '- "\\U0FFFFFFF/x"'),  # beyond Unicode
        BASE.replace("- tree/c.wav", '- "a\\tb/x"'),       # an escape the fast reader leaves to PyYAML
        BASE + "extra: 1\n",                               # another top-level key
        BASE.replace("  - job/b.wav\n", "  - job/b.wav\n\n"),   # a blank line
        BASE.replace("  job:\n  - job/a.wav\n  - job/b.wav\n", "  job: []\n"),
        "nontargets:\n- tree/c.wav\ntargets:\n  job:\n  - job/a.wav\n",   # the other order
        "targets:\n  job:\n  - job/a.wav\nnontargets:\n",   # no nontargets
        BASE.replace("- tree/c.wav", "  - tree/c.wav"),    # indented under nontargets
        "---\n" + BASE,
    ]:
        assert _plain_id_lists(text.encode()) is None, text


def test_a_repeated_key_keeps_its_first_place_and_its_last_list_as_pyyaml():
    text = "targets:\n  job:\n  - job/a.wav\n  fifty:\n  - fifty/x.wav\n  job:\n  - job/b.wav\nnontargets:\n- t/c.wav\n"
    fast = _plain_id_lists(text.encode())
    assert fast == _safe_load(text.encode()) == {"targets": {"job": ["job/b.wav"], "fifty": ["fifty/x.wav"]},
                                                 "nontargets": ["t/c.wav"]}
    assert list(fast["targets"]) == ["job", "fifty"]


def test_read_id_lists_reads_both_routes_the_same(tmp_path):
    plain, other = tmp_path / "plain.yaml", tmp_path / "other.yaml"
    plain.write_text(BASE)
    other.write_text("# a comment\n" + BASE)
    assert read_id_lists(plain) == read_id_lists(other) == _safe_load(BASE.encode())


# ---- read_id_lists reads exactly what the original's yaml.safe_load (PyYAML's pure-Python parser) reads

# Ids and keys with characters beyond the BMP and lone surrogates: JSON writers (ensure_ascii) escape them as
# "\ud835\udd18", which libyaml refuses and yaml.safe_load reads (as two code points, not one).
BEYOND = st.text(st.sampled_from(["a", "é", "/", ".", "\U0001d518", "\U0001f600", "\ud835", "\udd18", " ", "#",
                                  ":", "-", "\t", "\\", '"', "\u2028", "\x85", "\ufeff", "1"]), min_size=1, max_size=6)
ANY_ID = st.one_of(CLIP, ODD, BEYOND, st.builds(lambda w, s: f"{w}/{s}.wav", WORD, BEYOND))
ANY_LISTS = st.fixed_dictionaries({
    "targets": st.dictionaries(st.one_of(WORD, ODD, BEYOND), st.lists(ANY_ID, min_size=1, max_size=4),
                               min_size=1, max_size=4),
    "nontargets": st.lists(ANY_ID, min_size=1, max_size=6)})


def _json_quoted_block(lists) -> str:
    """The plain block layout with every scalar written as a JSON string (escaped surrogate pairs included)."""
    lines = ["targets:"]
    for key, ids in lists["targets"].items():
        lines.append(f"  {json.dumps(key)}:")
        lines += [f"  - {json.dumps(i)}" for i in ids]
    lines.append("nontargets:")
    lines += [f"- {json.dumps(i)}" for i in lists["nontargets"]]
    return "\n".join(lines) + "\n"


LAYOUTS = {
    "json": lambda lists: json.dumps(lists),                                   # ensure_ascii: \uXXXX escapes
    "json_utf8": lambda lists: json.dumps(lists, ensure_ascii=False),
    "json_quoted_block": _json_quoted_block,
    "block": lambda lists: yaml.safe_dump(lists, sort_keys=False),
    "flow": lambda lists: yaml.safe_dump(lists, sort_keys=False, default_flow_style=True, width=30),
}


def _outcome(read, path):
    try:
        return "ok", repr(read(path))   # repr: the same strings and the same key order
    except ValidationError as error:
        return "refused", str(error)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ANY_LISTS, st.sampled_from(sorted(LAYOUTS)))
def test_read_id_lists_reads_what_safe_load_reads(tmp_path, lists, layout):
    try:
        text = LAYOUTS[layout](lists)
    except UnicodeEncodeError:   # safe_dump of a lone surrogate with allow_unicode off: nothing to read
        return
    path = tmp_path / "eval.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        want = yaml.safe_load(path.read_text(encoding="utf-8"))   # as the original opens and reads it
    except UnicodeDecodeError:
        return   # a lone surrogate written raw is not UTF-8: not a YAML text at all
    except yaml.YAMLError:
        assert "not valid YAML" in _outcome(read_id_lists, path)[1]
        return
    outcome = _outcome(read_id_lists, path)
    assert "not valid YAML" not in outcome[1]
    if isinstance(want, dict) and isinstance(want.get("targets"), dict) and isinstance(want.get("nontargets"), list):
        assert outcome == ("ok", repr(want))


def test_escaped_surrogate_pairs_are_read_by_both_routes(tmp_path):
    clip = "job/\U0001d518\U0001d51e.wav"
    lists = {"targets": {"job": [clip, "job/a.wav"]}, "nontargets": ["tree/\U0001f600.wav"]}
    want = {"targets": {"job": ["job/\ud835\udd18\ud835\udd1e.wav", "job/a.wav"]},
            "nontargets": ["tree/\ud83d\ude00.wav"]}   # what yaml.safe_load makes of the escapes: two code points
    for layout in ("json", "json_quoted_block"):
        text = LAYOUTS[layout](lists)
        assert "\\ud835\\udd18" in text
        with pytest.raises(yaml.YAMLError):
            yaml.load(text, Loader=yaml.CSafeLoader)   # libyaml refuses them
        assert yaml.safe_load(text) == want
        path = tmp_path / f"{layout}.yaml"
        path.write_text(text)
        assert read_id_lists(path) == want
    assert _plain_id_lists(LAYOUTS["json_quoted_block"](lists).encode()) == want   # the fast route, not a fallback


def test_text_safe_load_refuses_is_refused_naming_the_line(tmp_path):
    path = tmp_path / "eval.yaml"
    path.write_text('targets:\n  job: ["job/\\ud835"\nnontargets: [a/b]\n')
    with pytest.raises(ValidationError, match=r"line \d+: not valid YAML"):
        read_id_lists(path)
