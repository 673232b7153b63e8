"""A self-contained HTML report an owner without security training can read.

One file, no scripts, no external fonts, styles or images: the CSS is inline, the
charts are SVG drawn in Python (:mod:`campatch.report._charts`), and a
Content-Security-Policy forbids scripts outright, so even a slip in escaping could not
run code. Every device- or feed-supplied string is cleaned of escape and control
characters and HTML-escaped (SAFETY F-12); links are kept only for http(s) URLs.

Reading order: a summary ("2 devices need attention now"), one card per device with
the one thing to do, the charts (problems per device, firmware age, exposure), what
the report covers and what it cannot, and a short glossary.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import datetime

from campatch import __version__
from campatch.model import Certainty, DeviceFindings, Finding, Severity
from campatch.report._charts import Bar, Segment, bar_chart
from campatch.report._html_style import CSS
from campatch.report.fleet import (
    ReportDevice,
    Status,
    device_label,
    device_status,
    findings_by_key,
    firmware_age_days,
    plain,
    plain_lines,
    subject_label,
    web_links,
)

__all__ = ["to_html"]

_TEXT_LIMIT = 2_000
_SEVERITY_WORD = {
    Severity.CRITICAL: "critical",
    Severity.HIGH: "serious",
    Severity.MEDIUM: "moderate",
    Severity.LOW: "minor",
    Severity.INFO: "for information",
}


def to_html(
    devices: Sequence[ReportDevice],
    groups: Sequence[DeviceFindings],
    coverage: Mapping[str, Sequence[str]],
    *,
    now: datetime,
) -> str:
    """The whole report as one HTML document.

    Args:
        devices: the devices to report on.
        groups: the audit's findings, per device (``AuditResult.by_device``; their
            text is escaped here).
        coverage: headings ("Checked", "Cannot be checked from the network") with
            their items, shown in the "What this report covers" section.
        now: when the report was made (firmware age is measured to it).

    Returns:
        A complete ``<!DOCTYPE html>`` document.
    """
    by_device = _group(devices, groups)
    ordered = sorted(devices, key=lambda d: _urgency(by_device[d.row.key]))
    body = [
        _header(devices, now),
        _summary(devices, by_device),
        '<section id="devices"><h2>Your devices</h2>',
        *(_card(d, by_device[d.row.key]) for d in ordered),
        "</section>",
        _others(devices, groups),
        _charts(ordered, by_device, now),
        _coverage(coverage, devices),
        _GLOSSARY,
    ]
    return _page("\n".join(body))


def _e(value: str | None, limit: int | None = _TEXT_LIMIT) -> str:
    """Cleaned and HTML-escaped text (never trust a device or a feed)."""
    return html.escape(plain(value, limit), quote=True)


def _e_lines(value: str) -> str:
    return "<br>".join(html.escape(line, quote=True) for line in plain_lines(value, _TEXT_LIMIT))


def _group(
    devices: Sequence[ReportDevice], groups: Sequence[DeviceFindings]
) -> dict[str, list[Finding]]:
    """Each listed device's findings by key, in the order its card shows them."""
    found = findings_by_key(groups)
    return {d.row.key: sorted(found.get(d.row.key, ()), key=_finding_order) for d in devices}


def _finding_order(f: Finding) -> tuple[int, bool, bool]:
    return (f.severity.rank, f.certainty is not Certainty.CONFIRMED, not f.kev)


def _urgency(findings: Sequence[Finding]) -> tuple[int, int]:
    order = list(Status).index(device_status(findings))
    return (order, findings[0].severity.rank if findings else len(Severity))


def _page(body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>Camera security report</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _header(devices: Sequence[ReportDevice], now: datetime) -> str:
    stamp = now.strftime("%d %B %Y, %H:%M %Z").strip()
    return (
        "<header><h1>Camera security report</h1>"
        f'<p class="meta">{len(devices)} cameras, NVRs and DVRs · made {_e(stamp)} '
        f"by campatch {_e(__version__)}</p></header>"
    )


def _devices(n: int) -> str:
    return f"{n} device" if n == 1 else f"{n} devices"


def _count(n: int, status: Status) -> str:
    noun = "device" if n == 1 else "devices"
    verb = {
        Status.NOW: "needs" if n == 1 else "need",
        Status.CHECK: "should",
        Status.FINE: "looks" if n == 1 else "look",
    }[status]
    rest = status.value.split(" ", 1)[1]
    return f"{n} {noun} {verb} {rest}"


def _summary(devices: Sequence[ReportDevice], by_device: Mapping[str, list[Finding]]) -> str:
    counts = dict.fromkeys(Status, 0)
    for d in devices:
        counts[device_status(by_device[d.row.key])] += 1
    lead = next((s for s in (Status.NOW, Status.CHECK) if counts[s]), Status.FINE)
    headline = "All your devices look fine" if lead is Status.FINE else _count(counts[lead], lead)
    items = "".join(
        f'<li class="st-{s.name.lower()}">{_count(n, s)}</li>'
        for s, n in counts.items()
        if n and s is not lead
    )
    exploited = sum(1 for d in devices if any(f.kev for f in by_device[d.row.key]))
    kev = (
        f'<p class="kev-note">{_devices(exploited)} may have a weakness that criminals are '
        "already using on the internet (CISA's list of exploited vulnerabilities).</p>"
        if exploited
        else ""
    )
    return (
        f'<section id="summary" class="summary st-{lead.name.lower()}"><h2>{headline}</h2>'
        f"{f'<ul>{items}</ul>' if items else ''}{kev}</section>"
    )


def _kind(device: ReportDevice) -> str:
    value = device.row.device_class.value
    return value.upper() if value in ("nvr", "dvr") else value


def _card(device: ReportDevice, findings: Sequence[Finding]) -> str:
    row = device.row
    status = device_status(findings)
    firmware = " ".join(v for v in (row.firmware, row.build) if v) or "unknown"
    head = (
        f'<article class="card st-{status.name.lower()}"><h3>{_e(device_label(row))}'
        f' <span class="badge">{status.value}</span></h3>'
        f'<p class="meta">{_e(_kind(device))} at {_e(row.address)} · firmware {_e(firmware)}</p>'
    )
    return head + _todo(findings) + _more(findings[1:]) + _not_checked(device) + "</article>"


def _others(devices: Sequence[ReportDevice], groups: Sequence[DeviceFindings]) -> str:
    """Findings about something that is no listed device (the owner's viewer apps),
    the one with the worst finding first."""
    keys = {d.row.key for d in devices}
    others = sorted((g for g in groups if g.findings and g.key not in keys), key=_by_worst)
    if not others:
        return ""
    cards = []
    for group in others:
        found = sorted(group.findings, key=_finding_order)
        status = device_status(found).name.lower()
        cards.append(
            f'<article class="card st-{status}"><h3>{_e(subject_label(group))}</h3>'
            f"{_todo(found)}{_more(found[1:])}</article>"
        )
    return f'<section id="others"><h2>Apps and other things</h2>{"".join(cards)}</section>'


def _by_worst(group: DeviceFindings) -> tuple[int, bool, str]:
    worst = min(group.findings, key=lambda f: (f.severity.rank, not f.kev))
    return (worst.severity.rank, not worst.kev, group.key)


def _todo(findings: Sequence[Finding]) -> str:
    if not findings:
        return '<p class="todo">Nothing to do: campatch found no problems on this device.</p>'
    top = findings[0]
    confirm = (
        f'<p class="confirm"><strong>First make sure:</strong> {_e(top.confirm_by)}</p>'
        if top.certainty is Certainty.POSSIBLE and top.confirm_by
        else ""
    )
    return (
        f'<div class="todo"><p class="why">{_finding_line(top)}</p>'
        f"<p><strong>What to do:</strong> {_e_lines(top.remediation)}</p>{confirm}"
        f'<p class="evidence">Seen: {_e(top.evidence)}{_links(top)}</p></div>'
    )


def _finding_line(f: Finding) -> str:
    word = _SEVERITY_WORD[f.severity]
    maybe = " (possible)" if f.certainty is Certainty.POSSIBLE else ""
    kev = ' <span class="kev">exploited in the wild</span>' if f.kev else ""
    return f'<span class="sev sev-{f.severity.value}">{word}{maybe}</span> {_e(f.title)}{kev}'


def _more(findings: Sequence[Finding]) -> str:
    if not findings:
        return ""
    items = "".join(
        f"<li>{_finding_line(f)}<br><strong>What to do:</strong> {_e_lines(f.remediation)}"
        f'<div class="evidence">Seen: {_e(f.evidence)}{_links(f)}</div></li>'
        for f in findings
    )
    return f"<details><summary>{len(findings)} more to fix</summary><ul>{items}</ul></details>"


def _links(f: Finding) -> str:
    urls = web_links(f.references)
    if not urls:
        return ""
    links = ", ".join(
        f'<a href="{html.escape(u, quote=True)}" rel="noreferrer">{html.escape(u)}</a>'
        for u in urls
    )
    return f"<br>More: {links}"


def _not_checked(device: ReportDevice) -> str:
    problems = device.report.problems if device.report else ()
    if not problems:
        return ""
    items = "".join(f"<li>{_e(p.source)}: {_e(p.message)}</li>" for p in problems[:10])
    return f'<details class="problems"><summary>Could not check everything</summary><ul>{items}</ul></details>'


def _charts(
    devices: Sequence[ReportDevice], by_device: Mapping[str, list[Finding]], now: datetime
) -> str:
    return (
        '<section id="charts"><h2>At a glance</h2>'
        f'<figure id="chart-severity"><figcaption>Problems per device</figcaption>'
        f"{_severity_chart(devices, by_device)}{_legend()}</figure>"
        f'<figure id="chart-age"><figcaption>How old the installed firmware is</figcaption>'
        f"{_age_chart(devices, now)}</figure>"
        f'<figure id="chart-exposure"><figcaption>What is open to others</figcaption>'
        f"{_exposure_chart(devices)}</figure></section>"
    )


def _severity_chart(devices: Sequence[ReportDevice], by_device: Mapping[str, list[Finding]]) -> str:
    bars = []
    for d in devices:
        mine = by_device[d.row.key]
        segments = tuple(
            Segment(n, f"sev-{s.value}", f"{n} {_SEVERITY_WORD[s]}")
            for s in Severity
            if (n := sum(1 for f in mine if f.severity is s))
        )
        note = f"{len(mine)} problem{'s' if len(mine) != 1 else ''}" if mine else "none found"
        bars.append(Bar(device_label(d.row), segments, note))
    return bar_chart("Problems per device, by severity", bars, axis_unit="problems")


def _legend() -> str:
    items = "".join(
        f'<span class="key"><span class="swatch sev-{s.value}"></span>{_SEVERITY_WORD[s]}</span>'
        for s in Severity
    )
    return f'<p class="legend">{items}</p>'


def _age_class(years: float) -> str:
    return "age-new" if years < 1 else "age-old" if years < 3 else "age-ancient"


def _age_chart(devices: Sequence[ReportDevice], now: datetime) -> str:
    bars = []
    for d in devices:
        days = firmware_age_days(d, now)
        if days is None:
            bars.append(Bar(device_label(d.row), (), "unknown"))
            continue
        years = days / 365.25
        tip = f"released {plain(d.firmware_released)}"
        bars.append(
            Bar(
                device_label(d.row), (Segment(years, _age_class(years), tip),), f"{years:.1f} years"
            )
        )
    return bar_chart("Firmware age in years", bars, axis_unit="years since release")


def _exposure_chart(devices: Sequence[ReportDevice]) -> str:
    bars = []
    for label, probe in _EXPOSURES:
        results = [probe(d) for d in devices]
        checked = [r for r in results if r is not None]
        hits = sum(1 for r in checked if r)
        segment = (Segment(hits, "exposed", f"{hits} devices"),) if hits else ()
        note = f"{hits} of {len(checked)} checked" if checked else "not checked"
        bars.append(Bar(label, segment, note))
    return bar_chart("Devices exposed, by kind", bars, axis_unit="devices", max_value=len(devices))


def _rtsp(d: ReportDevice) -> bool | None:
    facts = d.report.security.rtsp_open if d.report else None
    return None if facts is None else bool(facts)


def _telnet(d: ReportDevice) -> bool | None:
    if d.report is None:
        return None
    return any(s.protocol == "telnet" or s.port == 23 for s in d.report.services)


def _forwarded(d: ReportDevice) -> bool | None:
    facts = d.report.security.port_forwards if d.report else None
    return None if facts is None else bool(facts)


def _default_password(d: ReportDevice) -> bool | None:
    facts = d.report.security.default_logins if d.report else None
    return None if facts is None else bool(facts)


_EXPOSURES = (
    ("Video open without password", _rtsp),
    ("Telnet open", _telnet),
    ("Forwarded to the internet", _forwarded),
    ("Factory password works", _default_password),
)


def _coverage(coverage: Mapping[str, Sequence[str]], devices: Sequence[ReportDevice]) -> str:
    blocks = "".join(
        f"<h3>{_e(heading)}</h3><ul>{''.join(f'<li>{_e(i)}</li>' for i in items)}</ul>"
        for heading, items in coverage.items()
    )
    unscanned = sum(1 for d in devices if d.report is None)
    extra = (
        f"<p>{unscanned} device(s) have no scan details stored; scan them again.</p>"
        if unscanned
        else ""
    )
    return (
        '<section id="coverage"><h2>What this report covers</h2>'
        f"{blocks}{extra}<p>campatch looks at your devices over the network. It cannot "
        "prove that a device has not been broken into.</p></section>"
    )


_GLOSSARY = """<section id="glossary"><h2>Words used here</h2><dl>
<dt>Firmware</dt><dd>The software inside the camera. The maker fixes weaknesses by
publishing new firmware; installing it is the most important thing you can do.</dd>
<dt>CVE</dt><dd>The public name of a known weakness, e.g. CVE-2017-7921.</dd>
<dt>Exploited in the wild</dt><dd>The US agency CISA has seen criminals use this weakness;
fix these first.</dd>
<dt>Possible</dt><dd>campatch could not read enough from the device to be sure; the card
says how to find out.</dd>
<dt>RTSP</dt><dd>The protocol video recorders and apps use to watch the camera's stream.</dd>
<dt>Telnet</dt><dd>An old, unencrypted remote login that botnets such as Mirai break into.</dd>
<dt>Port forward</dt><dd>A router rule that makes the device reachable from the whole
internet.</dd>
</dl></section>"""
