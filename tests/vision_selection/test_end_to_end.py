"""vision_selection end to end: the generated layout, the four tasks through the CLI, clean failures, and the
official download from a loopback server."""
from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from common.core.errors import ValidationError
from vision_selection import config
from vision_selection.baselines import BUILTIN
from vision_selection.data import generate, layout, mid_of, read_examples, read_machine_labels, read_pool

from support.vision_selection import TINY


def test_generated_data_has_the_official_layout_and_formats(tmp_path):
    counts = generate(tmp_path / "res", ["Cupcake", "Hawk", "Sushi", "Pizza"], 0.002, 0)
    lay = layout(tmp_path)   # layout() adds the resources folder name
    root = tmp_path / "res"
    pool_dir = root / "embeddings" / "train_emb_256_dataperf.parquet"
    parts = sorted(pool_dir.glob("part-*.snappy.parquet"))
    assert parts and (pool_dir / "_SUCCESS").is_file() and lay.root.name == "dataperf-vision-selection-resources"
    schema = pq.read_schema(parts[0])
    assert schema.field("ImageID").type == pa.string() and schema.field("embedding").type == pa.list_(pa.float64())
    ids, x = read_pool(pool_dir, dtype=np.float64)
    assert len(ids) == counts["pool"] == 2400 and x.shape == (2400, 256) and len(set(ids)) == 2400
    assert all(re.fullmatch(r"[0-9a-f]{16}", i) for i in ids)
    for concept, (size, rate) in {"Cupcake": (137, 0.50), "Hawk": (145, 0.70), "Sushi": (162, 0.66),
                                  "Pizza": (150, 0.6)}.items():
        with open(root / "examples" / f"alpha_example_set_{concept}.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert list(rows[0]) == ["LabelName", "ImageID", "Confidence", "OriginalURL", "DisplayName"]
        assert len(rows) == 20 and {r["Confidence"] for r in rows} == {"1"} and set(read_examples(
            root / "examples" / f"alpha_example_set_{concept}.csv")) <= set(ids)
        assert rows[0]["LabelName"] == mid_of(concept) and rows[0]["DisplayName"] == concept
        test = pq.read_table(root / "test_sets" / f"alpha_test_set_{concept}_256.parquet")
        assert test.column_names == ["ImageID", "LabelName", "Confidence", "OriginalURL", "DisplayName", "embedding"]
        labels = test.column("Confidence").to_pylist()
        assert len(labels) == size and set(labels) == {"0", "1"} and labels.count("1") == round(size * rate)
        assert not set(test.column("ImageID").to_pylist()) & set(ids)
    assert mid_of("Cupcake") == "/m/03p1r4" and mid_of("Pizza").startswith("/m/0")
    header = (root / "machine_labels" / "train-annotations-machine-imagelabels.csv").read_text().split("\n")[0]
    assert header == "ImageID,Source,LabelName,Confidence"
    labels = read_machine_labels(root / "machine_labels" / "train-annotations-machine-imagelabels.csv",
                                 [mid_of("Hawk")]).to_pandas()
    assert len(labels) > 20 and set(labels["ImageID"]) <= set(ids) and labels["Confidence"].between(0.5, 1).all()


def test_generator_is_seeded(tmp_path):
    generate(tmp_path / "a", ["Hawk"], 0.002, 4)
    generate(tmp_path / "b", ["Hawk"], 0.002, 4)
    generate(tmp_path / "c", ["Hawk"], 0.002, 5)
    files = lambda root: sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())  # noqa: E731
    assert files(tmp_path / "a") == files(tmp_path / "b")
    for path in files(tmp_path / "a"):
        assert (tmp_path / "a" / path).read_bytes() == (tmp_path / "b" / path).read_bytes(), path
    assert (tmp_path / "a" / "examples" / "alpha_example_set_Hawk.csv").read_bytes() != \
        (tmp_path / "c" / "examples" / "alpha_example_set_Hawk.csv").read_bytes()


def _run(ws, *extra):
    return subprocess.run([sys.executable, "-m", "common", "run", "vision_selection", "--workspace", str(ws), *extra],
                          capture_output=True, text=True)


def test_all_four_tasks_and_clean_failures(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "parameters.yaml").write_text(yaml.safe_dump({**TINY, "data": {"scale": 0.005}}))
    proc = _run(ws)
    assert proc.returncode == 0, proc.stderr
    assert "F1 of the positive class of the frozen logistic regression (f1, higher is better)" in proc.stdout
    for method in BUILTIN:
        for concept in config.CONCEPTS:
            with open(ws / "submissions" / method / f"{concept}.csv", newline="") as handle:
                assert next(csv.reader(handle)) == ["ImageID", "Confidence"]
    summary = json.loads((ws / "results" / "summary.json").read_text())
    assert set(summary["methods"]) == set(BUILTIN)
    means = {m: s["mean"] for m, s in summary["methods"].items()}
    assert means["pseudo_boundary"] > means["random"] + 0.15 and means["fps_cv"] > means["random"] + 0.1, means
    result = json.loads((ws / "results" / "random_result.json").read_text())
    assert set(result) == set(config.CONCEPTS) and set(result["Hawk"]) == {"accuracy", "recall", "precision", "f1"}
    for name in ("f1_per_concept.png", "precision_recall.png"):
        assert (ws / "plots" / name).read_bytes()[:4] == b"\x89PNG"
    # A second evaluate gives the same numbers and keeps nothing twice.
    assert _run(ws, "--task=evaluate").returncode == 0
    assert json.loads((ws / "results" / "summary.json").read_text())["methods"]["random"]["mean"] == means["random"]

    broken = ws / "submissions" / "broken"
    broken.mkdir()
    (broken / "Cupcake.csv").write_text("ImageID,Confidence\n")
    (broken / "Hawk.json").write_text('{"a": 1')
    proc = _run(ws, "--task=evaluate")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "broken/Sushi.csv: method 'broken': missing file" in proc.stderr
    (broken / "Sushi.csv").write_text("ImageID,Confidence\n")
    proc = _run(ws, "--task=evaluate")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "broken/Hawk.json: line 1 column 8: malformed JSON" in proc.stderr
    assert "broken/Cupcake.csv: empty training set" in proc.stderr
    (ws / "parameters.yaml").write_text(yaml.safe_dump({"data": {"concepts": ["Cup cake"]}}))
    proc = _run(ws, "--task=evaluate")
    assert proc.returncode == 1 and "parameter 'data.concepts[0]': must be a concept name" in proc.stderr


def test_official_download_from_a_loopback_server(tmp_path, http_folder):
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
    proc = _run(ws, "--task=download")
    assert proc.returncode == 0, proc.stderr
    got = layout(ws / "data")
    assert (got.root / "train_sets" / "random_500.csv").is_file()
    assert read_pool(got.pool)[0].tolist() == read_pool(source / "embeddings" / "train_emb_256_dataperf.parquet")[0].tolist()
    assert got.machine_labels.read_bytes() == (root / labels.name).read_bytes()
    official["resources"]["sha256"] = "0" * 64
    (ws / "parameters.yaml").write_text(yaml.safe_dump({"data": {"source": "official", "official": official}}))
    shutil.rmtree(ws / "data")
    proc = _run(ws, "--task=download")
    assert proc.returncode == 1 and "download rejected" in proc.stderr and "Traceback" not in proc.stderr
    (ws / "parameters.yaml").write_text(yaml.safe_dump({"data": {"source": "official"}}))
    proc = _run(ws, "--task=download")
    assert proc.returncode == 1 and "data.official.resources.url" in proc.stderr


def test_missing_machine_labels_is_a_clear_error(tmp_path):
    with pytest.raises(ValidationError, match="machine labels not found"):
        read_machine_labels(tmp_path / "nope.csv", ["/m/x"])
