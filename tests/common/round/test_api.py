"""The JSON API and the client commands, on SQLite and PostgreSQL, against a real server on loopback."""
from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from common.cli import main
from common.round import service
from common.round.client import submit_files
from common.round.config import format_time, utc_now
from common.round.db import Submission, SubmissionFile, transaction
from common.round.manage import add_team
from common.round.worker import Worker
from support.round import ThreadServer, invalid_files, open_copy, valid_files, write_files

DATABASES = ["sqlite", "postgresql"]


class Live:
    """A round served on loopback: its URL, config, engine and organiser token; teams made on demand."""

    def __init__(self, cfg, engine, organiser, server):
        self.cfg, self.engine, self.organiser, self.server = cfg, engine, organiser, server
        self.url = server.url
        self.teams = 0

    def team(self, name: str | None = None) -> str:
        self.teams += 1
        return add_team(self.engine, name or f"team-{self.teams}")

    def submit(self, token: str, files: dict[str, bytes], folder, cube: str = "data_acquisition"):
        write_files(folder, files)
        return submit_files(self.url, token, cube, [folder])

    def get(self, path: str, token: str | None = None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(self.url + path, headers=headers, timeout=30)

    def score_all(self) -> None:
        Worker(self.cfg, self.engine).run(once=True)


def serve(request, template, folder, **settings):
    url = None if request.param == "sqlite" else request.getfixturevalue("postgres").new_database()
    cfg, engine, organiser = open_copy(template, folder, url, **settings)
    server = ThreadServer(folder).__enter__()
    return Live(cfg, engine, organiser, server)


@pytest.fixture(scope="module", params=DATABASES)
def live(request, round_template, tmp_path_factory):
    running = serve(request, round_template, tmp_path_factory.mktemp("api") / "round", limits={"per_day": 50})
    yield running
    running.server.__exit__()
    running.engine.dispose()


@pytest.fixture(params=DATABASES)
def strict(request, round_template, tmp_path):
    """A round of its own with tight limits: 2 a day, 3 in all, 1 MiB uploads, 3 failed logins per minute."""
    running = serve(request, round_template, tmp_path / "round", limits={"per_day": 2, "total": 3, "upload_mb": 1},
                    login={"attempts": 3, "window_seconds": 60})
    yield running
    running.server.__exit__()
    running.engine.dispose()


def test_a_valid_submission_is_queued_scored_and_shown_on_the_board(live, round_template, tmp_path):
    token = live.team("scorers")
    response = live.submit(token, valid_files(round_template), tmp_path / "files")
    assert response.status_code == 201, response.text
    body = response.json()
    assert re.fullmatch(r"[0-9a-f]{32}", body["id"]) and body["state"] == "submitted"
    assert body["division"] == "open" and body["files"] == 2
    live.score_all()
    done = live.get(f"/api/submissions/{body['id']}", token).json()
    assert done["state"] == "scored" and done["score"] > 0 and done["score_part"] == "public"
    assert [e["state"] for e in done["timeline"]] == ["submitted", "running", "scored"]
    assert sorted(f["name"] for f in done["file_list"]) == ["0.txt", "1.txt"]
    board = live.get("/api/leaderboard/data_acquisition").json()
    assert board["private"] is None
    assert board["public"]["part"] == "public" and board["public"]["measured_on"] == "public part of the hidden test"
    with transaction(live.engine, readonly=True) as session:     # the private score stays hidden until close
        hidden = session.scalar(select(Submission.score_private).where(Submission.public_id == body["id"]))
    assert hidden is not None and repr(hidden) not in live.get(f"/api/submissions/{body['id']}", token).text
    assert repr(hidden) not in live.get("/api/leaderboard/data_acquisition").text
    row = next(r for r in board["public"]["rows"] if r["team"] == "scorers")
    assert row["score"] == done["score"] and row["submission"] == done["id"]
    assert board["public"]["ranked"] and row["rank_group"] >= 1      # the worker ranked the board, its queue empty


def test_an_invalid_submission_is_refused_at_once_with_one_line_and_not_counted(live, tmp_path):
    token = live.team()
    response = live.submit(token, invalid_files(), tmp_path / "bad")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error.startswith("submission_folder: 0.txt") and "\n" not in error
    assert live.get("/api/submissions", token).json() == []


def test_files_are_stored_once_by_content_and_names_are_metadata(live, round_template, tmp_path):
    token = live.team()
    files = valid_files(round_template, "single")
    first = live.submit(token, files, tmp_path / "a").json()
    second = live.submit(token, files, tmp_path / "b").json()
    assert first["content_sha256"] == second["content_sha256"]
    with transaction(live.engine, readonly=True) as session:
        hashes = session.scalars(select(SubmissionFile.sha256).join(Submission).where(
            Submission.public_id.in_([first["id"], second["id"]]))).all()
    assert len(hashes) == 4 and len(set(hashes)) == 2
    for sha in hashes:
        stored = live.cfg.folder / "blobs" / sha[:2] / sha
        assert stored.read_bytes() in files.values()


def test_an_archive_of_the_files_is_the_same_submission(live, round_template, tmp_path):
    token = live.team()
    files = valid_files(round_template, "equal_spend")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"equal_spend/{name}", data)
    (tmp_path / "sub.zip").write_bytes(buffer.getvalue())
    zipped = submit_files(live.url, token, "data_acquisition", [tmp_path / "sub.zip"]).json()
    plain = live.submit(token, files, tmp_path / "plain").json()
    assert zipped["content_sha256"] == plain["content_sha256"]


def test_teams_see_only_their_own_submissions(live, round_template, tmp_path):
    mine, theirs = live.team(), live.team()
    submitted = live.submit(mine, valid_files(round_template), tmp_path / "f").json()["id"]
    stolen = live.get(f"/api/submissions/{submitted}", theirs)
    unknown = live.get(f"/api/submissions/{'0' * 32}", theirs)
    assert stolen.status_code == unknown.status_code == 404
    assert stolen.json() == unknown.json() == {"error": "no such submission"}
    assert all(s["id"] != submitted for s in live.get("/api/submissions", theirs).json())
    marked = httpx.post(f"{live.url}/api/submissions/{submitted}/final", json={"final": True},
                        headers={"Authorization": f"Bearer {theirs}"})
    assert marked.status_code == 404


def test_a_bad_or_missing_token_is_401(live):
    assert live.get("/api/submissions").status_code == 401
    response = live.get("/api/submissions", "dpt_" + "A" * 43)
    assert response.status_code == 401 and "unknown or missing team token" in response.json()["error"]
    assert live.get("/api/organiser/submissions", live.team()).status_code == 401     # a team is no organiser
    assert live.get("/api/organiser/submissions", live.organiser).status_code == 200


def test_an_unknown_cube_is_refused_by_name(live, round_template, tmp_path):
    token = live.team()
    response = live.submit(token, valid_files(round_template), tmp_path / "f", cube="vision_selection")
    assert response.status_code == 422
    assert response.json()["error"] == "unknown cube 'vision_selection' (this round's cubes: data_acquisition)"


def test_the_final_selection_is_capped_and_needs_scored_submissions(live, round_template, tmp_path):
    token = live.team()
    ids = [live.submit(token, valid_files(round_template, m), tmp_path / m).json()["id"]
           for m in ("uniform", "single", "equal_spend")]

    def mark(i, final=True):
        return httpx.post(f"{live.url}/api/submissions/{i}/final", json={"final": final},
                          headers={"Authorization": f"Bearer {token}"})

    response = mark(ids[0])
    assert response.status_code == 409 and "only a scored submission" in response.json()["error"]
    live.score_all()
    assert mark(ids[0]).status_code == 200 and mark(ids[1]).status_code == 200
    third = mark(ids[2])
    assert third.status_code == 409 and "at most 2 final submissions" in third.json()["error"]
    assert mark(ids[0], False).json()["final"] is False
    assert mark(ids[2]).json()["final"] is True


def test_the_openapi_schema_lists_the_api(live):
    schema = live.get("/api/openapi.json").json()
    for path in ("/api/leaderboard/{cube}", "/api/submissions", "/api/submissions/{submission_id}"):
        assert path in schema["paths"]
    assert "multipart/form-data" in schema["paths"]["/api/submissions"]["post"]["requestBody"]["content"]
    assert live.get("/docs").status_code == 404          # no page that loads scripts from elsewhere


def test_an_internal_error_shows_no_traceback(live, monkeypatch):
    token = live.team()

    def broken(*args):
        raise RuntimeError("/very/secret/path and a bug")

    monkeypatch.setattr(service, "team_submissions", broken)
    response = live.get("/api/submissions", token)
    assert response.status_code == 500
    assert re.fullmatch(r"internal error \(incident [0-9a-f]{8}; the organiser has the details\)",
                        response.json()["error"])
    assert "secret" not in response.text and "Traceback" not in response.text


def test_every_response_carries_the_security_headers(live):
    response = live.get("/api/health")
    assert response.json()["status"] == "ok"
    assert "script-src" not in response.headers["content-security-policy"]
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_submit_and_status_commands(live, round_template, tmp_path):
    token = live.team()
    folder = write_files(tmp_path / "mine", valid_files(round_template, "quality_greedy"))
    runner = CliRunner()
    done = runner.invoke(main, ["submit", "--server", live.url, "--token", token, "--cube", "data_acquisition",
                                str(folder)])
    assert done.exit_code == 0, done.output
    submission = done.stdout.split()[-1]
    assert re.fullmatch(r"[0-9a-f]{32}", submission)
    live.score_all()
    shown = runner.invoke(main, ["status", "--server", live.url, "--token", token, submission])
    assert shown.exit_code == 0
    assert "\tscored\t" in shown.stdout and submission in shown.stdout
    listed = runner.invoke(main, ["status", "--server", live.url, "--token", token])
    assert listed.stdout.count("\n") == 2            # head and one submission
    refused = runner.invoke(main, ["submit", "--server", live.url, "--token", token, "--cube", "data_acquisition",
                                   str(write_files(tmp_path / "bad", invalid_files()))])
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: submission_folder: 0.txt") and refused.stderr.endswith("(HTTP 422)\n")
    away = runner.invoke(main, ["status", "--server", "http://127.0.0.1:9", "--token", token])
    assert away.exit_code == 1 and away.stderr.startswith("error: cannot reach http://127.0.0.1:9")


# ------------------------------------------------------------------ limits, sizes, logins, the round's end

def test_daily_and_total_limits_with_the_next_allowed_time(strict, round_template, tmp_path):
    token = strict.team()
    files = valid_files(round_template)
    assert [strict.submit(token, files, tmp_path / f"f{i}").status_code for i in range(2)] == [201, 201]
    refused = strict.submit(token, files, tmp_path / "f2")
    assert refused.status_code == 429
    tomorrow = (utc_now() + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert refused.json()["retry_at"] == format_time(tomorrow)
    assert f"the next one is allowed at {format_time(tomorrow)}" in refused.json()["error"]
    assert 0 < int(refused.headers["retry-after"]) <= 86400
    # a failed submission (the platform's fault) gives its place back
    with transaction(strict.engine) as session:
        session.execute(update(Submission).where(Submission.state == "submitted").values(state="failed"))
    assert strict.submit(token, files, tmp_path / "f3").status_code == 201
    # yesterday's submissions count towards the total, not today's
    with transaction(strict.engine) as session:
        session.execute(update(Submission).where(Submission.state == "submitted")
                        .values(state="scored", submitted_at=utc_now() - timedelta(days=1)))
    assert [strict.submit(token, files, tmp_path / f"f{i}").status_code for i in (4, 5)] == [201, 201]
    last = strict.submit(token, files, tmp_path / "f6")         # 3 counted in all now
    assert last.status_code == 429 and "3 submissions to data_acquisition in this round" in last.json()["error"]
    assert "retry_at" not in last.json()
    assert strict.submit(strict.team(), files, tmp_path / "other").status_code == 201   # per team


def test_an_upload_over_the_limit_is_cut_with_413_and_nothing_is_kept(strict, tmp_path):
    token = strict.team()
    big = {"0.txt": b"1," * (600 << 10), "1.txt": b"0"}     # 1.2 MiB against a 1 MiB limit
    declared = strict.submit(token, big, tmp_path / "big")
    assert declared.status_code == 413 and "limit of 1 MiB" in declared.json()["error"]

    def chunks():                                           # no Content-Length: cut while streaming
        boundary = b"b0undary"
        yield b"--" + boundary + b'\r\nContent-Disposition: form-data; name="files"; filename="0.txt"\r\n\r\n'
        for _ in range(40):
            yield b"1," * (32 << 10)
        yield b"\r\n--" + boundary + b"--\r\n"

    streamed = httpx.post(f"{strict.url}/api/submissions?cube=data_acquisition", content=chunks(),
                          headers={"Authorization": f"Bearer {token}",
                                   "Content-Type": "multipart/form-data; boundary=b0undary"})
    assert streamed.status_code == 413
    assert not list((strict.cfg.folder / "blobs").rglob("*.txt")) and not any((strict.cfg.folder / "blobs").glob("*/*"))
    assert list((strict.cfg.folder / "uploads").iterdir()) == []
    assert strict.get("/api/submissions", token).json() == []


def test_failed_logins_are_rate_limited_per_address(strict):
    token = strict.team()
    for _ in range(3):
        assert strict.get("/api/submissions", "dpt_" + "B" * 43).status_code == 401
    blocked = strict.get("/api/submissions", token)          # even a good token, from this address, for now
    assert blocked.status_code == 429 and "too many failed logins" in blocked.json()["error"]
    assert "retry_at" in blocked.json()


def test_a_closed_round_takes_no_submission_and_publishes_the_private_board(strict, round_template, tmp_path):
    token = strict.team("finalists")
    strict.submit(token, valid_files(round_template), tmp_path / "f")
    strict.score_all()
    closing = httpx.post(f"{strict.url}/api/organiser/close", headers={"Authorization": f"Bearer {strict.organiser}"})
    assert closing.json() == {"closed": True, "closed_now": True}
    refused = strict.submit(token, valid_files(round_template), tmp_path / "g")
    assert refused.status_code == 403 and refused.json()["error"] == "the round is closed: no more submissions"
    board = strict.get("/api/leaderboard/data_acquisition").json()
    assert board["private"]["board"] == "private" and board["private"]["part"] == "private"
    assert [r["team"] for r in board["private"]["rows"]] == ["finalists"]
    with transaction(strict.engine, readonly=True) as session:
        private_score = session.scalar(select(Submission.score_private)
                                       .where(Submission.public_id == board["private"]["rows"][0]["submission"]))
    assert board["private"]["rows"][0]["score"] == private_score != board["public"]["rows"][0]["score"]
