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

from common.closed.seeds import generator_seed

from common.core.errors import DataPerfError, display_path
from common.data import croissant
from common.data.download import extract_archive, fetch, find_folder_with

from . import config
from .croissant import croissant_dataset
from .data import ARCHIVE_NAME
from .data import MACHINE_LABELS_PATH, generate, layout


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
