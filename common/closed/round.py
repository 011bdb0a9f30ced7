"""A closed round: every participant image run alone on the round's data, its output validated and scored.

    dataperf closed CUBE --image IMG [--image IMG ...] --workspace WS

For each image, in order: read its digest and its label org.dataperf.algorithm; assemble a fresh view of what a
participant may see (views.py); run the cube's create_baselines task in the image, sandboxed (docker_runner.py);
copy its output out with limits (common/untrusted/container_output.py); then score it with the trusted local
install: the cube's own evaluate task, with the open division's strict validation, on a folder of its own.  The
participant's image never runs evaluation code, and one image's failure changes nothing for the others.

Everything goes to WS/closed/<round>/: results.json (each image's status, reason, digest, scores; rewritten
atomically after every image) and, per image, images/<nn>-<name>/ with the copied-out submissions and the
evaluator's results.  The round's data in WS is only read.  The views lie outside it, in a neutral folder
(leftovers.py), removed after each image.

SIGINT, SIGTERM and SIGHUP stop a round cleanly (interrupts.py): the running container, its keeper, volume and
view are removed, the images finished so far stay in results.json with `interrupted`, and a round that finished
no image leaves no folder.  What a runner killed with SIGKILL left is removed when the next round starts.
"""
from __future__ import annotations

import contextlib
import re
import secrets
import shutil
import sys
import time
import traceback
from pathlib import Path

import click

from common.closed.docker_runner import ALGORITHM_LABEL, USER, DockerRunner, ImageProblem, RunnerError
from common.closed.interrupts import Interrupted, interruptible
from common.closed.leftovers import ViewFolders, views_root
from common.closed.limits import Limits, parse_limits
from common.closed.outcomes import Outcome, container_outcome, refusal
from common.closed.seeds import round_data
from common.closed.views import (View, assemble, load_round_parameters, missing_files, permitted_names, task_paths,
                                 view_for)
from common.core.errors import DataPerfError, ValidationError
from common.core.io import _plain, write_json
from common.cubes import registry
from common.untrusted.container_output import OutputLimits, OutputTooLarge, extract_output, log_tail
from common.untrusted.documents import read_yaml
from common.untrusted.files import excerpt

CLASS_SPEC = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$")
ROUND_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
REASON_CHARS = 2000          # a validation report kept in the results (the full one is in the evaluate log)


def released_image(cube: str) -> str:
    """The cube's released image, as its mlcube.yaml names it: participants build FROM it."""
    return read_yaml(registry.get(cube).folder / "mlcube.yaml")["docker"]["image"]


def _slug(reference: str) -> str:
    text = re.sub(r"[^A-Za-z0-9_.-]+", "-", reference.split("@")[0]).strip("-.")
    return (text or "image")[:48]


def _bounded(text: str, limit: int = REASON_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more characters)"


def score_output(cube: str, workspace: Path, submissions: Path, results: Path, log: Path) -> dict:
    """The cube's evaluate task on one image's copied-out submissions, in-process (the trusted install); its
    printout goes to `log`.  Returns what evaluate returns (the per-method summary)."""
    arguments = task_paths(cube, "evaluate", workspace, {"submission_folder": submissions, "results_folder": results})
    results.mkdir(parents=True, exist_ok=True)
    with open(log, "w", encoding="utf-8") as handle, contextlib.redirect_stdout(handle):
        return registry.get(cube).task("evaluate")(**arguments)


def _means(summary) -> dict | None:
    if not isinstance(summary, dict):
        return None
    means = {m: v.get("mean") for m, v in summary.items() if isinstance(v, dict) and "mean" in v}
    return means or None


class Round:
    def __init__(self, cube: str, workspace: Path, params, limits: Limits, view: View, data: str, runner,
                 folder: Path, views: ViewFolders):
        self.cube, self.workspace, self.params, self.limits = cube, workspace, params, limits
        self.view, self.data, self.runner, self.folder, self.views = view, data, runner, folder, views
        self.token = secrets.token_hex(4)
        self.results = {
            "cube": cube, "round": folder.name, "data": data,
            "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "limits": limits.as_dict(),
            "container": {"user": USER, "command": view.command(), "view": sorted(permitted_names(view)),
                          "parameters": _plain(view.parameters)},
            "images": [],
        }

    def save(self) -> Path:
        return write_json(self.folder / "results.json", self.results, keep_previous=False)

    def run_image(self, index: int, reference: str) -> dict:
        entry = {"image": reference, "id": None, "repo_digests": [], "algorithm": None, "status": None,
                 "reason": None, "exit_code": None, "seconds": None, "wall_seconds": None, "cleanup_seconds": None,
                 "log_tail": "", "output": None, "scores": None, "score": None}
        started = time.monotonic()
        folder = self.folder / "images" / f"{index:02d}-{_slug(reference)}"
        folder.mkdir(parents=True)
        entry["folder"] = str(folder.relative_to(self.folder))
        try:
            info = self.runner.image(reference)
        except ImageProblem as exc:
            return self._finish(entry, Outcome("image_error", str(exc)), started)
        entry.update(id=info.id, repo_digests=info.repo_digests, algorithm=info.algorithm)
        if not info.algorithm or len(info.algorithm) > 256 or not CLASS_SPEC.match(info.algorithm):
            shown = "no such label" if info.algorithm is None else f"it is {excerpt(info.algorithm)}"
            return self._finish(entry, Outcome("image_error", f"its label {ALGORITHM_LABEL} must name the class as "
                                                              f"'package.module:ClassName' ({shown})"), started)
        view = self.views.new()
        try:
            assemble(self.view, view, info.algorithm, self.limits.threads)
            outcome = self._run(index, info, view, folder, entry)
        finally:
            self.views.remove(view)
        if outcome is None:
            outcome = self._score(folder, entry)
        return self._finish(entry, outcome, started)

    def _run(self, index: int, info, view: Path, folder: Path, entry: dict) -> Outcome | None:
        name = f"dataperf-closed-{self.token}-{index:02d}"
        limits = OutputLimits(bytes=self.limits.output_bytes, entries=self.limits.output_files)
        try:
            with self.runner.run(info, self.view.command(), view, self.limits, name) as handle:
                finished = handle.finished
                entry.update(exit_code=finished.exit_code, seconds=round(finished.seconds, 3),
                             log_tail=log_tail(finished.log, self.limits.log_chars))
                extracted, problem = None, None
                if finished.error is None and not finished.timed_out and not finished.oom_killed:
                    try:
                        extracted = extract_output(handle.output(), folder / "submissions", limits)
                        entry["output"] = {"files": extracted.files, "folders": extracted.folders,
                                           "bytes": extracted.bytes}
                    except OutputTooLarge as exc:
                        problem = ("output_too_large", str(exc))
                    except ValidationError as exc:
                        problem = ("invalid_output", str(exc))
            entry["cleanup_seconds"] = _rounded(getattr(handle, "cleanup_seconds", None))
        except RunnerError as exc:
            return Outcome("runner_error", str(exc))
        return container_outcome(finished.exit_code, finished.timed_out, finished.oom_killed, entry["log_tail"],
                                 self.limits, extracted, problem, finished.error)

    def _score(self, folder: Path, entry: dict) -> Outcome:
        try:
            summary = score_output(self.cube, self.workspace, folder / "submissions", folder / "results",
                                   folder / "evaluate.log")
        except DataPerfError as exc:
            reason, entry["problems"], entry["problem_count"] = refusal(exc)
            return Outcome("invalid_output", reason)
        except Exception as exc:   # noqa: BLE001 - untrusted output must not end the round, even through a bug of ours
            traceback.print_exc(file=sys.stderr)
            return Outcome("scoring_error", f"{type(exc).__name__}: {excerpt(str(exc), 300)}")
        entry.update(scores=_plain(summary), score=_means(summary))
        methods = ", ".join(f"{m} {v:.4f}" for m, v in (entry["score"] or {}).items())
        return Outcome("scored", methods or "scored")

    def _finish(self, entry: dict, outcome: Outcome, started: float) -> dict:
        entry.update(status=outcome.status, reason=outcome.reason, wall_seconds=_rounded(time.monotonic() - started))
        self.results["images"].append(entry)
        self.save()
        return entry

    def interrupted(self, signal_name: str) -> Path | None:
        """After an interruption: the folders of unfinished images removed; the results with what finished, or no
        round folder at all when nothing did.  Returns the results file, if any."""
        finished = {entry["folder"] for entry in self.results["images"]}
        images = self.folder / "images"
        for folder in (sorted(images.iterdir()) if images.is_dir() else []):
            if f"images/{folder.name}" not in finished:
                shutil.rmtree(folder, ignore_errors=True)
        if not finished:
            shutil.rmtree(self.folder, ignore_errors=True)
            return None
        self.results["interrupted"] = {"signal": signal_name,
                                       "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        return self.save()


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


def _new_folder(workspace: Path, name: str | None) -> Path:
    if name is not None and not ROUND_NAME.match(name):
        raise DataPerfError(f"round name {excerpt(name)}: use letters, digits, '_', '.', '-' (at most 64)")
    name = name or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(2)
    folder = Path(workspace) / "closed" / name
    if folder.exists():
        raise DataPerfError(f"{folder} exists: a round's results are never overwritten; choose another --round")
    folder.mkdir(parents=True)
    return folder


def prepare_round(cube: str, workspace: Path):
    """The round's parameters, limits, kind of data and view; the data is generated first when it is missing."""
    from common.tasks.local import prepare_workspace, run_tasks

    workspace = prepare_workspace(cube, workspace)
    params = load_round_parameters(cube, workspace)
    limits = parse_limits(params)
    data = round_data(params)
    try:
        view = view_for(cube, params, workspace, limits.seed)
        missing = missing_files(view)
    except (DataPerfError, OSError):     # an index the listing reads is not there yet
        missing = True
    if missing:
        click.echo(f"closed: the round's data is not in {workspace}: running download first", err=True)
        run_tasks(cube=cube, tasks=["download"], workspace=workspace, overrides={})
        view = view_for(cube, params, workspace, limits.seed)
        missing = missing_files(view)
        if missing:
            raise DataPerfError(f"the round's data is incomplete: {missing[0]} is missing")
    return workspace, params, limits, data, view


def sweep_leftovers(runner, views: ViewFolders) -> None:
    """Remove what rounds whose runner was killed left: containers (running ones too), volumes, views."""
    containers, volumes = runner.sweep() if hasattr(runner, "sweep") else (0, 0)
    found = [f"{n} {what}{'s' if n != 1 else ''}" for n, what in
             ((containers, "container"), (volumes, "volume"), (views.sweep(), "view")) if n]
    if found:
        click.echo(f"closed: removed {', '.join(found)} left by an earlier round whose runner was killed", err=True)


def run_round(cube: str, images: list[str], workspace: Path, round_name: str | None = None, runner=None,
              cube_image: str | None = None, views: Path | None = None) -> Path:
    """Run and score every image; returns the results file.  Images that fail are recorded, never fatal.
    `cube_image` is the cube's own image (default: its mlcube.yaml's), which keeps each output until copied;
    `views` the folder of the views (default: leftovers.views_root)."""
    if not images:
        raise DataPerfError("name at least one image with --image")
    runner = runner or DockerRunner(keeper_image=cube_image or released_image(cube))
    workspace, params, limits, data, view = prepare_round(cube, workspace)
    view_folders = ViewFolders(views if views is not None else views_root(workspace))
    sweep_leftovers(runner, view_folders)
    with interruptible():
        current = None
        try:
            folder = _new_folder(workspace, round_name)
            current = Round(cube, workspace, params, limits, view, data, runner, folder, view_folders)
            if data == "public":
                click.echo("closed: WARNING: data.seed is not set, so this round runs on the public embedded data "
                           "that every participant can generate: fine to check an image, not for a real round "
                           "(`dataperf closed-seed` makes a secret seed; set it as data.seed before download)",
                           err=True)
            current.save()
            for index, reference in enumerate(images, start=1):
                entry = current.run_image(index, reference)
                seconds = f" after {entry['seconds']:.1f} s" if entry["seconds"] is not None else ""
                click.echo(f"closed: [{index}/{len(images)}] {excerpt(reference, 60)}: {entry['status']}{seconds}: "
                           f"{_bounded(entry['reason'].splitlines()[0] if entry['reason'] else '', 300)}", err=True)
            current.results["finished_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            path = current.save()
        except Interrupted as stop:
            kept = current.interrupted(stop.name) if current is not None else None
            click.echo(f"closed: interrupted by {stop.name}: the running container, its clock and keeper, its volume "
                       f"and view were removed; " + (f"results of the finished images: {kept}" if kept else
                                                     "no image had finished, so the round left no folder"), err=True)
            raise SystemExit(stop.exit_status) from None
    click.echo(result_table(current.results))
    click.echo(f"results: {path}")
    return path


def result_table(results: dict) -> str:
    """One line per image: status and score, or the reason it has none."""
    rows = []
    for i, entry in enumerate(results["images"], start=1):
        shown = entry["reason"] or ""
        rows.append((str(i), excerpt(entry["image"], 40)[1:-1] if entry["image"] else "", entry["status"],
                     (shown.splitlines() or [""])[0][:100]))
    widths = [max([len(h)] + [len(r[k]) for r in rows]) for k, h in enumerate(("#", "image", "status"))]
    head = f"closed round {results['round']} of {results['cube']} on {results['data']} data"
    lines = [head, f"{'#':>{widths[0]}}  {'image':<{widths[1]}}  {'status':<{widths[2]}}  score or reason"]
    lines += [f"{r[0]:>{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}" for r in rows]
    return "\n".join(lines)
