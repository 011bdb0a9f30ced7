"""read_id_lists' fast reader of the plain block layout gives exactly what PyYAML gives, or steps aside."""
from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

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
