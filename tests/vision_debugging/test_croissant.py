"""vision_debugging's Croissant files: one per folder, valid, and read back equal to the cube's readers."""
from __future__ import annotations

import hashlib
import json
import zipfile

import numpy as np

from vision_debugging import config
from vision_debugging.config import sizes_for
from vision_debugging.data import generate_task, load_groundtruth, load_split, task_files, write_task
from vision_debugging.croissant import croissant_datasets
from vision_debugging.download import download

from support.croissant import QUIET, by_file, check_written, records
from support.vision_debugging import TINY, write_parameters

pytestmark = QUIET


def _check_folders(ws, embedding_names, groundtruth_names):
    """Both Croissant files as written, the train records equal to load_split, the verified labels to
    load_groundtruth; returns the two documents."""
    params = config.load(ws / "parameters.yaml")
    sizes = config.split_sizes(params)
    (emb, embeddings), (gt, verified) = croissant_datasets(params, ws / "embeddings", ws / "data",
                                                           embedding_names, groundtruth_names)
    train = by_file(records(check_written(emb, embeddings), "train"), "task")
    labels = by_file(records(check_written(gt, verified), "verified_labels"), "task")
    assert set(train) == set(labels) == set(params.get("data.tasks"))
    for data_id in params.get("data.tasks"):
        files = task_files(ws / "embeddings", ws / "data", data_id, params.get("data.noise_level"), sizes)
        split = load_split(files.train)
        # the records come in file order: compare row by row, vectors exactly (float32 both ways)
        assert [r["filename"] for r in train[data_id]] == split.ids
        assert np.array_equal(np.array([r["encoding"] for r in train[data_id]], dtype=np.float32), split.x)
        assert [r["label"] for r in train[data_id]] == split.y.tolist()
        verified_rows = {r["ImageID"]: r["hv_label"] for r in labels[data_id]}
        assert [verified_rows[i] for i in split.ids] == load_groundtruth(files.groundtruth, split.ids).tolist()
    return [json.loads((folder / "croissant.json").read_text()) for folder in (emb, gt)]


def test_embedded_download_describes_each_folder_apart(tmp_path):
    ws = tmp_path / "ws"
    download(write_parameters(ws, TINY), ws / "embeddings", ws / "data")
    params = config.load(ws / "parameters.yaml")
    sizes = config.split_sizes(params)
    files = [task_files(ws / "embeddings", ws / "data", d, 0.3, sizes) for d in TINY["data"]["tasks"]]
    embeddings, verified = _check_folders(ws, [p.name for f in files for p in (f.train, f.val, f.test)],
                                          [f.groundtruth.name for f in files])
    # the participant's folder names no verified label; the evaluator's files are marked as such
    assert all("dataset_" not in entry["contentUrl"] for entry in embeddings["distribution"] if "contentUrl" in entry)
    test_sets = [e for e in embeddings["distribution"] if e.get("contentUrl", "").find("_test_") > 0]
    assert test_sets and all(e["description"].startswith("Evaluator only") for e in test_sets)
    assert [r["description"].startswith("Evaluator only") for r in embeddings["recordSet"]] == [False, False, True]
    assert verified["recordSet"][0]["description"].startswith("Evaluator only")
    encoding = next(f for f in embeddings["recordSet"][0]["field"] if f["name"] == "encoding")
    assert (encoding["dataType"], encoding["cr:arrayShape"]) == ("cr:Float32", "2048")
    # the generator, its parameters and the seed
    assert '"seed": 0' in embeddings["rai:dataCollection"] and '"noise_level": 0.3' in embeddings["rai:dataCollection"]
    assert "DataPerf" in embeddings["citeAs"] and "license" not in embeddings


def test_official_download_is_described_from_what_the_archive_held(tmp_path, http_folder):
    root, url = http_folder
    tasks = ["04rky"]
    layout = tmp_path / "official" / "cleaning_challenge_data"
    sizes = sizes_for(1.0)   # the official sizes, which the task reads for official data
    for data_id in tasks:
        write_task(task_files(layout / "embeddings", layout / "data", data_id, 0.3, sizes),
                   generate_task(data_id, sizes, 0.3, 7))
    (layout / "embeddings" / "notes.txt").write_text("not data\n")
    archive = root / "cleaning.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(layout.rglob("*")):
            zf.write(path, path.relative_to(tmp_path / "official"))
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    ws = tmp_path / "ws"
    params_file = write_parameters(ws, {"data": {"source": "official", "tasks": tasks,
                                                 "official": {"url": f"{url}/cleaning.zip", "sha256": digest}}})
    download(params_file, ws / "embeddings", ws / "data")
    embeddings, verified = _check_folders(ws, sorted(p.name for p in (layout / "embeddings").iterdir()),
                                          sorted(p.name for p in (layout / "data").iterdir()))
    notes = next(e for e in embeddings["distribution"] if e.get("contentUrl") == "notes.txt")
    assert notes["description"] == "Part of the official archive's embeddings/, not read by this suite."
    assert f"{url}/cleaning.zip (sha256 {digest})" in embeddings["rai:dataCollection"]
    assert "Open Images" in verified["citeAs"]
