"""The generic driver's pure rules."""

from __future__ import annotations

import pytest

from campatch.drivers.generic.models import (
    MAX_SCORE,
    HostView,
    camera_hints,
    classify,
    combine,
    page_title,
    server_observations,
)
from campatch.model import Field


def view(**kw: object) -> HostView:
    kw.setdefault("tcp_ports", frozenset({80}))
    return HostView(**kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({"titles": ("TP-Link Archer C7",)}, "router"),
        ({"titles": ("FRITZ!Box",)}, "router"),
        ({"servers": ("Virata-EmWeb/R6_2_1",)}, "printer"),
        ({"tcp_ports": frozenset({9100})}, "printer"),
        ({"upnp_type": "urn:schemas-upnp-org:device:Printer:1"}, "printer"),
        ({"servers": ("Apache/2.4.57 (Debian)",)}, "web server"),
        (
            {"tcp_ports": frozenset({22}), "text_banners": ((22, "SSH-2.0-dropbear_2022.83"),)},
            "ssh server",
        ),
    ],
)
def test_classify_recognises_kinds(facts: dict[str, object], expected: str) -> None:
    verdict = classify(view(**facts))
    assert verdict is not None
    assert verdict[0] == expected


@pytest.mark.parametrize(
    "facts",
    [
        {},
        {"titles": ("502 Bad Gateway",)},  # an nginx error page is not a router
        {"tcp_ports": frozenset({22, 80}), "text_banners": ((22, "SSH-2.0-OpenSSH_9.2"),)},
    ],
)
def test_classify_abstains_or_stays_low_without_specific_evidence(facts: dict[str, object]) -> None:
    verdict = classify(view(**facts))
    assert verdict is None or verdict[1] < 0.5


@pytest.mark.parametrize(
    "facts",
    [
        {"tcp_ports": frozenset({80, 554})},
        {"rtsp": True},
        {"camera_discovery": True},
        {"servers": ("DNVRS-Webs",)},
        {"servers": ("uc-httpd 1.0.0",)},
        {"titles": ("NETSurveillance WEB",)},
        {
            "realms": ("Login to 4L0123PAZ",),
            "servers": ("nginx",),
            "titles": ("WEB SERVICE",),
            "upnp_words": ("Dahua",),
        },
    ],
)
def test_camera_hints_veto_a_verdict(facts: dict[str, object]) -> None:
    """Camera evidence wins even next to a generic web server header."""
    v = view(**{"servers": ("nginx/1.24.0",), **facts})
    assert camera_hints(v)
    assert classify(v) is None


def test_combine_treats_hints_as_independent_and_caps() -> None:
    assert combine([]) == 0.0
    assert combine([0.5, 0.5]) == 0.75
    assert combine([0.9, 0.9, 0.9]) == MAX_SCORE


def test_page_title_is_bounded_and_collapsed() -> None:
    assert page_title(b"<html><TITLE>\n  Welcome   to nginx!\n</TITLE>") == "Welcome to nginx!"
    assert page_title(b"<title>" + b"a" * 500 + b"</title>") == ""
    assert page_title(b"no title") == ""


def test_hp_server_header_gives_vendor_model_and_serial() -> None:
    obs = server_observations(
        ["HP HTTP Server; HP OfficeJet Pro 8600 - CM750A; Serial Number: CN2BFBGJ4Y; Built:Thu"]
    )
    assert [(o.field, o.value) for o in obs] == [
        (Field.VENDOR, "HP"),
        (Field.MODEL, "HP OfficeJet Pro 8600"),
        (Field.SERIAL, "CN2BFBGJ4Y"),
    ]
    assert server_observations(["nginx"]) == []
