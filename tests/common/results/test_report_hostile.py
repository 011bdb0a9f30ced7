"""`dataperf report` and `plot` read back what evaluate and plot wrote, from a workspace where anything may have
replaced it: malformed summary.json shapes, `../` in a summary's groups, a planted `latest`, huge or countless
PNGs, names with control characters.  Each gives a page (the cube named as unreadable) or one error line, never a
traceback, never a byte of a file outside the workspace."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from common.results import report as report_module
from common.results.publish import current
from common.results.report import MAX_IMAGES, combined_table
from common.tasks.local import report_places


def collect(root):
    return report_module.collect(report_places(root))


def write_report(root, output):
    return report_module.write_report(report_places(root), root, output)

CANARY = "CANARY-OUTSIDE-THE-WORKSPACE"
MAX_IMAGE_BYTES_SMALL = 100_000


@pytest.fixture
def copy(suite, tmp_path) -> Path:
    root = tmp_path / "suite"
    shutil.copytree(suite, root, symlinks=True)
    return root


def _summary_path(root: Path, cube: str) -> Path:
    return current(root / cube / "results") / "summary.json"


def _rewrite(root: Path, cube: str, change) -> None:
    path = _summary_path(root, cube)
    summary = json.loads(path.read_text())
    changed = change(summary)
    path.write_text(changed if isinstance(changed, str) else json.dumps(summary if changed is None else changed))


MALFORMED = {
    "a list": lambda s: [1, 2],
    "no score": lambda s: s.pop("score") and None,
    "an empty range": lambda s: s["score"].update(range=[1, 1]),
    "a range of text": lambda s: s["score"].update(range=["0", "1"]),
    "a method without a mean": lambda s: s["methods"][s["ranking"][0]].pop("mean") and None,
    "a ranked method not described": lambda s: s["ranking"].append("ghost"),
    "a mean of text": lambda s: s["methods"][s["ranking"][0]].update(mean="0.5"),
    "a refusal without a reason": lambda s: s["refused"].append({"method": "x", "file": None, "reason": 3}),
    "packages as a list": lambda s: s["run"].update(packages=["numpy"]),
    "a boolean rank": lambda s: s["methods"][s["ranking"][0]].update(rank=True),
    "groups that are not names": lambda s: s.update(groups=[{"a": 1}]),
    "deep nesting": lambda s: "[" * 3000 + "]" * 3000,
    "rank bands naming a ghost": lambda s: s["rank_statistics"]["all"]["groups"].append(["ghost"]),
    "countless rank frequencies": lambda s: s["rank_statistics"]["public"]["methods"][s["ranking"][0]].update(
        rank_frequencies=[[1, 0.5]] * 100_000),
    "a rank group of text": lambda s: s["methods"][s["ranking"][0]]["ranks"].update(rank_group="<b>1</b>"),
    "a part score of text": lambda s: s["methods"][s["ranking"][0]]["parts"]["public"].update(score="0.5"),
    "a split without part scores": lambda s: s["methods"][s["ranking"][0]].pop("parts") and None,
    "a bootstrap of no replicates": lambda s: s["ranking_method"].update(B=-1),
    "a huge integer": lambda s: '{"schema": ' + "9" * 5000 + "}",
}


@pytest.mark.parametrize("shape", list(MALFORMED))
def test_a_malformed_summary_names_the_cube_unreadable_and_the_page_is_written(copy, tmp_path, shape):
    _rewrite(copy, "vision_selection", MALFORMED[shape])
    path, reports = write_report(copy, tmp_path / "page.html")
    problem = next(r.problem for r in reports if r.cube == "vision_selection")
    assert problem and problem.startswith("results not shown:"), problem
    assert "\n" not in problem
    assert all(r.summary for r in reports if r.cube != "vision_selection")
    assert path.read_text().count("<table") >= 3


def test_groups_never_lead_outside_the_run(copy, tmp_path):
    """A summary whose groups name `../../outside/x`: refused as a whole (a group is a plain name), and the
    planted file's content appears nowhere."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x_evaluation.json").write_text(json.dumps({"run": {"inputs_sha256": {"secret": CANARY}}}))
    depth = len(_summary_path(copy, "vision_debugging").parent.relative_to(tmp_path).parts)
    _rewrite(copy, "vision_debugging", lambda s: s.update(groups=["/".join([".."] * depth) + "/outside/x"]))
    path, _ = write_report(copy, tmp_path / "page.html")
    assert CANARY not in path.read_text()


def test_a_planted_latest_or_runs_is_never_followed(copy, tmp_path):
    outside = tmp_path / "outside"
    shutil.copytree(current(copy / "data_acquisition" / "results"), outside)
    (outside / "summary.json").write_text((outside / "summary.json").read_text().replace("uniform", CANARY))
    results = copy / "data_acquisition" / "results"
    (results / "latest").unlink()
    (results / "latest").symlink_to(outside, target_is_directory=True)
    path, reports = write_report(copy, tmp_path / "page.html")
    assert CANARY not in path.read_text()


def test_png_sizes_are_checked_before_reading_and_their_number_is_bounded(copy, tmp_path):
    plots = current(copy / "speech_selection" / "plots")
    sparse = plots / "zz_huge.png"
    with open(sparse, "wb") as handle:
        handle.write(b"\x89PNG")
        handle.truncate(1 << 40)                     # 1 TiB: refused by its size, never read
    real = next(p for p in sorted(plots.iterdir()) if p.name != "zz_huge.png")
    for i in range(MAX_IMAGES + 10):
        shutil.copyfile(real, plots / f"copy{i:03d}.png")
    started = time.monotonic()
    reports = collect(copy)
    assert time.monotonic() - started < 60
    images = next(r.images for r in reports if r.cube == "speech_selection")
    assert len(images) == MAX_IMAGES and "zz_huge.png" not in {i["name"] for i in images}


def test_the_figures_of_a_cube_are_bounded_in_bytes(copy, monkeypatch):
    """100 PNGs just under the per-file limit made a 1.1 GB page: the figures of a cube are bounded in all."""
    monkeypatch.setattr(report_module, "MAX_PAGE_IMAGE_BYTES", 3 * MAX_IMAGE_BYTES_SMALL)
    monkeypatch.setattr(report_module, "MAX_IMAGE_BYTES", MAX_IMAGE_BYTES_SMALL)
    plots = current(copy / "vision_selection" / "plots")
    for i in range(10):
        (plots / f"big{i}.png").write_bytes(b"\x89PNG" + bytes(MAX_IMAGE_BYTES_SMALL - 10))
    images = next(r.images for r in collect(copy) if r.cube == "vision_selection")
    assert sum(len(i["uri"]) for i in images) < 3 * MAX_IMAGE_BYTES_SMALL * 4 / 3 + 1000


def test_a_png_that_is_a_link_fifo_or_hard_link_is_left_out(copy, tmp_path):
    plots = current(copy / "vision_selection" / "plots")
    (tmp_path / "secret.png").write_bytes(b"\x89PNG" + CANARY.encode())
    (plots / "a_link.png").symlink_to(tmp_path / "secret.png")
    os.link(tmp_path / "secret.png", plots / "a_hard.png")
    os.mkfifo(plots / "a_fifo.png")
    started = time.monotonic()
    path, _ = write_report(copy, tmp_path / "page.html")
    assert time.monotonic() - started < 60
    import base64
    assert base64.b64encode(b"\x89PNG" + CANARY.encode()).decode()[:20] not in path.read_text()


def test_names_with_control_characters_are_escaped_in_the_table(copy):
    name = "evil\x1b]0;pwned\x07\x1b[2J"

    _rewrite(copy, "data_acquisition", lambda summary: rename_first(summary, name))
    table = combined_table(collect(copy))
    assert "evil\\x1b]0;pwned\\x07" in table and "\x1b" not in table and "\x07" not in table


def test_report_command_on_a_hostile_workspace_is_one_line_or_a_page(copy, tmp_path):
    for cube in ("vision_debugging", "speech_selection", "vision_selection", "data_acquisition"):
        _rewrite(copy, cube, lambda s: "not json")
    run = subprocess.run([sys.executable, "-m", "common", "report", "--workspace-root", str(copy),
                          f"--output={tmp_path / 'page.html'}"], capture_output=True, text=True, timeout=120)
    assert "Traceback" not in run.stderr
    assert run.returncode == 1 and run.stderr.startswith("error: no cube has results")


def test_too_many_methods_for_a_rank_figure_are_named_not_drawn(copy, tmp_path, monkeypatch):
    monkeypatch.setattr(report_module, "MAX_RANK_PLOT_METHODS", 1)
    reports = {r.cube: r for r in collect(copy)}
    vs = reports["vision_selection"]
    assert vs.summary and vs.rank_figures == []
    assert any(note.startswith("rank distributions: 2 methods, at most 1 are drawn") for note in vs.skipped)
    page = report_module.render(list(reports.values()))
    assert "<h3>Rank distributions</h3>" not in page and "<h3>Public and private parts</h3>" in page


def rename_first(summary: dict, new: str) -> None:
    """The first method renamed everywhere it is named (the rank statistics too)."""
    old = summary["ranking"][0]

    def swap(name):
        return new if name == old else name
    summary["ranking"] = [swap(m) for m in summary["ranking"]]
    summary["methods"] = {swap(m): e for m, e in summary["methods"].items()}
    for stats in summary.get("rank_statistics", {}).values():
        stats["ranking"] = [swap(m) for m in stats["ranking"]]
        stats["groups"] = [[swap(m) for m in band] for band in stats["groups"]]
        stats["methods"] = {swap(m): e for m, e in stats["methods"].items()}


def test_hostile_method_names_are_text_in_the_rank_figures_and_tables(copy, tmp_path):
    hostile = "<img src=x onerror=alert(1)>$\\frac{1}{2}$"
    _rewrite(copy, "vision_selection", lambda summary: rename_first(summary, hostile))
    path, reports = write_report(copy, tmp_path / "page.html")
    vs = next(r for r in reports if r.cube == "vision_selection")
    assert vs.summary and len(vs.rank_figures) == 3
    page = path.read_text()
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
