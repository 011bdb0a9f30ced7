"""The download task: write every language's data, from the embedded generator or the official archives.

source: embedded  generates en/id/pt at data.scale (1 = the official sizes), offline and seeded;
source: official  fetches dataperf_{eng,ind,por}_data.zip (data.official.<lang>.url, checked against its
                  sha256) and extracts each into data/dataperf_<lang>_data/ (non-ASCII names kept).
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from common.download import extract_archive, fetch, find_folder_with
from common.errors import DataPerfError, display_path

from . import config
from .data import generate_language, language_dir, language_files, write_language


def download(parameters_file: Path, data_folder: Path) -> None:
    params = config.load(parameters_file)
    data_folder = Path(data_folder)
    for lang in params.get("data.languages"):
        files = language_files(data_folder, lang)
        if params.get("data.source") == "embedded":
            generated = generate_language(lang, params.get("data.scale"), params.get("seed"))
            write_language(files, generated)
            print(f"download: generated {lang}: {sum(len(v) for v in generated['allowed']['targets'].values())} "
                  f"allowed keyword clips, {len(generated['allowed']['nontargets'])} allowed nontargets, "
                  f"{len(generated['evalset']['nontargets'])} eval nontargets")
        else:
            fetch_official(params, lang, data_folder)
        missing = [p for p in (files.allowed, files.eval, files.train_embeddings, files.eval_embeddings) if not p.exists()]
        if missing:
            raise DataPerfError(f"the {lang} data is incomplete after download; missing: {', '.join(map(display_path, missing))}")
    print(f"data: {data_folder}")


def fetch_official(params, lang: str, data_folder: Path) -> None:
    source = params.get(f"data.official.{lang}")
    cache = data_folder / ".download"
    archive = fetch(source["url"], source["sha256"], cache, f"dataperf_{lang}_data.zip")
    target = language_dir(data_folder, lang)
    with tempfile.TemporaryDirectory(dir=data_folder, prefix=".extract-") as staging:
        root = extract_archive(archive, Path(staging))
        top = find_folder_with(root, ["allowed_training_set.yaml", "eval.yaml"])
        if top is None:
            raise DataPerfError(f"{display_path(archive)}: no folder with allowed_training_set.yaml and eval.yaml in the archive")
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(top), target)
    print(f"download: extracted {archive.name} into {target}")
