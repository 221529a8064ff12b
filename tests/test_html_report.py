"""The report's HTML page, checked in a real headless Chromium (selenium + Debian's chromedriver).

The page must load without console errors, sort its tables on a click, filter the
mention drill-down, and not render blank (a screenshot test). `.ci/run` installs
Debian's `chromium` and `chromium-driver` when they are missing; elsewhere the
browser tests skip with the command that installs them.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest
from conftest import run_cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
needs_browser = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="headless Chromium not installed: apt-get install chromium chromium-driver (.ci/run does)",
)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """exact and tfidf on the demo, reported with --html."""
    root = tmp_path_factory.mktemp("html")
    for system in ("exact", "tfidf"):
        result = run_cli(
            "run", "--system", system, "--benchmark", "demo", "--out", str(root / "runs"), "--name", system
        )
        assert result.returncode == 0, result.stderr
    result = run_cli(
        "report", str(root / "runs"), "--out", str(root / "report"), "--baseline", "exact", "--html", "--no-figures"
    )
    assert result.returncode == 0, result.stderr
    return root / "report" / "index.html"


def embedded_data(path) -> dict:
    text = path.read_text()
    return json.loads(re.search(r'<script id="data" type="application/json">(.*?)</script>', text, re.S).group(1))


def test_the_page_is_self_contained_and_holds_the_report(page):
    text = page.read_text()
    assert not re.search(r'(src|href)="(https?:)?//', text), "the page loads nothing from the network"
    data = embedded_data(page)
    assert [row["system"] for row in data["leaderboard"]] == ["exact", "tfidf"]
    tfidf = data["leaderboard"][1]["cells"]["demo"]
    assert tfidf["significant"] is True and tfidf["acc1"] == pytest.approx(85.13, abs=0.01)
    assert data["flagged"] == {}  # the demo's KB is its real slice: nothing to flag (cpu's bc5cdr/cometa are)
    drill = data["drill"]["demo"]
    assert len(drill["mentions"]) == 195 and set(drill["runs"]) == {"exact", "tfidf"}
    readme = (page.parent / "README.md").read_text()
    assert "index.html" in readme and "--no-html" not in readme  # the page is the default; the command says so


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def outcome_counts(data: dict, a: str, b: str) -> dict[str, int]:
    drill = data["drill"]["demo"]
    counts = {"fixed": 0, "broken": 0, "both-right": 0, "both-wrong": 0}
    for ra, rb in zip(drill["runs"][a], drill["runs"][b]):
        x, y = ra[0] == 1, rb[0] == 1
        counts["both-right" if x and y else "fixed" if y else "broken" if x else "both-wrong"] += 1
    return counts


@needs_browser
def test_the_page_loads_sorts_and_filters_in_chromium(page, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(page.as_uri())
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors

    def leaderboard_systems():
        return [
            r.find_elements(By.TAG_NAME, "td")[0].text
            for r in browser.find_elements(By.CSS_SELECTOR, "#leaderboard tbody tr")
        ]

    assert leaderboard_systems() == ["exact", "tfidf"]
    demo_header = browser.find_elements(By.CSS_SELECTOR, "#leaderboard thead th")[1]
    demo_header.click()  # first click: highest first
    assert leaderboard_systems() == ["tfidf", "exact"]
    demo_header.click()
    assert leaderboard_systems() == ["exact", "tfidf"]
    marked = browser.find_elements(By.CSS_SELECTOR, "#leaderboard td.sig")
    assert [c.text for c in marked] == ["85.1 \u2020"]

    data = embedded_data(page)
    counts = outcome_counts(data, "exact", "tfidf")
    Select(browser.find_element(By.ID, "dd-a")).select_by_value("exact")
    Select(browser.find_element(By.ID, "dd-b")).select_by_value("tfidf")
    Select(browser.find_element(By.ID, "dd-outcome")).select_by_value("fixed")
    rows = browser.find_elements(By.CSS_SELECTOR, "#drill tbody tr")
    assert len(rows) == counts["fixed"] > 0
    assert {r.get_attribute("data-outcome") for r in rows} == {"fixed"}
    assert browser.find_element(By.ID, "dd-count").text.startswith(f"{counts['fixed']} mention(s)")
    Select(browser.find_element(By.ID, "dd-seen")).select_by_value("unseen")
    unseen = browser.find_elements(By.CSS_SELECTOR, "#drill tbody tr")
    assert 0 < len(unseen) <= counts["fixed"] and {r.get_attribute("data-seen") for r in unseen} == {"unseen"}
    Select(browser.find_element(By.ID, "dd-outcome")).select_by_value("all")
    Select(browser.find_element(By.ID, "dd-seen")).select_by_value("all")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#drill tbody tr")) == 195
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


@needs_browser
def test_a_screenshot_of_the_page_is_not_blank(page, browser, tmp_path):
    from PIL import Image

    browser.get(page.as_uri())
    shot = tmp_path / "page.png"
    assert browser.save_screenshot(str(shot))
    image = Image.open(shot).convert("L")
    histogram = image.histogram()
    background = max(histogram) / sum(histogram)
    assert background < 0.97, f"{background:.1%} of the screenshot is one shade: the page rendered blank"
    dark = sum(histogram[:128]) / sum(histogram)
    assert dark > 0.005, "no text was drawn"
