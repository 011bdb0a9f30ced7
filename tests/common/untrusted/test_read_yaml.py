"""read_yaml reads exactly what yaml.safe_load (PyYAML's pure-Python parser) reads, though libyaml reads first."""
from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.core.errors import ValidationError
from common.untrusted import documents as dio

# JSON documents with every kind of string: ensure_ascii writes characters beyond the BMP as escaped surrogate
# pairs ("\ud835\udd18") and lone surrogates as one escape; libyaml refuses both, yaml.safe_load reads them.
STRINGS = st.text(st.characters(codec=None), max_size=8)
VALUES = st.recursive(st.one_of(STRINGS, st.integers(), st.booleans(), st.none()),
                      lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(STRINGS, inner, max_size=4)),
                      max_leaves=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(VALUES, st.booleans())
def test_read_yaml_reads_what_safe_load_reads(tmp_path, value, ascii_only):
    text = json.dumps(value, ensure_ascii=ascii_only)
    path = tmp_path / "doc.yaml"
    try:
        path.write_text(text, encoding="utf-8")
    except UnicodeEncodeError:   # a raw lone surrogate is no UTF-8 text
        return
    try:
        want = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        with pytest.raises(ValidationError, match="not valid YAML"):
            dio.read_yaml(path)
        return
    assert repr(dio.read_yaml(path)) == repr(want)


def test_escaped_surrogate_pair_is_read_as_safe_load_reads_it(tmp_path):
    path = tmp_path / "ids.yaml"
    path.write_text('{"name": "\\ud835\\udd18x"}\n')
    with pytest.raises(yaml.YAMLError):
        yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
    assert dio.read_yaml(path) == yaml.safe_load(path.read_text()) == {"name": "\ud835\udd18x"}


def test_invalid_yaml_and_non_utf8_text_are_refused_in_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\nb: 3\n")
    with pytest.raises(ValidationError, match="not valid YAML"):
        dio.read_yaml(bad)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("a: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValidationError, match="must be UTF-8 text"):
        dio.read_yaml(latin)
