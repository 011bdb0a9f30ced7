"""The closed division through the round server: an image reference (or a `docker save` archive) is queued, the
worker runs it with the closed-division runner (common/closed) on the round's data and scores its output.  No
Docker engine runs here: the runner is the tests' in-process fake (support.closed.FakeRunner) and the Docker SDK
is mocked where the round server calls it directly (loading an archive; an engine that cannot be reached)."""
from __future__ import annotations

from types import SimpleNamespace

import docker
import httpx
import pytest

from common.closed import round as closed_round
from common.round.manage import add_team
from common.round.worker import Worker
from support.closed import TEMPLATE_CLASSES, FakeRunner, honest, use_templates
from support.round import ThreadServer, open_copy

SPEC = TEMPLATE_CLASSES["data_acquisition"]


@pytest.fixture(params=["sqlite", "postgresql"])
def closed(request, round_template, tmp_path):
    url = None if request.param == "sqlite" else request.getfixturevalue("postgres").new_database()
    cfg, engine, _ = open_copy(round_template, tmp_path / "round", url)
    with ThreadServer(tmp_path / "round") as server:
        yield server.url, cfg, engine
    engine.dispose()


def submit_image(url: str, token: str, image: str, archive: bytes | None = None):
    headers = {"Authorization": f"Bearer {token}"}
    params = {"cube": "data_acquisition", "image": image}
    if archive is None:
        return httpx.post(f"{url}/api/submissions", params=params, headers=headers, content=b"")
    return httpx.post(f"{url}/api/submissions", params=params, headers=headers,
                      files=[("files", ("image.tar", archive, "application/x-tar"))])


def fake_runner(monkeypatch, images: dict) -> FakeRunner:
    use_templates()
    runner = FakeRunner(images)
    monkeypatch.setattr(closed_round, "DockerRunner", lambda keeper_image: runner)
    return runner


def get(url: str, token: str, public_id: str) -> dict:
    return httpx.get(f"{url}/api/submissions/{public_id}", headers={"Authorization": f"Bearer {token}"}).json()


def test_an_image_is_run_by_the_closed_runner_and_scored(closed, monkeypatch):
    url, cfg, engine = closed
    runner = fake_runner(monkeypatch, {"team/strategy:1": (SPEC, honest)})
    token = add_team(engine, "closed-team")
    response = submit_image(url, token, "team/strategy:1")
    assert response.status_code == 201, response.text
    assert response.json()["division"] == "closed" and response.json()["files"] == 0
    Worker(cfg, engine).run(once=True)
    done = get(url, token, response.json()["id"])
    assert done["state"] == "scored" and done["score"] > 0, done
    assert done["image"] == "team/strategy:1" and done["image_digest"].startswith("sha256:")
    assert runner.runs[0]["image"] == "team/strategy:1"
    assert "features/" not in " ".join(runner.runs[0]["view"])      # the sellers' data never reaches the image


def test_an_image_the_engine_does_not_have_is_refused_with_the_reason(closed, monkeypatch):
    url, cfg, engine = closed
    fake_runner(monkeypatch, {})
    token = add_team(engine, "no-image")
    public_id = submit_image(url, token, "team/missing:1").json()["id"]
    Worker(cfg, engine).run(once=True)
    done = get(url, token, public_id)
    assert done["state"] == "refused"
    assert done["reason"] == "image_error: not found on this Docker engine (docker pull or docker load it first)"


def test_an_engine_that_cannot_be_reached_is_a_platform_failure(closed, monkeypatch):
    url, cfg, engine = closed

    def unreachable(**kwargs):
        raise docker.errors.DockerException("Error while fetching server API version")

    monkeypatch.setattr(docker, "from_env", unreachable)
    token = add_team(engine, "engine-down")
    public_id = submit_image(url, token, "team/strategy:1").json()["id"]
    Worker(cfg, engine).run(once=True)
    done = get(url, token, public_id)
    assert done["state"] == "failed"
    assert "cannot reach the Docker engine" in done["reason"] and "no quota used" in done["reason"]


def test_a_docker_save_archive_is_loaded_then_run(closed, monkeypatch):
    url, cfg, engine = closed
    loaded = "sha256:" + "ab" * 32
    runner = fake_runner(monkeypatch, {loaded: (SPEC, honest)})
    calls = []

    class Images:
        def load(self, handle):
            calls.append(handle.read())
            return [SimpleNamespace(id=loaded)]

    monkeypatch.setattr(docker, "from_env", lambda **kwargs: SimpleNamespace(images=Images()))
    token = add_team(engine, "archive-team")
    archive = b"a docker save archive, as far as the server can tell" * 100
    response = submit_image(url, token, "team/strategy:2", archive)
    assert response.status_code == 201, response.text
    Worker(cfg, engine).run(once=True)
    done = get(url, token, response.json()["id"])
    assert done["state"] == "scored", done
    assert calls == [archive] and runner.runs[0]["image"] == loaded


def test_closed_division_refusals_at_upload(closed):
    url, cfg, engine = closed
    token = add_team(engine, "closed-refusals")
    bad = submit_image(url, token, "team/strategy:1; rm -rf /")
    assert bad.status_code == 422 and bad.json()["error"].startswith("image reference")
    two = httpx.post(f"{url}/api/submissions", params={"cube": "data_acquisition", "image": "a:1"},
                     headers={"Authorization": f"Bearer {token}"},
                     files=[("files", ("a.tar", b"1", "application/x-tar")), ("files", ("b.tar", b"2", "x"))])
    assert two.status_code == 422 and "at most one `docker save` archive" in two.json()["error"]
