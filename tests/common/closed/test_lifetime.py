"""What a closed round leaves on the host and for how long: owners of what it creates, the neutral folder of the
views, the sweep of what a killed runner left, and SIGINT, SIGTERM and SIGHUP turned into one clean stop."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from common.closed import leftovers
from common.closed.interrupts import Interrupted, interruptible
from common.closed.leftovers import ViewFolders, current_owner, owner_gone, views_root


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_an_owner_is_gone_only_when_that_is_sure():
    host, boot, pid, start = current_owner().rsplit("/", 3)
    assert int(pid) == os.getpid() and not owner_gone(current_owner())
    assert owner_gone(f"{host}/{boot}/{dead_pid()}/{start}")             # no such process any more
    assert owner_gone(f"{host}/{boot}/{os.getpid()}/{int(start) + 1}")    # the pid is another process's now
    assert owner_gone(f"{host}/another-boot/{os.getpid()}/{start}")       # the machine restarted
    assert not owner_gone(f"other-host/{boot}/{dead_pid()}/1")            # another host's: cannot tell
    for unknown in (None, "", "garbage", "a/b/not-a-pid/1"):
        assert not owner_gone(unknown)


def test_views_are_random_names_under_a_neutral_folder_and_swept_when_their_owner_is_gone(tmp_path):
    views = ViewFolders(tmp_path / "views")
    first, second = views.new(), views.new()
    assert first != second and first.parent == tmp_path / "views"
    assert re.fullmatch(r"[0-9a-f]{16}", first.name) and not first.exists()
    first.mkdir()
    (first / "data").write_text("x")
    assert json.loads((tmp_path / "views" / f"{first.name}.owner").read_text()) == {"owner": current_owner()}
    assert views.sweep() == 0 and first.exists()                # its owner (this process) is alive
    host, boot, _, _ = current_owner().rsplit("/", 3)
    orphan = ViewFolders(tmp_path / "views", owner=f"{host}/{boot}/{dead_pid()}/1").new()
    orphan.mkdir()
    assert views.sweep() == 1 and not orphan.exists() and first.exists()
    assert not (tmp_path / "views" / f"{orphan.name}.owner").exists()
    views.remove(first)
    views.remove(second)
    assert list((tmp_path / "views").iterdir()) == []


def test_the_views_folder_is_on_the_workspace_s_file_system_and_private(tmp_path, monkeypatch):
    other, same = tmp_path / "var-tmp", tmp_path / "tmp"
    other.mkdir()
    same.mkdir()
    monkeypatch.setattr(leftovers, "TEMP_ROOTS", (other, same))
    real_stat = os.stat

    def stat(path, *args, **kwargs):      # var-tmp on another device than the workspace
        info = real_stat(path, *args, **kwargs)
        if str(path) == str(other):
            return os.stat_result((info.st_mode, info.st_ino, info.st_dev + 1) + tuple(info)[3:])
        return info
    monkeypatch.setattr(leftovers.os, "stat", stat)
    workspace = tmp_path / "rounds" / "secret-round-name"
    workspace.mkdir(parents=True)
    root = views_root(workspace)
    assert root == same.resolve() / "dataperf-views" and oct(root.stat().st_mode & 0o777) == "0o711"
    assert "secret-round-name" not in str(root) and "rounds" not in str(root)
    # a folder of that name open to others (or another user's) is not used: this user's own name instead
    root.chmod(0o777)
    assert views_root(workspace) == same.resolve() / f"dataperf-views-{os.getuid()}"


def test_sigterm_and_sighup_raise_like_sigint_and_a_second_signal_waits_for_the_cleanup(capsys):
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        cleaned = []
        with pytest.raises(Interrupted) as caught:
            with interruptible():
                try:
                    os.kill(os.getpid(), signum)
                    signal.pthread_sigmask(signal.SIG_BLOCK, [])      # a point where the handler runs
                finally:
                    os.kill(os.getpid(), signal.SIGTERM)              # during the cleanup: noted, not raised
                    cleaned.append(True)
        assert caught.value.signum == signum and caught.value.exit_status == 128 + signum and cleaned
        assert "again: still cleaning up" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL        # the handlers are given back


def test_a_third_signal_abandons_the_cleanup():
    with pytest.raises(Interrupted):
        with interruptible():
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                signal.pthread_sigmask(signal.SIG_BLOCK, [])
            finally:
                os.kill(os.getpid(), signal.SIGHUP)
                with pytest.raises(Interrupted):
                    os.kill(os.getpid(), signal.SIGHUP)
                    signal.pthread_sigmask(signal.SIG_BLOCK, [])


def test_an_ignored_signal_stays_ignored():
    """`nohup dataperf closed ...` ignores SIGHUP: the round must not stop at a hang-up."""
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with interruptible():
            os.kill(os.getpid(), signal.SIGHUP)
            signal.pthread_sigmask(signal.SIG_BLOCK, [])
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)
