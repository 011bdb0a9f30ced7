"""The vision_debugging parameters' own rules (the rules every cube shares: tests/common/parameters/test_schema.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from common.core.errors import ValidationError
from vision_debugging import config

from support import parameters


def load_error(tmp_path, text: str) -> str:
    return parameters.load_error(config, tmp_path, text)


def load(tmp_path, text: str):
    return parameters.load(config, tmp_path, text)


def test_target_ratio_nan_fails_at_load_not_after_the_evaluation(tmp_path):
    for value in (".nan", ".inf", "1.5", "-0.1"):
        message = load_error(tmp_path, f"evaluate:\n  target_ratio: {value}\n")
        assert "parameter 'evaluate.target_ratio': must be a finite number >= 0.0 and <= 1.0" in message


@pytest.mark.parametrize("tasks", ["['../../x']", "['/tmp/x']", "['a/b']", "['..']", "['.hidden']", "['a_b']",
                                   "['a.b']", "['']", "[x, x]", "['" + "a" * 65 + "']", "'01g317'", "[1]"])
def test_task_ids_cannot_name_a_path(tmp_path, tasks):
    message = load_error(tmp_path, f"data:\n  tasks: {tasks}\n")
    assert "parameter 'data.tasks" in message


@pytest.mark.parametrize("task", ["../../x", "/tmp/dataperf-outside"])
def test_a_task_id_path_writes_nothing_outside_the_workspace(tmp_path, task):
    from vision_debugging.download import download
    ws = tmp_path / "a" / "b" / "ws"
    ws.mkdir(parents=True)
    (ws / "parameters.yaml").write_text(f"data:\n  tasks: ['{task}']\n  scale: 0.1\n")
    with pytest.raises(ValidationError, match="parameter 'data.tasks\\[0\\]': must be a task id"):
        download(ws / "parameters.yaml", ws / "embeddings", ws / "data")
    # where the original wrote: tmp_path/a/x_train_0.3_30.parquet, /tmp/dataperf-outside_train_0.3_30.parquet
    assert list(tmp_path.rglob("*.parquet")) == [] and list(Path("/tmp").glob("dataperf-outside*")) == []
