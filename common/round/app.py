"""The round server: a FastAPI app with the JSON API (api.py) and the server-rendered pages (pages.py), on what
they share (server.py).

Here: the security headers, and the error handlers that turn every refusal into one line (JSON under /api/, a page
elsewhere) and every unexpected error into a 500 without a traceback (which goes to the server's log with an id
the client is shown).
"""
from __future__ import annotations

import secrets
import sys
import traceback
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from common.core.errors import DataPerfError
from common.round.config import format_time, utc_now
from common.round.manage import open_round
from common.round.server import RoundServer
from common.round.service import Refusal

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
SECURITY_HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY"),
                    (b"cross-origin-opener-policy", b"same-origin"), (b"cache-control", b"no-store")]


class SecurityHeaders:
    """Adds the security headers to every response (a plain ASGI middleware: the body streams through)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (name, value) for name, value in SECURITY_HEADERS if name not in names]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def error_response(request: Request, status: int, message: str, retry_at=None, headers: dict | None = None):
    headers = dict(headers or {})
    if retry_at is not None:
        headers["Retry-After"] = str(max(1, int((retry_at - utc_now()).total_seconds())))
    if _wants_json(request):
        body = {"error": message}
        if retry_at is not None:
            body["retry_at"] = format_time(retry_at)
        return JSONResponse(body, status_code=status, headers=headers)
    from common.round.pages import render_error
    return render_error(request, status, message, headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Refusal)
    async def refusal(request: Request, exc: Refusal):
        return error_response(request, exc.status, exc.message, exc.retry_at)

    @app.exception_handler(DataPerfError)
    async def conflict(request: Request, exc: DataPerfError):
        return error_response(request, 409, (str(exc).splitlines() or ["refused"])[0][:300])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = {404: "not found", 405: "method not allowed"}.get(exc.status_code, str(exc.detail))
        return error_response(request, exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        first = (exc.errors() or [{}])[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return error_response(request, 422, f"bad request: {where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        incident = secrets.token_hex(4)
        print(f"round server: incident {incident} on {request.method} {request.url.path}:", file=sys.stderr)
        traceback.print_exception(exc, file=sys.stderr)
        return error_response(request, 500, f"internal error (incident {incident}; the organiser has the details)")


def create_app(folder: str | Path) -> FastAPI:
    cfg, engine = open_round(Path(folder))
    server = RoundServer(cfg, engine)

    @asynccontextmanager
    async def lifespan(app):
        server.start()
        try:
            yield
        finally:
            server.stop()

    app = FastAPI(title=f"DataPerf round {cfg.name}", version="1",
                  description="Submit to the round, follow your submissions, read the leaderboards.  Authenticate "
                              "with `Authorization: Bearer TOKEN` (your team's token).",
                  docs_url=None, redoc_url=None, openapi_url="/api/openapi.json", lifespan=lifespan)
    app.state.round = server
    install_error_handlers(app)
    from common.round.api import router as api_router
    from common.round.pages import router as pages_router
    app.include_router(api_router)
    app.include_router(pages_router)
    app.add_middleware(SecurityHeaders)
    return app
