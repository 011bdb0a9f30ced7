"""The pages over HTTP: logins with CSRF tokens, cookie flags, escaping, the upload form, the organiser's
actions, and the Content-Security-Policy (no script at all), on SQLite and PostgreSQL."""
from __future__ import annotations

import re

import httpx
import pytest

from common.round.security import SESSION_COOKIE
from support.round import ThreadServer, open_copy, valid_files
from common.round.manage import add_team
from common.round.worker import Worker

HOSTILE = "<script>alert('x')</script>&\"team\""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, round_template, tmp_path_factory):
    url = None if request.param == "sqlite" else request.getfixturevalue("postgres").new_database()
    folder = tmp_path_factory.mktemp("pages") / "round"
    cfg, engine, organiser = open_copy(round_template, folder, url, login={"attempts": 50})
    with ThreadServer(folder) as server:
        yield server.url, cfg, engine, organiser
    engine.dispose()


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def log_in(url: str, token: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60)
    form = client.get("/login")
    done = client.post("/login", data={"token": token, "csrf": csrf_of(form.text)})
    assert done.status_code == 303, done.text
    return client


def test_login_sets_a_strict_httponly_session_and_the_team_page_follows(site):
    url, cfg, engine, _ = site
    token = add_team(engine, "pagers")
    client = httpx.Client(base_url=url, timeout=60)
    form = client.get("/login")
    assert "httponly" in form.headers["set-cookie"].lower() and "samesite=strict" in form.headers["set-cookie"].lower()
    done = client.post("/login", data={"token": token, "csrf": csrf_of(form.text)})
    assert done.status_code == 303 and done.headers["location"] == "/team"
    cookie = next(c for c in done.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    page = client.get("/team")
    assert page.status_code == 200 and '<span id="team-name">pagers</span>' in page.text
    assert client.get("/organiser").status_code == 401            # a team's session is no organiser's


def test_a_login_without_the_csrf_token_or_with_a_forged_one_is_refused(site):
    url, cfg, engine, _ = site
    token = add_team(engine, "forged-login")
    client = httpx.Client(base_url=url, timeout=60)
    client.get("/login")
    for data in ({"token": token}, {"token": token, "csrf": "forged"}):
        refused = client.post("/login", data=data)
        assert refused.status_code == 403 and "CSRF token" in refused.text
        assert SESSION_COOKIE not in refused.headers.get("set-cookie", "")
    fresh = httpx.Client(base_url=url, timeout=60)             # a form posted from elsewhere: no cookie at all
    assert fresh.post("/login", data={"token": token, "csrf": "x"}).status_code == 403


def test_every_form_of_a_logged_in_page_needs_its_csrf_token(site, round_template, tmp_path):
    url, cfg, engine, _ = site
    client = log_in(url, add_team(engine, "csrf-team"))
    html = client.get("/team").text
    assert html.count('name="csrf"') >= 1 and "/team/submit?csrf=" in html
    files = [("files", (n, d, "text/plain")) for n, d in valid_files(round_template).items()]
    forged = client.post("/team/submit?csrf=forged", files=files, data={"cube": "data_acquisition"})
    assert forged.status_code == 403
    missing = client.post("/team/submit", files=files, data={"cube": "data_acquisition"})
    assert missing.status_code == 403
    token = csrf_of(html)
    done = client.post(f"/team/submit?csrf={token}", files=files, data={"cube": "data_acquisition"})
    assert done.status_code == 303 and done.headers["location"].startswith("/team?submitted=")
    submitted = done.headers["location"].split("=")[1]
    Worker(cfg, engine).run(once=True)
    assert client.post(f"/team/final/{submitted}", data={"final": "1", "csrf": "forged"}).status_code == 403
    assert client.post(f"/team/final/{submitted}", data={"final": "1", "csrf": token}).status_code == 303
    assert "unmark" in client.get("/team").text
    assert client.post("/logout", data={"csrf": "forged"}).status_code == 403


def test_the_upload_form_shows_a_refusal_as_a_line_on_the_page(site, tmp_path):
    url, cfg, engine, _ = site
    client = log_in(url, add_team(engine, "refused-form"))
    token = csrf_of(client.get("/team").text)
    page = client.post(f"/team/submit?csrf={token}", files=[("files", ("0.txt", b"x,y\n", "text/plain"))],
                       data={"cube": "data_acquisition"})
    assert page.status_code == 422
    assert re.search(r'<p class="message error" id="error">submission_folder: [^<\n]+</p>', page.text)


def test_names_are_escaped_everywhere(site, round_template, tmp_path):
    url, cfg, engine, organiser = site
    client = log_in(url, add_team(engine, HOSTILE))
    token = csrf_of(client.get("/team").text)
    files = [("files", (n, d, "text/plain")) for n, d in valid_files(round_template, "uniform").items()]
    client.post(f"/team/submit?csrf={token}", files=files, data={"cube": "data_acquisition"})
    Worker(cfg, engine).run(once=True)
    pages = [client.get("/team").text, client.get("/board/data_acquisition").text,
             log_in(url, organiser).get("/organiser").text]
    for html in pages:
        assert "<script" not in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&#34;team&#34;" in html


def test_pages_allow_no_script_and_load_nothing_from_elsewhere(site):
    url, *_ = site
    for path in ("/", "/login", "/board/data_acquisition"):
        response = httpx.get(url + path)
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "style-src 'self'" in policy and "script-src" not in policy
        assert "<script" not in response.text and " style=" not in response.text
        assert not re.search(r'(?:src|href)="(?:https?:)?//', response.text)


def test_an_unknown_page_is_a_plain_404_page(site):
    url, *_ = site
    response = httpx.get(url + "/no/such/page")
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    assert '<p class="message error" id="error">not found</p>' in response.text
    assert httpx.get(url + "/board/vision_selection").status_code == 404


def test_the_organiser_closes_the_round_from_the_page(site, round_template):
    url, cfg, engine, organiser = site
    client = log_in(url, organiser)
    page = client.get("/organiser")
    assert page.status_code == 200 and 'id="close-round"' in page.text
    assert client.post("/organiser/close", data={"csrf": "forged"}).status_code == 403
    closed = client.post("/organiser/close", data={"csrf": csrf_of(page.text)})
    assert closed.status_code == 200 and "the private boards are published" in closed.text
    board = httpx.get(url + "/board/data_acquisition").text
    assert 'id="private-board"' in board
