"""The participants' client: `dataperf submit` and `dataperf status` against a round server (httpx).

submit sends the files as one multipart upload, read from disk in chunks (never whole in memory); a folder is sent
as the files under it, named by their path inside it (hidden files and folders are left out).  It prints the
server's answer and the submission id as the last word; any refusal exits 1 with the server's one-line reason.
"""
from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path

import click

TIMEOUT = {"connect": 10.0, "read": 600.0, "write": 600.0, "pool": 10.0}


def collect(paths: list[Path]) -> list[tuple[str, Path]]:
    """(name sent, file) for every file given or under every folder given."""
    found: list[tuple[str, Path]] = []
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                relative = file.relative_to(path)
                if file.is_file() and not any(part.startswith(".") for part in relative.parts):
                    found.append((relative.as_posix(), file))
        elif path.is_file():
            found.append((path.name, path))
        else:
            raise click.ClickException(f"{path}: not a file or folder")
    names = [name for name, _ in found]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise click.ClickException(f"two files would be sent as {duplicates[0]!r}: give one folder, or files with "
                                   f"distinct names")
    return found


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _error_of(response) -> str:
    message, retry = None, None
    try:
        body = response.json()
        if isinstance(body, dict):
            message, retry = body.get("error"), body.get("retry_at")
    except ValueError:
        pass
    if not message:
        text = response.text.strip()
        message = text.splitlines()[0][:300] if text else "no reason given"
    if retry and retry not in message:
        message += f" (next allowed at {retry})"
    return f"{message} (HTTP {response.status_code})"


def submit_files(server: str, token: str, cube: str, paths: list[Path], image: str | None = None,
                 client=None):
    """POST /api/submissions; returns the httpx response (the caller reads it)."""
    import httpx
    files = collect(paths)
    params = {"cube": cube, **({"image": image} if image else {})}
    with ExitStack() as stack:
        parts = [("files", (name, stack.enter_context(open(file, "rb")), "application/octet-stream"))
                 for name, file in files]
        client = client or stack.enter_context(httpx.Client(timeout=httpx.Timeout(**TIMEOUT)))
        url, headers = f"{server.rstrip('/')}/api/submissions", {"Authorization": f"Bearer {token}"}
        if not parts:       # an image reference alone: everything is in the query, the body is empty
            return client.post(url, params=params, headers=headers, content=b"")
        return client.post(url, params=params, files=parts, data=params, headers=headers)


def run_submit(server: str, token: str, cube: str, paths: list[Path], image: str | None) -> None:
    import httpx
    if not paths and image is None:
        _fail("give the files or folder to submit (open division), or --image REF (closed division)")
    if image is not None and len(paths) > 1:
        _fail("the closed division takes --image REF and at most one `docker save` archive")
    try:
        response = submit_files(server, token, cube, paths, image)
    except httpx.HTTPError as exc:
        _fail(f"cannot reach {server} ({type(exc).__name__}: {str(exc)[:200]})")
    if response.status_code != 201:
        _fail(_error_of(response))
    body = response.json()
    click.echo(f"queued: {body['cube']} ({body['division']} division), {body['files']} file(s), state "
               f"{body['state']}; follow it with `dataperf status --server {server} --token ... {body['id']}`",
               err=True)
    click.echo(f"submission {body['id']}")


def _line(row: dict) -> str:
    score = "" if row.get("score") is None else f"{row['score']:.6f}"
    if score and row.get("score_part") == "whole":
        score += " (whole test)"
    reason = (row.get("reason") or "").splitlines()[0] if row.get("reason") else ""
    final = "final" if row.get("final") else ""
    return "\t".join([row["id"], row["cube"], row["state"], score, final, row.get("submitted_at") or "", reason])


def run_status(server: str, token: str, submission_id: str | None) -> None:
    import httpx
    url = f"{server.rstrip('/')}/api/submissions" + (f"/{submission_id}" if submission_id else "")
    try:
        response = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=httpx.Timeout(**TIMEOUT))
    except httpx.HTTPError as exc:
        _fail(f"cannot reach {server} ({type(exc).__name__}: {str(exc)[:200]})")
    if response.status_code != 200:
        _fail(_error_of(response))
    body = response.json()
    rows = body if isinstance(body, list) else [body]
    click.echo("\t".join(["id", "cube", "state", "score", "final", "submitted", "reason"]))
    for row in rows:
        click.echo(_line(row))
    if not isinstance(body, list):
        for event in body.get("timeline") or []:
            click.echo(f"  {event['at']}  {event['state']:<9}  attempt {event['attempt']}  {event['note'] or ''}")
