"""The shared library: atomic I/O, metrics, hash-checked downloads (extraction: test_untrusted_archives; parameters: test_parameters)."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from common.core import io as dio
from common.core.errors import DataPerfError, ValidationError
from common.data import tables
from common.data.download import fetch
from common.results.metrics import summarize
from common.results.runrecord import run_record
from common.untrusted import documents

def test_atomic_write_keeps_the_previous_version(tmp_path):
    path = tmp_path / "r.json"
    dio.write_json(path, {"a": 1})
    dio.write_json(path, {"a": 1})  # same content: nothing to archive
    assert not (tmp_path / "previous").exists()
    dio.write_json(path, {"a": 2})
    assert documents.read_json(path) == {"a": 2}
    (old,) = (tmp_path / "previous").rglob("r.json")
    assert documents.read_json(old) == {"a": 1}
    assert not list(tmp_path.glob(".*.tmp"))


def test_json_is_plain_and_finite(tmp_path):
    dio.write_json(tmp_path / "a.json", {"x": np.float32(0.5), "y": np.arange(2)})
    assert documents.read_json(tmp_path / "a.json") == {"x": 0.5, "y": [0, 1]}
    # JSON has no NaN or infinity: such a figure is recorded as unknown, the document is never lost whole
    dio.write_json(tmp_path / "b.json", {"x": float("nan"), "y": [np.float64("inf"), 1.5], "z": -np.inf})
    assert documents.read_json(tmp_path / "b.json") == {"x": None, "y": [None, 1.5], "z": None}


def test_read_errors_name_the_file(tmp_path):
    (tmp_path / "bad.json").write_text("{oops")
    with pytest.raises(ValidationError, match="bad.json: line 1: not valid JSON"):
        documents.read_json(tmp_path / "bad.json")
    with pytest.raises(ValidationError, match="nope.yaml: file not found"):
        documents.read_yaml(tmp_path / "nope.yaml")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(ValidationError, match="not a readable parquet"):
        tables.read_parquet(tmp_path / "bad.parquet", ["a"])


def test_parquet_matrix_round_trip_and_ragged_rows(tmp_path):
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    tables.write_parquet(tmp_path / "m.parquet", {"encoding": x, "label": [0, 1, 0]})
    table = tables.read_parquet(tmp_path / "m.parquet", ["encoding", "label"])
    np.testing.assert_array_equal(tables.matrix_column(table, "encoding", "m"), x)
    import pyarrow as pa
    import pyarrow.parquet as pq
    pq.write_table(pa.table({"encoding": [[1.0, 2.0], [3.0]]}), tmp_path / "r.parquet")
    with pytest.raises(ValidationError, match="row 1 of column 'encoding': every row must hold 2 numbers"):
        tables.matrix_column(tables.read_parquet(tmp_path / "r.parquet", ["encoding"]), "encoding", "r.parquet")
    with pytest.raises(ValidationError, match="required columns missing"):
        tables.read_parquet(tmp_path / "m.parquet", ["filename"])


def test_summarize_hand_computed():
    s = summarize([1.0, 2.0, 3.0])
    assert s["mean"] == 2.0 and s["std"] == 1.0 and s["n"] == 3
    half = 4.302652729911275 / np.sqrt(3)  # t(0.975, 2)
    assert s["ci95_low"] == pytest.approx(2 - half) and s["ci95_high"] == pytest.approx(2 + half)
    assert summarize([0.25]) == {"n": 1, "mean": 0.25, "std": 0.0, "ci95_low": 0.25, "ci95_high": 0.25}


def test_run_record_has_versions_hashes_and_parameters(tmp_path):
    (tmp_path / "f.txt").write_text("hello")
    record = run_record("evaluate", {"seed": 1}, [tmp_path / "f.txt"], relative_to=tmp_path, device="cpu")
    assert record["inputs_sha256"] == {"f.txt": hashlib.sha256(b"hello").hexdigest()}
    assert record["packages"]["numpy"] and record["parameters"] == {"seed": 1} and record["device"] == "cpu"


# --------------------------------------------------------------- archives

# --------------------------------------------------------------- downloads over loopback

def test_fetch_checks_the_hash(http_folder, tmp_path, capsys):
    root, url = http_folder
    (root / "f.bin").write_bytes(b"payload")
    digest = hashlib.sha256(b"payload").hexdigest()
    got = fetch(f"{url}/f.bin", digest, tmp_path / "dl", "f.bin")
    assert got.read_bytes() == b"payload"
    with pytest.raises(DataPerfError, match="download rejected"):
        fetch(f"{url}/f.bin", "0" * 64, tmp_path / "dl2", "f.bin")
    assert not (tmp_path / "dl2" / "f.bin").exists()
    with pytest.raises(DataPerfError, match="no sha256 given"):
        fetch(f"{url}/f.bin", "", tmp_path / "dl3", "f.bin")
    fetch(f"{url}/f.bin", "any", tmp_path / "dl4", "f.bin")
    assert digest in capsys.readouterr().out
    with pytest.raises(DataPerfError, match="download failed"):
        fetch(f"{url}/missing.bin", "any", tmp_path / "dl5", "m.bin")


def test_random_ids_are_distinct_hex_and_seeded():
    from common.data.synth import random_ids
    a = random_ids(np.random.default_rng(0), 500)
    assert len(set(a)) == 500 and all(len(i) == 16 and int(i, 16) >= 0 for i in a)
    assert a == random_ids(np.random.default_rng(0), 500)


def _scaled_square(shared, x):
    return shared["factor"] * x * x


def test_parallel_map_keeps_order_matches_serial_and_passes_the_shared_inputs():
    from common.compute.parallel import parallel_map, resolve_workers
    items = list(range(7))
    shared = {"factor": 3}
    assert parallel_map(_scaled_square, items, workers=2, shared=shared) == \
        parallel_map(_scaled_square, items, workers=1, shared=shared) == [3 * i * i for i in items]
    assert resolve_workers("auto", 1) == 1 and resolve_workers(8, 3) == 3


def _torch_threads(_shared, _job):
    import torch
    return torch.get_num_threads()


def test_workers_pin_torch_to_one_thread_even_when_imported_late():
    # run in a fresh interpreter: this test process may already have imported torch
    import subprocess
    import sys
    code = ("from common.compute.parallel import parallel_map\n"
            "import test_io_metrics_parallel as test_common\n"
            "import sys\nassert 'torch' not in sys.modules\n"
            "print(parallel_map(test_common._torch_threads, range(4), 2))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=str(__import__("pathlib").Path(__file__).parent))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[1, 1, 1, 1]"
