"""The server-rendered pages: public boards, the team page, the organiser page (Jinja2, no script, no external file).

Security: every value is escaped by Jinja2's autoescape; the Content-Security-Policy (app.py) allows no script at
all and styles only from /static/; a session cookie is HttpOnly and SameSite=Strict; every form carries a CSRF
token, compared in constant time before anything is done: the session's token for logged-in forms, a
double-submit cookie for the login form.  The upload form names its CSRF token in its action's query string, so
it is checked before a byte of the upload is read.
"""
from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from common.round import boards, service
from common.round.server import client_address, state, upload, who_by_session, who_by_token
from common.round.config import format_time, utc_now
from common.round.db import transaction
from common.round.manage import close_round, is_closed
from common.round.security import ORGANISER_PREFIX, SESSION_COOKIE, Who, create_session, csrf_matches, end_session
from common.round.service import Refusal

HERE = Path(__file__).resolve().parent
LOGIN_CSRF_COOKIE = "dataperf_login_csrf"
FORM_BYTES = 16 << 10

templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html", "j2"]),
                        trim_blocks=True, lstrip_blocks=True)
templates.filters["time"] = format_time
templates.filters["score"] = lambda value: "—" if value is None else f"{value:.4f}"

router = APIRouter(include_in_schema=False)


def page(request: Request, template: str, status: int = 200, headers: dict | None = None, **values) -> HTMLResponse:
    server = state(request)
    with transaction(server.engine, readonly=True) as session:
        closed = is_closed(session)
    who = values.pop("who", None)
    html = templates.get_template(template).render(round=server.cfg, closed=closed, who=who,
                                                   cubes=list(server.cfg.cubes), **values)
    return HTMLResponse(html, status_code=status, headers=headers)


def render_error(request: Request, status: int, message: str, headers: dict | None = None) -> HTMLResponse:
    try:
        return page(request, "error.html.j2", status=status, headers=headers, status_code=status, message=message)
    except Exception:      # noqa: BLE001 - the error page must not fail into a traceback; plain text then
        from html import escape
        return HTMLResponse(f"<!doctype html><title>{status}</title><p>{escape(message)}</p>", status_code=status,
                            headers=headers)


async def read_form(request: Request) -> dict[str, str]:
    """A small urlencoded form, read with a size limit (never a whole unbounded body)."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise Refusal(415, "the form must be sent as application/x-www-form-urlencoded")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_BYTES:
            raise Refusal(413, "the form is too large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(422, "the form is not UTF-8 text") from None
    values = parse_qs(text, keep_blank_values=True, max_num_fields=32)
    return {key: items[0] for key, items in values.items()}


async def session_who(request: Request, organiser: bool | None = None) -> Who:
    who = await run_in_threadpool(who_by_session, state(request), request)
    if who is None or (organiser is True and not who.organiser) or (organiser is False and who.team_id is None):
        raise Refusal(401, "log in first (with your token, on the login page)")
    return who


def check_csrf(who: Who, given: str | None) -> None:
    if not csrf_matches(who.csrf, given):
        raise Refusal(403, "the form's CSRF token is missing or wrong: reload the page and try again")


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# ------------------------------------------------------------------ public pages

@router.get("/static/round.css")
def stylesheet():
    return FileResponse(HERE / "static" / "round.css", media_type="text/css")


@router.get("/", response_class=HTMLResponse)
async def index(request: Request):
    who = await run_in_threadpool(who_by_session, state(request), request)
    cfg = state(request).cfg
    return await run_in_threadpool(page, request, "index.html.j2", who=who, phase=cfg.phase_at(utc_now()),
                                   phases=cfg.phases)


@router.get("/board/{cube}", response_class=HTMLResponse)
async def board(request: Request, cube: str):
    server = state(request)
    if cube not in server.cfg.cubes:
        raise Refusal(404, "no such cube in this round")
    who = await run_in_threadpool(who_by_session, server, request)

    def build():
        return page(request, "board.html.j2", who=who, cube=cube, public=boards.public_board(server.engine, cube),
                    private=boards.private_board(server.engine, server.cfg, cube),
                    plot=boards.history(server.engine, cube))
    return await run_in_threadpool(build)


# ------------------------------------------------------------------ logging in and out

@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request):
    token = secrets.token_urlsafe(32)
    response = await run_in_threadpool(page, request, "login.html.j2", csrf=token, message=None)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login",
                        secure=request.url.scheme == "https")
    return response


@router.post("/login")
async def login(request: Request):
    form = await read_form(request)
    if not csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE), form.get("csrf")):
        raise Refusal(403, "the form's CSRF token is missing or wrong: reload the login page and try again")
    server = state(request)
    token = (form.get("token") or "").strip()
    organiser = token.startswith(ORGANISER_PREFIX)
    who = await run_in_threadpool(who_by_token, server, token, client_address(request), organiser, True)

    def open_session() -> str:
        with transaction(server.engine) as session:
            return create_session(session, who.team_id, who.organiser, utc_now(), server.cfg.login["session_hours"])
    value = await run_in_threadpool(open_session)
    response = redirect("/organiser" if organiser else "/team")
    response.set_cookie(SESSION_COOKIE, value, httponly=True, samesite="strict", path="/",
                        max_age=server.cfg.login["session_hours"] * 3600, secure=request.url.scheme == "https")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request):
    who = await session_who(request)
    check_csrf(who, (await read_form(request)).get("csrf"))
    server = state(request)

    def end():
        with transaction(server.engine) as session:
            end_session(session, request.cookies.get(SESSION_COOKIE))
    await run_in_threadpool(end)
    response = redirect("/")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ------------------------------------------------------------------ the team page

def team_page(request: Request, who: Who, status: int = 200, message: str | None = None,
              submitted: str | None = None) -> HTMLResponse:
    server = state(request)
    rows = service.team_submissions(server.engine, who.team_id)
    return page(request, "team.html.j2", status=status, who=who, rows=rows, message=message, submitted=submitted,
                limits=server.cfg.limits, final_selection=server.cfg.final_selection)


@router.get("/team", response_class=HTMLResponse)
async def team(request: Request, submitted: str | None = None):
    who = await session_who(request, organiser=False)
    shown = submitted if submitted and len(submitted) == 32 and submitted.isalnum() else None
    return await run_in_threadpool(team_page, request, who, 200, None, shown)


@router.post("/team/submit")
async def team_submit(request: Request, csrf: str | None = None):
    who = await session_who(request, organiser=False)
    check_csrf(who, csrf)                     # from the action's query string: before the body is read
    try:
        done = await upload(request, who, None, None)
    except Refusal as exc:
        return await run_in_threadpool(team_page, request, who, exc.status, exc.message)
    return redirect(f"/team?submitted={done['id']}")


@router.post("/team/final/{submission_id}")
async def team_final(request: Request, submission_id: str):
    who = await session_who(request, organiser=False)
    form = await read_form(request)
    check_csrf(who, form.get("csrf"))
    server = state(request)
    try:
        await run_in_threadpool(service.set_final, server.engine, server.cfg, who.team_id, submission_id,
                                form.get("final") == "1")
    except Refusal as exc:
        if exc.status == 404:
            raise
        return await run_in_threadpool(team_page, request, who, exc.status, exc.message)
    return redirect("/team")


# ------------------------------------------------------------------ the organiser page

def organiser_page(request: Request, who: Who, message: str | None = None, status: int = 200) -> HTMLResponse:
    server = state(request)
    return page(request, "organiser.html.j2", status=status, who=who, rows=service.all_submissions(server.engine),
                counts=service.queue_counts(server.engine), message=message)


@router.get("/organiser", response_class=HTMLResponse)
async def organiser(request: Request):
    who = await session_who(request, organiser=True)
    return await run_in_threadpool(organiser_page, request, who)


@router.post("/organiser/{action}")
async def organiser_action(request: Request, action: str):
    who = await session_who(request, organiser=True)
    form = await read_form(request)
    check_csrf(who, form.get("csrf"))
    server = state(request)
    target = form.get("id") or ""
    if action == "close":
        await run_in_threadpool(close_round, server.engine)
        message = "the round is closed: the private boards are published"
    elif action == "rescore":
        await run_in_threadpool(service.rescore, server.engine, target)
        message = f"{target} queued for scoring again"
    elif action in ("disqualify", "requalify"):
        await run_in_threadpool(service.disqualify, server.engine, target, action == "disqualify")
        message = f"{target} {'disqualified' if action == 'disqualify' else 'back on the boards'}"
    elif action == "export":
        from common.round.export import export_round
        out = server.cfg.folder / "exports" / utc_now().strftime("%Y%m%dT%H%M%SZ")
        await run_in_threadpool(export_round, server.cfg, server.engine, out)
        message = f"exported to {out}"
    else:
        raise Refusal(404, "not found")
    return await run_in_threadpool(organiser_page, request, who, message)
