"""Public/private parts in the cube tests: the split of a group's items as the frame makes it, reduced copies of
the hidden test data, and the checks every cube shares (part scores against evaluating the part alone,
stratification, the split seed in no output)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from common.results.parts import PARTS, Settings, part_indices
from common.results.splits import public_counts

# A split seed long enough to be found by grep if it leaked anywhere (decimal or hex).
SEED = 314159265358979323846264338327950288419
FRACTION = 0.3
SPLIT = {"seed": SEED, "public_fraction": FRACTION}
NO_RANKS = {"replicates": 0, "seed": 0}


def parts_of(labels, key: str, seed: int = SEED, fraction: float = FRACTION) -> dict[str, np.ndarray]:
    """The items of each part, as evaluate splits them."""
    return part_indices(labels, Settings(seed, fraction), key)


def reduce_parquet(source: Path, target: Path, rows: np.ndarray) -> None:
    """A copy of a parquet file with only these rows (values as stored: no float goes through text)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pq.read_table(source).take(np.asarray(rows)), target)


def reduce_lines(source: Path, target: Path, rows: np.ndarray) -> None:
    """A copy of a header-less text table with only these lines (byte for byte)."""
    lines = source.read_bytes().splitlines(keepends=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"".join(lines[i] for i in rows))


def summary(results: Path) -> dict:
    return json.loads((Path(results) / "summary.json").read_text())


def assert_parts_are_the_reduced_scores(split: dict, reduced: dict[str, dict]) -> int:
    """Each method's score on each part (and on each group of it) equals, exactly, the score evaluate gave with
    the test set reduced to that part.  Returns how many scores were compared."""
    compared = 0
    assert split["split"] is not None and set(reduced) == set(PARTS)
    for part, alone in reduced.items():
        assert alone["split"] is None and set(alone["methods"]) == set(split["methods"])
        for method, entry in split["methods"].items():
            mine, theirs = entry["parts"][part], alone["methods"][method]
            assert mine["groups"] == theirs["groups"], (part, method)
            assert mine["score"] == theirs["mean"], (part, method)
            compared += 1 + len(mine["groups"])
    return compared


def assert_stratified(labels, indices: dict[str, np.ndarray], fraction: float = FRACTION) -> None:
    """Every item in exactly one part; per class the public count the split's rule gives."""
    labels = np.asarray(labels)
    both = np.concatenate([indices["public"], indices["private"]])
    assert sorted(both.tolist()) == list(range(len(labels)))
    classes, sizes = np.unique(labels, return_counts=True)
    expected = public_counts(sizes, fraction)
    got = [int(np.isin(indices["public"], np.flatnonzero(labels == c)).sum()) for c in classes]
    assert got == expected.tolist()
    assert all(0 < k < s for k, s in zip(got, sizes) if s >= 2)       # each class in both parts


def assert_seed_nowhere(seed: int, *places, texts: tuple[str, ...] = ()) -> int:
    """The split seed (decimal or hex) in no file under these folders nor in these texts; returns the files read."""
    needles = [str(seed).encode(), f"{seed:x}".encode(), f"{seed:X}".encode()]
    read = 0
    for place in places:
        for path in Path(place).rglob("*"):
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                assert not any(n in data for n in needles), f"the split seed is written in {path}"
                read += 1
    for text in texts:
        assert not any(n.decode() in text for n in needles), "the split seed is printed"
    return read
