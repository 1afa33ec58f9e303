"""The report page in a real browser: headless Chromium (Debian's package) via selenium.

The page must load from disk with no console errors and no network request, the
interactive chart must render (plotly's SVG in the DOM, every trace drawn, zoom works),
and the headline numbers on screen must equal ``summary.json``.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from results_helpers import fleet_scenario, read_summary

from essdispatch.analysis.compare_format import format_number
from essdispatch.analysis.report import headline, write_report
from essdispatch.run import run_scenario

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="needs Debian's chromium and chromium-driver (.ci/run installs them)",
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("browser")
    scenario = fleet_scenario(base, "fleet-week", 80)
    text = scenario.read_text(encoding="utf-8").replace(
        "description: '", "description: 'Xi''an 1034号 TOU tariff; ", 1
    )
    scenario.write_text(text, encoding="utf-8")
    return run_scenario(scenario, out=base / "results").folder


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
        "--window-size=1300,1000",
    ):
        options.add_argument(arg)
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def _wait(driver, script: str, timeout: float = 30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for: {script}")


def test_report_in_headless_chromium(folder: Path, browser) -> None:
    page = write_report(folder)
    summary = read_summary(folder)
    browser.get(page.resolve().as_uri())
    _wait(browser, "return document.readyState === 'complete'")
    # the interactive chart rendered: plotly's SVG and one drawn trace per data trace
    _wait(browser, "return document.querySelectorAll('#timeseries .main-svg').length > 0")
    n_data = browser.execute_script("return document.getElementById('timeseries').data.length")
    drawn = browser.execute_script(
        "return document.querySelectorAll('#timeseries .scatterlayer .trace').length"
    )
    assert n_data >= 8 and drawn == n_data
    # zoom: a relayout narrows the time axis (what a drag on the chart does)
    browser.execute_script(
        "var g = document.getElementById('timeseries');"
        "Plotly.relayout(g, {'xaxis.range': ['2026-06-01 06:00', '2026-06-01 18:00']});"
    )
    zoomed = _wait(
        browser,
        "var r = document.getElementById('timeseries').layout.xaxis.range;"
        "return r && String(r[0]).startsWith('2026-06-01 06:00') ? r : null;",
    )
    assert str(zoomed[1]).startswith("2026-06-01 18:00")
    # the headline numbers on screen equal summary.json
    cards = browser.execute_script(
        "return Array.from(document.querySelectorAll('#headline .value')).map("
        "e => [e.dataset.key, e.textContent, e.dataset.value])"
    )
    keys = [key for key, _, _ in cards]
    expected_keys = [
        "cash_savings",
        "savings",
        "curtailment_absorbed_mwh",
        *(f"emissions_displaced_tco2.{s}" for s in summary["emissions_displaced_tco2"]),
        "carbon_value",
    ]
    assert keys == expected_keys
    derived = headline(summary)
    units = {"savings": "CNY", "cash_savings": "CNY", "carbon_value": "CNY"}
    for key, text, raw in cards:
        if key.startswith("emissions_displaced_tco2."):
            value = summary["emissions_displaced_tco2"][key.split(".", 1)[1]]
        elif key in summary:
            value = summary[key]
        else:
            value = derived[key]
        assert float(raw) == pytest.approx(value, rel=1e-12)
        unit = units.get(key, "tCO2" if "tco2" in key else "MWh")
        assert text == format_number(value, unit), key
    # nothing was fetched from the network; no console errors
    remote = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => !n.startsWith('data:') && !n.startsWith('file:') && !n.startsWith('blob:'))"
    )
    assert remote == []
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    # CJK text reaches the page intact (rendering it needs a CJK font: the page names a stack)
    assert "1034号" in browser.find_element("css selector", "p.sub").text
