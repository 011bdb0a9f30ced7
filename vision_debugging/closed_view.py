"""What a closed-division container of this cube may see: the noisy training set and the validation set of every
task (never the test set, never the verified labels)."""
from __future__ import annotations

from pathlib import Path

KEYS = ["data.source", "data.tasks", "data.noise_level", "data.scale"]


def permitted(params, folder: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """(name inside the view's data folder, source file) of every file shown, and the parameter keys shown."""
    from . import config
    from .data import task_files
    sizes = config.split_sizes(params)
    files = []
    for data_id in params.get("data.tasks"):
        paths = task_files(folder, Path("/nonexistent"), data_id, params.get("data.noise_level"), sizes)
        files += [paths.train, paths.val]
    return [(path.relative_to(folder).as_posix(), path) for path in files], KEYS
