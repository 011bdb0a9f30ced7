"""Shared fixtures: tiny generated workspaces and a loopback HTTP server, so every test runs in seconds."""
from __future__ import annotations

import http.server
import threading
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from support.vision_debugging import make_workspace

# Property-based tests: bounded by max_examples in each test, never by wall time (CI machines are shared and
# slow), and no example database left in the working tree.
settings.register_profile("dataperf", deadline=None, database=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("dataperf")


@pytest.fixture
def tiny_workspace(tmp_path) -> Path:
    make_workspace(tmp_path / "ws")
    return tmp_path / "ws"


@pytest.fixture
def http_folder(tmp_path):
    """A static HTTP server on 127.0.0.1 serving tmp_path/www; yields (folder, base url)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def small_workspaces(tmp_path_factory) -> dict[str, Path]:
    """One small workspace per cube (.ci/small/<cube>.yaml) with its data and baselines, made once per session by
    `dataperf run` in a fresh process: tests copy it before changing anything."""
    import shutil
    import subprocess
    import sys
    root = Path(__file__).resolve().parents[1]
    base = tmp_path_factory.mktemp("small")
    made = {}
    for cube in sorted(p.stem for p in (root / ".ci" / "small").glob("*.yaml")):
        ws = base / cube
        ws.mkdir()
        shutil.copyfile(root / ".ci" / "small" / f"{cube}.yaml", ws / "parameters.yaml")
        done = subprocess.run([sys.executable, "-m", "common", "run", cube, "--workspace", str(ws),
                               "--task", "download,create_baselines"], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        made[cube] = ws
    return made
