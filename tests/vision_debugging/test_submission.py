"""Every submission rule: one clear error naming file, item and rule; compat accepts what the original did."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from common.core.errors import DataPerfError, ValidationError, ValidationErrors
from vision_debugging.evaluate import evaluate
from vision_debugging.submission import find_submissions, parse_submission, read_time

from support.vision_debugging import evaluate_args

N = 5


def _file(tmp_path, text, name="t_m.txt"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _error(tmp_path, text, compat=False):
    with pytest.raises((ValidationError, ValidationErrors)) as info:
        parse_submission(_file(tmp_path, text), N, compat)
    return str(info.value)


def test_valid_permutation_with_or_without_trailing_newline(tmp_path):
    assert parse_submission(_file(tmp_path, "4\n3\n2\n1\n0\n"), N, False).tolist() == [4, 3, 2, 1, 0]
    assert parse_submission(_file(tmp_path, "0\r\n1\r\n2\r\n3\r\n4"), N, False).tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("text, expected", [
    ("0\n1\nx\n3\n4\n", "line 3: not a non-negative integer: 'x'"),
    ("0\n1\n\n3\n4\n", "line 3: blank line"),
    ("0\n1\n2.0\n3\n4\n", "line 3: not a non-negative integer"),
    ("0\n1\n-2\n3\n4\n", "line 3: not a non-negative integer: '-2'"),
    ("0\n1\n5\n3\n4\n", "line 3: index 5 out of range 0..4"),
    ("0\n1\n1\n3\n4\n", "line 3: duplicate index 1 (first on line 2)"),
    ("0\n1\n2\n", "2 indices missing (3, 4): a submission must rank all 5 training rows"),
    ("", "empty file"),
    ("\n\n", "empty file"),
    (b"\xff\xfe0\n", "must be UTF-8 text"),
])
def test_strict_rules(tmp_path, text, expected):
    message = _error(tmp_path, text)
    assert "t_m.txt" in message and expected in message


def test_several_problems_reported_together(tmp_path):
    message = _error(tmp_path, "0\n9\nq\n")
    assert "2 problem(s)" in message and "line 2" in message and "line 3" in message


def test_compat_accepts_what_the_original_accepted(tmp_path):
    assert parse_submission(_file(tmp_path, "3\n"), N, True).tolist() == [3]  # one line
    assert parse_submission(_file(tmp_path, "1\n1\n +2 \n"), N, True).tolist() == [1, 1, 2]
    # only the first N lines are used, so a bad index after them does not matter
    assert parse_submission(_file(tmp_path, "0\n1\n2\n3\n4\n99\n"), N, True).tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("text, expected", [
    ("0\n\n1\n", "line 2: int() cannot parse ''"),
    ("0\nabc\n", "line 2: int() cannot parse 'abc'"),
    ("0\n-1\n", "line 2: index -1 out of range"),
    ("7\n", "line 1: index 7 out of range"),
    ("", "empty file (the original evaluator fails here too"),   # its pyarrow take([]) has no kernel
])
def test_compat_still_explains_what_crashed_the_original(tmp_path, text, expected):
    assert expected in _error(tmp_path, text, compat=True)


def _names(tmp_path, *names):
    for name in names:
        (tmp_path / name).write_text("0\n")
    return tmp_path


def test_file_naming_rules(tmp_path):
    folder = _names(tmp_path, "a_m1.txt", "b_m1.txt", "time_a_m1.txt", "notes.md")
    found = find_submissions(folder, ["a", "b"], compat=False)
    assert sorted((s.data_id, s.method) for s in found) == [("a", "m1"), ("b", "m1")]
    assert [s.time_path.name for s in found if s.data_id == "a"] == ["time_a_m1.txt"]


def test_wrong_task_id(tmp_path):
    with pytest.raises(ValidationError, match=r"zz_m1.txt: task id 'zz': not a task of this run: file names must be"):
        find_submissions(_names(tmp_path, "a_m1.txt", "zz_m1.txt"), ["a"], compat=False)
    assert len(find_submissions(tmp_path, ["a"], compat=True)) == 1  # the original ignores it


def test_missing_task_file_for_a_method(tmp_path):
    with pytest.raises(ValidationError, match=r"b_m2.txt: method 'm2': missing file: .* none for \['b'\]"):
        find_submissions(_names(tmp_path, "a_m1.txt", "b_m1.txt", "a_m2.txt"), ["a", "b"], compat=False)


def test_bad_method_name_and_empty_folder(tmp_path):
    with pytest.raises(ValidationError, match="method name 'my method'"):
        find_submissions(_names(tmp_path, "a_my method.txt"), ["a"], compat=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValidationError, match="no submissions found"):
        find_submissions(empty, ["a"], compat=False)
    with pytest.raises(ValidationError, match="submission folder not found"):
        find_submissions(tmp_path / "nope", ["a"], compat=False)


def test_time_file_rules(tmp_path):
    assert read_time(_file(tmp_path, "4.5e-05", "time_a_m.txt")) == 4.5e-05
    with pytest.raises(ValidationError, match="one number of seconds"):
        read_time(_file(tmp_path, "fast", "time_a_m.txt"))
    with pytest.raises(ValidationError, match="non-negative"):
        read_time(_file(tmp_path, "-1", "time_a_m.txt"))


def test_missing_data_files_are_named(tiny_workspace):
    (tiny_workspace / "submissions" / "01g317-flipped_m.txt").write_text("0\n")
    (tiny_workspace / "submissions" / "04rky_m.txt").write_text("0\n")
    csv = tiny_workspace / "data" / "dataset_04rky_train.csv"
    csv.unlink()
    with pytest.raises(DataPerfError, match="dataset_04rky_train.csv: file not found"):
        evaluate(**evaluate_args(tiny_workspace))


def test_groundtruth_must_cover_every_training_image(tiny_workspace):
    csv = tiny_workspace / "data" / "dataset_04rky_train.csv"
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join(lines[:-1]) + "\n")
    for d in ("01g317-flipped", "04rky"):
        (tiny_workspace / "submissions" / f"{d}_m.txt").write_text("0\n")
    with pytest.raises(ValidationError, match="every training image needs a hv_label row"):
        evaluate(**evaluate_args(tiny_workspace))


def test_cli_bad_submission_exits_1_without_traceback(tiny_workspace):
    for d in ("01g317-flipped", "04rky"):
        (tiny_workspace / "submissions" / f"{d}_m.txt").write_text("0\n0\n")
    args = [f"--{k}={v}" for k, v in evaluate_args(tiny_workspace).items()]
    proc = subprocess.run([sys.executable, "-m", "vision_debugging", "evaluate", *args], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "01g317-flipped_m.txt: line 2: duplicate index 0 (first on line 1)" in proc.stderr
    # the refusal is recorded, for the report; the only method was refused, so none was scored
    summary = json.loads((tiny_workspace / "results" / "summary.json").read_text())
    assert summary["ranking"] == [] and {r["method"] for r in summary["refused"]} == {"m"}
    assert "01g317-flipped_m.txt" in [r["file"] for r in summary["refused"]]


def _original_method(name: str, data_id: str) -> str:
    """app/main.py of the original, verbatim in effect: submission.replace(".txt", "").replace(f"{data_id}_", "")."""
    return name.replace(".txt", "").replace(f"{data_id}_", "")


@pytest.mark.parametrize("name", ["a_m.txt", "a_m.txt.v2.txt", "a_my_method.txt", "a_a_m.txt", "a_m_a_x.txt",
                                  "a_neighbor_shapley (datascope).txt", "a_.txt.txt", "a_x.txtz.txt"])
def test_compat_names_methods_as_the_original(tmp_path, name):
    (tmp_path / name).write_text("0\n")
    found = find_submissions(tmp_path, ["a"], compat=True)
    assert [s.method for s in found] == [_original_method(name, "a")]
    if name == "a_m.txt.v2.txt":
        assert found[0].method == "m.v2"


def test_compat_time_file_follows_the_original_name(tmp_path):
    _names(tmp_path, "a_m.txt.v2.txt", "time_a_m.v2.txt")
    assert find_submissions(tmp_path, ["a"], compat=True)[0].time_path.name == "time_a_m.v2.txt"


def test_compat_refuses_two_files_naming_one_method(tmp_path):
    _names(tmp_path, "a_m.txt", "a_m.txt.txt", "b_m.txt")
    with pytest.raises(ValidationError, match=r"a_m.txt.txt: method 'm': a_m.txt names the same method of task a"):
        find_submissions(tmp_path, ["a", "b"], compat=True)
