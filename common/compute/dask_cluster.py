"""The Dask side of common.compute: parallel_map's jobs as tasks of a dask.distributed cluster.

* The large read-only inputs (`shared`) are scattered once, broadcast to every worker; each job is one task
  that depends on them, so no job carries them.  Results are yielded in job order.
* A job runs with one BLAS and one torch thread, as in the local worker processes: same numbers.
* A worker that dies loses only its running jobs; the scheduler runs them on the other workers, which hold
  the shared inputs too.  An unreachable or lost scheduler, or no worker for `compute.timeout` seconds, is
  one DataPerfError line naming the address; a DataPerfError raised by a job reaches the caller unchanged.
* Before any job, every worker must report this process's Python, pinned package versions and a digest of the
  suite's source (`code_identity`): the workers run the exact code that is evaluating.
"""
from __future__ import annotations

import contextlib
import contextvars
import ctypes
import hashlib
import logging
import os
import pickle
import socket
import sys
import threading
import time
import uuid
from functools import lru_cache, partial
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
from distributed import Client, LocalCluster
from distributed.client import FutureCancelledError
from distributed.diagnostics.plugin import WorkerPlugin
from distributed.scheduler import KilledWorker

from common.compute.backend import LOCAL_CLUSTER, Compute
from common.core.errors import DataPerfError
from common.core.io import SCRATCH

# The packages whose versions must be equal on the workers (scores depend on them), and the suite's own
# packages, compared by a digest of their source.
PINNED = ("numpy", "pandas", "pyarrow", "scipy", "scikit-learn", "threadpoolctl", "torch", "cleanlab",
          "dask", "distributed", "cloudpickle")
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_POLL_SECONDS = 1.0
CHUNKS_PER_WORKER = 8     # Dask tasks per worker (each a few consecutive jobs)
GATHER_BATCH = 1000       # finished tasks fetched in one request


# ------------------------------------------------------------------ on the workers

_PINNED_AT = -1   # len(sys.modules) at the last pinning


def pin_threads() -> None:
    """One BLAS and one torch thread in this process.  The environment first, for libraries loaded later
    (they read it when they load); then the libraries already loaded.  Nearly free when nothing was imported
    since the last call, so it runs around every job."""
    global _PINNED_AT
    if len(sys.modules) == _PINNED_AT:
        return
    for var in _THREAD_VARS:
        os.environ[var] = "1"
    from threadpoolctl import threadpool_limits
    threadpool_limits(limits=1)
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "set_num_threads"):
        torch.set_num_threads(1)
    _PINNED_AT = len(sys.modules)


def run_chunk(function: Callable[[Any, Any], Any], chunk: Aligned, shared: Aligned | None = None,
              identity: dict | None = None) -> Aligned:
    """One Dask task: a few consecutive jobs, each the unit of work with the threads pinned (a library a job
    imports lazily is pinned before the next).  A worker that joined after the start-up check and runs other
    code refuses the task."""
    if identity is not None and code_identity(identity["packages"]) != identity["identity"]:
        raise DataPerfError(f"Dask worker {_this_worker()} runs other code than the evaluating process; "
                            f"start the workers from the same image or environment")
    value = shared.value if shared is not None else None
    results = []
    for job in chunk.value:
        pin_threads()
        results.append(function(value, job))
    pin_threads()
    return Aligned(results)


def _this_worker() -> str:
    from distributed import get_worker
    try:
        return get_worker().address
    except ValueError:
        return "(unknown)"


def usual_malloc() -> None:
    """Undo the nanny's MALLOC_TRIM_THRESHOLD_=65536: with it glibc returns every freed block above 64 KiB to
    the system at once, so a training loop that frees and reallocates its 1 MB tensors faults fresh pages in on
    every step (twice the CPU time per training, measured).  Setting a threshold disables glibc's adaptive
    ones for good, so set them where the adaptive ones end up (mmap 32 MiB, trim twice that)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):   # not glibc: nothing to undo
        return
    mallopt(-3, 32 * 2**20)   # M_MMAP_THRESHOLD
    mallopt(-1, 64 * 2**20)   # M_TRIM_THRESHOLD


class WorkerSetup(WorkerPlugin):
    """Run on every worker when it joins, before any job is unpickled (and so before the job's imports): the
    threads pinned, the usual malloc, and Dask's statistical profiler stopped (it takes the GIL every 10 ms to
    walk the running job's stack; the dashboard keeps its other pages)."""
    idempotent = True
    name = "dataperf-worker-setup"

    def setup(self, worker) -> None:
        pin_threads()
        usual_malloc()
        for name in ("profile", "profile-cycle"):
            callback = worker.periodic_callbacks.get(name)
            if callback is not None:
                callback.stop()


@lru_cache(maxsize=8)
def code_identity(packages: tuple[str, ...] = ("common",)) -> dict:
    """Python, the pinned packages' versions and a digest of the source of the suite's `packages`: equal means
    the same code.  The packages are found next to this one (they are installed together), without importing
    them: a cube image holds only its own cube."""
    versions = {}
    for name in PINNED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    digest = hashlib.sha256()
    for package in packages:
        folder = _package_folder(package)
        for path in sorted(folder.rglob("*.py")) if folder else []:
            digest.update(f"{package}/{path.relative_to(folder).as_posix()}\0".encode())
            digest.update(path.read_bytes())
    return {"python": ".".join(map(str, sys.version_info[:3])), **versions,
            f"source of {'+'.join(packages)}": digest.hexdigest()[:16]}


def _package_folder(name: str) -> Path | None:
    """The folder of a package installed beside common/ (the suite's packages are installed together: a cube
    image holds common/ and its one cube), found without importing it; None for anything else."""
    installed = Path(__file__).resolve().parents[2]
    folder = installed / name if name and name.isidentifier() else None
    return folder if folder is not None and (folder / "__init__.py").is_file() else None


class Aligned:
    """A value sent to or from a worker whose arrays arrive as in a local process: aligned and writable.

    Dask hands a pickled value's out-of-band buffers over as slices of what it received, at any offset; a
    numpy array on such a slice is misaligned, and numpy then computes without BLAS (hundreds of times
    slower on a matrix product).  Here each buffer is copied once, on arrival, into fresh 64-byte-aligned
    memory: the bytes, and so the results, are unchanged."""

    def __init__(self, value: Any):
        self.value = value

    def __reduce_ex__(self, protocol: int):
        if protocol < 5:   # some of Dask's messages pickle with protocol 4: the buffers go in-band, copied anyway
            return _rebuild, (pickle.dumps(self.value, protocol=5),)
        buffers: list[pickle.PickleBuffer] = []
        head = pickle.dumps(self.value, protocol=5, buffer_callback=buffers.append)
        return _rebuild, (head, *buffers)


def _rebuild(head: bytes, *buffers) -> Aligned:
    return Aligned(pickle.loads(head, buffers=[_aligned_copy(b) for b in buffers]))


def _aligned_copy(buffer) -> memoryview:
    source = np.frombuffer(memoryview(buffer).cast("B"), np.uint8)
    store = np.empty(source.nbytes + 64, np.uint8)
    start = -store.ctypes.data % 64
    target = store[start:start + source.nbytes]
    target[:] = source
    return memoryview(target)


# ------------------------------------------------------------------ in the evaluating process

@contextlib.contextmanager
def connect(settings: Compute, workers: int) -> Iterator[Client]:
    """A Client on the chosen scheduler (a LocalCluster of `workers` processes is started and stopped here);
    prints where the jobs run and the dashboard address."""
    logging.getLogger("distributed").setLevel(logging.ERROR)
    with contextlib.ExitStack() as stack:
        if settings.scheduler == LOCAL_CLUSTER:
            # Scheduler, workers, nannies and dashboard on the loopback interface: nothing listens on the network.
            scratch = SCRATCH.get()   # inside the output folder being published (never /tmp/dask-scratch-space)
            cluster = stack.enter_context(LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR,
                local_directory=str(scratch / "dask") if scratch is not None else None))
            client = stack.enter_context(Client(cluster, set_as_default=False))
            where = f"a local Dask cluster of {workers} worker processes"
        else:
            client = stack.enter_context(_client_for(settings))
            where = f"the Dask scheduler at {settings.scheduler}"
        link = client.dashboard_link if _has_dashboard(client) else "none (bokeh is not installed)"
        print(f"compute: jobs run on {where}; dashboard {link}", flush=True)
        yield client


HANDSHAKE_LIMIT = 16 << 20     # bytes: a scheduler's first message (its handshake) is a few hundred


def preflight(settings: Compute) -> None:
    """Check, within compute.timeout, that a Dask scheduler answers at the address before a Client connects.

    A scheduler speaks first: right after accepting, it sends its handshake, framed by an 8-byte length.  Dask's
    own client trusts that length (a web server's 'HTTP/1.1' read as one is a 3 EiB allocation) and can wait
    on a peer that accepts and says nothing; here a silent peer, one that closes, or a length no handshake has
    is one clear error."""
    host, port = settings.scheduler.removeprefix("tcp://").rsplit(":", 1)
    host = host.strip("[]")
    deadline = time.monotonic() + settings.timeout
    what = f"the Dask scheduler at {settings.scheduler} (compute.scheduler)"
    try:
        with socket.create_connection((host, int(port)), timeout=settings.timeout) as probe:
            header = b""
            while len(header) < 8:
                probe.settimeout(max(0.01, deadline - time.monotonic()))
                part = probe.recv(8 - len(header))
                if not part:
                    raise DataPerfError(f"{what} closed the connection without a word: not a Dask scheduler")
                header += part
    except socket.timeout:
        raise DataPerfError(f"{what} accepted the connection but sent nothing within {settings.timeout:g} s: "
                            "not a Dask scheduler (or one too busy to answer)") from None
    except OSError as exc:
        raise DataPerfError(f"cannot reach {what} within {settings.timeout:g} s: "
                            f"{exc.strerror or type(exc).__name__}") from None
    length = int.from_bytes(header, "little")
    if not 0 < length <= HANDSHAKE_LIMIT:
        raise DataPerfError(f"{what} answered with something other than a Dask handshake: not a Dask scheduler")


def _client_for(settings: Compute) -> Client:
    preflight(settings)
    try:
        return Client(settings.scheduler, timeout=f"{settings.timeout}s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise DataPerfError(f"cannot reach the Dask scheduler at {settings.scheduler} (compute.scheduler) within "
                            f"{settings.timeout:g} s: {reason[:200]}") from None


def _has_dashboard(client: Client) -> bool:
    try:
        return "dashboard" in client.scheduler_info().get("services", {})
    except Exception:   # noqa: BLE001  (it only decides what an informational line says)
        return False


def _worker_count(client: Client) -> int:
    return len(client.scheduler_info(n_workers=-1)["workers"])


def check_workers(client: Client, settings: Compute, packages: tuple[str, ...] = ("common",)) -> int:
    """Waits (at most `timeout`) for a worker, pins the threads of every worker (present and future) and
    checks that each runs this process's code.  Returns the number of workers."""
    try:
        client.wait_for_workers(1, timeout=settings.timeout)
    except TimeoutError:
        raise DataPerfError(f"no Dask worker connected to {settings.scheduler} within {settings.timeout:g} s "
                            f"(compute.scheduler)") from None
    client.register_plugin(WorkerSetup(), name=WorkerSetup.name)
    here = code_identity(packages)
    for address, there in sorted(client.run(code_identity, packages).items()):
        differs = [f"{k} {there.get(k)} (here {v})" for k, v in here.items() if there.get(k) != v]
        if differs:
            raise DataPerfError(f"Dask worker {address} runs other code than this process: "
                                f"{', '.join(differs)[:300]}; start the workers from the same image or environment")
    return _worker_count(client)


def chunk_size(jobs: int, workers: int) -> int:
    """Jobs per Dask task: about CHUNKS_PER_WORKER tasks per worker, so that the scheduler's cost (about a
    millisecond per task) stays small next to the jobs' however many there are, while every worker still gets
    several tasks (balance, and little lost when a worker dies)."""
    return max(1, jobs // (CHUNKS_PER_WORKER * max(1, workers)))


class Session:
    """One client (and, for `local-cluster`, one cluster) for every parallel step of a task, and the large
    inputs a step marked `keep_shared` scattered once for all its rounds (a search that trains in rounds)."""

    def __init__(self, settings: Compute, client: Client):
        self.settings, self.client = settings, client
        self.checked: dict[tuple[str, ...], int] = {}
        self.kept: dict[int, tuple[Any, Any]] = {}    # id(shared) -> (shared, its scattered future)


_SESSION: contextvars.ContextVar[Session | None] = contextvars.ContextVar("dataperf_dask_session", default=None)


@contextlib.contextmanager
def session(settings: Compute, workers: int) -> Iterator[Session]:
    """While inside, run_jobs uses one connection (and one local cluster) instead of one per call."""
    with connect(settings, workers) as client:
        opened = Session(settings, client)
        token = _SESSION.set(opened)
        try:
            yield opened
        finally:
            _SESSION.reset(token)


def run_jobs(function: Callable[[Any, Any], Any], jobs: list, shared: Any, workers: int,
             settings: Compute, keep_shared: bool = False) -> Iterator[Any]:
    """function(shared, job) for every job, yielded in job order (the caller shows the progress).  In a session,
    its client is used; `keep_shared` (the caller never changes `shared`) keeps the scattered inputs for later
    calls with the same object."""
    if not jobs:
        return
    opened = _SESSION.get()
    if opened is not None and opened.settings == settings:
        yield from _run(opened.client, function, jobs, shared, settings, opened, keep_shared)
        return
    with connect(settings, workers) as client:
        yield from _run(client, function, jobs, shared, settings, None, False)


def _run(client: Client, function, jobs: list, shared: Any, settings: Compute, opened: Session | None,
         keep_shared: bool) -> Iterator[Any]:
    # The code a job runs: common/ and the package of the job's function (a cube's), compared on the workers.
    home = (getattr(function, "__module__", "") or "").split(".")[0]
    packages = tuple(dict.fromkeys(("common", home) if _package_folder(home) else ("common",)))
    if opened is not None and packages in opened.checked:
        count = _worker_count(client) or opened.checked[packages]
    else:
        count = check_workers(client, settings, packages)
        if opened is not None:
            opened.checked[packages] = count
    size = chunk_size(len(jobs), count)
    chunks = [jobs[i:i + size] for i in range(0, len(jobs), size)]
    print(f"compute: {len(jobs)} jobs in {len(chunks)} tasks on {count} Dask worker{'s' if count != 1 else ''}",
          flush=True)
    # Broadcast: each worker receives the large inputs once, before any job, so a task that moves to another
    # worker (its first worker died) finds them there.  Kept inputs are broadcast once per session.
    if shared is None:
        data = None
    elif keep_shared and opened is not None and id(shared) in opened.kept and opened.kept[id(shared)][0] is shared:
        data = opened.kept[id(shared)][1]
    else:
        data = client.scatter([Aligned(shared)], broadcast=True, hash=False)[0]
        if keep_shared and opened is not None:
            opened.kept[id(shared)] = (shared, data)
    tag = f"dataperf-{getattr(function, '__name__', 'job')}-{uuid.uuid4().hex[:8]}"
    futures = client.map(partial(run_chunk, function), [Aligned(chunk) for chunk in chunks], shared=data,
                         identity={"packages": packages, "identity": code_identity(packages)}, pure=False,
                         key=[f"{tag}-{i}" for i in range(len(chunks))])
    try:
        for results in _in_order(client, futures, settings):
            yield from results
    finally:
        client.cancel([f for f in futures if f is not None])


def _in_order(client: Client, futures: list, settings: Compute) -> Iterator[list]:
    """Each task's results, in task order.  Waits on the next task; then fetches it together with every later
    task already done, in one request (one round trip per task would cost more than the jobs at scale)."""
    fetched: dict[int, list] = {}
    for i in range(len(futures)):
        if i not in fetched:
            _wait(client, futures[i], settings)
            ready = [j for j in range(i, min(len(futures), i + GATHER_BATCH)) if j not in fetched and futures[j].done()]
            for j, value in zip(ready, _gathered(client, [futures[j] for j in ready], settings)):
                fetched[j] = value.value
        futures[i] = None   # the cluster may forget a result once we hold it
        yield fetched.pop(i)


def _wait(client: Client, future, settings: Compute) -> None:
    """Until the task is done (or failed); a lost scheduler or no worker for `timeout` seconds is a
    DataPerfError instead of a wait without end."""
    finished = threading.Event()
    future.add_done_callback(lambda _: finished.set())
    idle_since = None
    while not finished.wait(_POLL_SECONDS):
        try:
            count = _worker_count(client) if client.status == "running" else 0
        except Exception:   # noqa: BLE001  (a scheduler that does not answer has no worker for us)
            count = 0
        idle_since = None if count else (idle_since or time.monotonic())
        if idle_since is not None and time.monotonic() - idle_since > settings.timeout:
            what = "no Dask worker" if client.status == "running" else "lost the Dask scheduler"
            raise DataPerfError(f"{what} at {settings.scheduler} for {settings.timeout:g} s (compute.scheduler); "
                                f"the remaining jobs were not run")


def _gathered(client: Client, futures: list, settings: Compute) -> list:
    """The tasks' results; a job's exception is raised as it is (a DataPerfError stays one line)."""
    try:
        return client.gather(futures)
    except KilledWorker as exc:
        raise DataPerfError(f"task {exc.task} killed the Dask workers that ran it, again and again "
                            f"(out of memory?)") from None
    except FutureCancelledError:
        raise DataPerfError(f"lost the Dask scheduler at {settings.scheduler} (compute.scheduler); "
                            "the remaining jobs were not run") from None
