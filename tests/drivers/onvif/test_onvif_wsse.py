"""WS-Security on both sides: our signing (net/soap) and the simulator's checking."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from onvif_support import GOOD, PASSWORD, USER, camera

from campatch.config import Limits
from campatch.drivers.onvif.models import GetSystemDateAndTime
from campatch.model import Credential, Secret
from campatch.net.http import HttpClient
from campatch.net.soap import (
    PASSWORD_TEXT,
    SOAP_CONTENT_TYPE,
    SoapClient,
    created_timestamp,
    envelope,
    parse_fault,
    password_digest,
    security_header,
    soap_body,
)
from campatch.net.xml import local, parse_xml
from campatch.sim.onvif import OnvifCamera

if TYPE_CHECKING:
    from support import FleetFactory


def test_password_digest_matches_the_onvif_programmers_guide_example() -> None:
    # Worked example of the ONVIF Application Programmer's Guide (UsernameToken section).
    nonce = base64.b64decode("LKqI6G/AikKCQrN0zqZFlg==")
    assert password_digest(nonce, "2010-09-16T07:50:45Z", "userpassword") == (
        "tuOSpGlFlIXsozq4HFNeeGeFLEI="
    )


def test_created_adds_the_device_clock_offset() -> None:
    now = datetime(2024, 1, 1, 22, 30, 0, 250_000, tzinfo=UTC)
    assert created_timestamp(3 * 3600, now) == "2024-01-02T01:30:00.250Z"
    assert created_timestamp(-30, now) == "2024-01-01T22:29:30.250Z"


def test_security_header_never_contains_the_password() -> None:
    header = security_header(GOOD, nonce=b"\x01" * 16)
    assert PASSWORD not in header
    assert f"<wsse:Username>{USER}</wsse:Username>" in header


async def _post(http: HttpClient, url: str, body: bytes) -> tuple[int, bool]:
    """Send a raw envelope; returns (status, refused with ter:NotAuthorized)."""
    reply = await http.request(
        "POST", url, content=body, headers={"Content-Type": SOAP_CONTENT_TYPE}
    )
    element = soap_body(parse_xml(reply.body, what="test"), what="test", host="")
    refused = local(element.tag) == "Fault" and parse_fault(element).not_authorized
    return reply.status, refused


def _signed(nonce: bytes, *, offset_s: float = 0.0, password: str = PASSWORD) -> bytes:
    header = security_header(
        Credential(USER, Secret(password)), clock_offset_s=offset_s, nonce=nonce
    )
    return envelope("<tds:GetDeviceInformation/>", header)


async def test_sim_refuses_a_replayed_nonce(fleet_of: FleetFactory, limits: Limits) -> None:
    async with fleet_of([camera()]) as fleet, HttpClient(limits, fleet.port_map) as http:
        dev = fleet.device("dev10")
        url = http.url(dev.spec.address, 80, "/onvif/device_service")
        message = _signed(b"replay-me-please")
        assert await _post(http, url, message) == (200, False)
        assert await _post(http, url, message) == (400, True)
        assert await _post(http, url, _signed(b"a-fresh-nonce-00")) == (200, False)


async def test_sim_refuses_created_outside_five_minutes(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([camera()]) as fleet, HttpClient(limits, fleet.port_map) as http:
        dev = fleet.device("dev10")
        assert isinstance(dev, OnvifCamera)
        url = http.url(dev.spec.address, 80, "/onvif/device_service")
        assert await _post(http, url, _signed(b"n1", offset_s=-400)) == (400, True)
        assert await _post(http, url, _signed(b"n2", offset_s=+400)) == (400, True)
        assert await _post(http, url, _signed(b"n3", offset_s=+200)) == (200, False)
    assert sum(dev.lockout.attempts.values()) == 3


async def test_sim_accepts_password_text_and_refuses_a_wrong_one(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    def text_token(password: str) -> bytes:
        ns = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
        header = (
            f'<wsse:Security xmlns:wsse="{ns}"><wsse:UsernameToken>'
            f"<wsse:Username>{USER}</wsse:Username>"
            f'<wsse:Password Type="{PASSWORD_TEXT}">{password}</wsse:Password>'
            "</wsse:UsernameToken></wsse:Security>"
        )
        return envelope("<tds:GetDeviceInformation/>", header)

    async with fleet_of([camera()]) as fleet, HttpClient(limits, fleet.port_map) as http:
        url = http.url(fleet.device("dev10").spec.address, 80, "/onvif/device_service")
        assert await _post(http, url, text_token(PASSWORD)) == (200, False)
        assert await _post(http, url, text_token("nope")) == (400, True)


@pytest.mark.parametrize("operation", ["GetSystemDateAndTime", "GetServices", "GetCapabilities"])
async def test_sim_pre_auth_operations_need_no_token(
    fleet_of: FleetFactory, limits: Limits, operation: str
) -> None:
    async with fleet_of([camera()]) as fleet, HttpClient(limits, fleet.port_map) as http:
        url = http.url(fleet.device("dev10").spec.address, 80, "/onvif/device_service")
        reply = await http.request("POST", url, content=envelope(f"<tds:{operation}/>"))
        assert reply.status == 200
        element = soap_body(parse_xml(reply.body, what="t"), what="t", host="")
        assert local(element.tag) == f"{operation}Response"


async def test_sim_clock_follows_its_offset(fleet_of: FleetFactory, limits: Limits) -> None:
    async with (
        fleet_of([camera(clock_offset_s=-7200)]) as fleet,
        HttpClient(limits, fleet.port_map) as http,
    ):
        url = http.url(fleet.device("dev10").spec.address, 80, "/onvif/device_service")
        device_now = await SoapClient(http).call(url, GetSystemDateAndTime())
    skew = device_now - datetime.now(UTC)
    assert abs(skew - timedelta(hours=-2)) < timedelta(seconds=2)
