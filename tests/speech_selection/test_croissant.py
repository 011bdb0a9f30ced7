"""speech_selection's Croissant file: valid, and read back equal to the cube's readers (non-ASCII names too)."""
from __future__ import annotations

import hashlib
import json
import zipfile

import numpy as np
import pytest
import yaml

from common.core.errors import ValidationError
from speech_selection import config
from speech_selection.data import EmbeddingStore, generate_language, language_files, read_id_lists, write_language
from speech_selection.croissant import croissant_dataset
from speech_selection.download import download, write_id_table

from support.croissant import QUIET, by_file, check_written, records

pytestmark = QUIET


def _expected_ids(lists: dict) -> list[tuple[str, str]]:
    return [(clip, keyword) for keyword, ids in lists["targets"].items() for clip in ids] + \
        [(clip, "nontarget") for clip in lists["nontargets"]]


def _check(ws, lang):
    """The file as written; the allowed set and the train embeddings of lang equal to the cube's readers."""
    params = config.load(ws / "parameters.yaml")
    document = check_written(ws / "data", croissant_dataset(params, ws / "data"))
    files = language_files(ws / "data", lang)
    allowed = records(document, f"allowed_training_set_{lang}")
    assert [(r["clip_id"], r["label"]) for r in allowed] == _expected_ids(read_id_lists(files.allowed))
    store = EmbeddingStore(files.train_embeddings)
    per_word = by_file(records(document, f"train_embeddings_{lang}"), "word")
    assert set(per_word) == {p.stem for p in files.train_embeddings.glob("*.parquet")} - {"stale"}
    for word, rows in per_word.items():
        table = store.word(word)
        assert [r["clip_id"] for r in rows] == table.ids
        assert np.array_equal(np.array([r["embedding"] for r in rows], dtype=np.float32), table.x)
    return json.loads((ws / "data" / "croissant.json").read_text(encoding="utf-8"))


def test_embedded_download(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "parameters.yaml").write_text(yaml.safe_dump({"data": {"languages": ["pt"], "scale": 0.02}}))
    (ws / "data" / "dataperf_pt_data" / "train_embeddings").mkdir(parents=True)
    (ws / "data" / "dataperf_pt_data" / "train_embeddings" / "stale.parquet").write_bytes(b"an earlier run's")
    download(ws / "parameters.yaml", ws / "data")
    document = _check(ws, "pt")
    names = {r["name"]: r for r in document["recordSet"]}
    assert set(names) == {f"{kind}_pt" for kind in
                          ("train_embeddings", "eval_embeddings", "allowed_training_set", "eval_set")}
    assert all(names[f"{kind}_pt"]["description"].startswith("Evaluator only")
               for kind in ("eval_embeddings", "eval_set"))
    assert not names["allowed_training_set_pt"]["description"].startswith("Evaluator only")
    urls = {e["contentUrl"] for e in document["distribution"] if "contentUrl" in e}
    assert "dataperf_pt_data/train_embeddings/então.parquet" in urls   # non-ASCII names kept
    assert not any("stale" in u for u in urls)
    assert '"scale": 0.02' in document["rai:dataCollection"]


def test_official_download(tmp_path, http_folder):
    root, url = http_folder
    src = tmp_path / "src"
    write_language(language_files(src, "pt"), generate_language("pt", 0.02, 3))
    archive = root / "dataperf_por_data.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted((src / "dataperf_pt_data").rglob("*")):
            zf.write(path, path.relative_to(src))
    ws = tmp_path / "ws"
    ws.mkdir()
    official = {"pt": {"url": f"{url}/{archive.name}", "sha256": hashlib.sha256(archive.read_bytes()).hexdigest()}}
    (ws / "parameters.yaml").write_text(yaml.safe_dump({"data": {"source": "official", "languages": ["pt"],
                                                                 "official": official}}))
    download(ws / "parameters.yaml", ws / "data")
    document = _check(ws, "pt")
    assert "Multilingual Spoken Words" in document["citeAs"] and "CC BY 4.0" in document["description"]


def test_the_id_table_follows_the_yaml_and_refuses_a_malformed_one(tmp_path):
    path = tmp_path / "allowed_training_set.yaml"
    path.write_text(yaml.safe_dump({"targets": {"a,b": ["a,b/common_voice_en_1.wav"], "c": []},
                                    "nontargets": ["x/common_voice_en_2.wav", "x/common_voice_en_2.wav"]}))
    assert write_id_table(path).read_text() == ('clip_id,label\n"a,b/common_voice_en_1.wav","a,b"\n'
                                                "x/common_voice_en_2.wav,nontarget\nx/common_voice_en_2.wav,nontarget\n")
    path.write_text(yaml.safe_dump({"targets": {"a": None}, "nontargets": []}))
    with pytest.raises(ValidationError, match="targets 'a': must be a list of clip ids"):
        write_id_table(path)
