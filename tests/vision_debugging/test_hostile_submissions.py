"""Hostile vision_debugging submissions: links to hidden files, huge, sparse, binary and malformed files.  Each
gets one clear error naming `submission_folder: <file>`, never a traceback and never hidden data."""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.core.errors import DataPerfError
from vision_debugging import CUBE
from vision_debugging.submission import parse_submission, ranking_limit, read_time

from support.vision_debugging import evaluate_args, make_workspace

TASK_A, TASK_B = "01g317-flipped", "04rky"


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    workspace = tmp_path_factory.mktemp("vd") / "ws"
    make_workspace(workspace)
    return workspace


def _n(ws) -> int:
    import pyarrow.parquet as pq
    return next(pq.read_metadata(p).num_rows for p in (ws / "embeddings").glob(f"{TASK_A}_train_*.parquet"))


def _submissions(tmp_path, ws, files: dict[str, bytes | str]) -> Path:
    """A submission folder: a valid file for task B and the given ones (bytes, text, or a Path to link to)."""
    folder = tmp_path / "subs"
    folder.mkdir(exist_ok=True)
    (folder / f"{TASK_B}_m.txt").write_text("".join(f"{i}\n" for i in range(_n(ws))))
    for name, content in files.items():
        if isinstance(content, Path):
            (folder / name).symlink_to(content)
        else:
            (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    return folder


def _error(ws, folder) -> str:
    args = {**evaluate_args(ws), "submission_folder": folder, "results_folder": folder.parent / "results"}
    with pytest.raises(DataPerfError) as info:
        CUBE.task("evaluate")(**args)
    return str(info.value)


def test_a_link_to_the_hidden_labels_is_refused_without_showing_them(ws, tmp_path):
    hidden = ws / "data" / f"dataset_{TASK_A}_train.csv"
    secret_ids = [line.split(",")[0] for line in hidden.read_text().splitlines()[1:4]]
    message = _error(ws, _submissions(tmp_path, ws, {f"{TASK_A}_m.txt": hidden}))
    assert message == (f"submission_folder: {TASK_A}_m.txt: is a symbolic link (or lies under one): supply the file itself")
    assert not any(i in message for i in secret_ids)


@pytest.mark.parametrize("target", ["/etc/passwd", "/proc/self/environ"])
def test_links_to_system_files_are_refused(ws, tmp_path, target):
    message = _error(ws, _submissions(tmp_path, ws, {f"{TASK_A}_m.txt": Path(target)}))
    assert "is a symbolic link" in message and "root:" not in message and "PATH" not in message


def test_a_linked_time_file_leaks_nothing_and_counts_as_unknown(ws, tmp_path, capsys):
    """A run time is shown, never scored: a bad time file is a warning in every cube, the method is scored."""
    hidden = ws / "data" / f"dataset_{TASK_A}_train.csv"
    ranking = "".join(f"{i}\n" for i in range(_n(ws)))
    folder = _submissions(tmp_path, ws, {f"{TASK_A}_m.txt": ranking, f"time_{TASK_A}_m.txt": hidden})
    args = {**evaluate_args(ws), "submission_folder": folder, "results_folder": folder.parent / "results"}
    methods = CUBE.task("evaluate")(**args)
    out = capsys.readouterr().out
    assert f"warning: submission_folder: time_{TASK_A}_m.txt: is a symbolic link (or lies under one)" in out
    assert "ImageID" not in out and methods["m"]["seconds"] is None


def test_the_submission_folder_may_be_a_link_but_nothing_below_it(ws, tmp_path):
    """The folder is the operator's task parameter (in Docker, a mount); what the participant put in it is not
    followed."""
    real = _submissions(tmp_path, ws, {f"{TASK_A}_m.txt": ws / "data" / f"dataset_{TASK_A}_train.csv"})
    (tmp_path / "linked").symlink_to(real, target_is_directory=True)
    assert _error(ws, tmp_path / "linked") == f"submission_folder: {TASK_A}_m.txt: is a symbolic link (or lies " \
                                              "under one): supply the file itself"


def test_huge_and_sparse_files_are_refused_before_reading(ws, tmp_path):
    folder = _submissions(tmp_path, ws, {})
    with open(folder / f"{TASK_A}_m.txt", "wb") as handle:
        handle.truncate(10 << 30)                       # 10 GiB, sparse
    started = time.perf_counter()
    message = _error(ws, folder)
    assert time.perf_counter() - started < 10
    assert f"{TASK_A}_m.txt: is 10,737,418,240 bytes, over the limit of {ranking_limit(_n(ws)):,}" in message


@pytest.mark.parametrize("content, expected", [
    (b"\xff\xfe0\n", "line 1: must be UTF-8 text (byte 0xff is not)"),
    (b"0\n\x001\n", "line 2: NUL byte: not a text file"),
    (b"\xef\xbb\xbf0\n", "line 1: not a non-negative integer: '\\ufeff0'"),
    (b"9" * 5000 + b"\n", "line 1: index of 5,000 digits out of range"),
    (b"0\n" + b"x" * 500_000 + b"\n", "line 2: not a non-negative integer: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'…"),
])
def test_malformed_files_get_one_short_message(ws, tmp_path, content, expected):
    message = _error(ws, _submissions(tmp_path, ws, {f"{TASK_A}_m.txt": content}))
    assert f"submission_folder: {TASK_A}_m.txt: {expected}" in message and len(message) < 2000


def test_cr_only_line_ends_are_lines(ws, tmp_path):
    n = _n(ws)
    assert parse_submission(_file(tmp_path, "\r".join(map(str, range(n)))), n, False).tolist() == list(range(n))
    assert parse_submission(_file(tmp_path, "\r".join(map(str, range(n)))), n, True).tolist() == list(range(n))


def test_a_million_lines_fail_fast_with_one_bounded_message(tmp_path):
    """1M lines (the issue measured 67 s and 1.1 GB): at most 50 problems are kept, the rest counted."""
    n = 150_000                                       # a limit (1 MiB + 32 B per row) that lets 1M lines in
    path = _file(tmp_path, "0\n" * 1_000_000)
    started = time.perf_counter()
    with pytest.raises(DataPerfError) as info:
        parse_submission(path, n, False)
    assert time.perf_counter() - started < 30      # about 1 s on an idle core; a quadratic check takes hours
    message = str(info.value)
    assert message.startswith("999999 problem(s) found:") and message.endswith("... and 999949 more")
    with pytest.raises(DataPerfError, match="over the limit"):
        parse_submission(path, 300, False)            # the official size: refused before reading


def test_compat_refuses_cleanly_what_crashed_the_original(tmp_path):
    assert "line 1: int() cannot parse" in _message(parse_submission, _file(tmp_path, "9" * 5000), 5, True)
    assert "line 1: index 100000000000000000000 out of range 0..4" in \
        _message(parse_submission, _file(tmp_path, "1" + "0" * 20), 5, True)   # beyond int64: no OverflowError
    assert "line 2: NUL byte" in _message(parse_submission, _file(tmp_path, b"0\n\x00"), 5, True)


def test_cli_prints_one_line_and_exits_1(ws, tmp_path):
    hidden = ws / "data" / f"dataset_{TASK_A}_train.csv"
    folder = _submissions(tmp_path, ws, {f"{TASK_A}_m.txt": hidden})
    args = [f"--{k}={v}" for k, v in {**evaluate_args(ws), "submission_folder": folder}.items()]
    proc = subprocess.run([sys.executable, "-m", "vision_debugging", "evaluate", *args], capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"error: submission_folder: {TASK_A}_m.txt: is a symbolic link (or lies under " \
                                  f"one): supply the file itself (submission_folder is {folder})"


# --------------------------------------------------------------- fuzzing

def _file(tmp_path, content, name="t_m.txt") -> Path:
    path = Path(tmp_path) / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def _message(function, *args) -> str:
    with pytest.raises(DataPerfError) as info:
        function(*args)
    return str(info.value)


_LINES = st.lists(st.one_of(st.integers(-3, 12).map(str), st.sampled_from(["", " 1 ", "+2", "1_0", "٣", "0x1",
                                                                            "1.0", "\x00", "9" * 4400, "\ufeff0"]),
                            st.text(max_size=8)), max_size=20)
_TEXT = st.one_of(st.binary(max_size=200), _LINES.flatmap(
    lambda lines: st.sampled_from(["\n", "\r", "\r\n", "\x0c"]).map(lambda end: end.join(lines).encode("utf-8",
                                                                                                       "surrogatepass"))))


@settings(max_examples=200, deadline=None)
@given(content=_TEXT, compat=st.booleans())
def test_fuzz_rankings_parse_or_fail_cleanly(content, compat):
    with tempfile.TemporaryDirectory() as folder:
        try:
            order = parse_submission(_file(folder, content), 10, compat)
        except DataPerfError as exc:
            assert len(str(exc)) < 60 * 200
            return
    assert order.dtype == np.int64 and ((0 <= order) & (order < 10)).all()
    if not compat:
        assert sorted(order.tolist()) == list(range(10))


@settings(max_examples=100, deadline=None)
@given(content=st.one_of(st.binary(max_size=40), st.floats(allow_nan=True).map(lambda f: repr(f).encode()),
                         st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_fuzz_time_files_parse_or_fail_cleanly(content):
    with tempfile.TemporaryDirectory() as folder:
        try:
            seconds = read_time(_file(folder, content, "time_t_m.txt"))
        except DataPerfError:
            return
    assert np.isfinite(seconds) and seconds >= 0
