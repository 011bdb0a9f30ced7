"""The trust boundary's mechanisms, each tested on its own: opening a supplied file, writing an output path, the
suite's own folders, downloads with a cap and a deadline, archive header chains.  Property tests (hypothesis)
throw arbitrary kinds of file system objects at each; the hostile-workspace test runs every cube's tasks."""
from __future__ import annotations

import hashlib
import http.server
import os
import socket
import stat
import tarfile
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.core.errors import DataPerfError, ValidationError
from common.core.io import check_output_file, own_folder, write_bytes_atomic
from common.data.download import fetch
from common.untrusted.archives import MAX_HEADER_CHAIN, extract_archive
from common.untrusted.files import digest_read, open_supplied, read_supplied

ROOT_USER = os.geteuid() == 0


# ------------------------------------------------------------------ objects a path may name

def _make(kind: str, path: Path, target: Path) -> None:
    """Put a file system object of `kind` at path (target: an existing regular file elsewhere)."""
    if kind == "file":
        path.write_bytes(b"mine\n")
    elif kind == "symlink":
        path.symlink_to(target)
    elif kind == "hardlink":
        os.link(target, path)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        server.close()
    elif kind == "folder":
        path.mkdir()
    elif kind == "device":
        os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))   # what /dev/null is
    elif kind == "dangling":
        path.symlink_to(path.parent / "nowhere")


KINDS = ["file", "symlink", "hardlink", "fifo", "socket", "folder", "dangling"] + (["device"] if ROOT_USER else [])


@pytest.fixture
def secret(tmp_path) -> Path:
    """A file outside the folder under test that no reader may show (the canary)."""
    canary = tmp_path / "canary"
    canary.mkdir()
    path = canary / "hidden.csv"
    path.write_text("verified-label-7731\n")
    return path


@pytest.mark.parametrize("kind", KINDS)
def test_open_supplied_reads_only_a_regular_file_with_one_name(kind, tmp_path, secret):
    folder = tmp_path / "subs"
    folder.mkdir()
    _make(kind, folder / "x.txt", secret)
    if kind == "file":
        assert read_supplied(folder / "x.txt", 100, folder) == b"mine\n"
        return
    started = time.monotonic()
    with pytest.raises(ValidationError) as info:
        read_supplied(folder / "x.txt", 100, folder)
    assert time.monotonic() - started < 5            # a FIFO is never waited on
    assert "verified-label" not in str(info.value) and info.value.item is None
    rule = {"symlink": "symbolic link", "dangling": "symbolic link", "hardlink": "2 hard links",
            "folder": "regular file", "fifo": "regular file", "socket": "cannot be opened", "device": "regular file"}
    assert rule[kind] in info.value.rule


def test_a_link_anywhere_below_the_root_is_refused(tmp_path, secret):
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "method").symlink_to(secret.parent, target_is_directory=True)
    with pytest.raises(ValidationError, match="symbolic link"):
        read_supplied(folder / "method" / "hidden.csv", 100, folder)


def test_the_size_is_checked_before_reading_and_a_sparse_file_is_not_read(tmp_path):
    path = tmp_path / "big.txt"
    with open(path, "wb") as handle:
        handle.truncate(1 << 40)                       # 1 TiB, sparse
    started = time.monotonic()
    with pytest.raises(ValidationError, match="1,099,511,627,776 bytes, over the limit of 1,000"):
        read_supplied(path, 1000)
    assert time.monotonic() - started < 1


def test_reads_come_from_the_descriptor_and_the_digest_is_of_what_was_read(tmp_path):
    path = tmp_path / "f.txt"
    path.write_bytes(b"what was scored")
    with open_supplied(path, 100) as handle:
        os.replace(tmp_path / "f.txt", tmp_path / "moved.txt")       # swapped while open: still the same file
        (tmp_path / "f.txt").write_bytes(b"something else entirely")
        assert handle.read() == b"what was scored"
    assert digest_read(path) == hashlib.sha256(b"what was scored").hexdigest()


def test_a_swap_to_a_fifo_after_a_check_cannot_block_the_next_read(tmp_path):
    path = tmp_path / "f.txt"
    path.write_bytes(b"1\n")
    read_supplied(path, 10)
    path.unlink()
    os.mkfifo(path)
    started = time.monotonic()
    with pytest.raises(ValidationError, match="regular file"):
        read_supplied(path, 10)
    assert time.monotonic() - started < 5


@given(kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=6), data=st.binary(max_size=64))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_property_open_supplied_never_reads_what_is_not_the_participants_own(tmp_path_factory, kinds, data):
    root = tmp_path_factory.mktemp("p")
    canary = root / "canary.txt"
    canary.write_bytes(b"CANARY")
    folder = root / "subs"
    folder.mkdir()
    for i, kind in enumerate(kinds):
        path = folder / f"f{i}"
        _make(kind, path, canary)
        if kind == "file":
            path.write_bytes(data)
        try:
            got = read_supplied(path, 1 << 16, folder)
        except ValidationError as exc:
            assert "CANARY" not in str(exc) and kind != "file"
        else:
            assert kind == "file" and got == data


# ------------------------------------------------------------------ output paths and the suite's folders

@pytest.mark.parametrize("kind", [k for k in KINDS if k not in ("file", "hardlink")])
def test_an_output_path_that_is_not_a_regular_file_is_refused_and_left_alone(kind, tmp_path, secret):
    path = tmp_path / "report.html"
    _make(kind, path, secret)
    before = os.lstat(path)
    started = time.monotonic()
    with pytest.raises(DataPerfError, match="names a new file or a regular file|name a new file"):
        write_bytes_atomic(path, b"<html>", keep_previous=False)
    assert time.monotonic() - started < 5 and os.lstat(path).st_ino == before.st_ino
    assert secret.read_text() == "verified-label-7731\n"


@pytest.mark.parametrize("given", ["", "."])
def test_an_empty_output_path_is_an_error(given):
    with pytest.raises(DataPerfError, match="names no file"):
        check_output_file(given)


def test_the_old_target_is_never_read_whole(tmp_path, monkeypatch):
    path = tmp_path / "out.json"
    with open(path, "wb") as handle:
        handle.truncate(1 << 40)        # would be a MemoryError to read
    write_bytes_atomic(path, b"{}", keep_previous=False)
    assert path.read_bytes() == b"{}"


@pytest.mark.parametrize("kind", ["symlink", "file", "dangling"])
def test_the_suites_own_folders_are_never_links(kind, tmp_path, secret):
    place = tmp_path / "runs"
    _make(kind, place, secret.parent if kind == "symlink" else secret)
    with pytest.raises(DataPerfError, match="must be a folder of its own"):
        own_folder(place, "runs folder")


@pytest.mark.skipif(not ROOT_USER, reason="chown needs root")
def test_a_folder_of_another_user_is_refused(tmp_path):
    place = tmp_path / "previous"
    place.mkdir()
    os.chown(place, 12345, 12345)
    with pytest.raises(DataPerfError, match="belongs to another user"):
        own_folder(place)


# ------------------------------------------------------------------ downloads: a cap and a deadline

class _Server(http.server.BaseHTTPRequestHandler):
    mode = "endless"

    def log_message(self, *args):
        pass

    def do_GET(self):   # noqa: N802 (the name http.server calls)
        self.send_response(200)
        if self.mode == "announces":
            self.send_header("Content-Length", str(10 << 40))
        self.end_headers()
        try:
            if self.mode == "endless":
                while True:
                    self.wfile.write(b"x" * 65536)
            elif self.mode == "silent":
                time.sleep(30)
            elif self.mode == "trickle":
                for _ in range(60):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.5)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("mode, limit, deadline, rule", [
    ("endless", 1 << 20, 60, "over the limit of 1,048,576 bytes"),
    ("announces", 1 << 20, 60, "announces"),
    ("trickle", 1 << 20, 2, "not complete after 2 s"),
    ("silent", 1 << 20, 2, "not complete after 2 s"),
])
def test_a_download_stops_at_its_cap_or_deadline_and_keeps_nothing(server, tmp_path, mode, limit, deadline, rule):
    _Server.mode = mode
    started = time.monotonic()
    with pytest.raises(DataPerfError, match=rule):
        fetch(f"http://127.0.0.1:{server.server_address[1]}/data.zip", "any", tmp_path / "dl", "data.zip",
              limit=limit, deadline=deadline)
    assert time.monotonic() - started < 30
    assert not [p for p in (tmp_path / "dl").iterdir() if p.is_file()]


# ------------------------------------------------------------------ archives: header chains

def test_a_long_chain_of_extension_headers_is_refused_without_recursion(tmp_path):
    def header(name, kind, size):
        info = tarfile.TarInfo(name)
        info.size, info.type = size, kind
        return info.tobuf(format=tarfile.USTAR_FORMAT)
    payload = b"20 comment=aaaaaaaa\n"
    chain = header("x", tarfile.XHDTYPE, len(payload)) + payload + b"\0" * (512 - len(payload))
    (tmp_path / "a.tar").write_bytes(chain * 1500 + header("f", tarfile.REGTYPE, 0) + b"\0" * 1024)
    with pytest.raises(ValidationError, match=f"more than {MAX_HEADER_CHAIN} extension headers"):
        extract_archive(tmp_path / "a.tar", tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ Dask: the scheduler must answer as one, in time

def _peer(behaviour: str):
    """A loopback TCP server that accepts and then stays silent, closes, or answers like a web server."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            if behaviour == "close":
                conn.close()
            elif behaviour == "banner":
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            else:
                stop.wait(60)
            conn.close()
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, stop


@pytest.mark.parametrize("behaviour, rule", [("silent", "sent nothing within 2 s"),
                                             ("close", "closed the connection"),
                                             ("banner", "other than a Dask handshake")])
def test_a_peer_that_is_not_a_dask_scheduler_is_one_error_within_the_timeout(behaviour, rule):
    from common.compute import backend
    from common.compute.parallel import parallel_map
    from support import compute_jobs
    listener, stop = _peer(behaviour)
    try:
        there = backend.check({"scheduler": f"tcp://127.0.0.1:{listener.getsockname()[1]}", "timeout": 2})
        started = time.monotonic()
        with pytest.raises(DataPerfError, match=rule):
            parallel_map(compute_jobs.slow_identity, range(3), compute=there)
        assert time.monotonic() - started < 10
    finally:
        stop.set()
        listener.close()
