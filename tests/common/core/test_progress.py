"""Progress reports: a line every few seconds when the output is not a terminal, with done/total and an estimate."""
from __future__ import annotations

import io
import re

from common.compute.parallel import parallel_map
from common.core.progress import Progress, duration, tracked

LINE = re.compile(r"^(?P<label>[\w ()-]+): (?P<done>\d+)/(?P<total>\d+) \(\d+%\), (?P<elapsed>.+) elapsed"
                  r"(, about (?P<left>.+) left)?$")


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line]


def test_off_terminal_a_line_per_interval_with_done_total_and_time_left():
    out = io.StringIO()
    with Progress("training", 4, interval=0, stream=out) as progress:
        for _ in range(4):
            progress.update()
    lines = _lines(out.getvalue())
    assert len(lines) == 5
    parsed = [LINE.match(line) for line in lines[:4]]
    assert all(parsed), lines
    assert [int(m["done"]) for m in parsed] == [1, 2, 3, 4] and {m["total"] for m in parsed} == {"4"}
    assert all(m["left"] for m in parsed[:3]) and parsed[3]["left"] is None
    assert re.fullmatch(r"training: 4/4 done in \d+ s", lines[4])


def test_no_line_before_the_interval_and_none_at_the_end_of_a_quick_step():
    out = io.StringIO()
    with Progress("quick", 100, interval=3600, stream=out) as progress:
        for _ in range(100):
            progress.update()
    assert out.getvalue() == ""


def test_the_total_can_shrink_while_running():
    out = io.StringIO()
    with Progress("search", 50, interval=0, stream=out) as progress:
        progress.update(10)
        progress.set_total(20)
        progress.update(10)
    lines = _lines(out.getvalue())
    assert lines[0].startswith("search: 10/50 (20%)") and lines[1].startswith("search: 20/20 (100%)")
    assert lines[-1].startswith("search: 20/20 done in")


def test_on_a_terminal_it_is_a_bar_not_log_lines():
    out = io.StringIO()
    with Progress("bar", 3, interval=0, stream=out, terminal=True) as progress:
        for _ in range(3):
            progress.update()
    assert "bar" in out.getvalue() and not LINE.search(out.getvalue().replace("\r", "\n"))


def test_estimate_of_the_time_left_is_proportional():
    progress = Progress("x", 10, interval=3600, stream=io.StringIO())
    progress.started -= 30
    progress.done = 3
    assert LINE.match(progress.status())["left"] == "1 min 10 s"
    assert duration(59.4) == "59 s" and duration(3725) == "1 h 2 min"


def _square(shared, job):
    return shared * job * job


def test_parallel_map_reports_progress_in_logs(capsys, monkeypatch):
    monkeypatch.setenv("DATAPERF_PROGRESS_SECONDS", "0")
    for workers in (1, 2):
        assert parallel_map(_square, range(5), workers, progress="squares", shared=2) == [0, 2, 8, 18, 32]
        lines = _lines(capsys.readouterr().err)
        assert [LINE.match(line)["done"] for line in lines[:5]] == ["1", "2", "3", "4", "5"], lines
        assert lines[-1].startswith("squares: 5/5 done in")
    assert parallel_map(_square, range(3), 1, shared=1) == [0, 1, 4]      # no label: silent
    assert capsys.readouterr().err == ""


def test_parallel_map_counts_into_a_shared_progress():
    out = io.StringIO()
    with Progress("rounds", 6, interval=0, stream=out) as progress:
        parallel_map(_square, range(3), 1, progress=progress, shared=1)
        parallel_map(_square, range(3), 2, progress=progress, shared=1)
    assert _lines(out.getvalue())[-2].startswith("rounds: 6/6 (100%)")


def test_tracked_counts_each_item_after_its_work():
    out = io.StringIO()
    progress = Progress("loop", 2, interval=0, stream=out)
    seen = []
    for item in tracked(["a", "b"], progress):
        seen.append((item, progress.done))
    assert seen == [("a", 0), ("b", 1)] and progress.done == 2
    assert list(tracked(iter([1, 2]), None)) == [1, 2]


def _slow(shared, job):
    import time
    time.sleep(shared if job == 0 else 0)
    return job


def test_a_long_job_in_parallel_map_still_gets_a_line_every_interval(capsys, monkeypatch):
    monkeypatch.setenv("DATAPERF_PROGRESS_SECONDS", "0.2")
    assert parallel_map(_slow, range(3), 2, progress="slow", shared=1.0) == [0, 1, 2]
    lines = _lines(capsys.readouterr().err)
    waiting = [line for line in lines if line.startswith("slow: 0/3 (0%)")]
    assert len(waiting) >= 2, lines          # nothing done yet, but alive: elapsed time goes on
    assert lines[-1].startswith("slow: 3/3 done in")


def _fails(shared, job):
    if job == 1:
        raise ValueError("job 1 fails")
    return job


def test_a_failing_job_raises_and_reports_no_completion(capsys, monkeypatch):
    import pytest
    monkeypatch.setenv("DATAPERF_PROGRESS_SECONDS", "0")
    with pytest.raises(ValueError, match="job 1 fails"):
        parallel_map(_fails, range(4), 2, progress="failing")
    assert "done in" not in capsys.readouterr().err
