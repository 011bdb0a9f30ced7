"""Running one participant image in a sandbox, through the Docker SDK for Python (`docker`, pinned).

Why the SDK and not the docker CLI or mlcube: mlcube 0.0.9 joins a `docker run` string and hands it to a shell
(image names and paths would be shell input), has no place for a tmpfs with a size, a process limit or a read-only
root, cannot kill a container after a wall-clock limit, and reports neither an out-of-memory kill nor the image
digest.  The SDK sends each setting as a structured field of the Engine API, waits with a timeout, reads the
container's state (exit code, OOMKilled) and copies a folder out as a tar stream, with no shell in between.

The sandbox of a participant container:
  * the network off (network_mode none: only a loopback interface), no Docker socket, no host path but the view;
  * a read-only root file system; the view mounted read-only at /dataperf/view;
  * an unprivileged user (65534:65534, nobody), every capability dropped, no new privileges (setuid bits ignored);
  * limits on processes (pids), memory (no swap), CPU, and a core size of 0;
  * /tmp a tmpfs of closed.tmp_mb; the output folder /dataperf/output a tmpfs volume of closed.output_mb and
    closed.output_files (an inode limit: a million small files fail like one huge file);
  * a bounded log (json-file, one 1 MB file), and a wall clock after which it is killed and removed.

A tmpfs disappears when the last container using it stops, so the output volume is also mounted, read-only, in a
keeper container of ours (the cube's own image running `sleep`, sandboxed the same way) that starts first and is
removed after the output was copied out of it.
"""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from common.closed.limits import Limits
from common.closed.views import OUTPUT, VIEW
from common.core.errors import DataPerfError
from common.untrusted.files import excerpt

ALGORITHM_LABEL = "org.dataperf.algorithm"     # the image label naming the participant's class
ROUND_LABEL = "org.dataperf.closed.round"       # on every container and volume a round creates
UID, GID = 65534, 65534                        # nobody:nogroup
USER = f"{UID}:{GID}"
LOG_LINES = 400                                 # lines asked from the engine; the results keep closed.log_chars
KEEPER_GRACE = 600                              # seconds the keeper outlives the limit if we are interrupted


@dataclass(frozen=True)
class ImageInfo:
    reference: str                 # as the organiser named it
    id: str                        # the engine's content digest of the image (sha256:...), what runs
    repo_digests: list[str]        # registry digests, when the image was pulled
    algorithm: str | None          # the value of the label org.dataperf.algorithm


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

    def output(self) -> Iterable[bytes]:
        """The output folder as a tar stream (top entry `output`)."""
        return self._output if self._output is not None else iter(())


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
        try:
            self.keeper_image = client.images.get(keeper_image).id
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
        return ImageInfo(reference, image.id, sorted(image.attrs.get("RepoDigests") or []), labels.get(ALGORITHM_LABEL))

    @contextmanager
    def run(self, image: ImageInfo, command: list[str], view: Path, limits: Limits, name: str) -> Iterator[Handle]:
        """Run the command in the image on the view; inside the block, the handle's output() can be copied out.
        Every container and the volume are removed when the block ends, whatever happened."""
        import requests

        docker = self.docker
        engine_errors = (docker.errors.DockerException, requests.exceptions.RequestException)
        labels = {ROUND_LABEL: name}
        created = []
        volume = None
        try:
            try:
                volume = self.client.volumes.create(
                    name=f"{name}-output", driver="local", labels=labels,
                    driver_opts={"type": "tmpfs", "device": "tmpfs",
                                 "o": f"size={limits.output_bytes},nr_inodes={limits.output_files + 1},"
                                      f"uid={UID},gid={GID},mode=0700,nosuid,nodev,noexec"})
                keeper = self.client.containers.run(
                    self.keeper_image, entrypoint=["sleep", str(limits.timeout_seconds + KEEPER_GRACE)], detach=True,
                    name=f"{name}-keeper", labels=labels, **self._sandbox(limits, keeper=True),
                    mounts=[docker.types.Mount(OUTPUT, volume.name, type="volume", read_only=True)])
                created.append(keeper)
                container = self.client.containers.create(
                    image.id, entrypoint=command, name=f"{name}-run", labels=labels, working_dir="/tmp",
                    environment=_environment(limits), hostname="participant", **self._sandbox(limits),
                    mounts=[docker.types.Mount(VIEW, str(Path(view).resolve()), type="bind", read_only=True),
                            docker.types.Mount(OUTPUT, volume.name, type="volume")])
                created.append(container)
                finished = self._wait(container, limits)
            except engine_errors as exc:
                raise RunnerError(f"the Docker engine failed: {excerpt(str(exc), 300)}") from None
            yield Handle(finished, _archive(keeper, engine_errors) if finished.error is None else None)
        finally:
            for container in reversed(created):
                try:
                    container.remove(force=True, v=True)
                except engine_errors as exc:
                    print(f"closed: could not remove container {container.name}: {excerpt(str(exc), 200)}",
                          file=sys.stderr)
            if volume is not None:
                try:
                    volume.remove(force=True)
                except engine_errors as exc:
                    print(f"closed: could not remove volume {volume.name}: {excerpt(str(exc), 200)}", file=sys.stderr)

    def _sandbox(self, limits: Limits, keeper: bool = False) -> dict:
        docker = self.docker
        memory = "64m" if keeper else f"{limits.memory_mb}m"
        settings = dict(
            user=USER, read_only=True, network_mode="none", cap_drop=["ALL"], security_opt=["no-new-privileges"],
            pids_limit=8 if keeper else limits.pids, mem_limit=memory, memswap_limit=memory,
            nano_cpus=int(min(limits.cpus, 0.1 if keeper else limits.cpus) * 1e9), ipc_mode="private",
            ulimits=[docker.types.Ulimit(name="core", soft=0, hard=0)], oom_score_adj=500,
            log_config=docker.types.LogConfig(type="json-file", config={"max-size": "1m", "max-file": "1"}))
        if not keeper:
            settings.update(shm_size=f"{min(64, limits.memory_mb // 4)}m", tmpfs={
                "/tmp": f"rw,exec,nosuid,nodev,size={limits.tmp_bytes},nr_inodes={limits.output_files + 1024},mode=1777"})
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
            container.wait(timeout=limits.timeout_seconds)
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



def _archive(keeper, engine_errors: tuple) -> Iterator[bytes]:
    """The output folder as the keeper sees it, streamed; engine failures become RunnerError."""
    try:
        stream, _ = keeper.get_archive(OUTPUT)
        yield from stream
    except engine_errors as exc:
        raise RunnerError(f"copying the output failed: {excerpt(str(exc), 300)}") from None
