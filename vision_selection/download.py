"""The download task: write the challenge data, from the embedded generator or the official resources.

source: embedded  generates the official layout (pool, examples, test sets, machine labels) for
                  data.concepts at data.scale (1 = the official pool of ~1.2 million images), offline,
                  seeded, one part file at a time
source: official  fetches the resources zip (data.official.resources, checked against its sha256) and
                  extracts it into data/dataperf-vision-selection-resources/, then the Open Images machine
                  labels CSV (data.official.machine_labels; skipped when its url is empty)
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from common.closed.seeds import croissant_seed, generator_seed

from common.core.errors import DataPerfError, display_path
from common.data import croissant
from common.data.download import extract_archive, fetch, find_folder_with

from . import config
from .data import EMB_COL, EMBEDDING_DIM, ID_COL, LABEL_COL, MACHINE_LABELS_PATH, RESOURCES, generate, layout

ARCHIVE_NAME = f"{RESOURCES}.zip"


def download(parameters_file: Path, data_folder: Path) -> None:
    params = config.load(parameters_file)
    data_folder = Path(data_folder)
    lay = layout(data_folder)
    concepts = params.get("data.concepts")
    if params.get("data.source") == "embedded":
        started = time.perf_counter()
        counts = generate(lay.root, concepts, params.get("data.scale"), generator_seed(params))
        print(f"download: generated a pool of {counts['pool']} images in {time.perf_counter() - started:.1f} s; "
              + ", ".join(f"{c}: {counts[c]['positives_in_pool']} in the pool, test set {counts[c]['test']}"
                          for c in concepts))
    else:
        fetch_official(params, data_folder)
    missing = [p for p in [lay.pool] + [f(c) for c in concepts for f in (lay.examples, lay.test_set)]
               if not p.exists()]
    if missing:
        raise DataPerfError("the data is incomplete after download; missing: " + ", ".join(map(display_path, missing)))
    print(f"data: {lay.root}")
    print(f"croissant: {croissant.write(data_folder, croissant_dataset(params, data_folder))}")


def fetch_official(params, data_folder: Path) -> None:
    source = params.get("data.official.resources")
    if not source["url"]:
        raise params.fail("data.official.resources.url", "is empty: the organisers share the resources zip on "
                          "request (dataperf@coactive.ai); put its URL and sha256 here")
    cache = data_folder / ".download"
    archive = fetch(source["url"], source["sha256"], cache, ARCHIVE_NAME)
    target = layout(data_folder).root
    with tempfile.TemporaryDirectory(dir=data_folder, prefix=".extract-") as staging:
        root = extract_archive(archive, Path(staging))
        top = find_folder_with(root, ["embeddings", "examples", "test_sets"])
        if top is None:
            raise DataPerfError(f"{display_path(archive)}: no folder with embeddings/, examples/ and test_sets/ in the archive")
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(top), target)
    print(f"download: extracted {archive.name} into {target}")
    labels = params.get("data.official.machine_labels")
    if labels["url"]:
        path = fetch(labels["url"], labels["sha256"], cache, Path(MACHINE_LABELS_PATH).name)
        (target / MACHINE_LABELS_PATH).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / MACHINE_LABELS_PATH)
        print(f"download: machine labels in {target / MACHINE_LABELS_PATH}")
    else:
        print("download: data.official.machine_labels.url is empty; fps_cv and pseudo_boundary need the labels")


# ------------------------------------------------------------------ Croissant metadata

URL = "https://github.com/CoactiveAI/dataperf-vision-selection"


def _pool_files(pool: Path) -> list[Path]:
    """The pool's parquet files: the parts of a Spark folder (not _SUCCESS or .crc files), or the single file."""
    if pool.is_dir():
        return sorted(p for p in pool.iterdir() if p.is_file() and p.suffix == ".parquet" and not p.name.startswith("."))
    return [pool] if pool.is_file() else []


def croissant_dataset(params, data_folder: Path) -> croissant.Dataset:
    """data/ holds the resources folder: the pool, per concept its examples and test set, the machine labels."""
    embedded = params.get("data.source") == "embedded"
    concepts = params.get("data.concepts")
    lay = layout(data_folder)
    rel = lambda path: Path(path).relative_to(data_folder).as_posix()  # noqa: E731
    pool = [rel(p) for p in _pool_files(lay.pool)]
    examples = [rel(lay.examples(c)) for c in concepts]
    tests = [rel(lay.test_set(c)) for c in concepts]
    files = {p: "A part of the candidate pool: ImageID and embedding of unlabelled Open Images pictures." for p in pool}
    if lay.pool.is_dir() and (lay.pool / "_SUCCESS").is_file():
        files[rel(lay.pool / "_SUCCESS")] = "Spark's empty marker of a complete pool folder."
    files.update({p: f"The 20 example positives of {c} (in the pool)." for p, c in zip(examples, concepts)})
    files.update({p: f"The labelled test set of {c}: the evaluator's." for p, c in zip(tests, concepts)})
    labels = [rel(lay.machine_labels)] if lay.machine_labels.is_file() else []
    for path in labels:
        files[path] = ("Open Images machine-generated image labels of the pool images (weak labels participants may "
                       "use; Open Images annotations are licensed CC BY 4.0)." if not embedded else
                       "Machine-generated labels of the pool images, Open Images style (weak labels participants may use).")
    if not embedded:
        for path in croissant.files_under(data_folder, RESOURCES):
            files.setdefault(path, "Part of the official resources archive, not read by this suite.")

    def optional(columns: list[str], present: list[str]) -> tuple:
        return tuple(croissant.Column(name, "text", text, column=name)
                     for name, text in (("LabelName", "Open Images MID of the concept."),
                                        ("OriginalURL", "URL of the picture."),
                                        ("DisplayName", "Name of the concept.")) if name in present and name in columns)

    embedding = lambda path: croissant.Column(  # noqa: E731
        "embedding", croissant.parquet_dtype(data_folder / path, EMB_COL, "float64"),
        f"Image embedding, {EMBEDDING_DIM} values.", column=EMB_COL, shape=str(EMBEDDING_DIM))
    concept = lambda pattern: croissant.Column("concept", "text", "Concept name, from the file name.",  # noqa: E731
                                               file_property="filename", regex=pattern)
    names = ["LabelName", "OriginalURL", "DisplayName"]
    tables = [croissant.Table(
        name="pool", description="The candidate pool: one row per unlabelled image.", encoding="application/x-parquet",
        files=tuple(pool), columns=(croissant.Column("ImageID", "text", "Open Images id (16 hex characters).",
                                                     column=ID_COL), embedding(pool[0]))),
        croissant.Table(
            name="examples", description="Every concept's example positives, one row per image.",
            encoding="text/csv", files=tuple(examples), columns=(
                concept(r"^alpha_example_set_(.+)\.csv$"),
                croissant.Column("ImageID", "text", "Pool image id.", column=ID_COL),
                croissant.Column("Confidence", "float", "1: a positive.", column=LABEL_COL),
            ) + optional(names, croissant.csv_columns(data_folder / examples[0]))),
        croissant.Table(
            name="test_sets", description="Every concept's labelled test set, one row per image.", evaluator_only=True,
            encoding="application/x-parquet", files=tuple(tests), columns=(
                concept(r"^alpha_test_set_(.+)_256\.parquet$"),
                croissant.Column("ImageID", "text", "Image id.", column=ID_COL),
                croissant.Column("Confidence", croissant.parquet_dtype(data_folder / tests[0], LABEL_COL, "text"),
                                 "The label, '1' (the concept) or '0'.", column=LABEL_COL),
            ) + optional(names, croissant.parquet_columns(data_folder / tests[0])) + (embedding(tests[0]),))]
    if labels:
        tables.append(croissant.Table(
            name="machine_labels", description="Machine-generated labels of pool images, one row per (image, label).",
            encoding="text/csv", files=tuple(labels), columns=(
                croissant.Column("ImageID", "text", "Pool image id.", column=ID_COL),
                croissant.Column("Source", "text", "Who labelled it ('machine').", column="Source"),
                croissant.Column("LabelName", "text", "Open Images MID of the label.", column="LabelName"),
                croissant.Column("Confidence", "float", "The labeller's confidence, 0 to 1.", column=LABEL_COL))))
    if embedded:
        provenance = croissant.generated_by("vision_selection.data.generate", {
            "seed": croissant_seed(params), "concepts": concepts, "scale": params.get("data.scale")})
        kind = "embedded data generated by the dataperf suite with the official layout and formats"
    else:
        sources = [(params.get("data.official.resources")["url"], data_folder / ".download" / ARCHIVE_NAME)]
        if params.get("data.official.machine_labels")["url"]:
            sources.append((params.get("data.official.machine_labels")["url"],
                            data_folder / ".download" / Path(MACHINE_LABELS_PATH).name))
        provenance = croissant.downloaded_from(sources)
        kind = ("the official resources (embeddings of Open Images V6 training pictures; the resources archive "
                "states no license) and the Open Images machine labels (Open Images annotations are licensed CC BY "
                "4.0)")
    return croissant.Dataset(
        name="dataperf-vision-selection",
        description=("DataPerf vision selection: per concept, choose at most 1,000 labelled training images from a "
                     f"pool of unlabelled image embeddings. This folder holds {kind}, for the concepts "
                     f"{', '.join(concepts)}. The test sets are the evaluator's."),
        url=URL, cite_as=croissant.DATAPERF_CITATION + ("" if embedded else "\n" + croissant.OPEN_IMAGES_CITATION),
        provenance=provenance, synthetic=embedded, files=files, tables=tuple(tables),
        evaluator_only=frozenset(tests), version=croissant.suite_version() if embedded else None)
