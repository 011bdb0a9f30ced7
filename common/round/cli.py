"""`dataperf round ...`, `dataperf submit` and `dataperf status`.

Imports only click at module level: `dataperf --help` lists these commands without loading FastAPI, SQLAlchemy
or httpx; each command imports what it needs when it runs.
"""
from __future__ import annotations

from pathlib import Path

import click

ROUND_DIR = click.Path(path_type=Path, file_okay=False)


def _guarded(function, **kwargs):
    from common.tasks.entrypoint import run_guarded
    return run_guarded(function, **kwargs)


@click.group("round", context_settings={"help_option_names": ["-h", "--help"]})
def round_group():
    """Host a round: a submission server with live leaderboards (open and closed division)."""


@round_group.command("init")
@click.argument("round_dir", type=ROUND_DIR)
@click.option("--cube", "cubes", multiple=True, required=True, metavar="CUBE[=PARAMETERS_FILE]",
              help="a cube of the round, with its parameters.yaml (e.g. a small data.scale); repeat for several")
@click.option("--database", default=None, metavar="URL",
              help="postgresql+psycopg://USER@HOST:PORT/DB (default: SQLite in ROUND_DIR)")
def init(round_dir, cubes, database):
    """Write ROUND_DIR/round.yaml, make each cube's hidden data with a secret seed, create the database, and
    print the organiser's token (once)."""
    def run():
        from common.round.manage import init_round, parse_cube_option
        cfg, token = init_round(round_dir, [parse_cube_option(c) for c in cubes], database,
                                echo=lambda line: click.echo(line, err=True))
        click.echo(f"round {cfg.name} ready in {cfg.folder} ({', '.join(cfg.cubes)}); settings in round.yaml",
                   err=True)
        click.echo("the organiser's token (shown once; log in at /login with it):", err=True)
        click.echo(token)
    _guarded(run)


@round_group.group("team")
def team():
    """Teams of the round."""


@team.command("add")
@click.argument("round_dir", type=ROUND_DIR)
@click.argument("name")
def team_add(round_dir, name):
    """Add team NAME and print its token (once: only a hash of it is kept)."""
    def run():
        from common.round.manage import add_team, open_round
        _, engine = open_round(round_dir)
        token = add_team(engine, name)
        click.echo("team added; its token (shown once, give it to the team):", err=True)
        click.echo(token)
    _guarded(run)


@team.command("list")
@click.argument("round_dir", type=ROUND_DIR)
def team_list(round_dir):
    """The round's teams."""
    def run():
        from common.round.manage import list_teams, open_round
        _, engine = open_round(round_dir)
        for team_id, name, created in list_teams(engine):
            click.echo(f"{team_id}\t{created}\t{name!r}" if not name.isprintable() else f"{team_id}\t{created}\t{name}")
    _guarded(run)


@round_group.command("organiser-token")
@click.argument("round_dir", type=ROUND_DIR)
def organiser_token(round_dir):
    """Print a new organiser token; every earlier one stops working."""
    def run():
        from common.round.manage import new_organiser_token, open_round
        _, engine = open_round(round_dir)
        click.echo(new_organiser_token(engine))
    _guarded(run)


@round_group.command("serve")
@click.argument("round_dir", type=ROUND_DIR)
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
def serve(round_dir, host, port):
    """The round's pages and JSON API (OpenAPI schema at /api/openapi.json)."""
    def run():
        import uvicorn
        from common.round.app import create_app
        app = create_app(round_dir)
        click.echo(f"round server on http://{host}:{port}/ (Ctrl-C stops it)", err=True)
        uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False, server_header=False)
    _guarded(run)


@round_group.command("worker")
@click.argument("round_dir", type=ROUND_DIR)
@click.option("--once", is_flag=True, help="score what is queued, then exit")
def worker(round_dir, once):
    """Claim queued submissions and score them (several may run, on several machines)."""
    def run():
        import signal
        import threading
        from common.core.signals import handling
        from common.round.manage import open_round
        from common.round.worker import Worker
        cfg, engine = open_round(round_dir)
        stop = threading.Event()
        # finish the submission in hand, then stop; the pools a scoring forks still die of SIGTERM
        with handling((signal.SIGTERM, signal.SIGINT), lambda *_: stop.set()):
            Worker(cfg, engine).run(once=once, stop=stop)
    _guarded(run)


@round_group.command("close")
@click.argument("round_dir", type=ROUND_DIR)
def close(round_dir):
    """End the round: no more submissions; the private leaderboard is published."""
    def run():
        from common.round import ranks
        from common.round.manage import close_round, open_round
        cfg, engine = open_round(round_dir)
        click.echo("round closed: the private leaderboard is published" if close_round(engine)
                   else "the round was closed already")
        ranks.refresh(cfg, engine, log=lambda line: click.echo(line, err=True))   # the final rank groups
    _guarded(run)


@round_group.command("export")
@click.argument("round_dir", type=ROUND_DIR)
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
def export(round_dir, out):
    """The combined summary.json per cube, the report page with public and private boards, and a record of
    every submission (hashes, image digests, timeline)."""
    def run():
        from common.round.export import export_round
        from common.round.manage import open_round
        cfg, engine = open_round(round_dir)
        for path in export_round(cfg, engine, out):
            click.echo(str(path))
    _guarded(run)


# ------------------------------------------------------------------ the participants' client

@click.command("submit")
@click.option("--server", required=True, metavar="URL", help="the round server, e.g. http://127.0.0.1:8000")
@click.option("--token", required=True, envvar="DATAPERF_TOKEN", help="your team's token (or DATAPERF_TOKEN)")
@click.option("--cube", required=True, help="the cube (challenge) you submit to")
@click.option("--image", default=None, metavar="REF",
              help="closed division: your image's reference (present in the organiser's engine), or with one "
                   "PATH, the tag inside that `docker save` archive")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, exists=True))
def submit(server, token, cube, image, paths):
    """Submit files or a folder (open division) or an image (closed division); prints the submission id last."""
    from common.round.client import run_submit
    run_submit(server, token, cube, list(paths), image)


@click.command("status")
@click.option("--server", required=True, metavar="URL")
@click.option("--token", required=True, envvar="DATAPERF_TOKEN")
@click.argument("submission_id", required=False)
def status(server, token, submission_id):
    """Your team's submissions (or one) with state, reason and public score."""
    from common.round.client import run_status
    run_status(server, token, submission_id)
