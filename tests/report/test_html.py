"""The HTML report: self-contained, readable, and safe with hostile device or feed text."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from campatch.model import Finding, Severity
from campatch.report.fleet import ReportDevice
from campatch.report.html import to_html
from report.report_fixtures import (
    HIK,
    HIK_REMEDIATION,
    NOW,
    app_findings,
    on,
    sample_coverage,
    sample_findings,
    sample_fleet,
)

SCRIPT = '<script>alert("owned")</script>'
ANSI = "\x1b[31m\x1b]0;title\x07"


class Tags(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(page)
    return parser.tags


def sample_page() -> str:
    return to_html(sample_fleet(), sample_findings(), sample_coverage(), now=NOW)


def hostile_page() -> str:
    hik = sample_fleet()[0]
    evil_row = replace(hik.row, vendor=f'<img src=x onerror="alert(1)">{ANSI}', model=SCRIPT)
    evil = Finding(
        check="known-vulnerability", severity=Severity.CRITICAL,
        title=f"{SCRIPT}{ANSI}CVE-2099-0001",
        evidence=f'"><svg onload=alert(1)>{ANSI}', remediation=f"</p>{SCRIPT}\nstep two",
        confirm_by=SCRIPT, advisory="CVE-2099-0001",
        references=("javascript:alert(1)", 'https://ok.example/"onmouseover="x',
                    "https://ok.example/a?b=1&c=2"),
    )  # fmt: skip
    devices = [ReportDevice(evil_row, hik.report, "2017-01-24")]
    coverage = {f"<b>{SCRIPT}</b>": [f"{ANSI}<iframe src=//evil.example>"]}
    found = on(HIK, "192.0.2.10", evil, replace(evil, title="second"))
    return to_html(devices, [found], coverage, now=NOW)


def test_hostile_strings_are_escaped_and_escape_codes_removed() -> None:
    page = hostile_page()
    assert "\x1b" not in page
    assert "\x07" not in page
    assert "&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;" in page
    tags = tags_of(page)
    names = {name for name, _ in tags}
    assert not names & {"script", "img", "iframe", "b"}
    assert [name for name, _ in tags].count("svg") == 3  # only the three charts
    for name, attrs in tags:
        assert not [a for a in attrs if a.startswith("on")], (name, attrs)
    hrefs = [attrs["href"] for name, attrs in tags if name == "a"]
    assert hrefs == ["https://ok.example/a?b=1&c=2"] * 2  # top finding and the second one


def test_the_page_is_self_contained_and_forbids_scripts() -> None:
    page = sample_page()
    assert "default-src 'none'" in page
    tags = tags_of(page)
    assert not [a for _, a in tags if "src" in a]
    assert not [n for n, _ in tags if n in ("link", "script", "iframe", "object", "embed")]
    assert not re.search(r"@import|url\(", page)


def test_summary_and_cards_speak_plainly_and_name_the_release_to_install() -> None:
    page = sample_page()
    assert "<h2>1 device needs attention now</h2>" in page
    assert "2 devices should be checked" in page
    assert "1 device looks fine" in page
    assert "2 devices may have a weakness that criminals are already using" in page
    assert HIK_REMEDIATION.replace("'", "&#x27;") in page
    assert "First make sure:</strong> add credentials so the firmware build can be read" in page
    assert "Nothing to do: campatch found no problems on this device." in page
    # the most urgent device comes first
    assert page.index("Hikvision DS-2CD2042WD-I") < page.index("Axis M3045-V")


@pytest.mark.parametrize("chart", ["chart-severity", "chart-age", "chart-exposure"])
def test_each_chart_is_an_inline_svg_with_bars(chart: str) -> None:
    page = sample_page()
    start = page.index(f'<figure id="{chart}">')
    figure = page[start : page.index("</figure>", start)]
    assert "<svg" in figure
    assert figure.count('<rect class="bar') >= 1


def test_firmware_age_shows_unknown_where_no_release_date_is_known() -> None:
    page = sample_page()
    start = page.index('<figure id="chart-age">')
    figure = page[start : page.index("</figure>", start)]
    assert ">unknown</text>" in figure
    assert ">9.3 years</text>" in figure


def test_coverage_lists_what_was_and_what_cannot_be_assessed() -> None:
    page = sample_page()
    section = page[page.index('<section id="coverage">') :]
    assert "Cannot be checked from the network" in section
    assert "whether a camera is already compromised" in section
    assert "1 device(s) have no scan details stored" in section


def test_findings_about_apps_are_shown_not_dropped() -> None:
    page = to_html(sample_fleet(), [*sample_findings(), app_findings()], {}, now=NOW)
    section = page[page.index('<section id="others">') :]
    assert "hik-connect app (android)" in section
    assert "Update Hik-Connect on android to 5.2.1" in section


def test_an_empty_fleet_still_renders() -> None:
    page = to_html([], [], {}, now=NOW)
    assert "<h2>All your devices look fine</h2>" in page
    assert [n for n, _ in tags_of(page)].count("svg") == 3
