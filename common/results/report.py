"""The suite report: one self-contained HTML page from whatever cubes have results.

Per cube it reads the workspace's results/summary.json (the leaderboard, refused submissions, run record), the
<group>_evaluation.json detail files (their input hashes) and the PNGs of plots/, and renders
templates/report.html.j2 with Jinja2.  The page needs nothing else: its CSS is inline and its images are data URIs,
so it can be mailed, archived or opened offline.
"""
from __future__ import annotations

import base64
import io
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from common.core.errors import DataPerfError, ValidationError
from common.core.escaping import terminal
from common.core.io import write_text
from common.results.leaderboard import format_seconds, group_count
from common.results.leaderboard import read as read_summary
from common.results.publish import current
from common.untrusted.documents import read_json
from common.untrusted.files import folder_entries, read_supplied

TEMPLATES = Path(__file__).resolve().parent / "templates"
REPORT_NAME = "dataperf_report.html"
MAX_IMAGE_BYTES = 8 * 1024 * 1024
MAX_PAGE_IMAGE_BYTES = 32 * 1024 * 1024     # a cube's figures in all: the page stays under about 200 MB
MAX_IMAGES = 64                             # figures per cube
DETAIL_LIMIT = 256 << 20
MAX_RANK_PLOT_METHODS = 40                  # a rank-distribution figure stays readable (and of a sane size)
PART_TITLES = {"all": "all test items", "public": "public part", "private": "private part"}


@dataclass
class CubeReport:
    cube: str
    workspace: Path
    results: Path
    plots: Path
    summary: dict | None = None
    problem: str | None = None          # why there is no leaderboard (no results yet, an older schema)
    images: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)
    rank_figures: list[dict] = field(default_factory=list)   # the bootstrap's rank distributions, drawn here


def _images(folder: Path) -> tuple[list[dict], list[str]]:
    """The figures of the plot task in view, embedded as data URIs, and what was left out.  Each PNG is read
    through open_supplied (no link, no FIFO, at most MAX_IMAGE_BYTES, checked before reading) and the page holds
    at most MAX_PAGE_IMAGE_BYTES of them: a folder of huge files cannot make a huge page."""
    try:
        run = current(folder)
        files, _, _ = folder_entries(run) if run.is_dir() else ([], [], [])
    except (DataPerfError, OSError) as exc:
        return [], [f"figures not read ({exc})"]
    images, skipped, total = [], [], 0
    pngs = [path for path in files if path.suffix == ".png"]
    skipped += [f"{len(pngs) - MAX_IMAGES} more figures (at most {MAX_IMAGES} are shown)"] if len(pngs) > MAX_IMAGES else []
    for path in pngs[:MAX_IMAGES]:
        try:
            data = read_supplied(path, MAX_IMAGE_BYTES, run)
        except ValidationError as exc:
            skipped.append(f"{path.name}: {exc.rule}")
            continue
        if not data.startswith(b"\x89PNG"):
            skipped.append(f"{path.name}: not a PNG image")
        elif total + len(data) > MAX_PAGE_IMAGE_BYTES:
            skipped.append(f"{path.name}: the page's figures would exceed {MAX_PAGE_IMAGE_BYTES >> 20} MiB")
        else:
            total += len(data)
            images.append({"name": path.name, "uri": "data:image/png;base64," + base64.b64encode(data).decode()})
    return images, skipped


def _inputs(results: Path, summary: dict) -> dict[str, str]:
    """Every input hash of the run: the summary's and those of each group's detail file (group names are plain
    names, checked with the summary: no path is built from anything else)."""
    hashes = _hashes(summary.get("run", {}).get("inputs_sha256"))
    for group in summary.get("groups", []):
        try:
            detail = read_json(results / f"{group}_evaluation.json", DETAIL_LIMIT, results)
        except DataPerfError:
            continue
        hashes.update(_hashes(detail.get("run", {}).get("inputs_sha256") if isinstance(detail, dict) else None))
    return dict(sorted(hashes.items()))


def _hashes(value) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if isinstance(v, (str, type(None)))}


@dataclass(frozen=True)
class Place:
    """Where one cube's outputs lie: its workspace, results folder and figures folder."""
    cube: str
    workspace: Path
    results: Path
    plots: Path


def collect(places: list[Place]) -> list[CubeReport]:
    """Each cube's results at its place (common.tasks.local.report_places finds them)."""
    reports = []
    for place in places:
        report = CubeReport(place.cube, place.workspace, place.results, place.plots)
        try:
            results = current(report.results)
            if not (results / "summary.json").exists() and not (results / "summary.json").is_symlink():
                report.problem = "no results yet: run its evaluate task"
            else:
                report.summary = read_summary(results / "summary.json")
        except DataPerfError as exc:
            report.problem = f"results not shown: {exc}"
        if report.summary:
            report.images, report.skipped = _images(report.plots)
            report.inputs = _inputs(results, report.summary)
            report.rank_figures, skipped = _rank_figures(report.summary)
            report.skipped += skipped
        reports.append(report)
    return reports


def _rank_figures(summary: dict) -> tuple[list[dict], list[str]]:
    """The rank distribution of each part with rank statistics (ranking.rank_plot), as PNG data URIs."""
    stats = summary.get("rank_statistics") or {}
    if not stats:
        return [], []
    if len(summary["ranking"]) > MAX_RANK_PLOT_METHODS:
        return [], [f"rank distributions: {len(summary['ranking'])} methods, at most {MAX_RANK_PLOT_METHODS} "
                    "are drawn"]
    from common.results.ranking import rank_plot   # matplotlib: loaded only when a page with ranks is rendered
    figures, method = [], summary.get("ranking_method") or {}
    for part, title in PART_TITLES.items():
        if part not in stats:
            continue
        fig = rank_plot({**stats[part], "method": method}, f"bootstrap ranks: {title}")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        figures.append({"part": part, "name": f"rank_distribution_{part}.png",
                        "uri": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()})
    return figures, []


def band_colour(group) -> str:
    """The colour of a rank group, as in the rank-distribution figures."""
    from common.results.ranking import PALETTE
    return PALETTE[(int(group) - 1) % len(PALETTE)] if isinstance(group, int) else "transparent"


def private_order(summary: dict) -> list[str]:
    """The methods in rank order of the private part (the final ranking of a round)."""
    return sorted(summary["ranking"], key=lambda m: (summary["methods"][m]["parts"]["private"]["rank"], m))


def _rank(value) -> str:
    """A bootstrap rank: whole ranks as integers, shared places (ties averaged) with their half."""
    return "–" if value is None else f"{value:g}"


def public_winner_falls(summary: dict, method: str) -> bool:
    """First on the public part, not first on the private one: what a leaderboard overfitted to the public part
    looks like."""
    parts = summary["methods"][method].get("parts")
    return bool(parts) and parts["public"]["rank"] == 1 and parts["private"]["rank"] != 1


def _interval_bar(summary: dict, method: str) -> dict:
    """Where the mean and its 95% interval lie on the metric's range, in percent of the bar's width."""
    low, high = summary["score"]["range"]
    s = summary["methods"][method]

    def at(value):
        return max(0.0, min(100.0, 100 * (value - low) / (high - low)))

    return {"low": at(s["ci95_low"]), "width": max(at(s["ci95_high"]) - at(s["ci95_low"]), 0.4),
            "mean": at(s["mean"])}


def _best(summary: dict, group: str) -> float | None:
    values = [s["groups"][group] for s in summary["methods"].values() if group in s["groups"]]
    if not values:
        return None
    return min(values) if summary["score"]["direction"] == "lower" else max(values)


def _environment():
    import jinja2   # imported when a page is rendered, not by every command that lists report places
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = lambda v, digits=4: "–" if v is None else f"{v:.{digits}f}"
    env.filters["seconds"] = format_seconds
    env.filters["pretty"] = lambda v: yaml.safe_dump(v, sort_keys=False, allow_unicode=True).rstrip()
    env.filters["rank"] = _rank
    env.globals.update(interval_bar=_interval_bar, best=_best, group_count=group_count, band_colour=band_colour,
                       public_winner_falls=public_winner_falls, private_order=private_order)
    return env


def render(reports: list[CubeReport], generated: str | None = None) -> str:
    generated = generated or time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    with_results = [r for r in reports if r.summary]
    return _environment().get_template("report.html.j2").render(reports=reports, with_results=with_results,
                                                                generated=generated)


def default_output(workspace_root: Path | None) -> Path:
    return (Path(workspace_root) if workspace_root else Path.cwd()) / REPORT_NAME


def write_report(places: list[Place], workspace_root: Path | None = None,
                 output: Path | None = None) -> tuple[Path, list[CubeReport]]:
    reports = collect(places)
    if not any(r.summary for r in reports):
        where = workspace_root or "the cubes' own workspaces"
        raise DataPerfError(f"no cube has results in {where}: run `dataperf demo` or a cube's evaluate task first")
    path = Path(output) if output else default_output(workspace_root)
    write_text(path, render(reports), keep_previous=False)
    return path, reports


def combined_table(reports: list[CubeReport]) -> str:
    """Every cube's leaderboard in one text table: official score, mean over groups, 95% interval."""
    rows = [("cube", "rank", "method", "score", "mean", "95% interval", "n", "Dynabench %", "time")]
    notes = []
    for r in reports:
        if not r.summary:
            notes.append(f"{r.cube}: {terminal(r.problem)}")
            continue
        score = r.summary["score"]
        better = "lower is better" if score["direction"] == "lower" else "higher is better"
        for method in r.summary["ranking"]:
            s = r.summary["methods"][method]
            rows.append((r.cube, str(s["rank"]), terminal(method), f"{terminal(score['name'])} ({better})",
                         f"{s['mean']:.4f}",
                         f"[{s['ci95_low']:.4f}, {s['ci95_high']:.4f}]", str(s["n"]), f"{s['dynabench_percent']:.2f}",
                         format_seconds(s["seconds"])))
        notes += [f"{r.cube}: refused {terminal(x['method'] or 'the submission folder')}: "
                  f"{terminal(x['reason'].splitlines()[0] if x['reason'] else '')}" for x in r.summary["refused"]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) if i in (0, 2, 3, 5) else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths))).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines + notes)
