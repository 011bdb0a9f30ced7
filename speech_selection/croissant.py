"""The Croissant metadata of what speech_selection's download writes (common/data/croissant.py renders and checks it)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from common.closed.seeds import croissant_seed
from common.data import croissant
from common.untrusted.files import read_supplied

from .data import EMBEDDING_DIM, ID_LIST_LIMIT, KEYWORDS, id_table_path, language_files, word_of

MSWC_CITATION = """@inproceedings{mazumder2021mswc,
  title = {Multilingual Spoken Words Corpus},
  author = {Mazumder, Mark and Chitlangia, Sharad and Banbury, Colby and Kang, Yiping and Ciro, Juan and Achorn, Keith and Galvez, Daniel and Sabini, Mark and Mattson, Peter and Kanter, David and Diamos, Greg and Warden, Pete and Meyer, Josh and Janapa Reddi, Vijay},
  booktitle = {Advances in Neural Information Processing Systems, Datasets and Benchmarks Track},
  year = {2021}
}"""


URL = "https://github.com/harvard-edge/dataperf-speech-example"


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
