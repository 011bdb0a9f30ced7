"""The download task: write every language's data, from the embedded generator or the official archives.

source: embedded  generates en/id/pt at data.scale (1 = the official sizes), offline and seeded;
source: official  fetches dataperf_{eng,ind,por}_data.zip (data.official.<lang>.url, checked against its
                  sha256) and extracts each into data/dataperf_<lang>_data/ (non-ASCII names kept).
"""
from __future__ import annotations

import csv
import io
import shutil
import tempfile
from pathlib import Path

from common.closed.seeds import generator_seed

from common.compute import backend
from common.compute.parallel import parallel_map
from common.core.errors import DataPerfError, ValidationError, display_path
from common.core.io import write_text
from common.data import croissant
from common.data.download import extract_archive, fetch, find_folder_with

from . import config
from .croissant import croissant_dataset
from .data import id_table_path
from .data import (generate_language, language_dir, language_files, read_id_lists,
                   write_language)


def _generate(shared: dict, lang: str) -> str:
    """Unit of work: generate and write one language (each language has its own seeded generator)."""
    generated = generate_language(lang, shared["scale"], shared["seed"])
    write_language(language_files(shared["folder"], lang), generated)
    return (f"download: generated {lang}: {sum(len(v) for v in generated['allowed']['targets'].values())} "
            f"allowed keyword clips, {len(generated['allowed']['nontargets'])} allowed nontargets, "
            f"{len(generated['evalset']['nontargets'])} eval nontargets")


def download(parameters_file: Path, data_folder: Path) -> None:
    params = config.load(parameters_file)
    data_folder = Path(data_folder)
    languages = params.get("data.languages")
    if params.get("data.source") == "embedded":
        shared = {"scale": params.get("data.scale"), "seed": generator_seed(params), "folder": data_folder}
        for report in parallel_map(_generate, languages, "auto", progress="generating", shared=shared,
                                   compute=backend.of(params)):
            print(report)
    for lang in languages:
        files = language_files(data_folder, lang)
        if params.get("data.source") != "embedded":
            fetch_official(params, lang, data_folder)
        missing = [p for p in (files.allowed, files.eval, files.train_embeddings, files.eval_embeddings) if not p.exists()]
        if missing:
            raise DataPerfError(f"the {lang} data is incomplete after download; missing: {', '.join(map(display_path, missing))}")
        for path in (files.allowed, files.eval):
            write_id_table(path)
    print(f"data: {data_folder}")
    print(f"croissant: {croissant.write(data_folder, croissant_dataset(params, data_folder))}")


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


# ------------------------------------------------------------------ Croissant metadata

ID_TABLE_COLUMNS = ("clip_id", "label")
NONTARGET = "nontarget"


def write_id_table(yaml_path: Path) -> Path:
    """The id list of a YAML file as a CSV table (clip_id, label: its keyword or 'nontarget'), in the YAML's order.

    Croissant readers (mlcroissant included) read no YAML; this table is what the Croissant record set reads.
    The YAML stays the file the evaluator and baselines read."""
    lists = read_id_lists(yaml_path)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ID_TABLE_COLUMNS)
    entries = [(keyword, ids) for keyword, ids in lists["targets"].items()] + [(NONTARGET, lists["nontargets"])]
    for label, ids in entries:
        if not isinstance(ids, list):
            raise ValidationError(yaml_path, f"targets '{label}'", "must be a list of clip ids")
        writer.writerows((str(clip), str(label)) for clip in ids)
    return write_text(id_table_path(yaml_path), out.getvalue(), keep_previous=False)
