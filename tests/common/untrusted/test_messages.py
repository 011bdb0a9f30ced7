"""How messages name files (relative to the task parameter they came from) and how many problems they list."""
from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from common.core.errors import (MAX_LISTED, Problems, ValidationError, ValidationErrors, display_path, named_paths,
                                named_task)


def test_paths_are_named_relative_to_their_task_parameter(tmp_path):
    arguments = {"parameters_file": tmp_path / "ws" / "parameters.yaml", "submission_folder": tmp_path / "ws" / "subs",
                 "results_folder": tmp_path / "ws" / "subs" / "results", "seed": 3}
    with named_paths(arguments):
        assert display_path(tmp_path / "ws" / "subs" / "uniform" / "0.txt") == "submission_folder: uniform/0.txt"
        assert display_path(tmp_path / "ws" / "subs" / "results" / "s.json") == "results_folder: s.json"  # innermost
        assert display_path(tmp_path / "ws" / "subs") == "submission_folder"
        assert display_path(tmp_path / "ws" / "parameters.yaml") == "parameters_file: parameters.yaml"
        assert display_path(tmp_path / "ws" / "subsidiary.txt") == str(tmp_path / "ws" / "subsidiary.txt")
        assert display_path("/etc/passwd") == "/etc/passwd"
        error = ValidationError(tmp_path / "ws" / "subs" / "m" / "0.txt", "line 3", "blank line")
        assert str(error) == "submission_folder: m/0.txt: line 3: blank line"
    assert display_path(tmp_path / "ws" / "subs" / "m.txt") == str(tmp_path / "ws" / "subs" / "m.txt")  # outside


def test_the_same_message_locally_and_in_docker(tmp_path):
    """mlcube mounts the folder as /mlcube_io3: the message must not depend on where it is mounted."""
    local = {"submission_folder": tmp_path / "workspace" / "submissions"}
    docker = {"submission_folder": Path("/mlcube_io3")}
    messages = []
    for arguments in (local, docker):
        with named_paths(arguments):
            messages.append(str(ValidationError(arguments["submission_folder"] / "uniform" / "0.txt", None, "bad")))
    assert messages == ["submission_folder: uniform/0.txt: bad"] * 2


def test_named_task_keeps_the_signature_and_names_paths(tmp_path):
    def evaluate(parameters_file: Path, submission_folder: Path) -> str:
        """The evaluate task."""
        raise ValidationError(submission_folder / "a\nb.txt", None, "bad")

    task = named_task(evaluate)
    assert list(inspect.signature(task).parameters) == ["parameters_file", "submission_folder"]
    assert task.__doc__ == "The evaluate task." and task.__module__ == evaluate.__module__
    with pytest.raises(ValidationError) as info:
        task(parameters_file=tmp_path / "p.yaml", submission_folder=tmp_path / "s")
    assert str(info.value) == "submission_folder: a\\nb.txt: bad"      # a supplied name cannot break the line
    assert display_path(tmp_path / "s") == str(tmp_path / "s")         # only while the task runs


def test_problems_keep_the_first_ones_and_count_the_rest():
    problems = Problems()
    for line in range(1, 1_000_001):
        problems.add(ValidationError("f.txt", f"line {line}", "blank line"))
    assert len(problems) == 1_000_000 and len(problems.errors) == MAX_LISTED
    with pytest.raises(ValidationErrors) as info:
        problems.raise_all()
    message = str(info.value)
    assert message.startswith("1000000 problem(s) found:") and message.endswith(f"... and {1_000_000 - MAX_LISTED} more")
    assert message.count("\n") == MAX_LISTED + 1
    single = Problems()
    single.add(ValidationError("f.txt", None, "one"))
    with pytest.raises(ValidationError, match="f.txt: one"):
        single.raise_all()
    Problems().raise_all()     # nothing found: nothing raised
