"""Round-server helpers for the tests: a tiny data_acquisition round made once and copied per test, valid and
invalid submissions, a server on loopback in a thread or in its own process, and a worker process."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

CUBE = "data_acquisition"
# Two markets of a few sellers with 16 features, 2 trials: one evaluate takes about 0.3 s.
TINY = {"data": {"markets": [0, 1], "scale": 0.002, "features": 16}, "baselines": {"workers": 1},
        "evaluate": {"workers": 1, "trials": 2}}
ROOT = Path(__file__).resolve().parents[2]


def make_template(folder: Path, parameters: dict | None = None, cube: str = CUBE) -> Path:
    """A round of the tiny cube (hidden data with a secret seed) and, beside it, the baselines' submissions made
    from the round's public market information: valid files for the tests."""
    from common.tasks.local import run_tasks
    from common.round.manage import init_round
    params = folder.parent / f"{folder.name}-parameters.yaml"
    params.write_text(yaml.safe_dump(parameters or TINY))
    init_round(folder, [(cube, params)], echo=lambda *a: None)
    valid = folder.parent / f"{folder.name}-valid"
    cube_folder = folder / "cubes" / cube
    run_tasks(cube, ["create_baselines"], cube_folder, {"submission_folder": str(valid)})
    shutil.rmtree(cube_folder / "submissions", ignore_errors=True)
    return folder


def copy_round(template: Path, target: Path, database: str | None, **settings) -> Path:
    """The template round copied to `target` with a new, empty database (SQLite in the folder, or `database`) and
    round.yaml settings changed (e.g. limits={"per_day": 2})."""
    shutil.copytree(template, target, ignore=shutil.ignore_patterns("round.db*", "work", "uploads", "blobs"))
    document = yaml.safe_load((target / "round.yaml").read_text())
    document["database"] = database
    for key, value in settings.items():
        document[key] = {**document[key], **value} if isinstance(document.get(key), dict) else value
    (target / "round.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return target


def open_copy(template: Path, target: Path, database: str | None, **settings):
    """copy_round, then the database made and an organiser token: (config, engine, organiser token)."""
    from common.round.manage import new_organiser_token, open_round
    from common.round.db import RoundState, transaction
    copy_round(template, target, database, **settings)
    cfg, engine = open_round(target)
    with transaction(engine) as session:
        if session.get(RoundState, 1) is None:
            session.add(RoundState(id=1, closed_at=None))
    return cfg, engine, new_organiser_token(engine)


def valid_files(template: Path, method: str = "uniform", suffix: str = ".txt") -> dict[str, bytes]:
    """A baseline's submission files (`suffix`: the cube's submission files, not its timing.yaml)."""
    folder = template.parent / f"{template.name}-valid" / method
    return {p.name: p.read_bytes() for p in sorted(folder.glob(f"*{suffix}"))}


def invalid_files() -> dict[str, bytes]:
    return {"0.txt": b"not,numbers\n", "1.txt": b"1,2\n"}


def write_files(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


class ThreadServer:
    """The round's app under uvicorn in a thread of this process, on a free loopback port."""

    def __init__(self, folder: Path):
        import uvicorn
        from common.round.app import create_app
        from support.postgres import free_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(create_app(folder), host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the round server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(30)


def environment() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def start_process(arguments: list[str], log: Path) -> subprocess.Popen:
    """`python -m common ARGUMENTS` in its own process group, its output appended to `log`."""
    return subprocess.Popen([sys.executable, "-m", "common", *arguments], stdout=open(log, "ab"),
                            stderr=subprocess.STDOUT, env=environment(), cwd=ROOT, start_new_session=True)


def kill(process: subprocess.Popen, sig=signal.SIGKILL) -> None:
    """Our own child's process group (it started it with start_new_session), by its id."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
    process.wait()


def wait_http(url: str, timeout: float = 60) -> None:
    import httpx
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def submit_direct(cfg, engine, team_id: int, files: dict[str, bytes], folder: Path, cube: str = CUBE) -> str:
    """A submission queued without the HTTP layer (files stored by hash, limits checked): its public id."""
    import hashlib
    from common.round.service import accept
    from common.round.storage import BlobStore, ReceivedFile, store_files
    write_files(folder, files)
    received = [ReceivedFile(name, folder / name, hashlib.sha256(data).hexdigest(), len(data))
                for name, data in files.items()]
    stored, content = store_files(BlobStore(cfg.folder), received)
    return accept(engine, cfg, team_id, cube, "open", stored, content).public_id


def team_id(engine, name: str) -> int:
    from sqlalchemy import select
    from common.round.db import Team, transaction
    from common.round.manage import add_team
    add_team(engine, name)
    with transaction(engine, readonly=True) as session:
        return session.scalar(select(Team.id).where(Team.name == name))


def reference_summary(cfg, submissions: dict[str, dict[str, bytes]], work: Path) -> dict:
    """The summary.json `dataperf run CUBE --task=evaluate` writes on the round's data (its parameters: the
    secret seeds and the split) for each method's files: one process, every method in its own folder."""
    import json
    workspace = work / "reference"
    shutil.copytree(cfg.cube_folder(CUBE), workspace, ignore=shutil.ignore_patterns("closed", "results"))
    for method, files in submissions.items():
        write_files(work / "reference-submissions" / method, files)
    subprocess.run([sys.executable, "-m", "common", "run", CUBE, f"--workspace={workspace}", "--task=evaluate",
                    f"submission_folder={work / 'reference-submissions'}"], check=True, env=environment(), cwd=ROOT,
                   capture_output=True)
    return json.loads((workspace / "results" / "summary.json").read_text())


def reference_scores(cfg, submissions: dict[str, dict[str, bytes]], work: Path, part: str = "public") \
        -> dict[str, float]:
    """Each method's score on the public (or private) part, as `dataperf run CUBE --task=evaluate` gives it."""
    summary = reference_summary(cfg, submissions, work)
    return {method: entry["parts"][part]["score"] for method, entry in summary["methods"].items()}
