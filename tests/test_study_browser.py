"""End to end in headless Chromium (Selenium): 4 synchronized videos play, stay within one frame while playing
and after a seek, and a click on a vote button lands in the SQLite database.

Needs Debian's ``chromium`` and ``chromium-driver`` (apt-get install -y chromium chromium-driver); skipped
with that reason when they are missing.
"""
from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from study_fixtures import free_port, shared_study, start_server

from stngan.study import load_manifest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
APT_LINE = "apt-get install -y chromium chromium-driver"
FRAME = 1 / 25
TIMES = "return Array.from(document.querySelectorAll('video')).map(v => [v.currentTime, v.paused, v.seeking])"

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
    pytest.skip(f"headless Chromium not installed: {APT_LINE}", allow_module_level=True)


@pytest.fixture()
def browser(tmp_path):
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture()
def server(tmp_path_factory, tmp_path):
    study_dir, db, port = shared_study(tmp_path_factory), tmp_path / "votes.sqlite", free_port()
    process = start_server(study_dir, db, port)
    yield f"http://127.0.0.1:{port}", study_dir, db
    process.kill()
    process.wait(timeout=10)
    process.stdout.close()


def wait_for(predicate, timeout: float = 8.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {predicate.__doc__ or predicate}")


def assert_in_sync(browser, samples: int = 3) -> list[float]:
    for _ in range(samples):
        state = browser.execute_script(TIMES)
        times = [t for t, _, _ in state]
        assert len(state) == 4 and not any(paused for _, paused, _ in state), state
        assert max(times) - min(times) < FRAME, f"videos drift apart by more than one frame: {times}"
        time.sleep(0.1)
    return times


def test_synchronized_playback_seek_and_vote(browser, server):
    url, study_dir, db = server
    browser.get(url + "/?pid=e2e-1")
    start = wait_for(lambda: browser.find_element("id", "start").is_displayed() and browser.find_element("id", "start"))
    start.click()
    wait_for(lambda: browser.find_element("id", "progress").text == "Clip 1 of 2")

    def all_playing():
        """all 4 videos playing"""
        state = browser.execute_script(TIMES)
        return len(state) == 4 and all(not paused and t > 0.05 for t, paused, _ in state)

    wait_for(all_playing)
    time.sleep(0.3)
    assert_in_sync(browser)

    browser.execute_script("const s = document.getElementById('seek'); s.value = '1.2';"
                           "s.dispatchEvent(new Event('input'));")

    def seeked_and_playing():
        """seek to 1.2 s done and playing again"""
        state = browser.execute_script(TIMES)
        return all(1.2 <= t < 1.9 and not paused and not seeking for t, paused, seeking in state)

    wait_for(seeked_and_playing, timeout=5)
    assert_in_sync(browser, samples=2)

    buttons = browser.find_elements("css selector", "button.vote")
    wait_for(lambda: all(b.is_enabled() for b in buttons))  # unlocked after min_view_seconds of playback
    choice = buttons[2].get_attribute("data-choice")
    buttons[2].click()
    wait_for(lambda: browser.find_element("id", "progress").text == "Clip 2 of 2")

    method_of = {v.id: m for c in load_manifest(study_dir).clips for m, v in c.videos.items()}
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT v.method, v.slot, s.label FROM votes v "
                            "JOIN sessions s ON s.id = v.session_id").fetchall()
    assert rows == [(method_of[choice], 2, "e2e-1")]
