"""The JSON API (its OpenAPI schema: /api/openapi.json).  Teams authenticate with `Authorization: Bearer TOKEN`;
the organiser's routes take the organiser's token.  Cookies are never read here, so a page of another site cannot
make a browser act on the API (no CSRF surface).  Every refusal is `{"error": "<one line>"}` with its status."""
from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from common.round import boards, service
from common.round.server import bearer, client_address, state, upload, who_by_token
from common.round.db import transaction
from common.round.manage import close_round, is_closed
from common.round.security import Who

router = APIRouter(prefix="/api")


class TimelineEvent(BaseModel):
    at: Optional[str]
    state: str
    attempt: int
    note: Optional[str]


class FileRecord(BaseModel):
    name: str
    sha256: str
    bytes: int


class SubmissionOut(BaseModel):
    id: str
    cube: str
    division: str
    state: str
    reason: Optional[str]
    score: Optional[float]
    score_part: Optional[str]
    final: bool
    disqualified: bool
    submitted_at: Optional[str]
    started_at: Optional[str]
    finished_at: Optional[str]
    attempts: int
    content_sha256: str
    files: int
    bytes: int
    image: Optional[str]
    image_digest: Optional[str]
    team: Optional[str] = None
    timeline: Optional[list[TimelineEvent]] = None
    file_list: Optional[list[FileRecord]] = None


class BoardRow(BaseModel):
    rank: int
    team: str
    score: float
    ci95_low: Optional[float]
    ci95_high: Optional[float]
    rank_group: Optional[int]
    submission: str
    submitted_at: Optional[str]


class BoardOut(BaseModel):
    cube: str
    board: str
    part: str
    measured_on: str
    score: Optional[str]
    direction: str
    ranked: bool
    rows: list[BoardRow]


class LeaderboardOut(BaseModel):
    public: BoardOut
    private: Optional[BoardOut]


class FinalIn(BaseModel):
    final: bool


class DisqualifyIn(BaseModel):
    disqualified: bool = True


async def team(request: Request) -> Who:
    return await run_in_threadpool(who_by_token, state(request), bearer(request), client_address(request))


async def organiser(request: Request) -> Who:
    return await run_in_threadpool(who_by_token, state(request), bearer(request), client_address(request), True)


@router.get("/health")
def health(request: Request) -> dict:
    server = state(request)
    with transaction(server.engine, readonly=True) as session:
        closed = is_closed(session)
    return {"status": "ok", "round": server.cfg.name, "closed": closed}


@router.get("/round")
def round_info(request: Request) -> dict:
    """The round's cubes, phases, limits and final-selection count."""
    from common.round.config import format_time
    cfg = state(request).cfg
    with transaction(state(request).engine, readonly=True) as session:
        closed = is_closed(session)
    return {"name": cfg.name, "cubes": list(cfg.cubes), "closed": closed,
            "phases": [{"name": p.name, "start": format_time(p.start), "end": format_time(p.end)} for p in cfg.phases],
            "limits": {"per_day": cfg.limits["per_day"], "total": cfg.limits["total"],
                       "upload_mb": cfg.limits["upload_mb"], "image_mb": cfg.limits["image_mb"],
                       "files": cfg.limits["files"]},
            "final_selection": cfg.final_selection}


@router.get("/leaderboard/{cube}", response_model=LeaderboardOut)
def leaderboard(request: Request, cube: str) -> dict:
    """The public board (best public score per team); after the round is closed, the private board too."""
    server = state(request)
    if cube not in server.cfg.cubes:
        raise service.Refusal(404, "no such cube in this round")
    private = boards.private_board(server.engine, server.cfg, cube)
    return {"public": boards.public_board(server.engine, cube).as_dict(),
            "private": private.as_dict() if private else None}


@router.post("/submissions", status_code=201, response_model=SubmissionOut, openapi_extra={
    "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "properties": {
            "cube": {"type": "string"}, "image": {"type": "string"},
            "files": {"type": "array", "items": {"type": "string", "format": "binary"},
                      "description": "the files, named by their relative paths; or one .zip/.tar of them"}}}}}}})
async def create_submission(request: Request, cube: Optional[str] = Query(None, max_length=64),
                            image: Optional[str] = Query(None, max_length=255)) -> dict:
    """Submit files (open division) or an image (closed division).  201: queued.  413: too large.  422: refused
    by the cube's validation (not counted).  429: a limit (with retry_at).  403: the round is not open."""
    who = await team(request)
    return await upload(request, who, cube, image)


@router.get("/submissions", response_model=list[SubmissionOut])
async def own_submissions(request: Request) -> list[dict]:
    who = await team(request)
    return await run_in_threadpool(service.team_submissions, state(request).engine, who.team_id)


@router.get("/submissions/{submission_id}", response_model=SubmissionOut)
async def own_submission(request: Request, submission_id: str) -> dict:
    """One of your submissions, with its timeline and files; any other id is 404."""
    who = await team(request)
    return await run_in_threadpool(service.team_submission, state(request).engine, who.team_id, submission_id)


@router.post("/submissions/{submission_id}/final", response_model=SubmissionOut)
async def mark_final(request: Request, submission_id: str, body: FinalIn) -> dict:
    who = await team(request)
    server = state(request)
    return await run_in_threadpool(service.set_final, server.engine, server.cfg, who.team_id, submission_id,
                                   body.final)


@router.get("/organiser/submissions", response_model=list[SubmissionOut])
async def every_submission(request: Request) -> list[dict]:
    await organiser(request)
    return await run_in_threadpool(service.all_submissions, state(request).engine)


@router.post("/organiser/submissions/{submission_id}/rescore", response_model=SubmissionOut)
async def rescore(request: Request, submission_id: str) -> dict:
    await organiser(request)
    return await run_in_threadpool(service.rescore, state(request).engine, submission_id)


@router.post("/organiser/submissions/{submission_id}/disqualify", response_model=SubmissionOut)
async def disqualify(request: Request, submission_id: str, body: DisqualifyIn) -> dict:
    await organiser(request)
    return await run_in_threadpool(service.disqualify, state(request).engine, submission_id, body.disqualified)


@router.post("/organiser/close")
async def close(request: Request) -> dict:
    await organiser(request)
    closed_now = await run_in_threadpool(close_round, state(request).engine)
    return {"closed": True, "closed_now": closed_now}
