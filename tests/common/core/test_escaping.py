"""Mechanism 4, the medium side: every name shown on a terminal, in a CSV cell, in a figure or in HTML is escaped
for that medium (common.core.escaping), whatever it holds: control characters, escape sequences, lone
surrogates, non-UTF-8 bytes of a file name, CSV formulas, mathtext."""
from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.core.escaping import csv_cell, plot_text, terminal
from common.results import leaderboard
from common.untrusted.files import excerpt


def encodable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")

HOSTILE = ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "abc\n", "\x1b[31mred\x1b[0m",
           "\x1b]0;title\x07", "\u202eevil", "\ud800", "na\udcffme", "$\\frac{1$", "$x$", "a" * 300, "",
           "\x00nul", "名前"]

# Any text, lone surrogates and control characters included.
ANY_TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()),
                   max_size=40)


@settings(max_examples=300)
@given(ANY_TEXT)
def test_terminal_text_is_printable_and_encodable(text):
    shown = terminal(text)
    assert shown.isprintable() and encodable(shown) == shown
    assert "\x1b" not in shown and "\n" not in shown
    if text.isprintable() and encodable(text) == text:
        assert shown == text            # printable text of any script is left as it is


@settings(max_examples=300)
@given(ANY_TEXT)
def test_a_csv_cell_is_never_a_formula_and_always_one_cell(text):
    cell = csv_cell(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([cell, "next"])
    out.getvalue().encode("utf-8")
    assert next(csv.reader(io.StringIO(out.getvalue()))) == [cell, "next"]


@pytest.mark.filterwarnings("ignore:Glyph")        # a character the font lacks is drawn as a box
@settings(max_examples=150)
@given(ANY_TEXT)
def test_a_figure_shows_any_name_without_mathtext(text):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(2, 1))
    try:
        ax.set_title(plot_text(text))
        ax.legend([ax.plot([0, 1])[0]], [plot_text(text)])
        fig.savefig(io.BytesIO(), format="png")
    finally:
        plt.close(fig)


@pytest.mark.parametrize("name", HOSTILE)
def test_the_summary_writes_any_method_name(name):
    """summary.csv, the text table and the summary itself take any name: escaped, never a crash (compat mode
    accepts any folder name as a method)."""
    score = leaderboard.Score("f1", "F1", "higher")
    results = [leaderboard.MethodScores(name, {"g": 0.5}, seconds=1.0),
               leaderboard.MethodScores("other", {"g": 0.4}, seconds=float("inf"))]
    summary = leaderboard.build("cube", "title", score, "group", ["g"], results)
    text = leaderboard.to_csv(summary)
    text.encode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 3 and not rows[1][1].startswith(("=", "+", "-", "@", "\t", "\r"))
    table = leaderboard.to_table(summary)
    assert "\x1b" not in table and table.count("\n") == 3 and encodable(table) == table
    assert summary["methods"]["other"]["seconds"] is None     # an infinite run time is unknown, not an error


def test_a_method_whose_score_is_not_finite_is_refused_alone():
    score = leaderboard.Score("f1", "F1", "higher")
    results = [leaderboard.MethodScores("nan", {"g": float("nan")}), leaderboard.MethodScores("ok", {"g": 0.5})]
    summary = leaderboard.build("cube", "title", score, "group", ["g"], results)
    assert summary["ranking"] == ["ok"]
    assert [r["method"] for r in summary["refused"]] == ["nan"]
    from common.core.io import json_text
    json_text(summary)          # serialisable: the one bad method does not cost the summary


def test_excerpts_are_bounded_and_escaped():
    assert excerpt("\x1b[31m" * 100).startswith("'\\x1b[31m") and len(excerpt("x" * 1000)) < 50
    assert excerpt(10 ** 5000) .startswith("<integer of about")
