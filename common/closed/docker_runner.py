"""Running one participant image in a sandbox, through the Docker SDK for Python (`docker`, pinned).

Why the SDK and not the docker CLI or mlcube: mlcube 0.0.9 joins a `docker run` string and hands it to a shell
(image names and paths would be shell input), has no place for a tmpfs with a size, a process limit or a read-only
root, cannot kill a container after a wall-clock limit, and reports neither an out-of-memory kill nor the image
digest.  The SDK sends each setting as a structured field of the Engine API, waits with a timeout, reads the
container's state (exit code, OOMKilled) and copies a folder out as a tar stream, with no shell in between.

The sandbox of a participant container:
  * the network off (network_mode none: only a loopback interface), no Docker socket, no host path but the view;
  * a read-only root file system; the view mounted read-only at /dataperf/view from a neutral folder
    (leftovers.views_root: /proc/self/mountinfo shows neither the workspace nor the round);
  * an unprivileged user (65534:65534, nobody), every capability dropped, no new privileges (setuid bits ignored),
    and our own seccomp profile (seccomp.py: the engine's default less io_uring, ptrace and what no algorithm needs);
  * limits on processes (pids), memory (no swap), CPU, and a core size of 0;
  * /tmp a tmpfs of closed.tmp_mb; the output folder /dataperf/output a tmpfs volume of closed.output_mb and
    closed.output_files (an inode limit: a million small files fail like one huge file); every VOLUME the image
    declares a tmpfs of closed.tmp_mb too (never an anonymous volume on the host's disk);
  * a bounded log (json-file, one 1 MB file), and a wall clock after which it is killed and removed.

Two containers of ours (the cube's own image, sandboxed the same way) start first:
  * the clock, whose PID namespace the participant's container joins: its first process (CLOCK) ends after the
    wall clock plus CLOCK_MARGIN, and the kernel then kills every process of the namespace.  So the wall clock is
    enforced by the kernel, not only by this process: a participant's container ends even when the runner was
    killed with SIGKILL.  Nothing inside can stop the clock: the first process of a PID namespace receives no
    signal from inside it has no handler for, and ptrace is not in the seccomp profile;
  * the keeper: a tmpfs disappears when the last container using it stops, so the output volume is also mounted,
    read-only, in the keeper, which sleeps until the output was copied out (at most KEEPER_GRACE after the wall
    clock).
"""
from __future__ import annotations

import posixpath
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from common.closed.leftovers import OWNER_LABEL, ROUND_LABEL, current_owner, owner_gone
from common.closed.limits import Limits
from common.closed.seccomp import security_option
from common.closed.views import OUTPUT, VIEW
from common.core.errors import DataPerfError
from common.untrusted.files import excerpt

ALGORITHM_LABEL = "org.dataperf.algorithm"     # the image label naming the participant's class
UID, GID = 65534, 65534                        # nobody:nogroup
USER = f"{UID}:{GID}"
LOG_LINES = 400                                 # lines asked from the engine; the results keep closed.log_chars
CLOCK_MARGIN = 30                               # seconds the sandbox may outlive the wall clock if we are killed
KEEPER_GRACE = 600                              # seconds the keeper outlives it (the copy must be done by then)
ARCHIVE_CHUNK = 1 << 20
MAX_VOLUMES = 16                                # declared volumes replaced by a tmpfs; more: image_error
# Where a declared volume may not go: over the sandbox's own mounts, the root, or the kernel's file systems.
RESERVED = ("/", VIEW, OUTPUT, "/proc", "/sys", "/dev")

# The clock's first process, PID 1 of the sandbox's PID namespace: it reaps the orphans the participant leaves
# and ends after argv[1] seconds, whereupon the kernel kills every process of the namespace.  SIGINT ignored;
# other signals from inside the namespace never reach a namespace's first process that has no handler for them.
CLOCK = """import os, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])
end = time.monotonic() + float(sys.argv[1])
while (left := end - time.monotonic()) > 0:
    signal.sigtimedwait([signal.SIGCHLD], min(left, 60))
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass
"""


@dataclass(frozen=True)
class ImageInfo:
    reference: str                 # as the organiser named it
    id: str                        # the engine's content digest of the image (sha256:...), what runs
    repo_digests: list[str]        # registry digests, when the image was pulled
    algorithm: str | None          # the value of the label org.dataperf.algorithm
    volumes: tuple[str, ...] = ()  # the VOLUMEs it declares (normalised, each overridden by a tmpfs)


class ImageProblem(Exception):
    """An image that cannot run: not found, unreadable, no or a bad label."""


class RunnerError(Exception):
    """The Docker engine failed while running an image (not the image's fault)."""


@dataclass
class Finished:
    exit_code: int | None
    timed_out: bool = False
    oom_killed: bool = False
    seconds: float = 0.0
    log: bytes = b""
    error: str | None = None       # the engine refused to start it


@dataclass
class Handle:
    """A finished container whose output can still be copied out (until the `with` block ends)."""
    finished: Finished
    _output: Iterable[bytes] | None = field(default=None, repr=False)
    cleanup_seconds: float | None = None    # set when the block ended: closing the copy, removing everything

    def output(self) -> Iterable[bytes]:
        """The output folder as a tar stream (top entry `output`)."""
        return self._output if self._output is not None else iter(())


def _overlaps(path: str, other: str) -> bool:
    return path == other or other.startswith(path.rstrip("/") + "/") or path.startswith(other + "/")


def declared_volumes(declared: Iterable[str]) -> tuple[str, ...]:
    """The image's VOLUMEs, normalised, each to be covered by a size-limited tmpfs; an ImageProblem for one over
    the sandbox's own mounts or the kernel's file systems, or too many of them."""
    paths = set()
    for raw in declared:
        path = "/" + posixpath.normpath("/" + str(raw)).lstrip("/")
        if len(path) > 256 or not path.isprintable():
            raise ImageProblem(f"declares VOLUME {excerpt(str(raw))}: not a plain path")
        reserved = [r for r in RESERVED if (r == "/" and path == "/") or (r != "/" and _overlaps(path, r))]
        if reserved:
            raise ImageProblem(f"declares VOLUME {excerpt(path)}, which would cover {reserved[0]}: remove the "
                               f"VOLUME line (a declared volume is replaced by a tmpfs; not this one)")
        paths.add(path)
    if len(paths) > MAX_VOLUMES:
        raise ImageProblem(f"declares {len(paths)} VOLUMEs: at most {MAX_VOLUMES} (each becomes a tmpfs)")
    return tuple(sorted(paths))


def _environment(limits: Limits) -> dict[str, str]:
    threads = str(limits.threads)
    return {"HOME": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib", "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
            "OPENBLAS_NUM_THREADS": threads, "TMPDIR": "/tmp"}


class DockerRunner:
    def __init__(self, keeper_image: str, client=None):
        try:
            import docker
        except ImportError:
            raise DataPerfError("the closed division needs the Docker SDK for Python: pip install docker") from None
        self.docker = docker
        if client is None:
            try:
                client = docker.from_env(timeout=120)
                client.ping()
            except docker.errors.DockerException as exc:
                raise DataPerfError(f"cannot reach the Docker engine ({excerpt(str(exc), 200)})") from None
        self.client = client
        self.owner = current_owner()
        try:
            keeper = client.images.get(keeper_image)
            self.keeper_image = keeper.id
            self.keeper_volumes = declared_volumes((keeper.attrs.get("Config") or {}).get("Volumes") or {})
        except ImageProblem as exc:
            raise DataPerfError(f"the cube's image {keeper_image} {exc}") from None
        except docker.errors.ImageNotFound:
            raise DataPerfError(f"the cube's image {keeper_image} is not on this Docker engine: build it (mlcube run "
                                f"--task=download ... builds it) or pull it; participants' images are built FROM it "
                                f"and it keeps their output until it is copied out") from None

    def image(self, reference: str) -> ImageInfo:
        try:
            image = self.client.images.get(reference)
        except self.docker.errors.ImageNotFound:
            raise ImageProblem("not found on this Docker engine (docker pull or docker load it first)") from None
        except (self.docker.errors.APIError, self.docker.errors.DockerException) as exc:
            raise ImageProblem(f"cannot be inspected ({excerpt(str(exc), 200)})") from None
        labels = image.labels or {}
        volumes = declared_volumes((image.attrs.get("Config") or {}).get("Volumes") or {})
        return ImageInfo(reference, image.id, sorted(image.attrs.get("RepoDigests") or []), labels.get(ALGORITHM_LABEL),
                         volumes)

    def sweep(self) -> tuple[int, int]:
        """Remove the containers (running or not) and volumes of rounds whose runner is gone (killed, or its
        machine restarted); those of live runners and of other hosts stay.  Returns how many of each."""
        import requests

        docker = self.docker
        engine_errors = (docker.errors.DockerException, requests.exceptions.RequestException)
        containers = volumes = 0
        try:
            found = self.client.containers.list(all=True, filters={"label": ROUND_LABEL}, ignore_removed=True)
            # participants first: each lives in its clock's PID namespace
            for container in sorted(found, key=lambda c: not c.name.endswith("-run")):
                if owner_gone((container.labels or {}).get(OWNER_LABEL)):
                    containers += self._remove(container.remove, container.name, engine_errors, force=True, v=True)
            for volume in self.client.volumes.list(filters={"label": ROUND_LABEL}):
                if owner_gone((volume.attrs.get("Labels") or {}).get(OWNER_LABEL)):
                    volumes += self._remove(volume.remove, volume.name, engine_errors, force=True)
        except engine_errors as exc:
            print(f"closed: could not look for what earlier rounds left: {excerpt(str(exc), 200)}", file=sys.stderr)
        return containers, volumes

    def _remove(self, remove, name: str, engine_errors: tuple, **options) -> int:
        try:
            remove(**options)
            return 1
        except self.docker.errors.NotFound:           # removed meanwhile (another round's sweep)
            return 0
        except engine_errors as exc:
            print(f"closed: could not remove {name}: {excerpt(str(exc), 200)}", file=sys.stderr)
            return 0

    @contextmanager
    def run(self, image: ImageInfo, command: list[str], view: Path, limits: Limits, name: str) -> Iterator[Handle]:
        """Run the command in the image on the view; inside the block, the handle's output() can be copied out.
        Every container and the volume are removed when the block ends, whatever happened; an unfinished copy is
        closed first (else the engine holds the keeper until the read times out, and the volume stays)."""
        import requests

        docker = self.docker
        engine_errors = (docker.errors.DockerException, requests.exceptions.RequestException)
        labels = {ROUND_LABEL: name, OWNER_LABEL: self.owner}
        created = []
        volume = archive = handle = None
        try:
            try:
                volume = self.client.volumes.create(
                    name=f"{name}-output", driver="local", labels=labels,
                    driver_opts={"type": "tmpfs", "device": "tmpfs",
                                 "o": f"size={limits.output_bytes},nr_inodes={limits.output_files + 1},"
                                      f"uid={UID},gid={GID},mode=0700,nosuid,nodev,noexec"})
                keeper = self.client.containers.run(
                    self.keeper_image, entrypoint=["sleep", str(limits.timeout_seconds + KEEPER_GRACE)], detach=True,
                    name=f"{name}-keeper", labels=labels, **self._sandbox(limits, self.keeper_volumes, keeper=True),
                    mounts=[docker.types.Mount(OUTPUT, volume.name, type="volume", read_only=True)])
                created.append(keeper)
                clock = self.client.containers.run(
                    self.keeper_image, entrypoint=["python3", "-c", CLOCK, str(limits.timeout_seconds + CLOCK_MARGIN)],
                    detach=True, name=f"{name}-clock", labels=labels,
                    **self._sandbox(limits, self.keeper_volumes, keeper=True))
                created.append(clock)
                container = self.client.containers.create(
                    image.id, entrypoint=command, name=f"{name}-run", labels=labels, working_dir="/tmp",
                    environment=_environment(limits), hostname="participant", pid_mode=f"container:{clock.id}",
                    **self._sandbox(limits, image.volumes),
                    mounts=[docker.types.Mount(VIEW, str(Path(view).resolve()), type="bind", read_only=True),
                            docker.types.Mount(OUTPUT, volume.name, type="volume")])
                created.append(container)
                finished = self._wait(container, limits)
            except engine_errors as exc:
                raise RunnerError(f"the Docker engine failed: {excerpt(str(exc), 300)}") from None
            if finished.error is None:
                archive = _Archive(self.client.api, keeper.id, engine_errors)
            handle = Handle(finished, archive)
            yield handle
        finally:
            began = time.monotonic()
            if archive is not None:
                archive.close()
            for container in reversed(created):
                self._remove(container.remove, f"container {container.name}", engine_errors, force=True, v=True)
            if volume is not None:
                self._remove(volume.remove, f"volume {volume.name}", engine_errors, force=True)
            if handle is not None:
                handle.cleanup_seconds = time.monotonic() - began

    def _sandbox(self, limits: Limits, volumes: tuple[str, ...], keeper: bool = False) -> dict:
        docker = self.docker
        memory = "64m" if keeper else f"{limits.memory_mb}m"
        settings = dict(
            user=USER, read_only=True, network_mode="none", cap_drop=["ALL"],
            security_opt=["no-new-privileges", security_option()],
            pids_limit=8 if keeper else limits.pids, mem_limit=memory, memswap_limit=memory,
            nano_cpus=int(min(limits.cpus, 0.1 if keeper else limits.cpus) * 1e9), ipc_mode="private",
            ulimits=[docker.types.Ulimit(name="core", soft=0, hard=0)], oom_score_adj=500,
            log_config=docker.types.LogConfig(type="json-file", config={"max-size": "1m", "max-file": "1"}))
        # Declared volumes: a tmpfs each, inside the memory limit, instead of an anonymous volume on the host's disk;
        # owned by the container's user (the engine gives it the mode of the image's folder, if there is one).
        size = 1 << 20 if keeper else limits.tmp_bytes
        inodes = limits.output_files + 1024
        tmpfs = {path: f"rw,nosuid,nodev,size={size},nr_inodes={inodes},mode=1777,uid={UID},gid={GID}"
                 for path in volumes}
        if not keeper:
            settings.update(shm_size=f"{min(64, limits.memory_mb // 4)}m")
            tmpfs["/tmp"] = f"rw,exec,nosuid,nodev,size={limits.tmp_bytes},nr_inodes={inodes},mode=1777"
        if tmpfs:
            settings["tmpfs"] = tmpfs
        return settings

    def _wait(self, container, limits: Limits) -> Finished:
        import requests

        docker = self.docker
        started = time.monotonic()
        try:
            container.start()
        except docker.errors.APIError as exc:
            return Finished(None, seconds=time.monotonic() - started,
                            error=f"the engine could not start it: {excerpt(exc.explanation or str(exc), 300)}")
        timed_out = False
        try:
            status = container.wait(timeout=limits.timeout_seconds)
            # ended by the clock (the engine started it late, or was slow to tell): a timeout all the same
            timed_out = status.get("StatusCode") == 137 and time.monotonic() - started >= limits.timeout_seconds
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            timed_out = True
            try:
                container.kill()
            except docker.errors.APIError:     # it ended just now
                pass
            container.wait(timeout=120)
        seconds = time.monotonic() - started
        container.reload()
        state = container.attrs.get("State", {})
        log = container.logs(stdout=True, stderr=True, tail=LOG_LINES)
        return Finished(exit_code=state.get("ExitCode"), timed_out=timed_out, oom_killed=bool(state.get("OOMKilled")),
                        seconds=seconds, log=log)


class _Archive:
    """The output folder as the keeper sees it: a tar stream read from the engine, chunk by chunk.  close() ends
    the transfer at once by closing the connection (the engine stops writing and releases the keeper)."""

    def __init__(self, api, container_id: str, engine_errors: tuple):
        self._api, self._id, self._errors = api, container_id, engine_errors
        self._response = None

    def __iter__(self) -> Iterator[bytes]:
        try:
            self._response = self._api.get(self._api._url("/containers/{0}/archive", self._id),
                                           params={"path": OUTPUT}, headers={"Accept-Encoding": "identity"},
                                           stream=True, timeout=self._api.timeout)
            if self._response.status_code != 200:
                raise RunnerError(f"copying the output failed: the engine answered {self._response.status_code} "
                                  f"({excerpt(self._response.text, 200)})")
            yield from self._response.iter_content(ARCHIVE_CHUNK)
        except self._errors as exc:
            raise RunnerError(f"copying the output failed: {excerpt(str(exc), 300)}") from None
        finally:
            self.close()

    def close(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            response.close()
