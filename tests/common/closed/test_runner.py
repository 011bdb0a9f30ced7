"""The Docker runner of the closed division against a fake Docker SDK client (the real checks run in
.ci/closed_e2e.sh): what every container is given (labels, owner, the clock's PID namespace, the seccomp profile,
tmpfs over declared volumes), the copy-out closed at once when it stops at a limit, and the sweep of what a
killed runner left."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
import time

import pytest

from common.closed.docker_runner import CLOCK_MARGIN, KEEPER_GRACE, DockerRunner, ImageProblem, declared_volumes
from common.closed.leftovers import OWNER_LABEL, ROUND_LABEL, current_owner
from common.closed.limits import DEFAULTS, Limits
from common.closed.seccomp import FORBIDDEN, profile
from common.closed.views import OUTPUT, VIEW
from common.core.errors import DataPerfError, ValidationError
from common.untrusted.container_output import OutputLimits, OutputTooLarge, extract_output

LIMITS = Limits(**{**DEFAULTS, "timeout_seconds": 30, "output_mb": 16, "output_files": 200, "tmp_mb": 64})


def tar_header(name: str, size: int = 0, link: str | None = None) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    if link is not None:
        info.type, info.linkname = tarfile.SYMTYPE, link
    return info.tobuf(format=tarfile.GNU_FORMAT)


SPARSE = tar_header("output/huge.bin", 1 << 40)                                      # a 1 TiB sparse file
LINK_THEN_BIG = tar_header("output/a-link", link="/etc/passwd") + tar_header("output/b-big.bin", 12 << 20)


class Response:
    """An archive as the engine streams it: the headers given, then zeros for as long as the connection is open."""

    def __init__(self, engine, first: bytes):
        self.engine, self.first, self.closed, self.status_code, self.text = engine, first, False, 200, ""

    def iter_content(self, chunk):
        yield self.first
        while True:
            if self.closed:
                raise ConnectionError("the connection was closed")
            self.engine.sent += chunk
            yield bytes(chunk)

    def close(self):
        self.closed = True
        self.engine.events.append("archive closed")


class Container:
    def __init__(self, engine, image, kwargs):
        self.engine, self.image, self.kwargs = engine, image, kwargs
        self.name, self.labels = kwargs["name"], kwargs.get("labels", {})
        self.id = hashlib.sha256(self.name.encode()).hexdigest()
        self.attrs = {"State": {"ExitCode": 0, "OOMKilled": False}}
        self.running = False

    def start(self):
        self.running = True
        self.engine.events.append(f"start {self.name}")

    def wait(self, timeout=None):
        self.running = False
        return {"StatusCode": 0}

    def kill(self):
        self.running = False

    def reload(self):
        pass

    def logs(self, **_):
        return b"create_baselines: done\n"

    def remove(self, force=False, v=False):
        assert force and v
        self.engine.events.append(f"remove {self.name}")
        self.engine.containers.pop(self.id)


class Volume:
    def __init__(self, engine, name, labels):
        self.engine, self.name, self.attrs = engine, name, {"Labels": labels}

    def remove(self, force=False):
        self.engine.events.append(f"remove volume {self.name}")
        self.engine.volumes.pop(self.name)


class Image:
    def __init__(self, reference, labels=None, volumes=None):
        self.id = "sha256:" + hashlib.sha256(reference.encode()).hexdigest()
        self.labels = labels or {}
        self.attrs = {"RepoDigests": [], "Config": {"Volumes": volumes}}


class Engine:
    """Just enough of docker.DockerClient for the runner."""

    def __init__(self, images: dict, archive: bytes = SPARSE):
        import docker
        self.errors = docker.errors
        self.images_by_name, self.archive = images, archive
        self.containers, self.volumes, self.events, self.sent = {}, {}, [], 0
        engine = self

        class Containers:
            def create(self, image, **kwargs):
                container = Container(engine, image, kwargs)
                engine.containers[container.id] = container
                return container

            def run(self, image, detach=True, **kwargs):
                container = self.create(image, **kwargs)
                container.start()
                return container

            def list(self, all=False, filters=None, ignore_removed=False):
                label = filters["label"]
                return [c for c in engine.containers.values() if label in c.labels]

        class Volumes:
            def create(self, name, driver, labels, driver_opts):
                engine.volumes[name] = Volume(engine, name, labels)
                engine.volume_options = driver_opts
                return engine.volumes[name]

            def list(self, filters=None):
                return [v for v in engine.volumes.values() if filters["label"] in v.attrs["Labels"]]

        class Images:
            def get(self, reference):
                if reference not in engine.images_by_name:
                    raise engine.errors.ImageNotFound(reference)
                return engine.images_by_name[reference]

        class API:
            timeout = 120

            def _url(self, path, *args):
                return "http+docker://engine" + path.format(*args)

            def get(self, url, params, headers, stream, timeout):
                assert params == {"path": OUTPUT} and stream
                engine.response = Response(engine, engine.archive)
                return engine.response

        self.containers_api, self.volumes_api, self.images_api, self.api = Containers(), Volumes(), Images(), API()


def client(engine: Engine):
    """The engine under the attribute names the runner uses (containers, volumes, images, api)."""
    class Client:
        containers = engine.containers_api
        volumes = engine.volumes_api
        images = engine.images_api
        api = engine.api
    return Client()


def new_runner(images=None, **engine_options):
    images = {"dataperf/cube:1": Image("dataperf/cube:1"), **(images or {})}
    engine = Engine(images, **engine_options)
    return DockerRunner("dataperf/cube:1", client=client(engine)), engine


def test_every_container_and_volume_carries_the_round_and_its_owner(tmp_path):
    runner, engine = new_runner({"team/a:1": Image("team/a:1", {"org.dataperf.algorithm": "a:B"})})
    info = runner.image("team/a:1")
    with runner.run(info, ["python3", "-m", "cube"], tmp_path, LIMITS, "dataperf-closed-0a1b-01") as handle:
        assert handle.finished.exit_code == 0
        made = {c.name: c for c in engine.containers.values()}
        assert set(made) == {f"dataperf-closed-0a1b-01-{part}" for part in ("keeper", "clock", "run")}
        for thing in [*made.values(), *engine.volumes.values()]:
            labels = thing.labels if isinstance(thing, Container) else thing.attrs["Labels"]
            assert labels == {ROUND_LABEL: "dataperf-closed-0a1b-01", OWNER_LABEL: current_owner()}
        run, clock, keeper = (made[f"dataperf-closed-0a1b-01-{p}"] for p in ("run", "clock", "keeper"))
        # the participant lives in the clock's PID namespace; the clock ends at the limit plus a margin
        assert run.kwargs["pid_mode"] == f"container:{clock.id}"
        assert clock.kwargs["entrypoint"][:2] == ["python3", "-c"]
        assert clock.kwargs["entrypoint"][3] == str(LIMITS.timeout_seconds + CLOCK_MARGIN)
        assert keeper.kwargs["entrypoint"] == ["sleep", str(LIMITS.timeout_seconds + KEEPER_GRACE)]
        assert "pid_mode" not in keeper.kwargs and "pid_mode" not in clock.kwargs
        # every container: our seccomp profile, no new privileges, no capability, no network, read-only
        for container in (run, clock, keeper):
            options = container.kwargs["security_opt"]
            assert "no-new-privileges" in options
            seccomp = json.loads(next(o for o in options if o.startswith("seccomp="))[len("seccomp="):])
            assert seccomp == profile()
            assert container.kwargs["cap_drop"] == ["ALL"] and container.kwargs["network_mode"] == "none"
            assert container.kwargs["read_only"] and container.kwargs["user"] == "65534:65534"
        mounts = {m["Target"]: m for m in run.kwargs["mounts"]}
        assert mounts[VIEW]["ReadOnly"] and mounts[VIEW]["Source"] == str(tmp_path.resolve())
        assert mounts[OUTPUT]["Source"] == "dataperf-closed-0a1b-01-output"
    assert engine.containers == {} and engine.volumes == {}


def test_the_clock_kills_what_is_left_and_reaps_orphans(tmp_path):
    """CLOCK, run as a plain process here: it ends after its seconds, and reaps children it inherits."""
    from common.closed.docker_runner import CLOCK
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", CLOCK, "1.5"], timeout=30)
    assert done.returncode == 0 and 1.4 < time.monotonic() - started < 10


def test_declared_volumes_become_tmpfs_owned_by_the_container_user(tmp_path):
    runner, engine = new_runner({"team/v:1": Image("team/v:1", {"org.dataperf.algorithm": "a:B"},
                                                   {"/scratch": {}, "/data/": {}, "//cache/../cache": {}})})
    info = runner.image("team/v:1")
    assert info.volumes == ("/cache", "/data", "/scratch")
    with runner.run(info, ["true"], tmp_path, LIMITS, "dataperf-closed-0a1b-02"):
        run = next(c for c in engine.containers.values() if c.name.endswith("-run"))
        tmpfs = run.kwargs["tmpfs"]
        assert set(tmpfs) == {"/tmp", "/cache", "/data", "/scratch"}
        for path in ("/cache", "/data", "/scratch"):
            assert f"size={LIMITS.tmp_bytes}," in tmpfs[path] and "uid=65534,gid=65534" in tmpfs[path]
            assert "nosuid" in tmpfs[path] and "nodev" in tmpfs[path]
        assert "mounts" in run.kwargs and all(m["Type"] != "volume" or m["Target"] == OUTPUT
                                              for m in run.kwargs["mounts"])


@pytest.mark.parametrize("volumes, rule", [
    (["/"], "would cover /"),
    (["/dataperf"], "would cover /dataperf/view"),
    (["/dataperf/output"], "would cover /dataperf/output"),
    (["/dataperf/view/x"], "would cover /dataperf/view"),
    (["/proc/sys"], "would cover /proc"),
    ([f"/v{i}" for i in range(17)], "17 VOLUMEs: at most 16"),
    (["/bad\nname"], "not a plain path"),
])
def test_volumes_over_the_sandbox_mounts_are_refused(volumes, rule):
    with pytest.raises(ImageProblem, match=rule):
        declared_volumes(volumes)
    runner, _ = new_runner({"team/v:1": Image("team/v:1", {}, {v: {} for v in volumes})})
    with pytest.raises(ImageProblem, match=rule):
        runner.image("team/v:1")


def test_a_cube_image_with_a_bad_volume_is_refused_at_the_start():
    engine = Engine({"dataperf/cube:1": Image("dataperf/cube:1", volumes={"/dataperf": {}})})
    with pytest.raises(DataPerfError, match="the cube's image dataperf/cube:1 declares VOLUME '/dataperf'"):
        DockerRunner("dataperf/cube:1", client=client(engine))


@pytest.mark.parametrize("archive, refusal", [(SPARSE, OutputTooLarge), (LINK_THEN_BIG, ValidationError)])
def test_a_refused_copy_is_closed_at_once(tmp_path, archive, refusal):
    """Issue 23.2: a copy-out that stops at a limit (a sparse 1 TiB file, or a link before a big file) must close
    the stream at once: the engine otherwise writes on until the client's read times out (120 s) and the volume
    cannot be removed (409).  The engine here streams zeros for as long as the connection is open."""
    runner, engine = new_runner({"team/s:1": Image("team/s:1", {"org.dataperf.algorithm": "a:B"})}, archive=archive)
    started = time.monotonic()
    with runner.run(runner.image("team/s:1"), ["true"], tmp_path, LIMITS, "dataperf-closed-0a1b-03") as handle:
        with pytest.raises(refusal) as refused:
            extract_output(handle.output(), tmp_path / "copy", OutputLimits(LIMITS.output_bytes, 200))
        assert engine.response.closed, "the refusal left the stream open"
        assert engine.events[-1] == "archive closed"
    seconds = time.monotonic() - started
    assert "over 16,777,216 bytes" in str(refused.value) or "symbolic link" in str(refused.value)
    assert engine.sent < 64 << 20, "the copy read on after the refusal"
    assert not (tmp_path / "copy").exists()
    assert handle.cleanup_seconds is not None and handle.cleanup_seconds < 1 and seconds < 5
    assert engine.containers == {} and engine.volumes == {}


def test_a_copy_left_open_is_closed_before_anything_is_removed(tmp_path):
    runner, engine = new_runner({"team/s:1": Image("team/s:1", {"org.dataperf.algorithm": "a:B"})})
    with pytest.raises(RuntimeError):
        with runner.run(runner.image("team/s:1"), ["true"], tmp_path, LIMITS, "dataperf-closed-0a1b-04") as handle:
            stream = iter(handle.output())
            next(stream)
            raise RuntimeError("the round stopped while copying")
    closed = engine.events.index("archive closed")
    removals = [i for i, e in enumerate(engine.events) if e.startswith("remove")]
    assert removals and closed < min(removals)
    assert engine.containers == {} and engine.volumes == {}


def test_the_sweep_removes_what_gone_runners_left_and_nothing_else(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host, boot, _, _ = current_owner().rsplit("/", 3)
    gone = f"{host}/{boot}/{dead.pid}/1"
    owners = {"gone": gone, "alive": current_owner(), "elsewhere": f"other-host/{boot}/{dead.pid}/1",
              "rebooted": f"{host}/another-boot/1/1", "unlabelled": None}
    runner, engine = new_runner()
    for key, owner in owners.items():
        labels = {ROUND_LABEL: f"r-{key}", **({OWNER_LABEL: owner} if owner else {})}
        for part in ("keeper", "clock", "run"):
            engine.containers_api.run("img", name=f"dataperf-closed-{key}-01-{part}", labels=labels)
        engine.volumes_api.create(f"dataperf-closed-{key}-01-output", "local", labels, {})
    engine.containers_api.run("img", name="someone-else", labels={"other": "x"})
    engine.events.clear()
    assert runner.sweep() == (6, 2)
    left = sorted(c.name for c in engine.containers.values())
    assert left == sorted(["someone-else"] + [f"dataperf-closed-{k}-01-{p}" for k in ("alive", "elsewhere", "unlabelled")
                                             for p in ("keeper", "clock", "run")])
    assert sorted(engine.volumes) == [f"dataperf-closed-{k}-01-output" for k in ("alive", "elsewhere", "unlabelled")]
    removed = [e for e in engine.events if e.startswith("remove dataperf-closed-gone")]
    assert removed[0].endswith("-run"), "a participant goes before the clock whose PID namespace it shares"


def test_the_seccomp_profile_allows_what_an_algorithm_needs_and_not_io_uring():
    p = profile()
    assert p["defaultAction"] == "SCMP_ACT_ERRNO" and p["defaultErrnoRet"] == 1
    allowed = {n for rule in p["syscalls"] if rule["action"] == "SCMP_ACT_ALLOW" and not rule.get("args")
               for n in rule["names"]}
    assert not allowed & FORBIDDEN
    for name in ("read", "write", "openat", "mmap", "futex", "execve", "wait4", "getrandom", "sched_getaffinity",
                 "rt_sigaction", "pipe2", "epoll_wait", "socketpair", "statx", "rseq", "prlimit64"):
        assert name in allowed, name
    by_name = {}
    for rule in p["syscalls"]:
        for name in rule["names"]:
            by_name.setdefault(name, []).append(rule)
    # clone only without namespaces; clone3 "not implemented" so that the C library falls back to clone
    assert all(r["args"][0]["op"] == "SCMP_CMP_MASKED_EQ" and r["args"][0]["value"] & 0x10000000
               for r in by_name["clone"])
    assert by_name["clone3"] == [{"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
    assert all(r.get("args") for r in by_name["socket"] + by_name["personality"])
    assert "unshare" not in by_name and "io_uring_setup" not in by_name and "ptrace" not in by_name


def test_each_call_is_allowed_in_one_place_only():
    """A call listed in two groups (or twice in one) would hide which purpose it serves."""
    from common.closed.seccomp import ALLOWED, ARCH_ONLY
    listed = [name for group in ALLOWED.values() for name in group]
    assert len(listed) == len(set(listed)), sorted(n for n in set(listed) if listed.count(n) > 1)
    assert not set(listed) & {name for calls in ARCH_ONLY.values() for name in calls}
