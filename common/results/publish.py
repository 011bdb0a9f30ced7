"""Publishing a task's outputs as one set: all files of a run or none, earlier runs kept, one folder per run.

Results (evaluate) and figures (plot): one folder per run, switched into view by one atomic rename
------------------------------------------------------------------------------------------------------
    results/
      runs/20250301T101500Z/        every file of one run, complete (also every earlier run, untouched)
      latest -> runs/20250301T101500Z
      summary.json -> latest/summary.json     stable names, the paths users and tools read
      09j2d_evaluation.json -> latest/09j2d_evaluation.json

The output folder itself cannot be renamed or replaced (in Docker it is a bind mount), so the switch happens inside
it.  `publish(folder)` opens a run at the start of a task: it checks the folder is usable (a folder, writable, not
full) before any work, takes an exclusive lock on it (flock on the folder: a second task writing the same folder is
refused, and the lock dies with the process), and creates the staging folder `.staging-<stamp>/`.  The task writes
its files there.  `commit` then, in this order:
  1. fsyncs the files and renames `.staging-<stamp>` to `runs/<stamp>` (complete, not yet in view);
  2. creates the stable link `<name> -> latest/<name>` for every name of the new set that has none;
  3. replaces `latest` by a link to `runs/<stamp>` (a new link renamed over the old one: atomic) -- the switch;
  4. removes the stable links of names the new set does not have.
Before step 3 every path a reader opens resolves into the earlier run (a new name's link points to a file the
earlier run does not have: not found, as before); after it, into the new run.  A crash, kill -9 or full disk at any
point leaves the earlier complete set in view and never a mixed one.  The next run repairs what an interrupted one
left, under the lock: staging folders and temporary links are removed, links are reconciled with `latest`, and a run
folder that was complete but not switched in (a crash between 1 and 3) is rolled forward, being the newest complete
set.  Earlier runs stay in `runs/`, one folder per run, never overwritten; delete old ones by hand when not needed.
A reader that needs several files of one run resolves `latest` once: `current(folder)`.
Plain result files found at the top (the layout before this one) are moved, on the next run, into a run folder of
their own and stay in view until the new run is published; an old `previous/` folder is left as it is.

Submissions (create_baselines): plain files, journaled roll-forward
--------------------------------------------------------------------
evaluate reads a submission folder as participant input, which refuses links, and participants put their own files
next to the baselines', so there the files stay plain.  `publish_files(folder)` stages every file of the run in
`.staging-<stamp>/` (same relative paths); `commit` writes a journal `.publishing.json` listing the files that
changed, then moves each changed file's earlier version to `previous/<stamp>/` (one folder per run) and the new file
into place, then removes the journal.  A run killed before the journal leaves the earlier files untouched; one
killed after it is completed by the next create_baselines (roll-forward); until then evaluate refuses the folder
(`require_settled`), so a half-published set is never scored.  Unchanged files are not rewritten or archived.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

from common.core.errors import DataPerfError, display_path
from common.core.io import ARCHIVE_DIR as ARCHIVE
from common.core.io import SCRATCH, own_folder, same_content
from common.core.io import json_text
from common.untrusted.files import excerpt, read_supplied

RUNS = "runs"
LATEST = "latest"
STAGING = ".staging-"
JOURNAL = ".publishing.json"
MIN_FREE_BYTES = 1 << 20
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}\Z")
STAMP = re.compile(r"^\d{8}T\d{6}Z(?:-(\d+))?\Z")
RESULT_SUFFIXES = (".json", ".csv", ".png")
JOURNAL_LIMIT = 16 << 20


def _checkpoint(step: str) -> None:
    """Called between the steps of a commit; the tests replace it to crash or kill the process there."""


# ------------------------------------------------------------------ a usable output folder

def check_output_folder(folder: str | Path, what: str = "output folder", min_free: int = MIN_FREE_BYTES) -> Path:
    """A folder a task can write to: created if missing, a folder, writable (a probe file is written and
    removed), with at least `min_free` bytes free.  Otherwise one DataPerfError, before any work is done."""
    folder = Path(folder)
    shown = display_path(folder)
    # `results_folder is not writable`, rather than `results_folder: the results_folder is not writable`
    where = shown if shown == what else f"{shown}: the {what}"
    if folder.exists() and not folder.is_dir():
        raise DataPerfError(f"{where} is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataPerfError(f"{where} cannot be created ({exc.strerror or exc})") from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".dataperf-probe-", suffix=".tmp", dir=folder)
        try:
            os.write(fd, b"\0" * 4096)
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        raise DataPerfError(f"{where} is not writable ({exc.strerror or exc})") from None
    stats = os.statvfs(folder)
    free = stats.f_bavail * stats.f_frsize
    if free < min_free:
        raise DataPerfError(f"{where} has {free:,} bytes free, at least {min_free:,} are needed")
    return folder


def _lock(folder: Path) -> int | None:
    """An exclusive lock on the folder for this task (released when the process ends, however it ends)."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise DataPerfError(f"{display_path(folder)}: another task is writing to this folder now; "
                            "wait for it to end") from None
    except OSError:  # a file system without locks: go on unlocked
        pass
    return fd


def _unlock(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)   # closing the descriptor releases the flock


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _new_stamp(*taken_in: Path) -> str:
    """A UTC stamp for this run, distinct from every name in the given folders (…Z-2, …Z-3 within one second)."""
    base = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    taken = set()
    for folder in taken_in:
        if folder.is_dir():
            taken |= {p.name.removeprefix(STAGING) for p in folder.iterdir()}
    stamp, n = base, 1
    while stamp in taken:
        n += 1
        stamp = f"{base}-{n}"
    return stamp


def _stamp_order(name: str) -> tuple:
    match = STAMP.match(name)
    return (name[:16], int(match.group(1) or 1)) if match else ("", 0)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


def _remove_leftovers(folder: Path) -> None:
    """Staging folders, temporary links and probe files of runs that did not end: this task holds the lock, so
    none of them belongs to a running task."""
    for entry in folder.iterdir():
        if entry.name.startswith(STAGING) or (entry.name.startswith(".") and entry.name.endswith(".tmp")):
            _remove(entry)


def _os_error_message(folder: Path, exc: OSError, what: str) -> str:
    reason = "no space left on the device" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else (exc.strerror or str(exc))
    return f"{folder}: cannot write {what} ({reason}); the earlier files there are unchanged"


class _Run:
    """What both kinds of publication share: the checked, locked folder and the staging folder."""

    def __init__(self, folder: str | Path, what: str, min_free: int):
        self.what = what
        self.folder = check_output_folder(folder, what, min_free)
        self._lock = _lock(self.folder)
        self.committed = False
        self.published: list[Path] = []
        try:
            self._recover()
            self.stamp = _new_stamp(self.folder, self.folder / RUNS, self.folder / ARCHIVE)
            self.staging = self.folder / f"{STAGING}{self.stamp}"
            self.staging.mkdir(mode=0o755)
            self._scratch = SCRATCH.set(self.staging / ".scratch")
        except OSError as exc:
            _unlock(self._lock)
            raise DataPerfError(_os_error_message(self.folder, exc, "its staging folder")) from None
        except BaseException:
            _unlock(self._lock)
            raise

    def _recover(self) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def write_bytes(self, name: str, data: bytes) -> Path:
        path = self.path(name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise DataPerfError(_os_error_message(self.folder, exc, name)) from None
        return path

    def write_text(self, name: str, text: str) -> Path:
        return self.write_bytes(name, text.encode("utf-8"))

    def write_json(self, name: str, data: Any) -> Path:
        return self.write_text(name, json_text(data))

    def path(self, name: str) -> Path:
        raise NotImplementedError

    def _release_scratch(self) -> None:
        token, self._scratch = getattr(self, "_scratch", None), None
        if token is not None:
            try:
                SCRATCH.reset(token)
            except ValueError:   # set in another context: nothing of ours to restore
                pass

    def commit(self) -> None:
        if self.committed:
            return
        self._release_scratch()
        try:
            self._commit()
        except OSError as exc:
            raise DataPerfError(_os_error_message(self.folder, exc, "the new files")) from None
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)   # gone already once renamed into runs/
            _unlock(self._lock)
            self._lock = None
        self.committed = True

    def discard(self) -> None:
        """Drop the staged files (the earlier ones stay in view) and release the folder."""
        self._release_scratch()
        shutil.rmtree(self.staging, ignore_errors=True)
        _unlock(self._lock)
        self._lock = None

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None:
            self.commit()
            return False
        self.discard()
        # A write into the staging folder by other code (a figure's savefig) that failed: one clear line.
        if isinstance(exc, OSError) and str(getattr(exc, "filename", "") or "").startswith(str(self.staging)):
            raise DataPerfError(_os_error_message(self.folder, exc, Path(exc.filename).name)) from None
        return False


# ------------------------------------------------------------------ results and figures: runs/<stamp> + latest

class Publication(_Run):
    """One run's set of result files (flat: no subfolders), published as a whole on commit."""

    def __init__(self, folder: str | Path, what: str = "results folder", min_free: int = MIN_FREE_BYTES,
                 suffixes: tuple[str, ...] = RESULT_SUFFIXES):
        self.suffixes = suffixes
        super().__init__(folder, what, min_free)

    def path(self, name: str) -> Path:
        """Where to write `name` in this run (for code that writes files itself, e.g. a figure's savefig)."""
        if not FILE_NAME.match(name) or name in (RUNS, LATEST, ARCHIVE):
            raise DataPerfError(f"{self.folder}: '{name}' cannot be a result file name")
        return self.staging / name

    def _recover(self) -> None:
        folder = self.folder
        _remove_leftovers(folder)
        probe = folder / f".dataperf-link-{os.getpid()}.tmp"
        try:
            os.symlink(LATEST, probe)
            probe.unlink()
        except OSError as exc:
            raise DataPerfError(f"{folder}: the {self.what} cannot hold symbolic links ({exc.strerror or exc}), "
                                "which publishing a run needs; use a folder on another file system") from None
        if not self._migrate_earlier_layout():
            complete = runs(folder)
            complete = [p.name for p in complete if STAMP.match(p.name)]
            current = Path(_link_target(folder / LATEST) or "").name
            if complete and (not STAMP.match(current) or _stamp_order(complete[-1]) > _stamp_order(current)):
                # a run that reached runs/ but was not switched in: complete, and newer than the one in view
                self._switch(complete[-1])
        self._reconcile_links()

    def _migrate_earlier_layout(self) -> bool:
        """Plain result files at the top (the layout before runs/, or files put there by hand) become one run
        folder of their own, switched into view: nothing is lost, and they stay what a reader sees."""
        folder = self.folder
        plain = [p for p in folder.iterdir() if not p.is_symlink() and p.is_file() and FILE_NAME.match(p.name)
                 and p.suffix in self.suffixes]
        if not plain:
            return False
        stamp = _new_stamp(folder, folder / RUNS)
        runs = own_folder(folder / RUNS, "runs folder")
        building = own_folder(runs / f"{STAGING}{stamp}", "staging folder")
        for path in plain:      # copies first: until the switch below, readers see the plain files as they are
            shutil.copyfile(path, building / path.name, follow_symlinks=False)
            _fsync_file(building / path.name)
        _fsync_dir(building)
        os.rename(building, runs / stamp)
        _fsync_dir(runs)
        self._switch(stamp)
        for path in plain:      # each plain file becomes the stable link to the same content: a kill between two
            self._link(path.name, replace_file=True)   # of these leaves a set whose every name reads the same run
        return True

    def _switch(self, run: str) -> None:
        """Point `latest` at runs/<run>: a new link renamed over the old one, so readers see one or the other."""
        temporary = self.folder / f".{LATEST}-{os.getpid()}.tmp"
        temporary.unlink(missing_ok=True)
        os.symlink(f"{RUNS}/{run}", temporary)
        os.replace(temporary, self.folder / LATEST)
        _fsync_dir(self.folder)

    def _reconcile_links(self) -> None:
        """Every file of the run in view has its stable link; links into latest/ with no file there go."""
        folder = self.folder
        latest = folder / LATEST
        names = {p.name for p in latest.iterdir() if p.is_file()} if latest.is_dir() else set()
        for name in names:
            self._link(name)
        for entry in folder.iterdir():
            target = _link_target(entry)
            if target and target.startswith(f"{LATEST}/") and entry.name not in names:
                entry.unlink(missing_ok=True)

    def _link(self, name: str, replace_file: bool = False) -> None:
        link, wanted = self.folder / name, f"{LATEST}/{name}"
        if _link_target(link) == wanted:
            return
        if os.path.lexists(link) and not link.is_symlink() and not replace_file:
            raise DataPerfError(f"{link}: is in the way of the result of the same name; move it elsewhere")
        temporary = self.folder / f".{name}.link-{os.getpid()}.tmp"
        temporary.unlink(missing_ok=True)
        os.symlink(wanted, temporary)
        os.replace(temporary, link)

    def _commit(self) -> None:
        names = sorted(p.name for p in self.staging.iterdir() if not p.name.startswith("."))
        for name in names:
            self.path(name)   # the name rules, also for files written through path()
            if not (self.staging / name).is_file():
                raise DataPerfError(f"{self.staging / name}: a result must be a file")
            _fsync_file(self.staging / name)
        for leftover in self.staging.iterdir():   # temporary files of writers that failed
            if leftover.name.startswith("."):
                _remove(leftover)
        _fsync_dir(self.staging)
        _checkpoint("staged")
        runs = own_folder(self.folder / RUNS, "runs folder")
        os.rename(self.staging, runs / self.stamp)
        _fsync_dir(runs)
        _checkpoint("stored")
        for name in names:
            self._link(name)
        _fsync_dir(self.folder)
        _checkpoint("linked")
        self._switch(self.stamp)
        _checkpoint("switched")
        self._reconcile_links()
        _fsync_dir(self.folder)
        self.published = [self.folder / name for name in names]


def _link_target(path: Path) -> str | None:
    try:
        return os.readlink(path)
    except OSError:
        return None


def publish(folder: str | Path, what: str = "results folder", min_free: int = MIN_FREE_BYTES,
            suffixes: tuple[str, ...] = RESULT_SUFFIXES) -> Publication:
    """Open a run of result files for `folder` (use as a context manager: committed when the block ends without
    an exception, discarded otherwise).  Call it before the task's work: an unusable folder fails here."""
    return Publication(folder, what, min_free, suffixes)


def current(folder: str | Path) -> Path:
    """The folder holding the set in view: runs/<stamp> as `latest` names it, or the folder itself (the layout
    before runs/; a real folder `latest`, as a copy that followed the link leaves it, is the set in view).  `latest` is followed only when it is what a commit writes, a link to runs/<stamp> whose run is
    a real folder here: a planted link (to ../../secret, to /etc) is an error, not a place to read from."""
    folder = Path(folder)
    latest = folder / LATEST
    target = _link_target(latest)
    if target is None:          # no link: the earlier layout, or a copy that turned the link into a real folder
        return latest if latest.is_dir() else folder
    match = re.fullmatch(rf"{RUNS}/([^/]+)", target)
    run = folder / RUNS / match.group(1) if match and STAMP.match(match.group(1)) else None
    if run is None or (folder / RUNS).is_symlink() or run.is_symlink() or not run.is_dir():
        raise DataPerfError(f"{latest}: points to {excerpt(target)}, not to a run of this folder; remove it")
    return run


def runs(folder: str | Path) -> list[Path]:
    """Every complete run kept in `folder`, oldest first."""
    folder = Path(folder) / RUNS
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
                  key=lambda p: _stamp_order(p.name))


# ------------------------------------------------------------------ submissions: plain files, journaled

class FilesPublication(_Run):
    """One run's plain files (subfolders allowed), moved into place together on commit; see the module text."""

    def path(self, name: str | Path) -> Path:
        relative = Path(name)
        if relative.is_absolute() or any(not FILE_NAME.match(part) for part in relative.parts) \
                or relative.parts[:1] == (ARCHIVE,):
            raise DataPerfError(f"{self.folder}: '{name}' cannot be a file name here")
        return self.staging / relative

    @property
    def root(self) -> Path:
        """The staging folder, for writers that take a folder: what they write there is published on commit."""
        return self.staging

    def final(self, staged: str | Path) -> Path:
        """Where a file written under `root` will be once published."""
        return self.folder / Path(staged).relative_to(self.staging)

    def _recover(self) -> None:
        journal = self.folder / JOURNAL
        if journal.is_file():
            _roll_forward(self.folder, _read_journal(journal))
            journal.unlink()
        _remove_leftovers(self.folder)

    def _commit(self) -> None:
        changed = []
        for path in sorted(p for p in self.staging.rglob("*") if p.is_file() and not p.is_symlink()):
            relative = path.relative_to(self.staging)
            if any(part.startswith(".") for part in relative.parts):
                continue   # a writer's temporary file
            self.path(relative)
            target = self.folder / relative
            if target.is_file() and not target.is_symlink() and _same_bytes(path, target):
                continue
            _fsync_file(path)
            changed.append(relative.as_posix())
        _checkpoint("staged")
        if changed:
            _write_journal(self.folder / JOURNAL, {"stamp": self.stamp, "files": changed})
            _checkpoint("journaled")
            _roll_forward(self.folder, {"stamp": self.stamp, "files": changed})
            (self.folder / JOURNAL).unlink()
            _fsync_dir(self.folder)
        shutil.rmtree(self.staging, ignore_errors=True)
        self.published = [self.folder / name for name in changed]


def _same_bytes(staged: Path, target: Path) -> bool:
    """Whether the file in place already holds what was staged (read only when the sizes agree, never through a
    link or from a FIFO)."""
    if os.lstat(staged).st_size != os.lstat(target).st_size:
        return False
    size = os.lstat(staged).st_size
    return same_content(target, read_supplied(staged, size))


def _write_journal(path: Path, journal: dict) -> None:
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(journal, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_dir(path.parent)


def _read_journal(path: Path) -> dict:
    try:
        journal = json.loads(read_supplied(path, JOURNAL_LIMIT).decode("utf-8"))
        stamp, files = journal["stamp"], journal["files"]
        if not (isinstance(stamp, str) and STAMP.match(stamp) and isinstance(files, list)
                and all(isinstance(f, str) for f in files)):
            raise ValueError
    except (OSError, ValueError, KeyError, TypeError, DataPerfError):
        raise DataPerfError(f"{path}: the journal of an interrupted publication is unreadable; delete it and "
                            "the .staging-* folder next to it, then run the task again") from None
    return journal


def _roll_forward(folder: Path, journal: dict) -> None:
    """Move each journaled file into place, its earlier version to previous/<stamp>/.  Idempotent: a file already
    moved is skipped, so a roll-forward interrupted in turn is completed by the next one."""
    staging = folder / f"{STAGING}{journal['stamp']}"
    archive = folder / ARCHIVE / journal["stamp"]
    for name in journal["files"]:
        relative = Path(name)
        if relative.is_absolute() or any(not FILE_NAME.match(part) for part in relative.parts):
            raise DataPerfError(f"{folder / JOURNAL}: names a file outside the folder; delete the journal")
        new, target = staging / relative, folder / relative
        if not new.is_file():
            continue
        for parent in reversed(list(relative.parents)[:-1]):      # the method folders: real folders of ours
            own_folder(folder / parent, "folder of submissions")
        if os.path.lexists(target):
            if target.is_dir() and not target.is_symlink():
                raise DataPerfError(f"{target}: a folder is in the way of the file of the same name")
            keep = own_folder(own_folder(folder / ARCHIVE, "archive folder") / journal["stamp"], "archive folder")
            for parent in reversed(list(relative.parents)[:-1]):
                own_folder(keep / parent, "archive folder")
            os.replace(target, archive / relative)
        os.replace(new, target)
        _checkpoint("moved")
    for directory in {(folder / name).parent for name in journal["files"]} | {folder}:
        _fsync_dir(directory)


def publish_files(folder: str | Path, what: str = "submission folder",
                  min_free: int = MIN_FREE_BYTES) -> FilesPublication:
    """Open a run of plain files for `folder` (a context manager, like publish)."""
    return FilesPublication(folder, what, min_free)


def require_settled(folder: str | Path) -> None:
    """Refuse a folder whose last publication was interrupted half-way (its files would be a mixed set)."""
    journal = Path(folder) / JOURNAL
    if journal.exists():
        raise DataPerfError(f"{display_path(folder)}: the task that wrote these files was interrupted while "
                            "publishing them; run it again (it completes the publication) before reading them")


def iter_published(folder: str | Path) -> Iterator[Path]:
    """The stable paths of the set in view (for listing results: the links at the top of the folder)."""
    folder = Path(folder)
    for entry in sorted(folder.iterdir()):
        target = _link_target(entry)
        if target and target.startswith(f"{LATEST}/") and entry.exists():
            yield entry
