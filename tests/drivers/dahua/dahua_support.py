"""Helpers for the Dahua tests: device dicts, fake DHIP responders."""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from campatch.config import Limits
from campatch.model import Candidate, Credential, Secret
from campatch.net.http import HttpClient
from campatch.sim.flash import SimImage, build_image
from campatch.sim.fleet import Fleet
from support import tcp_candidate

USER = "admin"
DAHUA_PASSWORD = "Yard#2020"
GOOD = Credential(USER, Secret(DAHUA_PASSWORD))
BAD = Credential(USER, Secret("not-the-Password-1"))


def dahua_cam(**overrides: Any) -> dict[str, Any]:
    """A Dahua-branded camera (values from VENDORS.md §2's getSystemInfo example)."""
    spec: dict[str, Any] = {
        "personality": "dahua",
        "model": "IPC-HDW5831R-ZE",
        "hardware": "1.00",
        "firmware": "2.800.0000016.0.R",
        "build": "2020-06-05",
        "serial": "4X7C5A1ZAG21L3F",
        "mac": "14:a7:8b:20:00:21",
        "device_type": "IPC-HDW5830R-Z",
        "users": {USER: DAHUA_PASSWORD},
        "onvif": False,
    }
    spec.update(overrides)
    return spec


def amcrest_cam(**overrides: Any) -> dict[str, Any]:
    """An Amcrest-branded camera on Dahua firmware."""
    spec = dahua_cam(
        brand="Amcrest",
        model="IP8M-2496EB",
        hardware="1.01",
        firmware="2.800.0000000.25.R",
        build="2021-07-19",
        serial="AMC0123456789ABCD",
        mac="9c:8e:cd:20:00:22",
        device_type="IPC-HDW2831T",
    )
    spec.update(overrides)
    return spec


def lorex_nvr(**overrides: Any) -> dict[str, Any]:
    """A Lorex-branded NVR on Dahua firmware."""
    spec = dahua_cam(
        brand="Lorex",
        model="N841A8",
        hardware="2.00",
        firmware="4.001.0000000.3.R",
        build="2022-03-14",
        serial="ND012205000123",
        mac="00:65:1e:20:00:23",
        device_type="NVR4108HS-8P-4KS2",
    )
    spec.update(overrides)
    return spec


def web_candidate(address: str) -> Candidate:
    """What the TCP probe reports for a Dahua device: web, RTSP and the SDK port."""
    return tcp_candidate(address, (80, "http"), (554, "rtsp"), (37777, "dahua-sdk"))


def auth_requests(requests: list[str]) -> list[str]:
    """The logged HTTP requests of a simulated device that carried credentials."""
    return [r for r in requests if r.startswith("http ") and " auth=-" not in r]


Reply = Callable[[bytes, tuple[str, int]], list[tuple[bytes, str]]]


class _Responder(asyncio.DatagramProtocol):
    """Answers each datagram with ``reply(data, peer)``: (payload, from address) pairs."""

    def __init__(self, reply: Reply, senders: dict[str, asyncio.DatagramTransport]) -> None:
        self.reply = reply
        self.senders = senders
        self.received: list[bytes] = []

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.append(data)
        for payload, source in self.reply(data, addr):
            self.senders[source].sendto(payload, addr)


@asynccontextmanager
async def fake_dhip(
    listen: str, reply: Reply, extra_sources: tuple[str, ...] = (), port: int = 37810
) -> AsyncIterator[_Responder]:
    """A hostile DHIP responder on ``listen``:37810 that may answer from other addresses."""
    loop = asyncio.get_running_loop()
    senders: dict[str, asyncio.DatagramTransport] = {}
    responder = _Responder(reply, senders)
    async with AsyncExitStack() as stack:
        transport, _ = await loop.create_datagram_endpoint(
            lambda: responder, local_addr=(listen, port)
        )
        stack.callback(transport.close)
        senders[listen] = transport
        for source in extra_sources:
            extra, _ = await loop.create_datagram_endpoint(
                asyncio.DatagramProtocol, local_addr=(source, port)
            )
            stack.callback(extra.close)
            senders[source] = extra
        yield responder


def dhip_datagram(body: bytes) -> bytes:
    """``body`` behind the 32-byte DHIP header, framed as the firmware frames it."""
    size = struct.pack("<Q", len(body))
    return b"\x20\x00\x00\x00DHIP" + bytes(8) + size + size + body


def dhip_reply(serial: str, *, claimed_ip: str = "", vendor: str = "Dahua") -> bytes:
    """A well-formed ``client.notifyDevInfo`` datagram."""
    info = {
        "DeviceClass": "IPC",
        "DeviceType": "IPC-HFW2431S",
        "SerialNo": serial,
        "Version": "2.800.0000000.1.R",
        "Vendor": vendor,
        "IPv4Address": {"IPAddress": claimed_ip},
    }
    message = {"mac": "", "method": "client.notifyDevInfo", "params": {"deviceInfo": info}}
    return dhip_datagram(json.dumps(message).encode())


NEW_FIRMWARE = "2.800.0000016.1.R"  # same Dahua line as 2.800.0000016.0.R, newer
NEW_BUILD = "2021-01-11"


def dahua_image(
    device: dict[str, Any], *, version: str = NEW_FIRMWARE, build: str = NEW_BUILD, **kw: Any
) -> bytes:
    """A simulator firmware image for ``device`` (a dict from :func:`dahua_cam` ...);
    ``model=``/``hardware=``/``size=`` override."""
    size = int(kw.pop("size", 256 * 1024))
    header = SimImage(
        vendor="Dahua",
        model=kw.pop("model", device["model"]),
        hardware=kw.pop("hardware", device["hardware"]),
        version=version,
        build=build,
        **kw,
    )
    return build_image(header, size=size)


class StepClock:
    """A device clock that moves only when a test says so (flash and reboot timing)."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds


async def lock_web(fleet: Fleet, limits: Limits, address: str, failures: int = 5) -> None:
    """Lock the device's web login for this client with real refused Digest logins."""
    async with HttpClient(limits, fleet.port_map) as http:
        url = http.url(address, 80, "/cgi-bin/magicBox.cgi?action=getMachineName")
        for _ in range(failures):
            reply = await http.request("GET", url, credential=BAD)
            assert reply.status == 401
