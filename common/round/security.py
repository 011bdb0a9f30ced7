"""Tokens, web sessions, CSRF tokens and the login rate limit.

- A token is 256 random bits (`dpt_...` for a team, `dpo_...` for the organiser), shown once when it is made and
  stored only as its sha256.  A presented token is looked up by its hash and the stored hash compared with
  hmac.compare_digest; the lookup's timing depends only on the hash of what was presented, which tells an attacker
  nothing about any real token (finding a token from its hash is a preimage of sha256).  A fast hash is right here:
  the tokens are random, not passwords, so there is nothing for a slow hash to protect against guessing.
- A web session is a random cookie value (stored as its hash) with its own CSRF token; the cookie is HttpOnly and
  SameSite=Strict.  Every form carries the CSRF token and every POST compares it in constant time.
- Failed logins (page or API) are counted per client address in the database, so every server process sees them;
  past `login.attempts` in `login.window_seconds`, logins from that address are refused (429) until the window
  has room again.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from common.round.db import LoginFailure, OrganiserToken, Team, WebSession

TEAM_PREFIX, ORGANISER_PREFIX = "dpt_", "dpo_"
TOKEN_BYTES = 32
TOKEN = re.compile(r"^dp[to]_[A-Za-z0-9_-]{43}$")
SESSION_COOKIE = "dataperf_session"


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def well_formed(token: str | None) -> bool:
    return isinstance(token, str) and TOKEN.match(token) is not None


def team_for_token(session: Session, token: str | None) -> Team | None:
    if not well_formed(token) or not token.startswith(TEAM_PREFIX):
        return None
    presented = token_hash(token)
    team = session.scalar(select(Team).where(Team.token_hash == presented))
    return team if team is not None and hmac.compare_digest(team.token_hash, presented) else None


def is_organiser_token(session: Session, token: str | None) -> bool:
    if not well_formed(token) or not token.startswith(ORGANISER_PREFIX):
        return False
    presented = token_hash(token)
    stored = session.scalar(select(OrganiserToken.token_hash).where(OrganiserToken.token_hash == presented))
    return stored is not None and hmac.compare_digest(stored, presented)


@dataclass(frozen=True)
class Who:
    """Who a request is from: a team (id, name) or the organiser."""
    team_id: int | None
    team_name: str | None
    organiser: bool
    csrf: str | None = None


def login_blocked_until(session: Session, client: str, now: datetime, attempts: int,
                        window_seconds: int) -> datetime | None:
    """When this client may try again, if it has used up its failed logins in the window; else None."""
    since = now - timedelta(seconds=window_seconds)
    count, oldest = session.execute(select(func.count(LoginFailure.id), func.min(LoginFailure.at))
                                    .where(LoginFailure.client == client, LoginFailure.at > since)).one()
    if count < attempts:
        return None
    recent = session.scalars(select(LoginFailure.at).where(LoginFailure.client == client, LoginFailure.at > since)
                             .order_by(LoginFailure.at.desc()).limit(attempts)).all()
    return recent[-1] + timedelta(seconds=window_seconds)


def record_login_failure(session: Session, client: str, now: datetime, window_seconds: int) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - timedelta(seconds=window_seconds)))
    session.add(LoginFailure(client=client[:64], at=now))


def create_session(session: Session, team_id: int | None, organiser: bool, now: datetime, hours: int) -> str:
    """A new web session; returns the cookie value (only its hash is stored)."""
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    value = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(WebSession(id_hash=token_hash(value), team_id=team_id, organiser=organiser,
                           csrf=secrets.token_urlsafe(TOKEN_BYTES), expires_at=now + timedelta(hours=hours)))
    return value


def session_for_cookie(session: Session, value: str | None, now: datetime) -> WebSession | None:
    if not value or len(value) > 128:
        return None
    found = session.get(WebSession, token_hash(value))
    return found if found is not None and found.expires_at > now else None


def end_session(session: Session, value: str | None) -> None:
    if value and len(value) <= 128:
        session.execute(delete(WebSession).where(WebSession.id_hash == token_hash(value)))


def csrf_matches(expected: str | None, given: str | None) -> bool:
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(expected.encode(), given.encode())
