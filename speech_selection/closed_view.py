"""What a closed-division container of this cube may see: per language, the allowed training set and the
embeddings of its words (never eval.yaml or the evaluation embeddings)."""
from __future__ import annotations

from pathlib import Path

KEYS = ["data.languages", "budgets"]


def permitted(params, folder: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """(name inside the view's data folder, source file) of every file shown, and the parameter keys shown."""
    from .data import language_files, read_id_lists, word_of
    files = []
    for lang in params.get("data.languages"):
        paths = language_files(folder, lang)
        allowed = read_id_lists(paths.allowed)
        words = list(dict.fromkeys(list(allowed["targets"]) + [word_of(str(c)) for c in allowed["nontargets"]]))
        files += [paths.allowed] + [paths.train_embeddings / f"{word}.parquet" for word in words]
    return [(path.relative_to(folder).as_posix(), path) for path in files], KEYS
