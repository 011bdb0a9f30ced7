"""The round in a real browser (Selenium driving Debian's headless Chromium): a team logs in with its token,
uploads its files through the form, sees the submission go to `scored` and its row on the public board; the
organiser logs in and closes the round; the private board appears.

Skipped only where Chromium or its driver is not installed (apt-get install -y chromium chromium-driver); CI
installs both.  The browser has no network but loopback.  DATAPERF_UPDATE_SCREENSHOTS=1 copies the screenshots
into docs/ (the README shows them).
"""
from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from common.round.db import Submission, transaction
from common.round.manage import add_team
from common.round.worker import Worker
from support.round import ROOT, ThreadServer, open_copy, submit_direct, valid_files, write_files

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(BROWSER is None or DRIVER is None,
                                reason="no Chromium or chromedriver (apt-get install -y chromium chromium-driver)")
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--window-size=1280,900"]


def browser(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = BROWSER
    for flag in FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))


def team_id_of(engine, name: str) -> int:
    from sqlalchemy import select
    from common.round.db import Team, transaction
    with transaction(engine, readonly=True) as session:
        return session.scalar(select(Team.id).where(Team.name == name))


def wait_for(condition, timeout: float = 90, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("the page did not get there in time")


def log_in(driver, url: str, token: str, lands_on: str) -> None:
    from selenium.webdriver.common.by import By
    driver.get(f"{url}/login")
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.ID, "login").click()
    wait_for(lambda: driver.current_url.endswith(lands_on), timeout=30, every=0.1)


def element(driver, element_id: str):
    """The element once the page that has it is there (a click's navigation may still be under way)."""
    from selenium.webdriver.common.by import By
    return wait_for(lambda: (driver.find_elements(By.ID, element_id) or [None])[0], timeout=30, every=0.1)


def test_a_team_submits_through_the_form_and_the_organiser_closes_the_round(round_template, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    folder = tmp_path / "round"
    cfg, engine, organiser = open_copy(round_template, folder, None, name="example")
    add_team(engine, "Rivals")          # a second team with two scored submissions: a board and a history
    rivals = team_id_of(engine, "Rivals")
    for method in ("single", "uniform"):
        submit_direct(cfg, engine, rivals, valid_files(round_template, method), tmp_path / method)
        Worker(cfg, engine).run(once=True)
    token = add_team(engine, "Data <Gardeners>")
    files = write_files(tmp_path / "upload", valid_files(round_template, "quality_greedy"))
    shots = tmp_path / "shots"
    shots.mkdir()
    stop = threading.Event()
    worker = threading.Thread(target=Worker(cfg, engine).run, kwargs={"stop": stop}, daemon=True)
    with ThreadServer(folder) as server:
        worker.start()
        driver = browser(tmp_path / "profile-team")
        try:
            log_in(driver, server.url, token, "/team")
            assert element(driver, "team-name").text == "Data <Gardeners>"
            # the stylesheet loaded under the Content-Security-Policy (it allows styles from the server only)
            header = driver.find_element(By.TAG_NAME, "header")
            assert header.value_of_css_property("background-color") == "rgba(32, 50, 77, 1)"
            Select(driver.find_element(By.ID, "cube")).select_by_value("data_acquisition")
            driver.find_element(By.ID, "files").send_keys("\n".join(str(p) for p in sorted(files.iterdir())))
            driver.find_element(By.ID, "submit").click()
            queued = element(driver, "submitted").text
            submission = queued.split()[1]

            def scored():
                driver.get(f"{server.url}/team")
                row = element(driver, f"s-{submission}")
                return row if row.find_element(By.CLASS_NAME, "state").text == "scored" else None

            row = wait_for(scored)
            score = row.find_element(By.CLASS_NAME, "score").text.split()[0]
            assert float(score) > 0
            driver.save_screenshot(str(shots / "round-team.png"))
            driver.get(f"{server.url}/board/data_acquisition")
            rows = driver.find_elements(By.CSS_SELECTOR, "#public-board tr.board-row")
            shown = [(r.find_element(By.CLASS_NAME, "team").text, r.find_element(By.CLASS_NAME, "score").text)
                     for r in rows]
            assert ("Data <Gardeners>", score) in shown and [t for t, _ in shown].count("Rivals") == 1
            assert [float(s) for _, s in shown] == sorted((float(s) for _, s in shown), reverse=True)
            assert len(driver.find_elements(By.CSS_SELECTOR, "svg.history polyline")) == 2
            assert not driver.find_elements(By.ID, "private-board")
            driver.save_screenshot(str(shots / "round-board-public.png"))
        finally:
            driver.quit()
        driver = browser(tmp_path / "profile-organiser")
        try:
            log_in(driver, server.url, organiser, "/organiser")
            element(driver, "close-round").click()
            assert "private boards are published" in element(driver, "message").text
            driver.get(f"{server.url}/board/data_acquisition")
            private = driver.find_elements(By.CSS_SELECTOR, "#private-board tr.board-row")
            assert sorted(r.find_element(By.CLASS_NAME, "team").text for r in private) == ["Data <Gardeners>",
                                                                                            "Rivals"]
            with transaction(engine, readonly=True) as session:       # the private board shows private scores
                private_score = session.scalar(select(Submission.score_private).where(Submission.public_id == submission))
            assert f"{private_score:.4f}" in [r.find_element(By.CLASS_NAME, "score").text for r in private]
            driver.save_screenshot(str(shots / "round-board-private.png"))
        finally:
            driver.quit()
            stop.set()
            worker.join(60)
    engine.dispose()
    if os.environ.get("DATAPERF_UPDATE_SCREENSHOTS"):
        for shot in shots.iterdir():
            shutil.copyfile(shot, ROOT / "docs" / shot.name)
