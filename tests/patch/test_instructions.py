"""Manual upgrade instructions: hash, download page and menu path; hostile text escaped."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from campatch.knowledge.index import KnowledgeBase
from campatch.model import FirmwareRelease, Provenance, ViewerApp
from campatch.patch.instructions import (
    AppUpdate,
    build_guide,
    checksum_commands,
    outdated_apps,
    to_html,
    to_markdown,
)
from campatch.patch.plan import DevicePlan, Flag, Plan, Skip, SkipReason, Strategy

SHA = "0123456789abcdef" * 4
PAGE = "https://www.hikvision.com/en/support/download/firmware/"


def hik_release(version: str = "V5.5.0 build 180101", **kw: object) -> FirmwareRelease:
    fields: dict[str, object] = {
        "vendor": "Hikvision", "model": "DS-2CD2032F-I", "version": version,
        "provenance": Provenance("test", "https://feed.example/"), "download_page": PAGE,
        "url": "https://dl.example/fw/IPC_R6_EN_STD_5.5.0_180101.zip", "sha256": SHA,
        "size": 31_457_280,
    }  # fmt: skip
    fields.update(kw)
    return FirmwareRelease(**fields)  # type: ignore[arg-type]


def planned(
    release: FirmwareRelease,
    *,
    vendor: str = "Hikvision",
    model: str = "DS-2CD2032F-I",
    **kw: object,
) -> DevicePlan:
    fields: dict[str, object] = {
        "key": "mac:00:11:22:33:44:55", "address": "192.0.2.10", "vendor": vendor,
        "model": model, "hardware": None, "current": "V5.4.0 build 160530",
        "target": release, "path": (release,), "fixes": ("CVE-2017-7921",), "downtime_s": 600,
        "skips": (Skip(SkipReason.NO_CREDENTIALS, "no credentials are stored for it"),),
    }  # fmt: skip
    fields.update(kw)
    return DevicePlan(**fields)  # type: ignore[arg-type]


def guide_text(*items: DevicePlan, apps: tuple[AppUpdate, ...] = ()) -> tuple[str, str]:
    guide = build_guide(Plan(Strategy.MINIMUM_FIX, items), apps)
    return to_markdown(guide), to_html(guide)


def test_hikvision_steps_name_hash_page_menu_and_how_to_confirm() -> None:
    markdown, page = guide_text(planned(hik_release()))
    for text in (markdown, page):
        assert SHA in text
        assert PAGE in text
        assert "IPC_R6_EN_STD_5.5.0_180101.zip" in text
        assert "sha256sum IPC_R6_EN_STD_5.5.0_180101.zip" in text
        assert "shasum -a 256 IPC_R6_EN_STD_5.5.0_180101.zip" in text
        assert "Get-FileHash -Algorithm SHA256" in text
        assert "campatch scan 192.0.2.10" in text
        assert "Do not power it off" in text
        assert "about 10 minutes" in text
        assert "CVE-2017-7921" in text
    assert "Configuration \\> System \\> Maintenance \\> Upgrade \\& Maintenance" in markdown
    assert "Configuration &gt; System &gt; Maintenance &gt; Upgrade &amp; Maintenance" in page


def test_dahua_and_axis_menu_paths_and_a_two_step_path() -> None:
    first = hik_release("2.800.0000000.25.R", vendor="Dahua", model="IPC-HDW5831R-ZE", url="")
    second = hik_release("2.800.0000000.31.R", vendor="Dahua", model="IPC-HDW5831R-ZE", url="")
    dahua = planned(second, vendor="Dahua", model="IPC-HDW5831R-ZE", path=(first, second))
    axis_release = hik_release("10.12.200", vendor="Axis", model="M3045-V", url="")
    axis = planned(axis_release, vendor="Axis", model="M3045-V")
    markdown, _ = guide_text(dahua, axis)
    assert "(usually) Setting \\> System \\> Upgrade" in markdown
    assert "(usually) Maintenance \\> Firmware upgrade" in markdown
    assert "release 1 of 2" in markdown
    assert "release 2 of 2" in markdown
    assert "Replace FIRMWARE-FILE below" in markdown  # no URL: no file name to promise


def test_flags_become_warnings_and_a_missing_hash_is_said() -> None:
    item = planned(hik_release(sha256=""), flags=(Flag.BLOCKS_DOWNGRADE, Flag.BREAKING))
    markdown, _ = guide_text(item)
    assert "cannot go back to older firmware" in markdown
    assert "read the vendor's release notes" in markdown
    assert "campatch knows no SHA-256 for this file" in markdown


def test_devices_without_a_target_are_listed_with_their_reason() -> None:
    unknown = planned(hik_release(), target=None, path=(),
                      skips=(Skip(SkipReason.FIRMWARE_UNKNOWN, "firmware version not read"),))  # fmt: skip
    markdown, _ = guide_text(unknown)
    assert "Devices without steps" in markdown
    assert "firmware version not read" in markdown


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.hrefs += [v or "" for k, v in attrs if k == "href"]


def test_hostile_device_and_feed_strings_are_escaped() -> None:
    evil = "<script>alert(1)</script>"
    release = hik_release(
        f"V5.5.0 {evil}",
        download_page="javascript:alert(1)",
        url="https://dl.example/fw/$(rm -rf ~).bin",
        sha256=f"{SHA}; rm -rf /",
    )
    item = planned(release, model=f"DS-2CD2032F-I {evil}", address="192.0.2.10\"><img src=x>",
                   current="`rm -rf /`")  # fmt: skip
    markdown, page = guide_text(item)
    parser = _Tags()
    parser.feed(page)
    assert not parser.tags & {"script", "img", "iframe"}
    assert not any(h.startswith("javascript:") for h in parser.hrefs)
    assert "default-src 'none'" in page
    assert "<script>" not in markdown
    assert "\\<script\\>" in markdown
    commands = re.findall(r"```\n\s*(.*)\n\s*```", markdown)
    commands += re.findall(r"(?<!\\)`([^`]+)`", markdown)
    assert commands
    assert not [c for c in commands if "rm" in c or "$(" in c or "<" in c]
    assert "sha256sum FIRMWARE-FILE" not in markdown  # a bad hash gives no check command
    assert "campatch knows no SHA-256" in markdown
    assert "campatch scan ADDRESS" in markdown  # an address that is no IP is not put in a command


def test_checksum_commands_cover_three_systems() -> None:
    labels = [label for label, _ in checksum_commands("digicap.dav")]
    assert labels == ["Windows (PowerShell)", "macOS (Terminal)", "Linux"]


def test_outdated_viewer_apps_say_where_to_update() -> None:
    app = ViewerApp("Hik-Connect", "Hikvision", "android", "6.2.0",
                    Provenance("test", "https://play.google.com/store/apps/details?id=x"))  # fmt: skip
    knowledge = KnowledgeBase(apps=(app,))
    updates = outdated_apps(knowledge, {("hik-connect", "android"): "5.1.0"})
    assert updates == [
        AppUpdate(
            "Hik-Connect",
            "android",
            "5.1.0",
            "6.2.0",
            "https://play.google.com/store/apps/details?id=x",
        )
    ]
    assert outdated_apps(knowledge, {("Hik-Connect", "android"): "6.2.0"}) == []
    markdown, _ = guide_text(apps=tuple(updates))
    assert "Hik-Connect on android: installed 5.1.0, latest 6.2.0" in markdown
    assert "<https://play.google.com/store/apps/details?id=x>" in markdown
