"""What a closed-division container of this cube may see: the candidate pool, the example sets and the machine
labels (never the test sets)."""
from __future__ import annotations

from pathlib import Path

KEYS = ["data.concepts", "budget"]


def permitted(params, folder: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """(name inside the view's data folder, source file) of every file shown, and the parameter keys shown.
    The pool's part files are renamed part-00000.parquet, ...: the generator's names hash its (secret) seed."""
    from .data import layout
    lay = layout(folder)
    shown = []
    if lay.pool.is_dir():
        parts = [p for p in sorted(lay.pool.iterdir()) if p.suffix == ".parquet" and not p.name.startswith((".", "_"))]
        pool = lay.pool.relative_to(folder).as_posix()
        shown += [(f"{pool}/part-{n:05d}.parquet", part) for n, part in enumerate(parts)]
    else:
        shown.append((lay.pool.relative_to(folder).as_posix(), lay.pool))
    files = [lay.examples(c) for c in params.get("data.concepts")]
    if lay.machine_labels.exists():
        files.append(lay.machine_labels)
    return shown + [(path.relative_to(folder).as_posix(), path) for path in files], KEYS
