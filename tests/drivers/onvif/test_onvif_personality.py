"""The generic ONVIF camera personality: which ports speak what."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from onvif_support import camera

from campatch.config import Limits
from campatch.net.http import HttpClient
from campatch.net.rtsp import rtsp_request
from campatch.net.soap import envelope

if TYPE_CHECKING:
    from support import FleetFactory


async def test_rtsp_answers_with_the_gstreamer_banner(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([camera()]) as fleet:
        address = fleet.device("dev10").spec.address
        reply = await rtsp_request(address, 554, "OPTIONS", limits=limits, port_map=fleet.port_map)
    assert reply.status == 200
    assert reply.header("Server") == "GStreamer RTSP server"


async def test_xiongmai_style_onvif_port_leaves_port_80_to_the_web_ui(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    soap = envelope("<tds:GetSystemDateAndTime/>")
    async with (
        fleet_of([camera(onvif_port=8899, http_server="uc-httpd 1.0.0")]) as fleet,
        HttpClient(limits, fleet.port_map) as http,
    ):
        address = fleet.device("dev10").spec.address
        web = await http.request("GET", http.url(address, 80, "/"))
        on_80 = await http.request(
            "POST", http.url(address, 80, "/onvif/device_service"), content=soap
        )
        on_8899 = await http.request(
            "POST", http.url(address, 8899, "/onvif/device_service"), content=soap
        )
    assert (web.status, web.header("Server")) == (200, "uc-httpd 1.0.0")
    assert on_80.status == 404
    assert on_8899.status == 200
    assert b"GetSystemDateAndTimeResponse" in on_8899.body


async def test_telnet_only_when_the_spec_says_so(fleet_of: FleetFactory) -> None:
    async with fleet_of([camera(telnet=True), camera()]) as fleet:
        with_telnet, without = (d.spec.address for d in fleet.devices.values())
        port = fleet.port_map.actual(23)
        reader, writer = await asyncio.wait_for(asyncio.open_connection(with_telnet, port), 1.0)
        banner = await asyncio.wait_for(reader.read(256), 1.0)
        writer.close()
        await writer.wait_closed()
        refused = False
        try:
            _, w = await asyncio.wait_for(asyncio.open_connection(without, port), 1.0)
            w.close()
        except OSError:
            refused = True
    assert banner
    assert refused
