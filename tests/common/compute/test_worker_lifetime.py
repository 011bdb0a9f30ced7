"""Worker processes of parallel_map die with their parent (a killed evaluate once left workers for 23 minutes)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

PARENT = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from common.compute.parallel import parallel_map

    def work(folder, job):
        (Path(folder) / f"{os.getpid()}.pid").write_text("")
        time.sleep(120)
        return job

    parallel_map(work, range(2), workers=2, shared=sys.argv[1])
""")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def test_workers_exit_when_the_parent_is_killed(tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path)], cwd=ROOT)
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("*.pid"))) < 2:
        assert time.monotonic() < deadline and parent.poll() is None, "the workers did not start"
        time.sleep(0.1)
    workers = [int(p.stem) for p in tmp_path.glob("*.pid")]
    assert all(_alive(pid) for pid in workers)
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=30)
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [pid for pid in workers if _alive(pid)]
    for pid in survivors:   # do not leave them behind if the test fails
        os.kill(pid, signal.SIGKILL)
    assert survivors == []
