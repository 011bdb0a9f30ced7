"""common.data.croissant: the same file with and without mlcroissant, exact file sets, and what it refuses."""
from __future__ import annotations

import json
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from common.data import croissant
from common.untrusted.documents import sha256_file

from support.croissant import QUIET, check_written, records, validate

pytestmark = QUIET


def _parquet(path, ids, x):
    flat = pa.array(np.asarray(x, dtype=np.float32).ravel())
    pq.write_table(pa.table({"id": pa.array(ids), "vector": pa.FixedSizeListArray.from_arrays(flat, 3)}), path)


def _folder(tmp_path):
    """A folder with two described parquet files (one with a space and a bracket in its name), a stale one left
    by an earlier run, a text file, a download cache and an archived earlier version."""
    folder = tmp_path / "data"
    (folder / "parts").mkdir(parents=True)
    _parquet(folder / "parts" / "a.parquet", ["a0", "a1"], [[1, 2, 3], [4, 5, 6]])
    _parquet(folder / "parts" / "b [1].parquet", ["b0"], [[7.5, 8, 9]])
    _parquet(folder / "parts" / "a.parquet.old.parquet", ["zz"], [[0, 0, 0]])
    (folder / "budget.txt").write_text("12.5\n")
    (folder / ".download").mkdir()
    (folder / ".download" / "archive.zip").write_bytes(b"zip")
    (folder / "previous" / "20200101T000000Z").mkdir(parents=True)
    (folder / "previous" / "20200101T000000Z" / "budget.txt").write_text("1\n")
    dataset = croissant.Dataset(
        name="example", description="An example.", url="https://example.org", cite_as=croissant.DATAPERF_CITATION,
        provenance=croissant.generated_by("tests.example", {"seed": 3, "scale": 0.5}), synthetic=True,
        files={"parts/a.parquet": "Part a.", "parts/b [1].parquet": "Part b.", "budget.txt": "The budget."},
        evaluator_only=frozenset({"budget.txt"}), version="0.1.0", license=croissant.CC_BY_4,
        tables=(croissant.Table(
            name="vectors", description="Every part's rows.", encoding="application/x-parquet",
            files=("parts/a.parquet", "parts/b [1].parquet"), columns=(
                croissant.Column("part", "text", "From the file name.", file_property="filename",
                                 regex=r"^(.+?)( \[1\])?\.parquet$"),
                croissant.Column("id", "text", "Row id.", column="id"),
                croissant.Column("vector", croissant.parquet_dtype(folder / "parts" / "a.parquet", "vector", "float64"),
                                 "Three values.", column="vector", shape="3"))),
            croissant.Table(name="budget", description="The budget.", encoding="text/plain", files=("budget.txt",),
                            evaluator_only=True,
                            columns=(croissant.Column("budget", "float", "The budget.", file_property="lines"),))))
    return folder, dataset


def test_both_routes_write_the_same_file_which_reads_back_exactly(tmp_path, monkeypatch):
    folder, dataset = _folder(tmp_path)
    written = croissant.write(folder, dataset).read_bytes()
    document = check_written(folder, dataset)   # mlcroissant's JSON, the plain JSON and the file agree; valid
    rows = records(document, "vectors")
    assert [(r["part"], r["id"]) for r in rows] == [("a", "a0"), ("a", "a1"), ("b", "b0")]   # not the stale file
    assert np.array_equal(np.array([r["vector"] for r in rows], dtype=np.float32),
                          [[1, 2, 3], [4, 5, 6], [7.5, 8, 9]])
    assert records(document, "budget") == [{"budget": 12.5}]
    # without mlcroissant (the cube images) the same bytes, and the earlier file is replaced, not archived
    monkeypatch.setitem(sys.modules, "mlcroissant", None)
    (folder / croissant.FILE_NAME).write_text("{}")
    assert croissant.write(folder, dataset).read_bytes() == written
    assert not list((folder / "previous").rglob(croissant.FILE_NAME))
    meta = json.loads(written)
    files = {e["name"]: e for e in meta["distribution"] if e["@type"] == "cr:FileObject"}
    assert set(files) == set(dataset.files)
    assert files["parts/b [1].parquet"]["@id"] == "parts/b_[1].parquet"          # ids hold no whitespace
    assert files["parts/b [1].parquet"]["sha256"] == sha256_file(folder / "parts" / "b [1].parquet")
    assert files["budget.txt"]["description"] == croissant.EVALUATOR_ONLY + "The budget."
    assert files["parts/a.parquet"]["encodingFormat"] == "application/x-parquet"
    assert next(f for f in meta["recordSet"][0]["field"] if f["name"] == "vector")["dataType"] == "cr:Float32"
    assert meta["rai:dataCollection"].endswith('parameters: {"scale": 0.5, "seed": 3}')
    assert meta["conformsTo"] == croissant.CONFORMS_TO


def test_files_under_skips_caches_earlier_versions_and_itself(tmp_path):
    folder, dataset = _folder(tmp_path)
    croissant.write(folder, dataset)
    assert croissant.files_under(folder) == ["budget.txt", "parts/a.parquet", "parts/a.parquet.old.parquet",
                                             "parts/b [1].parquet"]
    assert croissant.files_under(folder, "parts")[0] == "parts/a.parquet"
    assert croissant.files_under(folder, "nothing") == []


def test_a_description_that_does_not_hold_is_refused(tmp_path):
    folder, dataset = _folder(tmp_path)
    table = dataset.tables[1]
    broken = croissant.Dataset(**{**dataset.__dict__, "files": {"budget.txt": "The budget."},
                                  "tables": dataset.tables})
    with pytest.raises(ValueError, match="files not in the dataset"):
        croissant.write(folder, broken)
    odd = croissant.Table(**{**table.__dict__, "columns": (croissant.Column("x", "complex", "?", column="x"),)})
    with pytest.raises(ValueError, match="unknown type complex"):
        croissant.write(folder, croissant.Dataset(**{**dataset.__dict__, "tables": (odd,)}))
    assert not (folder / croissant.FILE_NAME).exists()


def test_validation_reports_warnings_beyond_the_accepted_ones(tmp_path):
    folder, dataset = _folder(tmp_path)
    croissant.write(folder, croissant.Dataset(**{**dataset.__dict__, "cite_as": ""}))
    with pytest.raises(AssertionError, match="citeAs"):
        validate(folder / croissant.FILE_NAME)


def test_empty_values_are_left_out_both_ways(tmp_path):
    folder, dataset = _folder(tmp_path)
    bare = croissant.Dataset(**{**dataset.__dict__, "cite_as": "", "tables": (), "files": {"budget.txt": ""}})
    digests = {"budget.txt": sha256_file(folder / "budget.txt")}
    plain = croissant.plain(bare, digests)
    assert plain == croissant.with_mlcroissant(bare, digests)
    assert "citeAs" not in plain and "recordSet" not in plain and "description" in plain["distribution"][0]
