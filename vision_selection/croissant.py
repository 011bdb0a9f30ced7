"""The Croissant metadata of what vision_selection's download writes (common/data/croissant.py renders and checks it)."""
from __future__ import annotations

from pathlib import Path

from common.closed.seeds import croissant_seed
from common.data import croissant

from .data import ARCHIVE_NAME, EMB_COL, EMBEDDING_DIM, ID_COL, LABEL_COL, MACHINE_LABELS_PATH, RESOURCES, layout

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
