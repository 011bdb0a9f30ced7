"""Names from participants shown safely in each medium: one function per medium, used wherever a name is shown.

Method names come from folder names a participant chose (in compat mode almost any bytes) and reach a terminal,
a CSV file, a figure and an HTML page.  HTML is escaped by Jinja2's autoescape; the others here.
"""
from __future__ import annotations

CSV_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def terminal(text: str) -> str:
    """Control characters (ANSI and OSC escapes among them), line breaks and undecodable bytes (lone surrogates)
    shown as Python escapes, so a name cannot break a line, move the cursor or retitle a terminal."""
    text = str(text)
    return text if text.isprintable() else repr(text)[1:-1]


def csv_cell(text: str) -> str:
    """A text cell that a spreadsheet shows as text: escaped as for a terminal, and a leading = + - @ (which a
    spreadsheet would run as a formula) preceded by an apostrophe."""
    text = terminal(text)
    return "'" + text if text.startswith(CSV_FORMULA) else text


def plot_text(text: str) -> str:
    """A name as a figure shows it: escaped as for a terminal, and a leading `_` kept visible (legends hide such
    labels).  Mathtext is off in every figure (common.results.plotting), so `$\\frac{1$` is drawn as typed."""
    text = terminal(text)
    return "\u200b" + text if text.startswith("_") else text
