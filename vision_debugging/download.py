"""The download task: write the task data, from the embedded generator or the official archive.

source: embedded  generates the 8 tasks (or data.tasks) at data.scale, offline and seeded;
source: official  fetches the official zip (data.official.url, checked against data.official.sha256)
                  and extracts its embeddings/ and data/ folders.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from common.closed.seeds import generator_seed

from common.core.errors import DataPerfError, display_path
from common.data import croissant
from common.data.download import extract_archive, fetch, find_folder_with

from . import config
from .croissant import croissant_datasets
from .data import ARCHIVE_NAME
from .data import generate_task, task_files, write_task


def download(parameters_file: Path, embedding_folder: Path, groundtruth_folder: Path) -> None:
    params = config.load(parameters_file)
    sizes = config.split_sizes(params)
    noise = params.get("data.noise_level")
    all_files = [task_files(embedding_folder, groundtruth_folder, d, noise, sizes) for d in params.get("data.tasks")]
    if params.get("data.source") == "embedded":
        for files in all_files:
            write_task(files, generate_task(files.data_id, sizes, noise, generator_seed(params)))
            print(f"download: generated {files.data_id} (train {sizes['train']}, val {sizes['val']}, test {sizes['test']})")
        written = ([p.name for f in all_files for p in (f.train, f.val, f.test)], [f.groundtruth.name for f in all_files])
    else:
        written = fetch_official(params, Path(embedding_folder), Path(groundtruth_folder))
    missing = [display_path(p) for f in all_files for p in (f.train, f.val, f.test, f.groundtruth) if not p.is_file()]
    if missing:
        raise DataPerfError("the data is incomplete after download; missing: " + ", ".join(missing))
    print(f"data: {embedding_folder} and {groundtruth_folder}")
    for folder, dataset in croissant_datasets(params, Path(embedding_folder), Path(groundtruth_folder), *written):
        print(f"croissant: {croissant.write(folder, dataset)}")


def fetch_official(params, embedding_folder: Path, groundtruth_folder: Path) -> tuple[list[str], list[str]]:
    """Extract the archive's embeddings/ and data/ files into the two folders; returns their names."""
    cache = embedding_folder / ".download"
    moved: tuple[list[str], list[str]] = ([], [])
    archive = fetch(params.get("data.official.url"), params.get("data.official.sha256"), cache, ARCHIVE_NAME)
    with tempfile.TemporaryDirectory(dir=embedding_folder, prefix=".extract-") as staging:
        root = extract_archive(archive, Path(staging))
        top = find_folder_with(root, ["embeddings", "data"])
        if top is None:
            raise DataPerfError(f"{display_path(archive)}: the archive has no embeddings/ and data/ folders")
        for source, target, names in ((top / "embeddings", embedding_folder, moved[0]),
                                      (top / "data", groundtruth_folder, moved[1])):
            target.mkdir(parents=True, exist_ok=True)
            for item in sorted(source.iterdir()):
                if item.is_file():
                    shutil.move(str(item), target / item.name)
                    names.append(item.name)
    print(f"download: extracted {archive.name}")
    return moved


# ------------------------------------------------------------------ Croissant metadata
