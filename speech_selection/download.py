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

from common.closed.seeds import croissant_seed, generator_seed

from common.compute import backend
from common.compute.parallel import parallel_map
from common.core.errors import DataPerfError, ValidationError, display_path
from common.core.io import write_text
from common.data import croissant
from common.data.download import extract_archive, fetch, find_folder_with
from common.untrusted.files import read_supplied

from . import config
from .data import (EMBEDDING_DIM, ID_LIST_LIMIT, KEYWORDS, generate_language, language_dir, language_files, read_id_lists,
                   word_of, write_language)


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

URL = "https://github.com/harvard-edge/dataperf-speech-example"
MSWC_CITATION = """@inproceedings{mazumder2021mswc,
  title = {Multilingual Spoken Words Corpus},
  author = {Mazumder, Mark and Chitlangia, Sharad and Banbury, Colby and Kang, Yiping and Ciro, Juan and Achorn, Keith and Galvez, Daniel and Sabini, Mark and Mattson, Peter and Kanter, David and Diamos, Greg and Warden, Pete and Meyer, Josh and Janapa Reddi, Vijay},
  booktitle = {Advances in Neural Information Processing Systems, Datasets and Benchmarks Track},
  year = {2021}
}"""
ID_TABLE_COLUMNS = ("clip_id", "label")
NONTARGET = "nontarget"


def id_table_path(yaml_path: Path) -> Path:
    return yaml_path.with_suffix(".csv")


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


def _listed_words(yaml_path: Path) -> list[str]:
    """The words of the clips an id list names, in order: the embedding files the generator wrote for it.  Read
    from the list's CSV table, written just before from the YAML (parsing the YAML again would take longer)."""
    text = read_supplied(id_table_path(yaml_path), ID_LIST_LIMIT, single_link=False).decode("utf-8")
    rows = csv.reader(io.StringIO(text, newline=""))
    next(rows, None)
    return list(dict.fromkeys(word_of(row[0]) for row in rows if row))


def croissant_dataset(params, data_folder: Path) -> croissant.Dataset:
    """data/ holds every language: the embeddings (per word), the id lists as YAML and as CSV tables.  The
    embedding files are those of the words the id lists name (embedded data; earlier runs may have left others)
    or everything the archive held (official data)."""
    embedded = params.get("data.source") == "embedded"
    files, tables, evaluator_only = {}, [], set()
    for lang in params.get("data.languages"):
        lay = language_files(data_folder, lang)
        root = lay.root.relative_to(data_folder).as_posix()
        for split, folder, listing in (("train", lay.train_embeddings, lay.allowed),
                                       ("eval", lay.eval_embeddings, lay.eval)):
            names = [f"{w}.parquet" for w in _listed_words(listing)] if embedded else \
                [Path(p).name for p in croissant.files_under(folder) if p.endswith(".parquet") and "/" not in p]
            paths = tuple(f"{root}/{folder.name}/{n}" for n in names)
            what = "the allowed training pool" if split == "train" else "the evaluation set (the evaluator's)"
            for path in paths:
                files[path] = f"{lang}: embeddings of the clips of one word in {what}."
            if split == "eval":
                evaluator_only.update(paths)
            dtype = croissant.parquet_dtype(data_folder / paths[0], "mswc_embedding_vector", "float32") \
                if paths else "float32"
            tables.append(croissant.Table(
                name=f"{split}_embeddings_{lang}", evaluator_only=split == "eval",
                description=f"{lang}: one row per clip of {what}, with its word and embedding.",
                encoding="application/x-parquet", files=paths, columns=(
                    croissant.Column("word", "text", "The spoken word (the file name).", file_property="filename",
                                     regex=r"^(.+)\.parquet$"),
                    croissant.Column("clip_id", "text", "Clip id, <word>/common_voice_<lang>_<n>.wav.",
                                     column="clip_id"),
                    croissant.Column("embedding", dtype, f"Keyword-spotting embedding, {EMBEDDING_DIM} values.",
                                     column="mswc_embedding_vector", shape=str(EMBEDDING_DIM)))))
        for name, yaml_path, what in (("allowed_training_set", lay.allowed, "the allowed training set"),
                                      ("eval_set", lay.eval, "the evaluation set")):
            yaml_rel = yaml_path.relative_to(data_folder).as_posix()
            table_rel = id_table_path(yaml_path).relative_to(data_folder).as_posix()
            files[yaml_rel] = f"{lang}: {what} as YAML, targets (keyword -> clip ids) and nontargets (clip ids)."
            files[table_rel] = (f"{lang}: {what} as a table (clip_id, label), written by download from "
                                f"{yaml_path.name} in its order, for Croissant readers.")
            if name == "eval_set":
                evaluator_only.update((yaml_rel, table_rel))
            tables.append(croissant.Table(
                name=f"{name}_{lang}", evaluator_only=name == "eval_set", encoding="text/csv", files=(table_rel,),
                description=f"{lang}: {what}, one row per listed clip.", columns=(
                    croissant.Column("clip_id", "text", "Clip id (a row of <word>.parquet).", column="clip_id"),
                    croissant.Column("label", "text", "The keyword, or 'nontarget'.", column="label"))))
        if not embedded:
            for path in croissant.files_under(data_folder, root):
                files.setdefault(path, f"{lang}: part of the official archive, not read by this suite.")
    languages = params.get("data.languages")
    if embedded:
        provenance = croissant.generated_by("speech_selection.data.generate_language", {
            "seed": croissant_seed(params), "languages": languages, "scale": params.get("data.scale"),
            "keywords": {lang: KEYWORDS[lang] for lang in languages}})
        kind = ("embedded data generated by the dataperf suite with the official layout and formats (English "
                "keywords are the official ones, Indonesian and Portuguese ones stand-ins)")
    else:
        provenance = croissant.downloaded_from([(params.get(f"data.official.{lang}")["url"],
                                                data_folder / ".download" / f"dataperf_{lang}_data.zip")
                                               for lang in languages])
        kind = ("the official DataPerf data; its embeddings are computed from clips of the Multilingual Spoken "
                "Words Corpus, which is licensed CC BY 4.0 (the DataPerf archives state no license of their own)")
    return croissant.Dataset(
        name="dataperf-speech-selection",
        description=("DataPerf speech selection: per language, choose at most 25 or 60 training clips for a 6-class "
                     "keyword spotter (5 keywords and 'nontarget') from 1024-d embeddings. This folder holds "
                     f"{', '.join(languages)}: {kind}. The evaluation set is the evaluator's."),
        url=URL, cite_as=croissant.DATAPERF_CITATION + ("" if embedded else "\n" + MSWC_CITATION), provenance=provenance,
        synthetic=embedded, files=files, tables=tuple(tables), evaluator_only=frozenset(evaluator_only),
        version=croissant.suite_version() if embedded else None)
