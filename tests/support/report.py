"""A tiny suite for the report tests: every cube's four tasks at a tiny scale with two cheap methods each (in
speech_selection a copy of `random`, so two methods tie), and one refused submission (in data_acquisition).
Every cube splits its hidden test items into public and private parts (SPLIT_SEED) and ranks by a bootstrap."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from common.core.errors import DataPerfError
from common.tasks.local import run_tasks

SPLIT_SEED = 271828182845904523536028747135266249775   # secret: must appear in no result file
SPLIT = {"seed": SPLIT_SEED, "public_fraction": 0.3}
TINY = {
    "vision_debugging": {"data": {"tasks": ["01g317-flipped", "04rky"], "scale": 0.1},
                         "baselines": {"methods": ["random", "knn_shapley"], "workers": 1},
                         "evaluate": {"workers": 1, "split": SPLIT}},
    "speech_selection": {"data": {"languages": ["en"], "scale": 0.05}, "budgets": [25],
                         "baselines": {"methods": ["random"], "workers": 1},
                         "evaluate": {"seeds": [5, 69], "workers": 1, "split": SPLIT}},
    "vision_selection": {"data": {"scale": 0.002}, "baselines": {"methods": ["random", "centroid"]},
                         "evaluate": {"split": SPLIT}},
    "data_acquisition": {"data": {"markets": [0, 1], "scale": 0.002, "features": 16},
                         "baselines": {"methods": ["uniform", "equal_spend"], "workers": 1},
                         "evaluate": {"trials": 2, "workers": 1, "split": SPLIT}},
}
REFUSED_METHOD = "overspender"
TIED_METHOD = "random_copy"


def tiny_suite(root: Path) -> Path:
    """root/<cube> for every cube, all four tasks run; data_acquisition has one refused method."""
    for cube, values in TINY.items():
        workspace = root / cube
        workspace.mkdir(parents=True)
        (workspace / "parameters.yaml").write_text(yaml.safe_dump(values))
        run_tasks(cube, ["download", "create_baselines"], workspace, {})
        if cube == "speech_selection":
            shutil.copytree(workspace / "submissions" / "random", workspace / "submissions" / TIED_METHOD)
        run_tasks(cube, ["evaluate", "plot"], workspace, {})
    # A participant who buys every row of every seller: over the budget in both markets.
    market = root / "data_acquisition" / "submissions" / REFUSED_METHOD
    market.mkdir()
    for k in (0, 1):
        sizes = [str(n) for n in _sizes(root / "data_acquisition", k)]
        (market / f"{k}.txt").write_text(",".join(sizes) + "\n")
    with pytest.raises(DataPerfError, match="over the budget"):
        run_tasks("data_acquisition", ["evaluate"], root / "data_acquisition", {})
    return root


def _sizes(workspace: Path, market: int) -> list[int]:
    folder = workspace / "marketinfo" / str(market) / "summary"
    return [json.loads((folder / f"{i}.csv.json").read_text())["row_number"] for i in range(20)]
