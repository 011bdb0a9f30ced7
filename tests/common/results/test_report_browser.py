"""The report in a real browser: headless Chromium (Debian's `chromium`) renders the page of the tiny suite (every cube
with a public/private split and rank statistics), takes a screenshot, and a script checks that every leaderboard
row and every row of the public/private table can be seen and that no image (the rank distributions included) is
broken.

Skipped only where no Chromium is installed; CI (.ci/run) installs it.  The browser gets no network: a host
resolver rule maps every name to nothing, so a page that needed one would show broken images and fail here.
"""
from __future__ import annotations

import html
import json
import re
import shutil
import struct
import subprocess

import pytest

from common.cubes import registry
from common.tasks.local import report_places

CUBES = registry.names()
from common.results.report import collect, render

BROWSER = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(name)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no Chromium installed (apt-get install -y chromium)")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--window-size=1280,900"]

# Runs once the page (and every image) has loaded: each leaderboard row is scrolled into view and must be the
# element found at its own centre (not hidden, not covered, not of zero size); each image must have decoded.
CHECK = """<script>
window.addEventListener("load", function () {
  var out = {rows: [], images: []};
  document.querySelectorAll("tr.lb-row, tr.part-row").forEach(function (row) {
    row.scrollIntoView({block: "center"});
    var box = row.getBoundingClientRect();
    var hit = document.elementFromPoint(box.left + Math.min(box.width / 2, 30), box.top + box.height / 2);
    out.rows.push({cube: row.dataset.cube, method: row.dataset.method, width: box.width, height: box.height,
                   table: row.classList.contains("part-row") ? "parts" : "leaderboard", seen: row.contains(hit)});
  });
  Array.prototype.forEach.call(document.images, function (img) {
    out.images.push({alt: img.alt, ok: img.complete && img.naturalWidth > 0, width: img.naturalWidth});
  });
  var pre = document.createElement("pre");
  pre.id = "dataperf-check";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def _chromium(tmp_path, *arguments) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"    # a new empty profile each time
    return subprocess.run([BROWSER, *FLAGS, f"--user-data-dir={profile}", *arguments], capture_output=True,
                          text=True, timeout=120)


def _checked(tmp_path, page: str) -> dict:
    path = tmp_path / "checked.html"
    path.write_text(page.replace("</body>", CHECK + "</body>"))
    proc = _chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", path.as_uri())
    found = re.search(r'<pre id="dataperf-check">(.*?)</pre>', proc.stdout, re.S)
    assert found, f"the check did not run: {proc.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_every_leaderboard_row_is_visible_and_no_image_is_broken(suite, tmp_path):
    reports = collect(report_places(suite))
    page = render(reports)
    result = _checked(tmp_path, page)
    expected = [(r.cube, m) for r in reports for m in r.summary["ranking"]]
    assert [(row["cube"], row["method"]) for row in result["rows"] if row["table"] == "leaderboard"] == expected
    assert {cube for cube, _ in expected} == set(CUBES)
    parts = sorted((row["cube"], row["method"]) for row in result["rows"] if row["table"] == "parts")
    assert parts == sorted(expected)                      # every cube has a split: every method in its table
    hidden = [row for row in result["rows"] if not (row["seen"] and row["height"] > 0 and row["width"] > 0)]
    assert not hidden
    figures = sum(len(r.images) + len(r.rank_figures) for r in reports)
    assert all(len(r.rank_figures) == 3 for r in reports)
    assert len(result["images"]) == figures > 0
    assert [image for image in result["images"] if not image["ok"]] == []

    shot = tmp_path / "report.png"
    (tmp_path / "report.html").write_text(page)
    proc = _chromium(tmp_path, f"--screenshot={shot}", (tmp_path / "report.html").as_uri())
    assert shot.is_file(), proc.stderr[-2000:]
    assert _png_size(shot) == (1280, 900) and shot.stat().st_size > 20_000    # a rendered page, not a blank one


def test_the_check_sees_a_hidden_row_a_covered_row_and_a_broken_image(tmp_path):
    """The same check on pages with faults reports them (so the test above can fail)."""
    page = ("<!DOCTYPE html><html><body><table>"
            '<tr class="lb-row" data-cube="c" data-method="shown"><td>1</td><td>shown</td></tr>'
            '<tr class="lb-row" data-cube="c" data-method="gone" style="display:none"><td>2</td><td>gone</td></tr>'
            '</table><img alt="broken" src="data:image/png;base64,iVBORw0KGgoAAAA=">'
            '<img alt="missing" src="missing.png"></body></html>')
    result = _checked(tmp_path, page)
    rows = {row["method"]: row for row in result["rows"]}
    assert rows["shown"]["seen"] and rows["shown"]["height"] > 0
    assert not rows["gone"]["seen"] and rows["gone"]["height"] == 0
    assert {image["alt"]: image["ok"] for image in result["images"]} == {"broken": False, "missing": False}
    covered = page.replace("</table>", '</table><div style="position:fixed;inset:0;background:white"></div>')
    assert not any(row["seen"] for row in _checked(tmp_path, covered)["rows"])
