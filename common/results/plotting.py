"""Plot helpers: a headless backend, one house style, legends outside the data, PNGs written atomically."""
from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
# Names of methods (a participant's choice) are drawn as typed: no text of a figure is parsed as mathtext.
matplotlib.rcParams["text.parse_math"] = False
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.lines import Line2D  # noqa: E402

from common.core.errors import DataPerfError, display_path  # noqa: E402
from common.core.escaping import plot_text  # noqa: E402
from common.core.first_use import task_command
from common.core.io import write_bytes_atomic  # noqa: E402
from common.results.leaderboard import read as read_summary  # noqa: E402
from common.untrusted.documents import read_json  # noqa: E402

# Fonts stay at 9 pt or more: the figures are read at their default size (100 dpi), in the report too.
STYLE = {"figure.dpi": 100, "axes.grid": True, "grid.alpha": 0.3, "font.size": 11, "legend.fontsize": 10,
         "xtick.labelsize": 10, "ytick.labelsize": 10, "axes.spines.top": False, "axes.spines.right": False}


def figure(width: float = 8, height: float = 6, rows: int = 1, columns: int = 1, **subplots):
    """A figure with constrained layout, so that legends placed outside the axes get their own room."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(rows, columns, figsize=(width, height), layout="constrained", **subplots)
    return fig, ax


def save_png(fig, path: str | Path) -> Path:
    buffer = io.BytesIO()
    with plt.rc_context(STYLE):
        fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return write_bytes_atomic(path, buffer.getvalue(), keep_previous=False)


def markers(n: int) -> list[str]:
    base = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">"]
    return [base[i % len(base)] for i in range(n)]


def colours(names: list[str]) -> dict[str, str]:
    """One colour per name, in the given order (methods keep their colour across a cube's figures)."""
    return {name: f"C{i % 10}" for i, name in enumerate(names)}


def legend_outside(fig, handles: list, labels: list[str], title: str | None = None, where: str = "right upper"):
    """A legend in the figure margin, never over the data; `where`: 'right upper', 'right lower', 'lower center'."""
    with plt.rc_context(STYLE):
        return fig.legend(handles, [plot_text(label) for label in labels], title=title, loc=f"outside {where}",
                          frameon=False,
                          ncols=1 if where.startswith("right") else min(len(labels), 4))


def marker_handle(marker: str = "o", colour: str = "grey") -> Line2D:
    return Line2D([], [], marker=marker, color=colour, linestyle="none", markersize=8)


def read_scored(results_folder: str | Path) -> dict:
    """summary.json of the evaluate task, which every plot starts from; refused when no method was scored."""
    path = Path(results_folder) / "summary.json"
    summary = read_summary(path)
    if not summary["ranking"]:
        raise DataPerfError(f"{display_path(path)}: no method was scored (every submission was refused, see 'refused' there); "
                            "nothing to plot")
    return summary


def read_results(path: str | Path) -> dict:
    """A detail file of the evaluate task (e.g. one task's <id>_evaluation.json)."""
    path = Path(path)
    if not path.is_file():
        raise DataPerfError(f"{display_path(path)}: not found: {task_command('evaluate')} first")
    return read_json(path)


def announce(paths: list[Path]) -> list[Path]:
    for p in paths:
        print(f"plot: {p}")
    return paths
