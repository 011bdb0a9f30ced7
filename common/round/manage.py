"""The organiser's commands on a round folder: init, teams, close (used by the CLI, the pages and the tests)."""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from common.closed.seeds import new_round_seed
from common.core.errors import DataPerfError
from common.round import config as round_config
from common.round.config import RoundConfig, utc_now
from common.round.cubes import round_cube
from common.round.db import OrganiserToken, RoundState, Team, make_engine, transaction, upgrade
from common.round.security import ORGANISER_PREFIX, TEAM_PREFIX, new_token, token_hash
from common.untrusted.files import excerpt

TEAM_NAME_CHARS = 64


def check_team_name(name: str) -> str:
    """A team name: 1 to 64 printable characters of valid Unicode text (it is escaped wherever it is shown)."""
    if not isinstance(name, str) or any(0xDC80 <= ord(c) <= 0xDCFF for c in name):
        raise DataPerfError(f"team name {excerpt(name)}: is not valid UTF-8 text")
    name = unicodedata.normalize("NFC", name.strip())
    if not 1 <= len(name) <= TEAM_NAME_CHARS:
        raise DataPerfError(f"team name {excerpt(name)}: must have 1 to {TEAM_NAME_CHARS} characters")
    if not name.isprintable() or re.search(r"[\u200b-\u200f\u202a-\u202e\u2066-\u2069]", name):
        raise DataPerfError(f"team name {excerpt(name)}: must not hold control or direction-changing characters")
    return name


def parse_cube_option(value: str) -> tuple[str, Path | None]:
    name, sep, file = value.partition("=")
    return name, (Path(file).expanduser().resolve() if sep else None)


def init_round(folder: Path, cubes: list[tuple[str, Path | None]], database: str | None = None,
               echo=print) -> tuple[RoundConfig, str]:
    """A new round: each cube's hidden data with a secret seed, round.yaml, the database; returns the config and
    the organiser's token (shown once)."""
    folder = Path(folder)
    if (folder / round_config.ROUND_FILE).exists():
        raise DataPerfError(f"{folder} already holds a round ({round_config.ROUND_FILE}); a round is never "
                            f"initialised twice")
    names = [name for name, _ in cubes]
    if not names:
        raise DataPerfError("name at least one cube with --cube CUBE[=PARAMETERS_FILE]")
    if len(set(names)) != len(names):
        raise DataPerfError("each cube may be named once")
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)        # it holds the secret seeds and the hidden data
    round_name = re.sub(r"[^A-Za-z0-9_.-]+", "-", folder.resolve().name).strip("-.")[:64] or "round"
    document = round_config.default_document(
        round_name, {name: f"cubes/{name}/parameters.yaml" for name in names}, database, utc_now())
    round_config.parse(folder, document)          # refuses a bad --database before any data is made
    for name, parameters in cubes:
        echo(f"round: preparing {name}'s hidden data (secret seed) in {folder / 'cubes' / name}")
        round_cube(name, folder / "cubes" / name).prepare(parameters, new_round_seed(), new_round_seed(),
                                                          document["split"]["public_fraction"])
    round_config.write(folder, document)
    cfg = round_config.load(folder)
    engine = make_engine(cfg.database)
    try:
        upgrade(engine)
        token = new_token(ORGANISER_PREFIX)
        with transaction(engine) as session:
            if session.get(RoundState, 1) is None:
                session.add(RoundState(id=1, closed_at=None))
            session.add(OrganiserToken(token_hash=token_hash(token), created_at=utc_now()))
    finally:
        engine.dispose()
    return cfg, token


def open_round(folder: Path) -> tuple[RoundConfig, object]:
    """The round's config and an engine on its database, its schema brought up to date."""
    cfg = round_config.load(folder)
    engine = make_engine(cfg.database)
    upgrade(engine)
    return cfg, engine


def add_team(engine, name: str) -> str:
    """A new team; returns its token (only its hash is kept)."""
    name = check_team_name(name)
    token = new_token(TEAM_PREFIX)
    try:
        with transaction(engine) as session:
            if session.scalar(select(Team.id).where(Team.name == name)) is not None:
                raise DataPerfError(f"a team named {excerpt(name)} exists already")
            session.add(Team(name=name, token_hash=token_hash(token), created_at=utc_now()))
    except IntegrityError:
        raise DataPerfError(f"a team named {excerpt(name)} exists already") from None
    return token


def list_teams(engine) -> list[tuple[int, str, str]]:
    with transaction(engine, readonly=True) as session:
        rows = session.execute(select(Team.id, Team.name, Team.created_at).order_by(Team.id)).all()
    return [(i, n, round_config.format_time(t)) for i, n, t in rows]


def new_organiser_token(engine, revoke: bool = True) -> str:
    from sqlalchemy import delete
    token = new_token(ORGANISER_PREFIX)
    with transaction(engine) as session:
        if revoke:
            session.execute(delete(OrganiserToken))
        session.add(OrganiserToken(token_hash=token_hash(token), created_at=utc_now()))
    return token


def is_closed(session) -> bool:
    state = session.get(RoundState, 1)
    return state is not None and state.closed_at is not None


def close_round(engine) -> bool:
    """End the round: no more submissions, the private boards published.  False when it was closed already."""
    with transaction(engine) as session:
        state = session.get(RoundState, 1)
        if state is None:
            state = RoundState(id=1, closed_at=None)
            session.add(state)
        if state.closed_at is not None:
            return False
        state.closed_at = utc_now()
        return True
