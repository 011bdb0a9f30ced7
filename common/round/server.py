"""What the JSON API (api.py) and the pages (pages.py) share: the round's state (config, engine, blob store, the
validation processes), who a request is from, and the upload path both the API and the upload form use.

Validation runs in a small pool of processes (`server.validators`), so a cube's validation never blocks the
server's event loop and a crash in it cannot take the server down; the pool is made again if one dies.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import re
import secrets
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from common.round import cubes, service
from common.round.config import RoundConfig, format_time, utc_now
from common.round.db import Team, transaction
from common.round.security import (SESSION_COOKIE, Who, is_organiser_token, login_blocked_until, record_login_failure,
                                   session_for_cookie, team_for_token)
from common.round.service import Refusal
from common.round.storage import (BlobStore, UploadRefused, UploadTooLarge, check_layout, is_archive, receive,
                                  store_files, unpack_archive)
from common.untrusted.files import excerpt

IMAGE_REFERENCE = r"^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$"
def _init_validator(names: list[str]) -> None:
    from common.compute.parallel import _die_with_parent
    _die_with_parent()           # a killed server leaves no validation process behind
    cubes.warm_up(names)


class RoundServer:
    def __init__(self, cfg: RoundConfig, engine):
        self.cfg, self.engine = cfg, engine
        self.store = BlobStore(cfg.folder)
        self.uploads = cfg.folder / "uploads"
        self.pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        shutil.rmtree(self.uploads, ignore_errors=True)     # what killed requests left half-read
        self.uploads.mkdir(parents=True, exist_ok=True)
        self.new_pool()

    def new_pool(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = ProcessPoolExecutor(max_workers=self.cfg.server["validators"],
                                        mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_init_validator, initargs=(list(self.cfg.cubes),))

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        self.engine.dispose()

    async def validate(self, cube: str, files: Path) -> str | None:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.pool, cubes.validate_in_pool, cube,
                                              str(self.cfg.cube_folder(cube)), str(files))
        except BrokenProcessPool:
            self.new_pool()
            raise Refusal(503, "the server could not check the files just now; send them again (nothing was "
                               "counted)") from None
        except cubes.PlatformError as exc:
            print(f"round server: validation of {cube} failed on the round's side: {exc}", file=sys.stderr)
            raise Refusal(503, f"the round cannot check {cube} submissions now (the organiser has the details); "
                               f"nothing was counted") from None


def state(request: Request) -> RoundServer:
    return request.app.state.round


def client_address(request: Request) -> str:
    return (request.client.host if request.client else "unknown")[:64]


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _refuse_login(server: RoundServer, client: str, message: str) -> Refusal:
    with transaction(server.engine) as session:
        record_login_failure(session, client, utc_now(), server.cfg.login["window_seconds"])
    return Refusal(401, message)


def _check_blocked(server: RoundServer, client: str) -> None:
    login = server.cfg.login
    with transaction(server.engine, readonly=True) as session:
        until = login_blocked_until(session, client, utc_now(), login["attempts"], login["window_seconds"])
    if until is not None:
        raise Refusal(429, f"too many failed logins from your address; try again at {format_time(until)}",
                      retry_at=until)


def who_by_token(server: RoundServer, token: str | None, client: str, organiser: bool = False,
                 page: bool = False) -> Who:
    """A team (or, with organiser, the organiser) from a presented token; failures are rate-limited per client."""
    _check_blocked(server, client)
    with transaction(server.engine, readonly=True) as session:
        if organiser:
            if is_organiser_token(session, token):
                return Who(None, None, True)
        else:
            team = team_for_token(session, token)
            if team is not None:
                return Who(team.id, team.name, False)
    kind = "organiser" if organiser else "team"
    hint = "" if page else " (send it as Authorization: Bearer TOKEN)"
    raise _refuse_login(server, client, f"unknown or missing {kind} token{hint}")


def who_by_session(server: RoundServer, request: Request) -> Who | None:
    with transaction(server.engine, readonly=True) as session:
        found = session_for_cookie(session, request.cookies.get(SESSION_COOKIE), utc_now())
        if found is None:
            return None
        name = None
        if found.team_id is not None:
            team = session.get(Team, found.team_id)
            if team is None:
                return None
            name = team.name
        return Who(found.team_id, name, found.organiser, found.csrf)


def _cube(server: RoundServer, cube: str | None) -> str:
    if not cube:
        raise Refusal(422, "name the cube (the form field or query parameter 'cube')")
    if cube not in server.cfg.cubes:
        raise Refusal(422, f"unknown cube {excerpt(cube)} (this round's cubes: {', '.join(server.cfg.cubes)})")
    return cube


async def upload(request: Request, who: Who, cube_hint: str | None, image_hint: str | None) -> dict:
    """The upload both the API and the form use: limits first, the body streamed to disk and cut at its limit,
    validation, the files stored by hash, the submission queued.  Nothing is counted unless it is queued."""
    server = state(request)
    cfg = server.cfg
    if cube_hint is not None:
        await run_in_threadpool(service.precheck, server.engine, cfg, who.team_id, _cube(server, cube_hint))
    folder = server.uploads / secrets.token_hex(8)
    try:
        try:
            received = await receive(request.stream(), request.headers.get("content-type", ""),
                                     request.headers.get("content-length"), folder, cfg.upload_bytes,
                                     cfg.image_bytes, cfg.limits["files"], image_given=image_hint is not None,
                                     body_limit=_body_limit(cfg, cube_hint, image_hint))
        except UploadTooLarge as exc:
            raise Refusal(413, str(exc)) from None
        except UploadRefused as exc:
            raise Refusal(422, str(exc)) from None
        fields = received.fields
        for name, hint in (("cube", cube_hint), ("image", image_hint)):
            if hint is not None and fields.get(name) not in (None, hint):
                raise Refusal(422, f"'{name}' differs between the query and the form")
        cube = _cube(server, cube_hint or fields.get("cube"))
        image = image_hint or fields.get("image") or None
        if cube_hint is None:
            await run_in_threadpool(service.precheck, server.engine, cfg, who.team_id, cube)
        archive_sha = None
        if image is not None:
            if not re.match(IMAGE_REFERENCE, image):
                raise Refusal(422, f"image reference {excerpt(image)}: use a name[:tag], a name@sha256:digest or an "
                                   f"image id (letters, digits and . _ / : @ -)")
            if len(received.files) > 1 or (received.files and not received.files[0].name.endswith(".tar")):
                raise Refusal(422, "the closed division takes an image reference and at most one `docker save` "
                                   "archive (.tar)")
            files = received.files
            if files:
                archive_sha = files[0].sha256
            division = "closed"
        else:
            if not received.files:
                raise Refusal(422, "no files: send the submission's files (or one .zip or .tar of them)")
            files = received.files
            if len(files) == 1 and is_archive(files[0].name):
                try:
                    files = await run_in_threadpool(unpack_archive, received, cfg.upload_bytes * 4,
                                                    cfg.limits["files"])
                except UploadRefused as exc:
                    raise Refusal(422, str(exc)) from None
            try:
                check_layout([f.name for f in files])
            except UploadRefused as exc:
                raise Refusal(422, str(exc)) from None
            layout = await run_in_threadpool(_lay_out, files, folder / "submission")
            reason = await server.validate(cube, layout)
            if reason is not None:
                raise Refusal(422, reason)
            division = "open"
        stored, content = await run_in_threadpool(store_files, server.store, files)
        submission = await run_in_threadpool(service.accept, server.engine, cfg, who.team_id, cube, division,
                                             stored, content, image, archive_sha)
        return service.describe(submission)
    finally:
        await run_in_threadpool(shutil.rmtree, folder, True)


def _body_limit(cfg: RoundConfig, cube_hint: str | None, image_hint: str | None) -> int:
    """The API names its division in the query, so its body is held to that division's limit from the first byte;
    a form names it inside the body, so the larger limit holds until the image field is read."""
    if image_hint is not None:
        return cfg.image_bytes
    return cfg.upload_bytes if cube_hint is not None else max(cfg.upload_bytes, cfg.image_bytes)


def _lay_out(files, target: Path) -> Path:
    """The received files under their submitted names, for the cube's validation: copies, since the trust
    boundary refuses a participant's file with a second name (common.untrusted.files)."""
    target.mkdir(parents=True)
    for received in files:
        path = target.joinpath(*received.name.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(received.path, path)
    return target


# ------------------------------------------------------------------ headers and errors
