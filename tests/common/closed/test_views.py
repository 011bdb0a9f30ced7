"""The view of each cube: exactly the files a participant may see, and a parameters file without the round seed."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import yaml

from common.closed.limits import parse_limits
from common.closed.views import PARAMETERS, assemble, load_round_parameters, permitted_names, view_for
from common.core.errors import DataPerfError
from support.closed import round_workspace

SECRET = 2**127 + 0x5EC2E7


def expected_view(cube: str, ws: Path) -> set[str]:
    """Written out by hand per cube from the layout the README documents, not by the code under test."""
    if cube == "vision_debugging":
        return {f"embedding_folder/{t}_{split}.parquet" for t in ("01g317-flipped", "04rky")
                for split in ("train_0.3_30", "val_10")}
    if cube == "speech_selection":
        words = sorted(p.name for p in (ws / "data/dataperf_en_data/train_embeddings").iterdir())
        return {"data_folder/dataperf_en_data/allowed_training_set.yaml"} | {
            f"data_folder/dataperf_en_data/train_embeddings/{w}" for w in words}
    if cube == "vision_selection":
        root = "data_folder/dataperf-vision-selection-resources"
        parts = [p for p in (ws / "data/dataperf-vision-selection-resources/embeddings/train_emb_256_dataperf.parquet")
                 .iterdir() if p.suffix == ".parquet"]
        return {f"{root}/embeddings/train_emb_256_dataperf.parquet/part-{i:05d}.parquet" for i in range(len(parts))} | {
            f"{root}/examples/alpha_example_set_{c}.csv" for c in ("Cupcake", "Hawk")} | {
            f"{root}/machine_labels/train-annotations-machine-imagelabels.csv"}
    files = set()
    for k in (0, 1):
        files |= {f"market_folder/{k}/{f}" for f in ("price/budget.txt", "price/price.txt", "sellerid.txt",
                                                      "data_buyer/20.csv", "data_buyer/mlmodel.pickle")}
        files |= {f"market_folder/{k}/summary/{i}.{s}" for i in range(20) for s in ("csv.json", "csvsamples.csv")}
    return files


HIDDEN = {"vision_debugging": ["embeddings/*_test_*.parquet", "data/*"],
          "speech_selection": ["data/*/eval.yaml", "data/*/eval_embeddings/*"],
          "vision_selection": ["data/*/test_sets/*"],
          "data_acquisition": ["features/*/*"]}
CLASS = "team_pkg.algorithm:Mine"


def files_below(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink()}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module", params=["vision_debugging", "speech_selection", "vision_selection", "data_acquisition"])
def round_ws(request, tmp_path_factory):
    cube = request.param
    ws = round_workspace(cube, tmp_path_factory.mktemp(cube) / "ws",
                         {"data": {"seed": SECRET}, "closed": {"seed": 7, "cpus": 3}})
    return cube, ws


def test_the_view_holds_exactly_the_permitted_files(round_ws, tmp_path):
    cube, ws = round_ws
    params = load_round_parameters(cube, ws)
    view = view_for(cube, params, ws, parse_limits(params).seed)
    folder = assemble(view, tmp_path / "view", CLASS, 3)
    assert files_below(folder) == expected_view(cube, ws) | {PARAMETERS} == permitted_names(view)
    hidden = [p for pattern in HIDDEN[cube] for p in ws.glob(pattern) if p.is_file()]
    assert hidden, "the workspace does hold hidden files"
    hidden_inodes = {p.stat().st_ino for p in hidden}
    hidden_digests = {sha(p) for p in hidden}
    for path in folder.rglob("*"):
        assert not path.is_symlink()
        if path.is_file():
            assert path.stat().st_ino not in hidden_inodes and sha(path) not in hidden_digests
            assert path.stat().st_mode & 0o004, "readable by the container's unprivileged user"
        else:
            assert path.stat().st_mode & 0o005 == 0o005


def test_the_container_parameters_hold_no_round_seed(round_ws, tmp_path):
    cube, ws = round_ws
    params = load_round_parameters(cube, ws)
    folder = assemble(view_for(cube, params, ws, parse_limits(params).seed), tmp_path / "view", CLASS, 3)
    text = (folder / PARAMETERS).read_text()
    values = yaml.safe_load(text)
    expected = {
        "vision_debugging": {"data": {"source": "embedded", "tasks": ["01g317-flipped", "04rky"], "noise_level": 0.3,
                                      "scale": 0.1}, "baselines": {"methods": [CLASS], "workers": 3}},
        "speech_selection": {"data": {"languages": ["en"]}, "budgets": [25],
                             "baselines": {"methods": [CLASS], "workers": 3}},
        "vision_selection": {"data": {"concepts": ["Cupcake", "Hawk"]}, "budget": 1000,
                             "baselines": {"methods": [CLASS]}},
        "data_acquisition": {"data": {"markets": [0, 1]}, "baselines": {"methods": [CLASS], "workers": 3}},
    }[cube]
    assert values == {"seed": 7, **expected}
    for secret in (str(SECRET), f"{SECRET:x}", f"{SECRET:08x}"[-8:]):
        assert secret not in text
        assert not any(secret in name for name in files_below(folder))
    # the cube reads it as a valid parameters file of its own
    params_inside = load_round_parameters(cube, folder)
    assert params_inside.get("seed") == 7 and params_inside.get("data.seed") is None


def test_files_are_linked_when_readable_and_copied_otherwise(tmp_path):
    ws = round_workspace("data_acquisition", tmp_path / "ws")
    private = ws / "marketinfo" / "0" / "price" / "budget.txt"
    os.chmod(private, 0o600)
    params = load_round_parameters("data_acquisition", ws)
    folder = assemble(view_for("data_acquisition", params, ws, 0), tmp_path / "view", CLASS, 1)
    shown = folder / "market_folder" / "0" / "price" / "budget.txt"
    assert shown.stat().st_ino != private.stat().st_ino and shown.stat().st_mode & 0o777 == 0o644
    assert shown.read_bytes() == private.read_bytes()
    linked = folder / "market_folder" / "0" / "price" / "price.txt"
    assert linked.stat().st_ino == (ws / "marketinfo" / "0" / "price" / "price.txt").stat().st_ino


def test_a_link_among_the_data_is_refused(tmp_path):
    ws = round_workspace("data_acquisition", tmp_path / "ws")
    buyer = ws / "marketinfo" / "1" / "data_buyer" / "20.csv"
    buyer.unlink()
    buyer.symlink_to(ws / "features" / "1" / "0.csv")
    params = load_round_parameters("data_acquisition", ws)
    with pytest.raises(DataPerfError, match="must be a regular file"):
        assemble(view_for("data_acquisition", params, ws, 0), tmp_path / "view", CLASS, 1)


def test_the_command_is_the_cubes_own_task_on_the_view(tmp_path):
    ws = round_workspace("data_acquisition", tmp_path / "ws")
    view = view_for("data_acquisition", load_round_parameters("data_acquisition", ws), ws, 0)
    assert view.command() == ["python3", "-m", "data_acquisition", "create_baselines",
                              "--parameters_file=/dataperf/view/parameters.yaml",
                              "--market_folder=/dataperf/view/market_folder", "--submission_folder=/dataperf/output"]
