"""SAFETY I-01: hostile XML in an ONVIF GetDeviceInformation reply is refused, fast and cold."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
from onvif_support import GOOD, camera, web_candidate

from campatch.config import Limits, PortMap
from campatch.drivers.interface import Banners
from campatch.drivers.onvif import OnvifDriver
from campatch.errors import DeviceResponseError
from campatch.sim.fleet import LOW_PORT_OFFSET, can_bind_low_ports, specs_from_dicts
from campatch.sim.http import HttpRequest, HttpResponse, serve_http
from campatch.sim.onvif import OnvifCamera
from support import fresh_subnet, probe_context

if TYPE_CHECKING:
    pass


ENV = (
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>{}</s:Body></s:Envelope>'
)
INFO = "<tds:GetDeviceInformationResponse xmlns:tds='http://www.onvif.org/ver10/device/wsdl'><tds:Manufacturer>{}</tds:Manufacturer></tds:GetDeviceInformationResponse>"


def hostile_documents(trap_port: int) -> dict[str, bytes]:
    """The five XML attack classes of SAFETY I-01, each as a GetDeviceInformation reply."""
    laughs = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)
    )
    trap = f"http://127.0.0.1:{trap_port}"
    docs = {
        "billion-laughs": (f"<!DOCTYPE s:Envelope [{laughs}]>", "&l9;"),
        "quadratic-blowup": (
            f'<!DOCTYPE s:Envelope [<!ENTITY a "{"a" * 50_000}">]>',
            "&a;" * 10_000,
        ),
        "xxe-local": ('<!DOCTYPE s:Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "&x;"),
        "xxe-remote": (f'<!DOCTYPE s:Envelope [<!ENTITY x SYSTEM "{trap}/x">]>', "&x;"),
        "dtd-retrieval": (f'<!DOCTYPE s:Envelope SYSTEM "{trap}/evil.dtd">', "Acme"),
    }
    return {k: (d + ENV.format(INFO.format(v))).encode() for k, (d, v) in docs.items()}


@pytest.fixture
async def trap() -> AsyncIterator[tuple[int, list[str]]]:
    """A loopback listener that records every connection (there must be none)."""
    hits: list[str] = []

    async def on_connect(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        hits.append(str(w.get_extra_info("peername")))
        w.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1], hits
    server.close()
    await server.wait_closed()


@pytest.mark.safety("I-01")
@pytest.mark.parametrize(
    "attack", ["billion-laughs", "quadratic-blowup", "xxe-local", "xxe-remote", "dtd-retrieval"]
)
async def test_I01_hostile_device_information_is_refused(
    attack: str, trap: tuple[int, list[str]], limits: Limits
) -> None:
    trap_port, hits = trap
    address = f"{fresh_subnet()}.10"
    port_map = PortMap(low_port_offset=0 if can_bind_low_ports() else LOW_PORT_OFFSET)
    spec = specs_from_dicts([{**camera(), "name": "honest", "address": address}])[0]
    honest = OnvifCamera(spec, time.monotonic)
    payload = hostile_documents(trap_port)[attack]

    async def handler(request: HttpRequest) -> HttpResponse:
        if b"GetSystemDateAndTime" in request.body:  # the clock is honest: the driver gets that far
            answer = await honest.onvif.handle(request)
            assert answer is not None
            return answer
        return HttpResponse(200, payload, [("Content-Type", "application/soap+xml")])

    server = await asyncio.start_server(serve_http(handler, None), address, port_map.actual(80))
    try:
        async with probe_context(limits, port_map) as ctx:
            driver, candidate = OnvifDriver(), web_candidate(address)
            fp = await driver.fingerprint(candidate, Banners(), ctx)
            tracemalloc.start()
            started = time.perf_counter()
            with pytest.raises(DeviceResponseError, match="hostile XML"):
                await driver.identify(candidate, GOOD, ctx)
            elapsed = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    finally:
        server.close()
        await server.wait_closed()
    assert fp is not None, "fingerprint survives a hostile reply"
    assert fp.observations == ()
    assert hits == [], "the parser fetched nothing"
    assert elapsed < 0.2
    assert peak < 20 * 1024 * 1024
