"""The suite report: what the page says about a tiny workspace of every cube, the combined table, the command."""
from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
import sys
from importlib import metadata

import pytest

from common.cubes import registry
from common.tasks.local import report_places

CUBES = registry.names()
from common.results.publish import current
from common.results.report import collect, combined_table, render, write_report

from support.parts import assert_seed_nowhere
from support.report import REFUSED_METHOD, SPLIT_SEED, TIED_METHOD


def _summary(suite, cube):
    return json.loads((suite / cube / "results" / "summary.json").read_text())


def _section(page: str, cube: str) -> str:
    start = page.index(f'<section class="cube" id="{cube}">')
    return page[start:page.index("</section>", start)]


def test_every_cube_has_a_leaderboard_in_rank_order(suite):
    page = render(collect(report_places(suite)))
    for cube in CUBES:
        summary = _summary(suite, cube)
        section = _section(page, cube)
        assert html.escape(summary["title"]) in section
        rows = re.findall(r'<tr class="lb-row[^"]*" data-cube="([^"]+)" data-method="([^"]+)">', section)
        assert rows == [(cube, m) for m in summary["ranking"]] and len(rows) >= 2
        for method in summary["ranking"]:
            s = summary["methods"][method]
            assert f"[{s['ci95_low']:.4f}, {s['ci95_high']:.4f}]" in section
            assert f">{s['dynabench_percent']:.2f}<" in section
        for group in summary["groups"]:                   # the per-group breakdown
            assert f'<th class="num">{group}</th>' in section


def test_breakdown_interval_extras_and_run_time(suite):
    page = render(collect(report_places(suite)))
    da = _section(page, "data_acquisition")
    assert "DataPerf score" in da and "spent / budget" in da and "Per market" in da
    vs = _section(page, "vision_selection")
    assert "mean precision" in vs and "Per concept" in vs
    summary = _summary(suite, "vision_selection")
    best = max(summary["methods"][m]["groups"]["Cupcake"] for m in summary["ranking"])
    assert f'<td class="num best">{best:.4f}</td>' in vs
    assert "Per task" in _section(page, "vision_debugging")
    speech = _section(page, "speech_selection")
    assert "Per lang-budget" in speech
    ranks = re.findall(r'<td class="num">(\d+)</td><td class="method">', speech)
    assert ranks == ["1", "1"] and TIED_METHOD in speech            # equal scores share the rank


def test_refused_submissions_are_listed_with_their_reason(suite):
    summary = _summary(suite, "data_acquisition")
    assert REFUSED_METHOD not in summary["methods"]
    assert [(r["method"], r["file"]) for r in summary["refused"]] == \
        [(REFUSED_METHOD, f"{REFUSED_METHOD}/0.txt"), (REFUSED_METHOD, f"{REFUSED_METHOD}/1.txt")]
    section = _section(render(collect(report_places(suite))), "data_acquisition")
    refused = section[section.index("<h3>Refused submissions</h3>"):]
    assert f"<code>{REFUSED_METHOD}/1.txt</code>" in refused and "over the budget of" in refused
    assert "None: every submission was accepted." in _section(render(collect(report_places(suite))), "vision_selection")


def test_figures_are_embedded_and_nothing_is_fetched(suite):
    page = render(collect(report_places(suite)))
    for cube in CUBES:
        pngs = sorted(p.name for p in (suite / cube / "plots").glob("*.png"))
        ranks = [f"rank_distribution_{part}.png" for part in ("all", "public", "private")]
        section = _section(page, cube)
        assert re.findall(r"<figcaption>([^<]+)</figcaption>", section) == ranks + pngs
        for uri in re.findall(r'<img src="data:image/png;base64,([^"]+)"', section):
            assert base64.b64decode(uri).startswith(b"\x89PNG")
    # self-contained: no external style sheet, script, image or font
    assert not re.search(r'(src|href)="(https?:)?//', page) and "url(" not in page and "<script" not in page
    assert "<style>" in page and "font-variant-numeric" in page


def test_run_record_versions_parameters_and_hashes(suite):
    section = _section(render(collect(report_places(suite))), "vision_debugging")
    record = section[section.index("<h3>Run record</h3>"):]
    assert f"<code>numpy {metadata.version('numpy')}</code>" in record and "not run in a container" in record
    assert "knn_shapley" in record                                       # the parameters
    assert "data/dataset_04rky_train.csv" in record and "04rky_knn_shapley.txt" in record   # input hashes
    detail = json.loads((suite / "vision_debugging" / "results" / "04rky_evaluation.json").read_text())
    assert detail["run"]["inputs_sha256"]["data/dataset_04rky_train.csv"] in record


def test_container_image_shown_when_the_run_record_has_one(suite, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(suite / "vision_selection", root / "vision_selection")
    path = current(root / "vision_selection" / "results") / "summary.json"   # the set in view, as the report reads
    summary = json.loads(path.read_text())
    summary["run"]["container"] = {"image": "dataperf/vision-selection:0.1.0", "image_id": "sha256:" + "ab" * 32}
    path.write_text(json.dumps(summary))
    section = _section(render(collect(report_places(root))), "vision_selection")
    assert "image <code>dataperf/vision-selection:0.1.0</code>, id <code>sha256:abab" in section


def test_cubes_without_results_are_named_and_old_summaries_not_read(suite, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(suite / "data_acquisition", root / "data_acquisition")
    (root / "speech_selection" / "results").mkdir(parents=True)
    (root / "speech_selection" / "results" / "summary.json").write_text('{"methods": {}}')
    reports = {r.cube: r for r in collect(report_places(root))}
    assert reports["data_acquisition"].summary and not reports["vision_debugging"].summary
    assert reports["vision_debugging"].problem == "no results yet: run its evaluate task"
    assert "not a summary of this version" in reports["speech_selection"].problem
    page = render(list(reports.values()))
    assert 'id="vision_debugging"' not in page and "no results yet: run its evaluate task" in page
    table = combined_table(list(reports.values()))
    assert "vision_debugging: no results yet" in table and "data_acquisition: refused overspender" in table


def test_combined_table_has_every_method_of_every_cube(suite):
    table = combined_table(collect(report_places(suite)))
    lines = table.splitlines()
    assert lines[0].split()[:4] == ["cube", "rank", "method", "score"]
    for cube in CUBES:
        summary = _summary(suite, cube)
        mine = [line.split() for line in lines[2:] if line.startswith(cube + " ")]
        assert [cells[2] for cells in mine] == summary["ranking"]
        top = summary["methods"][summary["ranking"][0]]
        assert mine[0][1] == "1" and f"{top['mean']:.4f}" in mine[0]
    assert "fraction_fixes (lower is better)" in table and "f1 (higher is better)" in table


def test_report_command(suite, tmp_path):
    out = tmp_path / "page.html"
    proc = subprocess.run([sys.executable, "-m", "common", "report", "--workspace-root", str(suite),
                           "--output", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert f"report: {out.resolve()}" in proc.stdout and "data_acquisition" in proc.stdout
    assert out.read_text().startswith("<!DOCTYPE html>")
    empty = subprocess.run([sys.executable, "-m", "common", "report", "--workspace-root", str(tmp_path / "none")],
                           capture_output=True, text=True)
    assert empty.returncode == 1 and "Traceback" not in empty.stderr
    assert empty.stderr.startswith("error: no cube has results in")


def test_write_report_default_place(suite, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(suite / "vision_selection", root / "vision_selection")
    path, reports = write_report(report_places(root), root)
    assert path == root / "dataperf_report.html" and path.is_file() and len(reports) == len(CUBES)


@pytest.mark.parametrize("cube", CUBES)
def test_summary_files_follow_the_schema(suite, cube):
    summary = _summary(suite, cube)
    assert summary["schema"] == "dataperf-summary/2" and summary["cube"] == cube
    head = (suite / cube / "results" / "summary.csv").read_text().splitlines()[0].split(",")
    assert head[:17] == ["rank", "method", "score", "direction", "mean", "std", "ci95_low", "ci95_high", "n",
                         "dynabench_percent", "seconds", "rank_group", "p_first", "public_score",
                         "public_rank_group", "private_score", "private_rank_group"]
    assert head[17 + len(summary["extras"]):] == [f"{summary['group_by']}:{g}" for g in summary["groups"]]
    assert summary["split"]["public_fraction"] == 0.3 and set(summary["split"]["items"]) == set(summary["groups"])
    for s in summary["methods"].values():
        assert set(s["parts"]) == {"public", "private"} and s["ranks"]["rank_group"] >= 1
        assert set(s["parts"]["public"]) == {"score", "rank", "rank_group", "p_first", "rank_median", "rank_ci95",
                                             "groups", "ci95_low", "ci95_high"}
        low, high = summary["score"]["range"]
        assert low <= s["parts"]["public"]["ci95_low"] <= s["parts"]["public"]["score"] \
            <= s["parts"]["public"]["ci95_high"] <= high
    for s in summary["methods"].values():
        low, high = summary["score"]["range"]
        assert low <= s["ci95_low"] <= s["mean"] <= s["ci95_high"] <= high
        assert s["mean"] == pytest.approx(sum(s["groups"].values()) / len(s["groups"]))


def test_a_split_shows_the_parts_side_by_side_the_bands_and_the_rank_figures(suite):
    page = render(collect(report_places(suite)))
    for cube in CUBES:
        summary, section = _summary(suite, cube), _section(page, cube)
        assert "<h3>Public and private parts</h3>" in section and "<h3>Rank distributions</h3>" in section
        rows = re.findall(r'<tr class="part-row[^"]*" data-cube="[^"]+" data-method="([^"]+)">', section)
        private = sorted(summary["ranking"], key=lambda m: (summary["methods"][m]["parts"]["private"]["rank"], m))
        assert rows == private
        for method in summary["ranking"]:
            parts = summary["methods"][method]["parts"]
            row = section[section.index(f'data-method="{method}">', section.index('class="parts"')):]
            row = row[:row.index("</tr>")]
            assert re.findall(r'<td class="num score">([^<]+)</td>', row) == \
                [f"{parts['public']['score']:.4f}", f"{parts['private']['score']:.4f}"]
            band = "odd" if summary["methods"][method]["ranks"]["rank_group"] % 2 else "even"
            assert f'<tr class="lb-row band-{band}" data-cube="{cube}" data-method="{method}">' in section
        assert f"{summary['ranking_method']['B']} paired bootstrap resamples" in section
    assert "<script" not in page


def test_a_public_winner_who_is_not_first_on_the_private_part_is_marked(suite, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(suite / "vision_selection", root / "vision_selection")
    path = current(root / "vision_selection" / "results") / "summary.json"
    summary = json.loads(path.read_text())
    first, second = summary["ranking"][:2]
    parts = {m: summary["methods"][m]["parts"] for m in (first, second)}
    parts[second]["public"].update(rank=1)
    parts[first]["public"].update(rank=2)
    parts[first]["private"].update(rank=1)
    parts[second]["private"].update(rank=2)
    path.write_text(json.dumps(summary))
    section = _section(render(collect(report_places(root))), "vision_selection")
    assert section.count('class="flag"') == 2                           # in the leaderboard and the parts table
    assert f'<tr class="part-row falls" data-cube="vision_selection" data-method="{second}">' in section
    assert "public #1, private #2" in section and "first on the public part, not on the private part" in section


def test_schema_1_summaries_still_render(suite, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(suite / "data_acquisition", root / "data_acquisition")
    path = current(root / "data_acquisition" / "results") / "summary.json"
    summary = json.loads(path.read_text())
    for key in ("split", "ranking_method", "rank_statistics"):
        summary.pop(key)
    for entry in summary["methods"].values():
        entry.pop("parts"), entry.pop("ranks")
    summary["schema"] = "dataperf-summary/1"
    path.write_text(json.dumps(summary))
    report = next(r for r in collect(report_places(root)) if r.cube == "data_acquisition")
    assert report.summary and not report.problem and report.rank_figures == []
    section = _section(render([report]), "data_acquisition")
    rows = re.findall(r'<tr class="lb-row" data-cube="data_acquisition" data-method="([^"]+)">', section)
    assert rows == summary["ranking"]
    assert "Public and private parts" not in section and "Rank distributions" not in section
    assert "<th class=\"num\">group</th>" not in section


def test_the_split_seed_is_in_no_result_file_nor_the_page(suite):
    page = render(collect(report_places(suite)))
    places = [suite / cube / folder for cube in CUBES for folder in ("results", "plots")]
    assert assert_seed_nowhere(SPLIT_SEED, *places, texts=(page, combined_table(collect(report_places(suite))))) > 20
    for cube in CUBES:
        assert _summary(suite, cube)["run"]["parameters"]["evaluate"]["split"]["seed"].startswith("sha256:")
