"""Step-by-step upgrade instructions an owner follows by hand, as Markdown or HTML.

For each device of a :class:`~campatch.patch.plan.Plan` that has a target release but
no safe automatic path (or for every device with a target, on request), the steps
are: where to download each release of the path (the vendor page from the release or
its provenance), the file name and SHA-256 to check and the command that checks it on
Windows, macOS and Linux, where the upgrade lives in the device's web page, what to
expect (reboot, downtime, do not power off) and how to confirm it worked
(``campatch scan <address>``). Devices the plan found no release for are listed with
the plan's reason; viewer apps behind their latest release get where to update them.

The text is built once as a small document (:class:`Guide`) and rendered twice, so
both formats say the same. Every device or feed string is cleaned of control and
escape characters; Markdown escapes its punctuation, HTML is escaped and the page is
self-contained with a Content-Security-Policy that forbids scripts. Links are kept
only for http(s) URLs. File names and addresses go into shell commands only when they
are plainly safe (letters, digits, ``._+-``; an IP address); otherwise a placeholder
stands in and the step says so.
"""

from __future__ import annotations

import html
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from campatch.audit.checks.apps import ViewerAppOutdated, app_key
from campatch.audit.interface import AuditContext
from campatch.knowledge.index import KnowledgeBase
from campatch.knowledge.versions import Scheme, scheme_for_vendor
from campatch.model import Certainty, FirmwareRelease
from campatch.patch.plan import DevicePlan, Flag, Plan
from campatch.report.fleet import plain, web_links

__all__ = [
    "MENU_PATHS",
    "AppUpdate",
    "Code",
    "Guide",
    "Link",
    "Section",
    "Step",
    "build_guide",
    "checksum_commands",
    "outdated_apps",
    "to_html",
    "to_markdown",
]

#: Where the firmware upgrade page usually is in the vendor's web interface.
MENU_PATHS: dict[Scheme, str] = {
    Scheme.HIKVISION: "Configuration > System > Maintenance > Upgrade & Maintenance",
    Scheme.DAHUA: "Setting > System > Upgrade",
    Scheme.AXIS: "Maintenance > Firmware upgrade",
}
_OTHER_MENU = "a page called Upgrade or Firmware under System or Maintenance"
#: The file name a vendor's image usually has, when the download URL does not say.
_USUAL_FILE = {Scheme.HIKVISION: "digicap.dav"}
_SAFE_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_PLACEHOLDER_FILE = "FIRMWARE-FILE"
_TEXT_LIMIT = 2_000
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#+!|~&])")


@dataclass(frozen=True, slots=True)
class Link:
    """An http(s) URL (anything else is rendered as plain text)."""

    url: str


@dataclass(frozen=True, slots=True)
class Code:
    """Inline code: a command or file name the owner types."""

    value: str


Inline = str | Link | Code
Line = tuple[Inline, ...]


@dataclass(frozen=True)
class Step:
    """One numbered step, with commands to run (label, command) where it has any."""

    line: Line
    commands: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Section:
    """A heading, paragraphs before the steps, the steps, and warnings."""

    title: Line
    intro: tuple[Line, ...] = ()
    steps: tuple[Step, ...] = ()
    notes: tuple[Line, ...] = ()


@dataclass(frozen=True)
class Guide:
    """The whole document: a title and its sections."""

    title: str
    sections: tuple[Section, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class AppUpdate:
    """A viewer app behind its latest release, and where to get the update."""

    name: str
    platform: str
    installed: str
    latest: str
    where: str
    certain: bool = True  # False: campatch could not order the installed version


def checksum_commands(file_name: str) -> tuple[tuple[str, str], ...]:
    """The commands that print a file's SHA-256 on Windows, macOS and Linux.

    Args:
        file_name: a plainly safe file name (see the module docstring).
    """
    return (
        ("Windows (PowerShell)", f"Get-FileHash -Algorithm SHA256 .\\{file_name}"),
        ("macOS (Terminal)", f"shasum -a 256 {file_name}"),
        ("Linux", f"sha256sum {file_name}"),
    )


def outdated_apps(
    knowledge: KnowledgeBase, owner_apps: Mapping[tuple[str, str], str]
) -> list[AppUpdate]:
    """The owner's viewer apps the audit finds outdated (or cannot tell), with their source.

    Args:
        knowledge: the app catalog.
        owner_apps: (name, platform) -> installed version, as the owner declared them.
    """
    ctx = AuditContext(knowledge=knowledge, owner_apps=owner_apps)
    catalog = {app_key(a.name, a.platform): a for a in knowledge.apps()}
    installed = {app_key(n, p): v for (n, p), v in owner_apps.items()}
    updates = []
    for group in ViewerAppOutdated().run_apps(ctx):
        app = catalog[group.key]
        where = app.url or app.provenance.url
        confirmed = all(f.certainty is Certainty.CONFIRMED for f in group.findings)
        updates.append(
            AppUpdate(
                app.name, app.platform, installed[group.key], app.latest_version, where, confirmed
            )
        )
    return updates


def build_guide(
    plan: Plan, apps: Sequence[AppUpdate] = (), *, include_automatic: bool = False
) -> Guide:
    """The instructions for a plan.

    Args:
        plan: the upgrade plan.
        apps: outdated viewer apps (:func:`outdated_apps`).
        include_automatic: also give steps for devices campatch could upgrade itself.

    Returns:
        One section per device with a target, one listing the devices without steps
        and why, and one for the apps (each only when it has content).
    """
    sections = [
        _device_section(d, d.target)
        for d in plan.devices
        if d.target is not None and (include_automatic or not d.ready)
    ]
    without = [d for d in plan.devices if d.target is None and d.skips]
    if without:
        sections.append(_no_steps_section(without))
    if apps:
        sections.append(_apps_section(apps))
    if not sections:
        sections.append(Section(("Nothing to do",), (("No device or app needs an update.",),)))
    return Guide("Firmware and app updates, step by step", tuple(sections))


# --- devices ------------------------------------------------------------------------


def _device_section(item: DevicePlan, target: FirmwareRelease) -> Section:
    scheme = scheme_for_vendor(item.vendor)
    title = (f"{item.name} at {item.address}: {item.current or 'unknown'} to {target.version}",)
    steps: list[Step] = []
    for number, release in enumerate(item.path, start=1):
        steps.extend(_release_steps(item, release, scheme, number, len(item.path)))
    steps.append(_confirm_step(item, target))
    return Section(title, _device_intro(item), tuple(steps), _warnings(item))


def _device_intro(item: DevicePlan) -> tuple[Line, ...]:
    lines: list[Line] = []
    if item.fixes:
        lines.append((f"This update fixes {', '.join(item.fixes)}.",))
    if item.unfixed:
        lines.append((f"It does not fix {', '.join(item.unfixed)}: no known release does yet.",))
    if len(item.path) > 1:
        lines.append(
            (
                f"Install the {len(item.path)} releases below in this order; the later "
                "ones need the earlier ones installed first.",
            )
        )
    lines.extend((f"Why campatch does not do it for you: {s.detail}",) for s in item.skips)
    return tuple(lines)


def _release_steps(
    item: DevicePlan, release: FirmwareRelease, scheme: Scheme, number: int, total: int
) -> list[Step]:
    which = f"release {number} of {total}, " if total > 1 else ""
    name = _file_name(release, scheme)
    return [
        _download_step(item, release, which),
        _checksum_step(release, name),
        Step(
            (
                "Open ",
                Link(_web_page(item.address)),
                " in a browser and log in as an administrator.",
            )
        ),
        Step(
            (
                f"Go to {_menu(scheme)}, choose the file {name or 'you downloaded'} and start "
                "the upgrade.",
            )
        ),
        _wait_step(item),
    ]


def _download_step(item: DevicePlan, release: FirmwareRelease, which: str) -> Step:
    hardware = f" hardware revision {release.hardware}" if release.hardware else ""
    region = f" ({release.region} region)" if release.region else ""
    what = f"Download firmware {release.version} ({which}for the {item.model}{hardware}{region})"
    pages = web_links([release.download_page, release.provenance.url])
    line: list[Inline] = [what]
    line += (
        [" from the vendor's page ", Link(pages[0])]
        if pages
        else [" from the vendor's support site"]
    )
    if direct := web_links([release.url]):
        line += ["; the file itself is at ", Link(direct[0])]
    return Step((*line, "."))


def _checksum_step(release: FirmwareRelease, name: str | None) -> Step:
    sha = release.sha256.strip()
    size = f" and is {release.size:,} bytes" if release.size else ""
    if not _SHA256.fullmatch(sha):
        return Step(
            (
                "campatch knows no SHA-256 for this file, so it cannot be checked: "
                "download it only from the vendor's own page above.",
            )
        )
    named = (
        ("The file is usually named ", Code(name), ". ")
        if name
        else (f"Replace {_PLACEHOLDER_FILE} below with the name of the file you downloaded. ",)
    )
    line = (
        *named,
        "Before installing, check that its SHA-256 is ",
        Code(sha.lower()),
        size,
        "; if it differs, do not install it.",
    )
    return Step(line, checksum_commands(name or _PLACEHOLDER_FILE))


def _wait_step(item: DevicePlan) -> Step:
    minutes = max(1, round((item.downtime_s or 900) / 60 / max(len(item.path), 1)))
    return Step(
        (
            f"The device installs the firmware and restarts by itself; expect it to be "
            f"offline for about {minutes} minutes. Do not power it off, unplug it or "
            "close the page while it upgrades: an interrupted upgrade can leave it "
            "unusable.",
        )
    )


def _confirm_step(item: DevicePlan, target: FirmwareRelease) -> Step:
    address = _safe_address(item.address)
    command = f"campatch scan {address or 'ADDRESS'}"
    return Step(
        (
            "To confirm it worked, run ",
            Code(command),
            f" and check that the firmware shows {target.version}.",
        )
    )


def _warnings(item: DevicePlan) -> tuple[Line, ...]:
    text = {
        Flag.BLOCKS_DOWNGRADE: "After this update the device cannot go back to older firmware.",
        Flag.BREAKING: "This update changes behaviour other software may rely on (recorders, "
        "integrations): read the vendor's release notes before installing.",
        Flag.END_OF_LIFE: "This is the model's last release: the vendor has ended support, "
        "so plan to replace the device.",
        Flag.DOWNGRADE: "This installs older firmware than the device runs (you asked for it).",
        Flag.REINSTALL: "This installs the same version again (you asked for it).",
    }
    return tuple((text[f],) for f in item.flags)


def _file_name(release: FirmwareRelease, scheme: Scheme) -> str | None:
    """The image's file name from its URL, else the vendor's usual one; only safe names."""
    path = urlsplit(release.url).path if release.url else ""
    name = unquote(path.rsplit("/", 1)[-1]) or _USUAL_FILE.get(scheme, "")
    return name if _SAFE_FILE.fullmatch(name) else None


def _menu(scheme: Scheme) -> str:
    return f"(usually) {MENU_PATHS[scheme]}" if scheme in MENU_PATHS else f"(usually) {_OTHER_MENU}"


def _safe_address(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def _web_page(address: str) -> str:
    ip = _safe_address(address)
    if ip is None:
        return "the device's web page"
    return f"http://[{ip}]/" if ":" in ip else f"http://{ip}/"


def _no_steps_section(items: Sequence[DevicePlan]) -> Section:
    lines = tuple((f"{d.name} at {d.address}: {d.skips[0].detail}",) for d in items)
    return Section(("Devices without steps",), lines)


def _apps_section(apps: Sequence[AppUpdate]) -> Section:
    steps = []
    for app in apps:
        where: tuple[Inline, ...] = (
            (Link(u[0]),) if (u := web_links([app.where])) else (f"the {app.platform} app store",)
        )
        maybe = (
            "" if app.certain else " (campatch cannot compare the versions; check its About screen)"
        )
        steps.append(
            Step(
                (
                    f"{app.name} on {app.platform}: installed {app.installed}, latest "
                    f"{app.latest}{maybe}. Update it from ",
                    *where,
                    ".",
                )
            )
        )
    return Section(("Viewer apps to update",), steps=tuple(steps))


# --- rendering ----------------------------------------------------------------------


def _clean(value: str) -> str:
    """:func:`plain` text that keeps one space at either edge (pieces of one line)."""
    text = plain(value, _TEXT_LIMIT)
    head = " " if value[:1].isspace() else ""
    tail = " " if value[-1:].isspace() and text else ""
    return f"{head}{text}{tail}"


def _md(value: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", _clean(value))


def _md_inline(part: Inline) -> str:
    if isinstance(part, Link):
        links = web_links([part.url])
        return f"<{links[0]}>" if links else _md(part.url)
    if isinstance(part, Code):
        return f"`{plain(part.value, _TEXT_LIMIT).replace('`', '')}`"
    return _md(part)


def _md_line(line: Line) -> str:
    return "".join(_md_inline(p) for p in line)


def _md_step(number: int, step: Step) -> list[str]:
    out = [f"{number}. {_md_line(step.line)}"]
    for label, command in step.commands:
        out += ["", f"   {_md(label)}:", "", "   ```", f"   {plain(command)}", "   ```"]
    return out


def _md_section(section: Section) -> list[str]:
    out = [f"## {_md_line(section.title)}", ""]
    out += [line for item in section.intro for line in (_md_line(item), "")]
    for number, step in enumerate(section.steps, start=1):
        out += [*_md_step(number, step), ""]
    out += [line for item in section.notes for line in (f"> **Note:** {_md_line(item)}", "")]
    return out


def to_markdown(guide: Guide) -> str:
    """The guide as Markdown (device and feed text escaped)."""
    lines = [f"# {_md(guide.title)}", ""]
    for section in guide.sections:
        lines += _md_section(section)
    return "\n".join(lines).rstrip() + "\n"


def _h(value: str) -> str:
    return html.escape(_clean(value), quote=True)


def _html_inline(part: Inline) -> str:
    if isinstance(part, Link):
        links = web_links([part.url])
        if not links:
            return _h(part.url)
        return f'<a href="{_h(links[0])}" rel="noreferrer noopener">{_h(links[0])}</a>'
    if isinstance(part, Code):
        return f"<code>{_h(part.value)}</code>"
    return _h(part)


def _html_line(line: Line) -> str:
    return "".join(_html_inline(p) for p in line)


def _html_step(step: Step) -> str:
    commands = "".join(
        f'<div class="cmd">{_h(label)}:<pre><code>{_h(command)}</code></pre></div>'
        for label, command in step.commands
    )
    return f"<li>{_html_line(step.line)}{commands}</li>"


def _html_section(section: Section) -> str:
    parts = [f"<section><h2>{_html_line(section.title)}</h2>"]
    parts += [f"<p>{_html_line(line)}</p>" for line in section.intro]
    if section.steps:
        parts.append("<ol>" + "".join(_html_step(s) for s in section.steps) + "</ol>")
    parts += [f'<p class="note"><strong>Note:</strong> {_html_line(n)}</p>' for n in section.notes]
    return "\n".join([*parts, "</section>"])


_CSS = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:920px;margin:0 auto;padding:16px;"
    "color:#1d232a}h2{margin-top:32px;font-size:1.25rem}li{margin:8px 0}"
    "pre{background:#f4f6f8;padding:6px 10px;overflow-x:auto}code{overflow-wrap:anywhere}"
    ".note{border-left:6px solid #f2a541;padding-left:10px}.cmd{margin-top:4px}"
)


def to_html(guide: Guide) -> str:
    """The guide as one self-contained HTML page (no scripts; text escaped)."""
    body = "\n".join(_html_section(s) for s in guide.sections)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_h(guide.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        f"<h1>{_h(guide.title)}</h1>\n{body}\n</main>\n</body>\n</html>\n"
    )
