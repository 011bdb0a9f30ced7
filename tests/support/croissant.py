"""Checks of the Croissant files a download wrote: the same JSON with and without mlcroissant, valid for
mlcroissant with only the accepted warnings, and records read back through mlcroissant."""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import mlcroissant as mlc
import pytest

from common.data import croissant

# mlcroissant 1.1.1 calls APIs its dependencies deprecate (rdflib, pandas 3): not ours to fix.
QUIET = [pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated"),
         pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.reset_index")]

# Warnings of mlcroissant's validation that we accept, with the reason.
ACCEPTED_WARNINGS = {
    # The suite generates the embedded data at download time, and the originals publish no release date of their
    # data: a date would be invented, or the generation time, which would make the file differ on every run.
    "datePublished": r'Property "https://schema\.org/datePublished" is recommended, but does not exist\.',
    # Only where no license is known: the generated data (the suite declares none) and the official archives that
    # state none (vision debugging, vision selection, speech selection; their source corpora's licenses are
    # named in the descriptions).
    "license": r'Property "https://schema\.org/license" is recommended, but does not exist\.',
    # Only for official data: the originals give their data releases no version, and inventing one would
    # mislead (embedded data carries the suite's version).
    "version": r'Property "https://schema\.org/version" is recommended, but does not exist\.',
}


def validate(path: Path) -> mlc.Dataset:
    """Load a Croissant file with mlcroissant: no error (it would raise), no warning but the accepted ones."""
    logging.getLogger("absl").setLevel(logging.ERROR)
    dataset = mlc.Dataset(jsonld=str(path))
    issues = dataset.metadata.ctx.issues
    assert not issues.errors, issues.errors
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    accepted = [ACCEPTED_WARNINGS["datePublished"]] + [ACCEPTED_WARNINGS[key] for key in ("license", "version")
                                                       if key not in document]
    unexpected = [w for w in issues.warnings if not any(re.search(p, w) for p in accepted)]
    assert not unexpected, unexpected
    return dataset


def check_written(folder: Path, dataset: croissant.Dataset) -> mlc.Dataset:
    """folder/croissant.json is what both routes give for dataset, lists every file of folder with its sha256,
    and is valid; returns it as an mlcroissant Dataset."""
    path = Path(folder) / croissant.FILE_NAME
    digests = {p: croissant.sha256_file(Path(folder) / p) for p in dataset.files}
    plain = croissant.dumps(croissant.plain(dataset, digests))
    assert plain == croissant.dumps(croissant.with_mlcroissant(dataset, digests))
    assert path.read_text(encoding="utf-8") == plain
    described = {entry["contentUrl"]: entry["sha256"] for entry in json.loads(plain)["distribution"]
                 if entry["@type"] == "cr:FileObject"}
    assert described == digests
    return validate(path)


def records(dataset: mlc.Dataset, name: str) -> list[dict]:
    """The records of a record set, keys without the record set's prefix and text decoded."""
    def plain(value):
        if isinstance(value, bytes):
            return value.decode("utf-8")
        return value
    return [{key.split("/", 1)[1]: plain(value) for key, value in row.items()} for row in dataset.records(name)]


def by_file(rows: list[dict], key: str) -> dict:
    """Records grouped by a key (a file's task, concept, market...), in record order."""
    groups: dict = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    return groups
