"""What a round leaves on the host while it runs, who owns it, and how the next round removes what a killed one left.

A runner interrupted by SIGINT, SIGTERM or SIGHUP cleans up itself (interrupts.py).  One killed with SIGKILL, or
on a machine that crashed, cannot: so everything it creates names its owner, the runner process
(`host/boot id/pid/start time`, never reused while the machine runs):
  * every container and volume carries the labels ROUND_LABEL (its name) and OWNER_LABEL (the owner);
  * every view of the round's data lives in a folder of its own under a neutral parent (views_root below), with
    `<name>.owner` beside it holding the owner.
At its start, `dataperf closed` removes the containers (running ones included), volumes and views of every owner
that is gone.  Those of a runner still alive, or of another host sharing the engine, are left alone.

The view's folder is what the container's /proc/self/mountinfo shows: so it lies under /var/tmp or /tmp, named
at random, never under the workspace or after the round.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import stat
from pathlib import Path

from common.core.errors import DataPerfError, ValidationError
from common.untrusted.files import read_supplied

ROUND_LABEL = "org.dataperf.closed.round"       # the container's or volume's name in its round
OWNER_LABEL = "org.dataperf.closed.owner"       # the runner process that created it
VIEWS_FOLDER = "dataperf-views"
TEMP_ROOTS = (Path("/var/tmp"), Path("/tmp"))
OWNER_SUFFIX = ".owner"


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "-"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (None: no such process); '-' where /proc is missing."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None if Path("/proc/self/stat").exists() else "-"
    except OSError:
        return "-"
    return text.rsplit(")", 1)[1].split()[19]     # field 22; the command name before it may hold anything


def current_owner() -> str:
    return f"{socket.gethostname()}/{_boot_id()}/{os.getpid()}/{_start_time(os.getpid())}"


def owner_gone(owner: str | None) -> bool:
    """Is the runner that wrote `owner` gone for sure?  Unknown owners and other hosts' runners are not."""
    try:
        host, boot, pid_text, start = (owner or "").rsplit("/", 3)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname():
        return False
    if boot != _boot_id():
        return True                                   # the machine restarted since
    now = _start_time(pid)
    if now == "-" or start == "-":                    # no /proc: only whether the pid exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False
        return False
    return now is None or now != start                # gone, or its pid now belongs to another process


def views_root(workspace: Path) -> Path:
    """The neutral parent of the views: a folder of this user in the first of /var/tmp, /tmp on the workspace's
    file system (so that the view's files are hard links, not copies), else in the first that exists."""
    roots = [r for r in TEMP_ROOTS if r.is_dir()]
    if not roots:
        raise DataPerfError("neither /var/tmp nor /tmp exists: the views of a round are made there")
    try:
        device = os.stat(workspace).st_dev
        roots.sort(key=lambda r: os.stat(r).st_dev != device)
    except OSError:
        pass
    base = roots[0].resolve()
    for name in (VIEWS_FOLDER, f"{VIEWS_FOLDER}-{os.getuid()}"):
        folder = base / name
        try:
            folder.mkdir(mode=0o711)
        except FileExistsError:
            pass
        if _ours(folder):
            return folder
    raise DataPerfError(f"{base / VIEWS_FOLDER}: exists and is not a private folder of this user; remove it")


def _ours(folder: Path) -> bool:
    info = os.lstat(folder)
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o022


class ViewFolders:
    """Fresh, randomly named folders for views under `root`, each with its owner file beside it."""

    def __init__(self, root: Path, owner: str | None = None):
        self.root = Path(root)
        self.owner = owner or current_owner()

    def new(self) -> Path:
        """A path for a new view (not created: assemble() makes it), its owner recorded first."""
        self.root.mkdir(mode=0o711, parents=True, exist_ok=True)
        while True:
            path = self.root / secrets.token_hex(8)
            try:
                with open(str(path) + OWNER_SUFFIX, "x", encoding="utf-8") as handle:
                    json.dump({"owner": self.owner}, handle)
            except FileExistsError:
                continue
            return path

    def remove(self, path: Path) -> None:
        shutil.rmtree(path, ignore_errors=True)
        Path(str(path) + OWNER_SUFFIX).unlink(missing_ok=True)

    def sweep(self) -> int:
        """Remove the views whose owner is gone; how many."""
        removed = 0
        if not self.root.is_dir():
            return 0
        for record in self.root.glob("*" + OWNER_SUFFIX):
            try:   # the views' folder is shared with other users: its records are read like anything supplied
                owner = json.loads(read_supplied(record, 64 << 10).decode("utf-8")).get("owner")
            except (ValidationError, ValueError, AttributeError):
                continue
            if owner_gone(owner):
                self.remove(self.root / record.name[:-len(OWNER_SUFFIX)])
                removed += 1
        return removed
