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
