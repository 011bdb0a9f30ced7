"""Plot helpers: a headless backend, one house style, PNGs written atomically."""
from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

from .errors import DataPerfError, display_path  # noqa: E402
from .io import read_json, write_bytes_atomic  # noqa: E402

STYLE = {"figure.dpi": 100, "axes.grid": True, "grid.alpha": 0.3, "font.size": 11,
         "axes.spines.top": False, "axes.spines.right": False}


def figure(width: float = 8, height: float = 6):
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(width, height))
    return fig, ax


def save_png(fig, path: str | Path) -> Path:
    buffer = io.BytesIO()
    with plt.rc_context(STYLE):
        fig.tight_layout()
        fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return write_bytes_atomic(path, buffer.getvalue(), keep_previous=False)


def markers(n: int) -> list[str]:
    base = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">"]
    return [base[i % len(base)] for i in range(n)]


def read_results(path: str | Path) -> dict:
    """A results file of the evaluate task, which the plot task needs."""
    path = Path(path)
    if not path.is_file():
        raise DataPerfError(f"{display_path(path)}: not found; run the evaluate task first")
    return read_json(path)


def announce(paths: list[Path]) -> list[Path]:
    for p in paths:
        print(f"plot: {p}")
    return paths
