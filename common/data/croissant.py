"""Croissant metadata: the MLCommons JSON-LD description of what a download wrote, one file per output folder.

A cube describes each folder it writes in a few plain objects (Dataset, Table, Column) and calls write() at
the end of its download.  write() lists every file with its sha256 and encoding format, builds the metadata
with mlcroissant (the `croissant` extra) when it is installed, and otherwise renders the same JSON itself:
the cube images install no extras, because mlcroissant needs jsonpath-rw, which PyPI has only as a source
archive, and the images install from a wheels-only wheelhouse offline.  The tests build every description
both ways and require the same JSON, then validate the written file and read its records with mlcroissant.
"""
from __future__ import annotations

import fnmatch
import io
import json
import logging
import re
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata as package_metadata
from pathlib import Path

from common.core.errors import ValidationError
from common.core.io import ARCHIVE_DIR, write_text
from common.untrusted.documents import sha256_file
from common.untrusted.files import DATA_LIMIT, open_supplied

FILE_NAME = "croissant.json"
CONFORMS_TO = "http://mlcommons.org/croissant/1.1"
EVALUATOR_ONLY = "Evaluator only, not for participants: "

# Column types: name -> the Croissant data type, compact (as written) and as mlcroissant's DataType attribute.
DATA_TYPES = {
    "text": ("sc:Text", "TEXT"),
    "integer": ("sc:Integer", "INTEGER"),
    "int64": ("cr:Int64", "INT64"),
    "int32": ("cr:Int32", "INT32"),
    "float": ("sc:Float", "FLOAT"),
    "float32": ("cr:Float32", "FLOAT32"),
    "float64": ("cr:Float64", "FLOAT64"),
    "bool": ("sc:Boolean", "BOOL"),
}
# Encoding format of a file by its name's ending, unless the table reading it says otherwise.
ENCODINGS = {
    ".parquet": "application/x-parquet",
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".json": "application/json",
    ".jsonl": "application/jsonlines",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".txt": "text/plain",
    ".zip": "application/zip",
    ".pickle": "application/x-pickle",
    ".pkl": "application/x-pickle",
}
OTHER_ENCODING = "application/octet-stream"
# The JSON-LD context mlcroissant 1.1 writes (the Croissant vocabulary's short names).
CONTEXT = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

# Citations (BibTeX) of the challenges and of the corpora behind their data.
DATAPERF_CITATION = """@inproceedings{mazumder2023dataperf,
  title = {{DataPerf}: Benchmarks for Data-Centric {AI} Development},
  author = {Mazumder, Mark and Banbury, Colby and Yao, Xiaozhe and Karla{\\v{s}}, Bojan and Gaviria Rojas, William and others},
  booktitle = {Advances in Neural Information Processing Systems, Datasets and Benchmarks Track},
  year = {2023},
  eprint = {2207.10062},
  archivePrefix = {arXiv}
}"""
OPEN_IMAGES_CITATION = """@article{kuznetsova2020openimages,
  title = {The Open Images Dataset {V4}: Unified Image Classification, Object Detection, and Visual Relationship Detection at Scale},
  author = {Kuznetsova, Alina and Rom, Hassan and Alldrin, Neil and Uijlings, Jasper and Krasin, Ivan and Pont-Tuset, Jordi and others},
  journal = {International Journal of Computer Vision},
  year = {2020}
}"""
CC_BY_4 = "https://creativecommons.org/licenses/by/4.0/"
APACHE_2 = "https://www.apache.org/licenses/LICENSE-2.0"


@dataclass(frozen=True)
class Column:
    """One field of a table: where its value comes from, its type, and for arrays their shape."""
    name: str
    dtype: str                          # a key of DATA_TYPES
    description: str
    column: str | None = None           # a column of the files (CSV header, parquet)
    json_path: str | None = None        # a JSONPath into each file (JSON)
    file_property: str | None = None    # filename, fullpath, lines or lineNumbers
    regex: str | None = None            # then keep the first group of this pattern
    separator: str | None = None        # then split into a list
    shape: str | None = None            # an array of this shape ("2048", "-1" for any length)


@dataclass(frozen=True)
class Table:
    """A record set: rows read from files (paths relative to the folder) with the columns given."""
    name: str
    description: str
    encoding: str
    files: tuple[str, ...]
    columns: tuple[Column, ...]
    evaluator_only: bool = False


@dataclass(frozen=True)
class Dataset:
    """What a folder holds: every file (relative path -> what it is) and the tables participants read."""
    name: str
    description: str
    url: str
    cite_as: str
    provenance: str                     # how the data came to be: generator and parameters, or the source
    synthetic: bool
    files: dict[str, str]
    tables: tuple[Table, ...] = ()
    evaluator_only: frozenset[str] = frozenset()
    license: str | None = None
    version: str | None = None
    keywords: tuple[str, ...] = ("DataPerf", "data-centric AI", "MLCommons")


# ------------------------------------------------------------------ helpers for the cubes' descriptions

def suite_version() -> str:
    try:
        return package_metadata.version("dataperf")
    except package_metadata.PackageNotFoundError:
        return "0.0.0"


def generated_by(function: str, parameters: dict) -> str:
    """Provenance of embedded data: the generator, the suite version, every parameter and the seed."""
    return (f"Generated offline by {function} (dataperf {suite_version()}), seeded; parameters: "
            + json.dumps(parameters, sort_keys=True, ensure_ascii=False))


def downloaded_from(sources: list[tuple[str, Path]]) -> str:
    """Provenance of official data: each URL and the sha256 of what was fetched from it."""
    return "Downloaded and extracted by the dataperf download task from " + "; ".join(
        f"{url} (sha256 {sha256_file(path)})" for url, path in sources)


# Arrow types of parquet columns (or of a list column's values) -> column types.
ARROW_TYPES = {"string": "text", "large_string": "text", "int64": "int64", "int32": "int32", "float": "float32",
               "double": "float64", "bool": "bool"}


def parquet_dtype(path: Path, column: str, default: str) -> str:
    """The type of a parquet column's values (of each element, for a list column) from the file's schema, so the
    metadata says what the file holds (the official files may differ from the generator's); default if unknown."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with open_supplied(path, DATA_LIMIT, single_link=False) as handle:
            kind = pq.read_schema(handle).field(column).type
    except (OSError, KeyError, pa.ArrowInvalid, ValidationError):
        return default
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        kind = kind.value_type
    return ARROW_TYPES.get(str(kind), default)


def parquet_columns(path: Path) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with open_supplied(path, DATA_LIMIT, single_link=False) as handle:
            return pq.read_schema(handle).names
    except (OSError, pa.ArrowInvalid, ValidationError):
        return []


def csv_columns(path: Path) -> list[str]:
    """The header of a CSV file (its first line)."""
    import csv

    try:
        with open_supplied(path, DATA_LIMIT, single_link=False) as handle:
            return next(csv.reader(io.TextIOWrapper(io.BufferedReader(handle), encoding="utf-8", newline="")), [])
    except (OSError, UnicodeDecodeError, csv.Error, ValidationError):
        return []


def files_under(folder: Path, sub: str = "") -> list[str]:
    """Every regular file below folder/sub as a path relative to folder, sorted; hidden entries (the download
    cache, extraction staging), earlier versions kept in previous/ and the Croissant file itself are left out."""
    folder = Path(folder)
    start = folder / sub if sub else folder
    if not start.is_dir():
        return []
    found = []
    for path in start.rglob("*"):
        relative = path.relative_to(folder)
        if any(part.startswith(".") or part == ARCHIVE_DIR for part in relative.parts):
            continue
        if path.is_file() and not path.is_symlink() and relative.as_posix() != FILE_NAME:
            found.append(relative.as_posix())
    return sorted(found)


# ------------------------------------------------------------------ writing

def write(folder: Path, dataset: Dataset) -> Path:
    """Write folder/croissant.json for dataset (atomically, replacing an earlier one) and return its path."""
    folder = Path(folder)
    digests = {path: sha256_file(folder / path) for path in dataset.files}
    document = with_mlcroissant(dataset, digests) if mlcroissant_installed() else plain(dataset, digests)
    return write_text(folder / FILE_NAME, dumps(document), keep_previous=False)


def mlcroissant_installed() -> bool:
    try:
        import mlcroissant  # noqa: F401  (the optional extra `croissant`)
    except ImportError:
        return False
    return True


def dumps(document: dict) -> str:
    return json.dumps(ordered(document), indent=1, ensure_ascii=False) + "\n"


def ordered(value):
    """mlcroissant's key order, applied to both routes so that they write the same bytes: @context, @type,
    @id, name, description, conformsTo first, the long lists last, the rest alphabetical."""
    if isinstance(value, list):
        return [ordered(v) for v in value]
    if not isinstance(value, dict):
        return value
    first = ["@context", "@type", "@id", "name", "description", "conformsTo"]
    last = ["distribution", "field", "data", "recordSet", "subField", "extract", "transform"]
    keys = [k for k in first if k in value] + sorted(k for k in value if k not in first and k not in last) \
        + [k for k in last if k in value]
    return {k: ordered(value[k]) for k in keys}


def file_ids(paths) -> dict[str, str]:
    """A JSON-LD @id per file: its relative path, whitespace replaced (mlcroissant refuses it in ids),
    numbered if that made two alike."""
    ids, taken = {}, set()
    for path in paths:
        base = re.sub(r"\s", "_", path)
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            candidate = f"{base}~{n}"
        taken.add(candidate)
        ids[path] = candidate
    return ids


def _encodings(dataset: Dataset) -> dict[str, str]:
    by_table = {path: table.encoding for table in dataset.tables for path in table.files}
    return {path: by_table.get(path) or ENCODINGS.get(Path(path).suffix.lower(), OTHER_ENCODING)
            for path in dataset.files}


def _file_description(dataset: Dataset, path: str) -> str:
    text = dataset.files[path]
    return EVALUATOR_ONLY + text if path in dataset.evaluator_only else text


def _table_description(table: Table) -> str:
    return EVALUATOR_ONLY + table.description if table.evaluator_only else table.description


def _file_set_id(table: Table) -> str:
    return f"{table.name}-files"


def _includes(table: Table) -> list[str]:
    """The table's files as glob patterns that match exactly them (so files left by earlier runs never count)."""
    return [re.sub(r"([*?\[])", r"[\1]", path) for path in table.files]


def _one_or_many(values: list):
    """A list of one is written as its element (JSON-LD reads both alike; mlcroissant writes it so)."""
    return values[0] if len(values) == 1 else values


def _check(dataset: Dataset) -> None:
    for table in dataset.tables:
        missing = [p for p in table.files if p not in dataset.files]
        if missing:
            raise ValueError(f"table {table.name}: files not in the dataset: {missing}")
        for pattern, path in zip(_includes(table), table.files):
            if not fnmatch.fnmatchcase(path, pattern):
                raise ValueError(f"table {table.name}: cannot match {path!r} exactly")
        for column in table.columns:
            if column.dtype not in DATA_TYPES:
                raise ValueError(f"table {table.name}, column {column.name}: unknown type {column.dtype}")


def _dataset_properties(dataset: Dataset) -> dict:
    """The dataset-level properties, as mlcroissant writes them."""
    out = {"@context": CONTEXT, "@type": "sc:Dataset", "name": dataset.name, "description": dataset.description,
           "conformsTo": CONFORMS_TO, "citeAs": dataset.cite_as, "url": dataset.url,
           "keywords": _one_or_many(list(dataset.keywords)), "rai:dataCollection": dataset.provenance,
           "rai:dataCollectionType": "Synthetic data" if dataset.synthetic else "Secondary data analysis"}
    if dataset.license:
        out["license"] = dataset.license
    if dataset.version:
        out["version"] = dataset.version
    return out


def plain(dataset: Dataset, digests: dict[str, str]) -> dict:
    """The metadata as mlcroissant writes it, without mlcroissant (for the cube images)."""
    _check(dataset)
    ids, encodings = file_ids(dataset.files), _encodings(dataset)
    distribution = [{"@type": "cr:FileObject", "@id": ids[p], "name": p, "description": _file_description(dataset, p),
                     "contentUrl": p, "encodingFormat": encodings[p], "sha256": digests[p]} for p in dataset.files]
    record_sets = []
    for table in dataset.tables:
        distribution.append({"@type": "cr:FileSet", "@id": _file_set_id(table), "name": _file_set_id(table),
                             "description": f"The files of the record set {table.name}.",
                             "encodingFormat": table.encoding, "includes": _one_or_many(_includes(table))})
        fields = []
        for column in table.columns:
            extract = {}
            if column.column is not None:
                extract["column"] = column.column
            if column.json_path is not None:
                extract["jsonPath"] = column.json_path
            if column.file_property is not None:
                extract["fileProperty"] = column.file_property
            source = {"fileSet": {"@id": _file_set_id(table)}, "extract": extract}
            if column.regex is not None:
                source["transform"] = {"regex": column.regex}
            elif column.separator is not None:
                source["transform"] = {"separator": column.separator}
            entry = {"@type": "cr:Field", "@id": f"{table.name}/{column.name}", "name": column.name,
                     "description": column.description, "dataType": DATA_TYPES[column.dtype][0], "source": source}
            if column.shape is not None:
                entry["cr:isArray"] = True
                entry["cr:arrayShape"] = column.shape
            fields.append(entry)
        record_sets.append({"@type": "cr:RecordSet", "@id": table.name, "name": table.name,
                            "description": _table_description(table), "field": fields})
    out = _dataset_properties(dataset)
    out["distribution"] = distribution
    out["recordSet"] = record_sets
    return _without_empty(out)


def _without_empty(value):
    """Empty texts and lists are left out, as mlcroissant does."""
    if isinstance(value, list):
        return [_without_empty(v) for v in value]
    if isinstance(value, dict):
        return {k: _without_empty(v) for k, v in value.items() if v or isinstance(v, bool)}
    return value


@contextmanager
def _quiet(name: str):
    """mlcroissant reports through absl's logger; the download prints its own summary."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def with_mlcroissant(dataset: Dataset, digests: dict[str, str]) -> dict:
    """The metadata built as mlcroissant objects (which check it as they are made), then written by mlcroissant."""
    import mlcroissant as mlc

    _check(dataset)
    with _quiet("absl"):
        ctx = mlc.Context(conforms_to=CONFORMS_TO)
        ids, encodings = file_ids(dataset.files), _encodings(dataset)
        distribution = [mlc.FileObject(ctx=ctx, id=ids[p], name=p, description=_file_description(dataset, p),
                                       content_url=p, encoding_formats=[encodings[p]], sha256=digests[p])
                        for p in dataset.files]
        record_sets = []
        for table in dataset.tables:
            distribution.append(mlc.FileSet(ctx=ctx, id=_file_set_id(table), name=_file_set_id(table),
                                            description=f"The files of the record set {table.name}.",
                                            encoding_formats=[table.encoding], includes=_includes(table)))
            fields = []
            for column in table.columns:
                transforms = []
                if column.regex is not None:
                    transforms.append(mlc.Transform(ctx=ctx, regex=column.regex))
                elif column.separator is not None:
                    transforms.append(mlc.Transform(ctx=ctx, separator=column.separator))
                extract = mlc.Extract(ctx=ctx, column=column.column, json_path=column.json_path,
                                      file_property=column.file_property)
                source = mlc.Source(ctx=ctx, file_set=_file_set_id(table), extract=extract, transforms=transforms)
                fields.append(mlc.Field(ctx=ctx, id=f"{table.name}/{column.name}", name=column.name,
                                        description=column.description,
                                        data_types=[getattr(mlc.DataType, DATA_TYPES[column.dtype][1])],
                                        is_array=True if column.shape is not None else None,
                                        array_shape=column.shape, source=source))
            record_sets.append(mlc.RecordSet(ctx=ctx, id=table.name, name=table.name,
                                             description=_table_description(table), fields=fields))
        document = mlc.Metadata(
            ctx=ctx, name=dataset.name, description=dataset.description, cite_as=dataset.cite_as, url=dataset.url,
            keywords=list(dataset.keywords), license=[dataset.license] if dataset.license else None,
            version=dataset.version, data_collection=dataset.provenance,
            data_collection_type=["Synthetic data" if dataset.synthetic else "Secondary data analysis"],
            distribution=distribution, record_sets=record_sets).to_json()
    return document
