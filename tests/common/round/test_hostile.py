"""Hostile requests against a real server on loopback (SQLite and PostgreSQL), each with the right refusal:
path traversal in file names, zip bombs, a 10 GB upload stream (generated as it is sent, never stored), names
that are not UTF-8 or hold HTML/script, a forged CSRF form, another team's token, a stolen submission id."""
from __future__ import annotations

import os
import re
import select
import socket
import time

import httpx
import pytest
from click.testing import CliRunner

from common.cli import main
from common.round.manage import add_team
from support.archives import zip_bomb
from support.round import ThreadServer, open_copy, valid_files

LIMIT_MB = 8
TEN_GB = 10 << 30


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hostile(request, round_template, tmp_path_factory):
    url = None if request.param == "sqlite" else request.getfixturevalue("postgres").new_database()
    folder = tmp_path_factory.mktemp("hostile") / "round"
    cfg, engine, organiser = open_copy(round_template, folder, url, limits={"upload_mb": LIMIT_MB, "per_day": 50},
                                       login={"attempts": 100})
    with ThreadServer(folder) as server:
        yield server.url, cfg, engine
    engine.dispose()


def post_files(url: str, token: str, parts: list[tuple[str | bytes, bytes]]):
    """A multipart body built by hand, so file names go out exactly as given (bytes included)."""
    boundary = b"hostile-boundary"
    body = b""
    for name, data in parts:
        raw = name if isinstance(name, bytes) else name.encode("utf-8")
        body += (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="files"; filename="' + raw
                 + b'"\r\nContent-Type: application/octet-stream\r\n\r\n' + data + b"\r\n")
    body += b"--" + boundary + b"--\r\n"
    return httpx.post(f"{url}/api/submissions", params={"cube": "data_acquisition"}, content=body, timeout=60,
                      headers={"Authorization": f"Bearer {token}",
                               "Content-Type": "multipart/form-data; boundary=hostile-boundary"})


def nothing_kept(cfg) -> bool:
    return not any((cfg.folder / "uploads").iterdir()) and not list((cfg.folder / "blobs").glob("*/*"))


@pytest.mark.parametrize("name", ["../../../../tmp/escaped.txt", "/etc/passwd", "0/../../1.txt", "..", "a\\..\\b.txt",
                                  "./0.txt", "0.txt\x00.png", "line\nbreak.txt", "<script>alert(1)</script>.txt"])
def test_file_names_that_leave_the_folder_or_hide_markup_are_refused(hostile, round_template, name):
    url, cfg, engine = hostile
    token = add_team(engine, f"traversal-{abs(hash(name))}")
    files = valid_files(round_template)
    response = post_files(url, token, [(name, files["0.txt"]), ("1.txt", files["1.txt"])])
    assert response.status_code == 422
    error = response.json()["error"]
    assert error.startswith("file name ") and "\n" not in error
    assert response.headers["content-type"] == "application/json"    # quoted as data, never as markup
    assert response.headers["x-content-type-options"] == "nosniff"
    assert not os.path.exists("/tmp/escaped.txt")
    assert nothing_kept(cfg)


def test_a_file_name_that_is_not_utf8_is_refused(hostile, round_template):
    url, cfg, engine = hostile
    token = add_team(engine, "bytes")
    response = post_files(url, token, [(b"\xff\xfe0.txt", b"1")])
    assert response.status_code == 422 and response.json()["error"].endswith("is not UTF-8 text")


@pytest.mark.parametrize("declared", [None, 1000], ids=["honest-headers", "lying-headers"])
def test_a_zip_bomb_is_refused_unexpanded(hostile, declared):
    url, cfg, engine = hostile
    token = add_team(engine, f"bomber-{declared}")
    bomb = zip_bomb(name="0.txt", declared=declared)        # 2 GiB of zeros in about 2 MB
    started = time.monotonic()
    response = post_files(url, token, [("submission.zip", bomb)])
    assert response.status_code == 422
    assert response.json()["error"].startswith("file ") or "submission.zip" in response.json()["error"]
    assert time.monotonic() - started < 60
    assert nothing_kept(cfg)


def _request_head(url: str, token: str, extra: str) -> bytes:
    port = int(url.rsplit(":", 1)[1])
    return (f"POST /api/submissions?cube=data_acquisition HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: multipart/form-data; boundary=b\r\n{extra}\r\n").encode()


def read_response(connection: socket.socket) -> bytes:
    """One HTTP response, head and body (by its Content-Length), from a raw socket."""
    answer = b""
    while b"\r\n\r\n" not in answer and (block := connection.recv(65536)):
        answer += block
    head, _, body = answer.partition(b"\r\n\r\n")
    length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))
    while len(body) < length and (block := connection.recv(65536)):
        body += block
    return head + b"\r\n\r\n" + body


def test_a_declared_10_gb_upload_is_refused_before_its_body(hostile):
    url, cfg, engine = hostile
    token = add_team(engine, "declared-ten")
    with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=30) as connection:
        connection.sendall(_request_head(url, token, f"Content-Length: {TEN_GB}\r\n"))
        answer = read_response(connection)
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"more than the limit of 8 MiB" in answer


def test_a_10_gb_stream_is_cut_at_the_limit_and_nothing_is_kept(hostile):
    """Chunked (no length declared): generated as it is sent; the server answers 413 (or drops the connection)
    after about the limit, and keeps nothing."""
    url, cfg, engine = hostile
    token = add_team(engine, "streamed-ten")
    chunk = os.urandom(1 << 20)
    sent, answer = 0, b""
    with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=30) as connection:
        connection.sendall(_request_head(url, token, "Transfer-Encoding: chunked\r\n"))
        part = b'--b\r\nContent-Disposition: form-data; name="files"; filename="0.txt"\r\n\r\n'
        connection.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        try:
            while sent < TEN_GB:
                readable, _, _ = select.select([connection], [], [], 0)
                if readable:
                    answer = connection.recv(65536)
                    break
                connection.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if not answer:
            try:
                answer = connection.recv(65536)
            except (ConnectionResetError, socket.timeout):
                answer = b""
    assert sent < 4 * (LIMIT_MB << 20) + (64 << 20), f"{sent >> 20} MiB went out before the server stopped it"
    assert answer == b"" or answer.startswith(b"HTTP/1.1 413"), answer[:200]
    print(f"10 GB stream: {sent >> 20} MiB sent; answer {answer[:12]!r}")
    assert httpx.get(f"{url}/api/health").status_code == 200       # the server is fine
    deadline = time.monotonic() + 10
    while not nothing_kept(cfg) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert nothing_kept(cfg)


def test_team_names_that_are_not_utf8_or_hold_control_characters_are_refused(hostile):
    url, cfg, engine = hostile
    runner = CliRunner()
    for name, rule in (("\udcff\udcfeteam", "is not valid UTF-8 text"), ("a\tb", "control or direction"),
                       ("evil\u202egnp.exe", "control or direction"), ("x" * 65, "1 to 64 characters")):
        done = runner.invoke(main, ["round", "team", "add", str(cfg.folder), name])
        assert done.exit_code == 1 and rule in done.stderr and "Traceback" not in done.output, done.output
    markup = runner.invoke(main, ["round", "team", "add", str(cfg.folder), "<img src=x onerror=alert(1)>"])
    assert markup.exit_code == 0                       # allowed, and escaped wherever it is shown
    board = httpx.get(f"{url}/board/data_acquisition").text
    assert "<img src=x" not in board


def test_a_forged_csrf_form_changes_nothing(hostile, round_template):
    url, cfg, engine = hostile
    token = add_team(engine, "csrf-victim")
    client = httpx.Client(base_url=url, timeout=60)
    login_page = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', login_page).group(1)
    assert client.post("/login", data={"token": token, "csrf": csrf}).status_code == 303
    files = [("files", (n, d, "text/plain")) for n, d in valid_files(round_template).items()]
    # what a page of another site could make the victim's browser send (were the cookie sent at all)
    forged = client.post("/team/submit", files=files, data={"cube": "data_acquisition"})
    assert forged.status_code == 403 and "CSRF token" in forged.text
    assert client.post("/logout", data={"csrf": "forged"}).status_code == 403
    assert httpx.get(f"{url}/api/submissions", headers={"Authorization": f"Bearer {token}"}).json() == []


def test_another_teams_token_and_a_stolen_submission_id_get_nothing(hostile, round_template, tmp_path):
    url, cfg, engine = hostile
    owner, thief = add_team(engine, "owner"), add_team(engine, "thief")
    files = valid_files(round_template)
    submission = post_files(url, owner, list(files.items())).json()["id"]
    for token in (thief, None, "dpt_" + "x" * 43, "dpo_" + "y" * 43):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        seen = httpx.get(f"{url}/api/submissions/{submission}", headers=headers)
        assert seen.status_code in (401, 404) and "score" not in seen.text
        marked = httpx.post(f"{url}/api/submissions/{submission}/final", json={"final": True}, headers=headers)
        assert marked.status_code in (401, 404)
    assert httpx.get(f"{url}/api/submissions/{submission}", headers={"Authorization": f"Bearer {thief}"}) \
        .json() == {"error": "no such submission"}
    rescore = httpx.post(f"{url}/api/organiser/submissions/{submission}/rescore",
                         headers={"Authorization": f"Bearer {owner}"})
    assert rescore.status_code == 401                  # a team's token opens no organiser route


@pytest.mark.parametrize("names", [("0.txt", "0.txt/1.txt"), ("m/0.txt", "m"), ("a/b/0.txt", "a/b")],
                         ids=["file-then-under-it", "folder-then-file", "nested"])
def test_a_name_that_is_both_a_file_and_a_folder_is_refused(hostile, round_template, names):
    url, cfg, engine = hostile
    token = add_team(engine, f"clash-{'-'.join(names).replace('/', '_')}")
    files = valid_files(round_template)
    blobs = set((cfg.folder / "blobs").glob("*/*"))
    response = post_files(url, token, [(names[0], files["0.txt"]), (names[1], files["1.txt"])])
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error.startswith("file name ") and "a file and a folder" in error and "\n" not in error
    assert not any((cfg.folder / "uploads").iterdir()) and set((cfg.folder / "blobs").glob("*/*")) == blobs


def test_an_archive_whose_names_clash_is_refused(hostile, round_template):
    import io
    import zipfile
    url, cfg, engine = hostile
    token = add_team(engine, "clash-archive")
    files = valid_files(round_template)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("0.txt", files["0.txt"])
        archive.writestr("0.txt/1.txt", files["1.txt"])
    blobs = set((cfg.folder / "blobs").glob("*/*"))
    response = post_files(url, token, [("submission.zip", buffer.getvalue())])
    assert response.status_code == 422, response.text
    assert "a file and a folder" in response.json()["error"]
    assert not any((cfg.folder / "uploads").iterdir()) and set((cfg.folder / "blobs").glob("*/*")) == blobs
