"""vision_selection's Croissant file: valid, and read back equal to the cube's readers."""
from __future__ import annotations

import hashlib
import json
import shutil
import zipfile

import numpy as np
import yaml

from vision_selection import config
from vision_selection.data import generate, layout, read_examples, read_pool, read_test_set
from vision_selection.croissant import croissant_dataset
from vision_selection.download import download

from support.croissant import QUIET, by_file, check_written, records

pytestmark = QUIET


def _check(ws):
    params = config.load(ws / "parameters.yaml")
    return check_written(ws / "data", croissant_dataset(params, ws / "data")), \
        json.loads((ws / "data" / "croissant.json").read_text())


def test_embedded_download(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "parameters.yaml").write_text(yaml.safe_dump({"data": {"scale": 0.002, "concepts": ["Cupcake", "Hawk"]}}))
    download(ws / "parameters.yaml", ws / "data")
    dataset, document = _check(ws)
    lay = layout(ws / "data")
    pool = records(dataset, "pool")
    ids, x = read_pool(lay.pool, dtype=np.float64)
    # the records come file by file in name order, the reader's order too (part names are numbered)
    assert [r["ImageID"] for r in pool] == ids.tolist()
    assert np.array_equal(np.array([r["embedding"] for r in pool]), x)
    tests = by_file(records(dataset, "test_sets"), "concept")
    for concept in ("Cupcake", "Hawk"):
        test = read_test_set(lay.test_set(concept))
        assert [r["ImageID"] for r in tests[concept]] == test.ids
        assert [int(r["Confidence"]) for r in tests[concept]] == test.y.tolist()
        assert np.array_equal(np.array([r["embedding"] for r in tests[concept]]), test.x)
    by_name = {r["name"]: r for r in document["recordSet"]}
    assert by_name["test_sets"]["description"].startswith("Evaluator only")
    assert not any(by_name[n]["description"].startswith("Evaluator only") for n in ("pool", "examples", "machine_labels"))
    assert '"concepts": ["Cupcake", "Hawk"]' in document["rai:dataCollection"]


def test_official_download(tmp_path, http_folder):
    root, url = http_folder
    source = tmp_path / "src" / "dataperf-vision-selection-resources"
    generate(source, ["Cupcake", "Hawk"], 0.002, 3)
    labels = source / "machine_labels" / "train-annotations-machine-imagelabels.csv"
    shutil.move(labels, root / labels.name)
    (source / "train_sets").mkdir()
    (source / "train_sets" / "random_500.csv").write_text("ImageID,Confidence\n")
    archive = root / "resources.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(source.parent.rglob("*")):
            zf.write(path, path.relative_to(source.parent))
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    ws = tmp_path / "ws"
    ws.mkdir()
    official = {"resources": {"url": f"{url}/resources.zip", "sha256": digest(archive)},
                "machine_labels": {"url": f"{url}/{labels.name}", "sha256": digest(root / labels.name)}}
    (ws / "parameters.yaml").write_text(yaml.safe_dump({"data": {"source": "official", "concepts": ["Cupcake", "Hawk"],
                                                                 "official": official}}))
    download(ws / "parameters.yaml", ws / "data")
    dataset, document = _check(ws)
    examples = by_file(records(dataset, "examples"), "concept")
    for concept in ("Cupcake", "Hawk"):
        assert [r["ImageID"] for r in examples[concept]] == read_examples(layout(ws / "data").examples(concept))
    machine = records(dataset, "machine_labels")
    assert len(machine) == len((root / labels.name).read_text().splitlines()) - 1
    extra = next(e for e in document["distribution"] if e.get("contentUrl", "").endswith("random_500.csv"))
    assert extra["description"] == "Part of the official resources archive, not read by this suite."
    assert f"{url}/{labels.name} (sha256 {digest(root / labels.name)})" in document["rai:dataCollection"]
