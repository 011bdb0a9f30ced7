"""Publishing result sets as a whole: one folder per run, an atomic switch, crash points, full and read-only disks."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from common.core import io as dio
from common.core.errors import DataPerfError
from common.results import publish as results
from common.results.publish import current, publish, publish_files, require_settled, runs

ROOT = Path(__file__).resolve().parents[3]
STEPS = ["staged", "stored", "linked", "switched"]


def publish_set(folder: Path, files: dict[str, str]) -> list[Path]:
    with publish(folder) as out:
        for name, text in files.items():
            out.write_text(name, text)
    return out.published


def view(folder: Path) -> dict[str, str]:
    """What a reader sees at the stable names (the links at the top of the folder that resolve)."""
    return {p.name: p.read_text() for p in results.iter_published(folder)}


def assert_clean(folder: Path) -> None:
    """No staging folder, temporary file or dangling link left; every run folder complete (no hidden files)."""
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".")]
    assert leftovers == [], leftovers
    for entry in folder.iterdir():
        if entry.is_symlink():
            assert entry.exists(), f"dangling link {entry}"
    for run in runs(folder):
        assert not [p for p in run.iterdir() if p.name.startswith(".")]


FIRST = {"summary.json": '{"run": 1}', "summary.csv": "a,1\n", "old_only.json": "1"}
SECOND = {"summary.json": '{"run": 2}', "summary.csv": "a,1\n", "new_only.json": "2"}


def test_a_run_is_one_folder_the_stable_names_show_the_latest(tmp_path):
    folder = tmp_path / "results"
    published = publish_set(folder, FIRST)
    assert sorted(p.name for p in published) == sorted(FIRST)
    assert view(folder) == FIRST
    assert (folder / "summary.json").is_symlink() and os.readlink(folder / "summary.json") == "latest/summary.json"
    publish_set(folder, SECOND)
    assert view(folder) == SECOND and not (folder / "old_only.json").exists()
    first, second = runs(folder)
    # issue 13: every run archived as one complete folder, an unchanged summary.csv included
    assert {p.name: p.read_text() for p in first.iterdir()} == FIRST
    assert {p.name: p.read_text() for p in second.iterdir()} == SECOND
    assert current(folder) == second
    assert_clean(folder)


def test_an_exception_during_the_run_publishes_nothing(tmp_path):
    folder = tmp_path / "results"
    publish_set(folder, FIRST)
    with pytest.raises(RuntimeError):
        with publish(folder) as out:
            out.write_text("summary.json", "half")
            raise RuntimeError("the evaluation failed")
    assert view(folder) == FIRST and len(runs(folder)) == 1
    assert_clean(folder)


def test_a_failed_task_leaves_a_new_folder_as_it_was(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    with pytest.raises(RuntimeError):
        with publish(folder):
            raise RuntimeError("bad submission")
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("step", STEPS)
def test_a_crash_between_steps_never_shows_a_mixed_set(tmp_path, monkeypatch, step):
    folder = tmp_path / "results"
    publish_set(folder, FIRST)

    def crash(at):
        if at == step:
            raise OSError(errno.EIO, "simulated failure")
    monkeypatch.setattr(results, "_checkpoint", crash)
    with pytest.raises(DataPerfError, match="cannot write the new files"):
        publish_set(folder, SECOND)
    seen = view(folder)
    assert seen == (SECOND if step == "switched" else FIRST), seen
    monkeypatch.setattr(results, "_checkpoint", lambda at: None)
    with publish(folder) as out:
        # the next run repairs first: a run stored but not switched in is complete and newer, so it is rolled forward
        assert view(folder) == (FIRST if step == "staged" else SECOND)
        out.write_text("summary.json", "3")
    assert view(folder) == {"summary.json": "3"}
    assert_clean(folder)
    kept = [{p.name: p.read_text() for p in run.iterdir()} for run in runs(folder)]
    assert kept == ([FIRST] if step == "staged" else [FIRST, SECOND]) + [{"summary.json": "3"}]


KILLER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from common.results import publish as results
    folder, step = Path(sys.argv[1]), sys.argv[2]

    def checkpoint(at):
        if at == step:
            os.kill(os.getpid(), signal.SIGKILL)
    results._checkpoint = checkpoint
    with results.publish(folder) as out:
        out.write_text("summary.json", '{"run": 2}')
        out.write_text("summary.csv", "a,1\\n")
        out.write_text("new_only.json", "2")
        if step == "writing":
            with open(out.path("huge.json"), "wb") as handle:
                print("writing", flush=True)
                while True:
                    handle.write(b"x" * 65536)
""")


@pytest.mark.parametrize("step", STEPS)
def test_kill_9_between_steps(tmp_path, step):
    folder = tmp_path / "results"
    publish_set(folder, FIRST)
    proc = subprocess.run([sys.executable, "-c", KILLER, str(folder), step], cwd=ROOT, capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    assert view(folder) == (SECOND if step == "switched" else FIRST)
    publish_set(folder, {"summary.json": '{"run": 3}'})
    assert view(folder) == {"summary.json": '{"run": 3}'}
    assert_clean(folder)


def test_kill_9_during_a_write(tmp_path):
    folder = tmp_path / "results"
    publish_set(folder, FIRST)
    proc = subprocess.Popen([sys.executable, "-c", KILLER, str(folder), "writing"], cwd=ROOT, stdout=subprocess.PIPE)
    assert proc.stdout.readline() == b"writing\n"
    time.sleep(0.2)
    proc.kill()
    proc.wait(timeout=30)
    staging = [p for p in folder.iterdir() if p.name.startswith(".staging-")]
    assert len(staging) == 1 and (staging[0] / "huge.json").stat().st_size > 0
    assert view(folder) == FIRST                       # the killed run is not seen
    publish_set(folder, SECOND)                        # and its leftovers go with the next run
    assert view(folder) == SECOND and len(runs(folder)) == 2
    assert_clean(folder)


def test_a_full_disk_during_a_write_keeps_the_earlier_set(tmp_path, monkeypatch):
    folder = tmp_path / "results"
    publish_set(folder, FIRST)
    real_fsync = os.fsync

    def full(fd):
        if os.fstat(fd).st_size == 100:   # summary.json
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)
    monkeypatch.setattr(results.os, "fsync", full)
    with pytest.raises(DataPerfError) as info:
        publish_set(folder, {"summary.csv": "a", "summary.json": "x" * 100})
    message = str(info.value)
    assert message == f"{folder}: cannot write summary.json (no space left on the device); " \
                      "the earlier files there are unchanged"
    monkeypatch.setattr(results.os, "fsync", real_fsync)
    assert view(folder) == FIRST and len(runs(folder)) == 1
    assert_clean(folder)


def test_a_failed_figure_write_inside_the_run_is_one_clear_line(tmp_path, monkeypatch):
    folder = tmp_path / "plots"

    def savefig(path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
    with pytest.raises(DataPerfError, match=r"cannot write scores.png \(no space left on the device\)"):
        with publish(folder, "plot folder") as out:
            savefig(out.path("scores.png"))
    assert list(folder.iterdir()) == []


# ------------------------------------------------------------------ an unusable folder, found before any work

def test_not_a_folder_read_only_or_full_is_found_first(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataPerfError, match="the results folder is not a folder"):
        publish(tmp_path / "file")
    with pytest.raises(DataPerfError, match="the results folder cannot be created"):
        publish(tmp_path / "file" / "results")

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")
    with monkeypatch.context() as m:
        m.setattr(results.tempfile, "mkstemp", read_only)
        with pytest.raises(DataPerfError, match=r"results: the results folder is not writable \(Read-only file system\)"):
            publish(tmp_path / "results")

    class Full:
        f_bavail, f_frsize = 3, 4096
    with monkeypatch.context() as m:
        m.setattr(results.os, "statvfs", lambda path: Full)
        with pytest.raises(DataPerfError, match="has 12,288 bytes free, at least 1,048,576 are needed"):
            publish(tmp_path / "results")


def test_a_folder_without_symbolic_links_is_found_first(tmp_path, monkeypatch):
    def no_links(*args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")
    monkeypatch.setattr(results.os, "symlink", no_links)
    with pytest.raises(DataPerfError, match="cannot hold symbolic links .Operation not permitted., which publishing"):
        publish(tmp_path / "results")
    assert list((tmp_path / "results").iterdir()) == []


def test_two_tasks_cannot_write_one_folder_at_once(tmp_path):
    folder = tmp_path / "results"
    with publish(folder) as out:
        out.write_text("summary.json", "1")
        with pytest.raises(DataPerfError, match="another task is writing to this folder now"):
            publish(folder)
    with publish(folder):   # released with the first
        pass


def test_names_outside_the_folder_are_refused(tmp_path):
    with publish(tmp_path / "results") as out:
        for name in ("../x.json", "/abs.json", "runs", "latest", ".hidden", "a/b.json", ""):
            with pytest.raises(DataPerfError, match="cannot be a result file name"):
                out.path(name)


def test_results_of_the_earlier_layout_become_one_run(tmp_path):
    """The layout before this one: plain files at the top, earlier versions in previous/<time>/."""
    folder = tmp_path / "results"
    (folder / "previous" / "20240101T000000Z").mkdir(parents=True)
    (folder / "previous" / "20240101T000000Z" / "summary.json").write_text("older")
    for name, text in FIRST.items():
        (folder / name).write_text(text)
    (folder / "notes.txt").write_text("mine")
    with publish(folder) as out:
        assert view(folder) == FIRST        # still what a reader sees while the new run is computed
        out.write_text("summary.json", "new")
    assert view(folder) == {"summary.json": "new"}
    earlier, _ = runs(folder)
    assert {p.name: p.read_text() for p in earlier.iterdir()} == FIRST
    assert (folder / "previous" / "20240101T000000Z" / "summary.json").read_text() == "older"
    assert (folder / "notes.txt").read_text() == "mine"   # not a result: left alone


def test_a_second_run_in_the_same_second_gets_its_own_folder(tmp_path):
    folder = tmp_path / "results"
    for i in range(3):
        publish_set(folder, {"summary.json": str(i)})
    assert [p.read_text() for r in runs(folder) for p in r.iterdir()] == ["0", "1", "2"]


# ------------------------------------------------------------------ submissions: plain files, journaled

def _files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*")
            if p.is_file() and not p.relative_to(folder).parts[0].startswith((".", "previous"))}


def publish_plain(folder: Path, files: dict[str, str]):
    with publish_files(folder) as out:
        for name, text in files.items():
            dio.write_text(out.root / name, text)
    return out


def test_plain_files_replace_archive_and_keep_others(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "mine").mkdir()
    (folder / "mine" / "en_25_train.json").write_text("participant")
    out = publish_plain(folder, {"random/0.txt": "a", "random/1.txt": "b", "x_random.txt": "c"})
    assert sorted(p.relative_to(folder).as_posix() for p in out.published) == ["random/0.txt", "random/1.txt",
                                                                               "x_random.txt"]
    out = publish_plain(folder, {"random/0.txt": "A", "random/1.txt": "b", "x_random.txt": "c"})
    assert _files(folder) == {"mine/en_25_train.json": "participant", "random/0.txt": "A", "random/1.txt": "b",
                              "x_random.txt": "c"}
    archived = {p.relative_to(folder / "previous").as_posix(): p.read_text()
                for p in (folder / "previous").rglob("*") if p.is_file()}
    assert archived == {f"{out.stamp}/random/0.txt": "a"}   # one folder per run, only what changed
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []


def test_plain_files_journal_rolled_forward_after_a_kill(tmp_path):
    folder = tmp_path / "submissions"
    publish_plain(folder, {"m/0.txt": "old0", "m/1.txt": "old1"})
    script = textwrap.dedent("""
        import os, signal, sys
        from pathlib import Path
        from common.core import io
        from common.results import publish as results
        moved = []
        def checkpoint(at):
            if at == "moved":
                moved.append(at)
                if len(moved) == 1:
                    os.kill(os.getpid(), signal.SIGKILL)
        results._checkpoint = checkpoint
        with results.publish_files(Path(sys.argv[1])) as out:
            io.write_text(out.root / "m" / "0.txt", "new0")
            io.write_text(out.root / "m" / "1.txt", "new1")
    """)
    proc = subprocess.run([sys.executable, "-c", script, str(folder)], cwd=ROOT, capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    assert _files(folder) == {"m/0.txt": "new0", "m/1.txt": "old1"}     # half-way: a mixed set on disk ...
    with pytest.raises(DataPerfError, match="interrupted while publishing them; run it again"):
        require_settled(folder)                                          # ... that evaluate refuses
    with publish_files(folder):                                          # the next run completes it first
        assert _files(folder) == {"m/0.txt": "new0", "m/1.txt": "new1"}
    require_settled(folder)
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []
    (stamp,) = (folder / "previous").iterdir()
    assert _files(stamp) == {"m/0.txt": "old0", "m/1.txt": "old1"}


def test_plain_files_crash_before_the_journal_changes_nothing(tmp_path, monkeypatch):
    folder = tmp_path / "submissions"
    publish_plain(folder, {"m/0.txt": "old"})

    def crash(at):
        if at == "staged":
            raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(results, "_checkpoint", crash)
    with pytest.raises(DataPerfError, match="no space left"):
        publish_plain(folder, {"m/0.txt": "new"})
    require_settled(folder)
    assert _files(folder) == {"m/0.txt": "old"}
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []


def test_plain_files_are_not_written_through_a_link(tmp_path):
    folder, elsewhere = tmp_path / "submissions", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    (folder / "m").symlink_to(elsewhere)
    with pytest.raises(DataPerfError, match="must be a folder of its own, not a link"):
        publish_plain(folder, {"m/0.txt": "x"})
    assert list(elsewhere.iterdir()) == []


# ------------------------------------------------------------------ single files: temporaries of killed writes

def test_a_killed_atomic_write_leaves_a_temporary_that_the_next_write_removes(tmp_path):
    target = tmp_path / "data.parquet"
    script = textwrap.dedent("""
        import os, sys, time
        from common.core import io
        os.fsync = lambda fd: (print("written", flush=True), time.sleep(60))
        io.write_bytes_atomic(sys.argv[1], b"x" * 1000, keep_previous=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script, str(target)], cwd=ROOT, stdout=subprocess.PIPE)
    assert proc.stdout.readline() == b"written\n"
    proc.kill()
    proc.wait(timeout=30)
    (temporary,) = tmp_path.glob(".data.parquet.*.tmp")
    assert f".data.parquet.{proc.pid}." in temporary.name
    dio.write_bytes_atomic(target, b"y", keep_previous=False)
    assert list(tmp_path.iterdir()) == [target] and target.read_bytes() == b"y"
