"""The HTML report in a real browser: Debian's Chromium driven by Playwright.

Chromium comes from the OS (``scripts/system-deps.sh`` installs the ``chromium``
package); ``playwright install`` is never used. Outside CI the test skips when
Chromium is missing; in CI it fails (``support.require_service``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from campatch.report.html import to_html
from report.report_fixtures import NOW, sample_coverage, sample_findings, sample_fleet
from support import require_service

CHROMIUM = "/usr/bin/chromium"  # Debian's package (scripts/system-deps.sh)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHARTS = ("chart-severity", "chart-age", "chart-exposure")
CRITICAL_RED = "rgb(179, 0, 27)"  # --crit in the report's stylesheet

try:
    from playwright.sync_api import Page, sync_playwright
except ImportError:  # pragma: no cover - dev extras not installed
    sync_playwright = None  # type: ignore[assignment]


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    """A page in a fresh Chromium profile under ``tmp_path``."""
    require_service(sync_playwright is not None, "the playwright Python package")
    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    require_service(executable is not None, "chromium (apt-get install chromium)")
    assert executable is not None
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh user-data-dir per test
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1100, "height": 900},
        )
        try:
            yield context.new_page()
        finally:
            context.close()


@pytest.fixture
def report_file(tmp_path: Path) -> Path:
    """The sample fleet's report written as a file."""
    path = tmp_path / "report.html"
    path.write_text(
        to_html(sample_fleet(), sample_findings(), sample_coverage(), now=NOW), encoding="utf-8"
    )
    return path


def test_the_report_opens_in_chromium_and_shows_its_charts(
    page: Page, report_file: Path, tmp_path: Path
) -> None:
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(report_file.as_uri())

    assert page.title() == "Camera security report"
    assert page.locator("#summary h2").inner_text() == "1 device needs attention now"
    for chart in CHARTS:
        svg = page.locator(f"#{chart} svg")
        assert svg.is_visible(), chart
        box = svg.bounding_box()
        assert box is not None
        assert box["width"] > 400
        assert box["height"] > 80
        bars = page.locator(f"#{chart} svg rect.bar")
        assert bars.count() >= 1, chart
        first = bars.first.bounding_box()
        assert first is not None
        assert first["width"] > 1
        assert first["height"] > 5
    critical = page.locator("#chart-severity rect.sev-critical").first
    assert critical.evaluate("e => getComputedStyle(e).fill") == CRITICAL_RED

    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    chart_shot = page.locator("#chart-severity").screenshot()
    assert shot.stat().st_size > 50_000  # a blank page is a few hundred bytes
    assert len(chart_shot) > 5_000
    assert requests == [report_file.as_uri()]  # self-contained: nothing else was fetched
    assert errors == []
