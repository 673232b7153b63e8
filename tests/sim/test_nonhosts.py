"""The non-camera personalities (printer, router, sshd, webserver) over real sockets."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from campatch.config import Limits
from campatch.net.http import HttpClient, HttpReply
from campatch.net.xml import child_text, children_text, local, parse_xml
from campatch.sim.device import DeviceSpec, SimDevice
from campatch.sim.fleet import Fleet
from campatch.sim.printer import PRINTER_TYPE
from campatch.sim.router import CONTROL_PATH, IGD_TYPE, WAN_IP_CONNECTION
from campatch.sim.ssdp import DESCRIPTION_PATH, device_uuid, ssdp_service

#: The ``fleet_of`` fixture of tests/conftest.py.
FleetFactory = Callable[..., AbstractAsyncContextManager[Fleet]]

MAPPINGS: list[dict[str, Any]] = [
    {
        "external_port": 8554,
        "protocol": "TCP",
        "internal_client": "127.1.2.3",
        "internal_port": 554,
        "description": "lobby-cam rtsp",
    },
    {
        "external_port": 8080,
        "protocol": "TCP",
        "internal_client": "127.1.2.3",
        "internal_port": 80,
        "description": "lobby-cam web",
    },
]
ROUTER = {"personality": "router", "brand": "NETGEAR", "model": "R7000", "serial": "4AB1"}
PRINTER = {
    "personality": "printer",
    "brand": "HP",
    "model": "OfficeJet Pro 9010 series",
    "serial": "CN12345678",
    "ssdp": True,
}


def soap(action: str, **args: str | int) -> bytes:
    body = "".join(f"<{k}>{v}</{k}>" for k, v in args.items())
    return (
        '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
        's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
        f'<u:{action} xmlns:u="{WAN_IP_CONNECTION}">{body}</u:{action}></s:Body></s:Envelope>'
    ).encode()


async def call(client: HttpClient, address: str, action: str, **args: str | int) -> HttpReply:
    return await client.request(
        "POST",
        client.url(address, 5000, CONTROL_PATH),
        headers={
            "Content-Type": 'text/xml; charset="utf-8"',
            "SOAPAction": f'"{WAN_IP_CONNECTION}#{action}"',
        },
        content=soap(action, **args),
    )


def values(reply: HttpReply) -> dict[str, str]:
    root = parse_xml(reply.body, what="soap reply")
    response = next(el for el in root.iter() if local(el.tag).endswith("Response"))
    return {local(el.tag): (el.text or "") for el in response}


def fleet_client(fleet: Fleet, limits: Limits) -> HttpClient:
    return HttpClient(limits, fleet.port_map)


async def test_router_web_page_has_a_login_title(fleet_of: FleetFactory, limits: Limits) -> None:
    async with fleet_of([ROUTER]) as fleet, fleet_client(fleet, limits) as client:
        address = fleet.device("dev10").spec.address
        reply = await client.request("GET", client.url(address, 80, "/"))
    assert reply.status == 200
    assert "<title>NETGEAR Router Login</title>" in reply.text


async def test_router_igd_description_has_the_full_tree(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([ROUTER]) as fleet, fleet_client(fleet, limits) as client:
        address = fleet.device("dev10").spec.address
        reply = await client.request("GET", client.url(address, 5000, DESCRIPTION_PATH))
    root = parse_xml(reply.body, what="igd")
    types = [el.text for el in root.iter() if local(el.tag) == "deviceType"]
    assert types == [
        IGD_TYPE,
        "urn:schemas-upnp-org:device:WANDevice:1",
        "urn:schemas-upnp-org:device:WANConnectionDevice:1",
    ]
    wan_ip = next(
        svc
        for svc in root.iter()
        if local(svc.tag) == "service" and child_text(svc, "serviceType") == WAN_IP_CONNECTION
    )
    assert children_text(wan_ip, ("controlURL", "SCPDURL")) == {
        "controlURL": CONTROL_PATH,
        "SCPDURL": "/WANIPCn.xml",
    }
    fields = children_text(root, ("manufacturer", "modelName", "serialNumber", "UDN"))
    assert fields["manufacturer"] == "NETGEAR"
    assert fields["modelName"] == "R7000"
    assert fields["serialNumber"] == "4AB1"
    udns = {el.text for el in root.iter() if local(el.tag) == "UDN"}
    assert len(udns) == 3  # every embedded device has its own


async def test_router_generic_port_mapping_entries_then_fault_713(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    router = {**ROUTER, "port_mappings": MAPPINGS, "external_ip": "127.250.0.1"}
    async with fleet_of([router]) as fleet, fleet_client(fleet, limits) as client:
        address = fleet.device("dev10").spec.address
        ip = await call(client, address, "GetExternalIPAddress")
        entries = [
            await call(client, address, "GetGenericPortMappingEntry", NewPortMappingIndex=i)
            for i in range(3)
        ]
    assert values(ip) == {"NewExternalIPAddress": "127.250.0.1"}
    assert [r.status for r in entries] == [200, 200, 500]
    first = values(entries[0])
    assert first["NewExternalPort"] == "8554"
    assert first["NewInternalClient"] == "127.1.2.3"
    assert first["NewInternalPort"] == "554"
    assert first["NewProtocol"] == "TCP"
    assert first["NewPortMappingDescription"] == "lobby-cam rtsp"
    assert values(entries[1])["NewExternalPort"] == "8080"
    fault = parse_xml(entries[2].body, what="fault")
    assert child_text(fault, "errorCode") == "713"
    assert child_text(fault, "errorDescription") == "SpecifiedArrayIndexInvalid"


async def test_camera_adds_a_port_mapping_and_it_can_be_read_back(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([ROUTER]) as fleet, fleet_client(fleet, limits) as client:
        address = fleet.device("dev10").spec.address
        missing = await call(
            client,
            address,
            "GetSpecificPortMappingEntry",
            NewRemoteHost="",
            NewExternalPort=8000,
            NewProtocol="TCP",
        )
        added = await call(
            client,
            address,
            "AddPortMapping",
            NewRemoteHost="",
            NewExternalPort=8000,
            NewProtocol="TCP",
            NewInternalPort=8000,
            NewInternalClient="127.1.2.9",
            NewEnabled=1,
            NewPortMappingDescription="HIK-SDK",
            NewLeaseDuration=0,
        )
        found = await call(
            client,
            address,
            "GetSpecificPortMappingEntry",
            NewRemoteHost="",
            NewExternalPort=8000,
            NewProtocol="TCP",
        )
        conflict = await call(
            client,
            address,
            "AddPortMapping",
            NewExternalPort=8000,
            NewProtocol="TCP",
            NewInternalPort=80,
            NewInternalClient="127.1.2.10",
        )
        table = fleet.device("dev10").spec.options["port_mappings"]
    assert missing.status == 500
    assert b"<errorCode>714</errorCode>" in missing.body
    assert added.status == 200
    assert values(found)["NewInternalClient"] == "127.1.2.9"
    assert values(found)["NewPortMappingDescription"] == "HIK-SDK"
    assert b"<errorCode>718</errorCode>" in conflict.body
    assert [m["internal_client"] for m in table] == ["127.1.2.9"]


@pytest.mark.parametrize(
    ("action", "body", "code"),
    [
        ("GetGenericPortMappingEntry", "<NewPortMappingIndex>-1</NewPortMappingIndex>", b"713"),
        ("NoSuchAction", "", b"401"),
        ("AddPortMapping", "<NewExternalPort>99999</NewExternalPort>", b"402"),
    ],
)
async def test_router_control_rejects_bad_calls_with_upnp_errors(
    action: str, body: str, code: bytes, fleet_of: FleetFactory, limits: Limits
) -> None:
    envelope = soap(action).replace(f"></u:{action}>".encode(), f">{body}</u:{action}>".encode())
    async with fleet_of([ROUTER]) as fleet, fleet_client(fleet, limits) as client:
        address = fleet.device("dev10").spec.address
        reply = await client.request(
            "POST", client.url(address, 5000, CONTROL_PATH), content=envelope
        )
        junk = await client.request(
            "POST",
            client.url(address, 5000, CONTROL_PATH),
            content=b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>",
        )
    assert reply.status == 500
    assert b"<errorCode>" + code + b"</errorCode>" in reply.body
    assert b"<errorCode>401</errorCode>" in junk.body


async def test_router_with_upnp_off_has_no_igd(fleet_of: FleetFactory) -> None:
    async with fleet_of([{**ROUTER, "upnp": False}]) as fleet:
        device = fleet.device("dev10")
        assert device.udp_services() == []
        assert [s.port for s in device.tcp_services()] == [80]


async def test_printer_web_ipp_and_jetdirect(fleet_of: FleetFactory, limits: Limits) -> None:
    async with fleet_of([PRINTER]) as fleet, fleet_client(fleet, limits) as client:
        address = fleet.device("dev10").spec.address
        page = await client.request("GET", client.url(address, 80, "/"))
        request = struct.pack(">BBHI", 2, 0, 0x000B, 42) + b"\x01\x03"
        ipp = await client.request(
            "POST",
            client.url(address, 631, "/ipp/print"),
            headers={"Content-Type": "application/ipp"},
            content=request,
        )
        reader, writer = await asyncio.open_connection(address, fleet.port_map.actual(9100))
        writer.write(b"\x1b%-12345X@PJL INFO ID\r\n")
        pjl = await asyncio.wait_for(reader.readuntil(b"\x0c"), 2)
        writer.close()
    assert page.header("Server").startswith("HP HTTP Server; HP OfficeJet Pro 9010 series")
    assert "Serial Number: CN12345678" in page.header("Server")
    assert "<title>HP OfficeJet Pro 9010 series</title>" in page.text
    assert ipp.header("Content-Type") == "application/ipp"
    assert ipp.body[:8] == struct.pack(">BBHI", 2, 0, 0, 42)  # successful-ok, our request-id
    assert b"printer-make-and-model" in ipp.body
    assert b"HP OfficeJet Pro 9010 series" in ipp.body
    assert pjl == b'@PJL INFO ID\r\n"HP OfficeJet Pro 9010 series"\r\n\x0c'


async def test_printer_upnp_description_says_printer(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([PRINTER]) as fleet, fleet_client(fleet, limits) as client:
        address = fleet.device("dev10").spec.address
        reply = await client.request("GET", client.url(address, 80, DESCRIPTION_PATH))
    root = parse_xml(reply.body, what="printer description")
    assert child_text(root, "deviceType") == PRINTER_TYPE
    assert child_text(root, "manufacturer") == "HP"


async def test_sshd_sends_its_banner_and_closes_after_the_client_banner(
    fleet_of: FleetFactory,
) -> None:
    async with fleet_of([{"personality": "sshd"}]) as fleet:
        device = fleet.device("dev10")
        reader, writer = await asyncio.open_connection(
            device.spec.address, fleet.port_map.actual(22)
        )
        banner = await asyncio.wait_for(reader.readline(), 2)
        writer.write(b"SSH-2.0-campatch_test\r\n")
        rest = await asyncio.wait_for(reader.read(), 2)
        writer.close()
    assert banner == b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"
    assert rest == b""
    assert device.requests == ["ssh client b'SSH-2.0-campatch_test'"]


@pytest.mark.parametrize(
    ("flavour", "server", "title"),
    [
        ("nginx", "nginx/1.24.0", "Welcome to nginx!"),
        ("apache", "Apache/2.4.62 (Debian)", "Apache2 Debian Default Page: It works"),
    ],
)
async def test_webserver_flavours(
    flavour: str, server: str, title: str, fleet_of: FleetFactory, limits: Limits
) -> None:
    async with (
        fleet_of([{"personality": "webserver", "flavour": flavour}]) as fleet,
        fleet_client(fleet, limits) as client,
    ):
        address = fleet.device("dev10").spec.address
        reply = await client.request("GET", client.url(address, 80, "/"))
    assert reply.header("Server") == server
    assert f"<title>{title}</title>" in reply.text


# --- SSDP responder (unit and over real UDP) ------------------------------------------


def search(st: str, man: str = '"ssdp:discover"') -> bytes:
    return (
        f"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: {man}\r\nMX: 1\r\nST: {st}\r\n\r\n"
    ).encode()


async def test_ssdp_answers_only_matching_targets(fleet_of: FleetFactory) -> None:
    async with fleet_of([ROUTER]) as fleet:
        device = fleet.device("dev10")
        [service] = device.udp_services()
        udn = f"uuid:{device_uuid(device)}"
        replies = {
            st: service.handler(search(st), ("127.0.0.1", 5555))
            for st in ("ssdp:all", "upnp:rootdevice", IGD_TYPE, udn, "urn:other:device:X:1")
        }
        no_man = service.handler(search("ssdp:all", man="nope"), ("127.0.0.1", 5555))
        notify = service.handler(b"NOTIFY * HTTP/1.1\r\n\r\n", ("127.0.0.1", 5555))
    assert len(replies["ssdp:all"]) == 3
    assert [len(replies[st]) for st in ("upnp:rootdevice", IGD_TYPE, udn)] == [1, 1, 1]
    assert replies["urn:other:device:X:1"] == []
    assert no_man == notify == []
    reply = replies[IGD_TYPE][0].decode()
    assert reply.startswith("HTTP/1.1 200 OK\r\n")
    assert "CACHE-CONTROL: max-age=1800\r\n" in reply
    assert "\r\nEXT:\r\n" in reply
    assert f"LOCATION: http://{device.spec.address}:5000/upnp/desc.xml\r\n" in reply
    assert "SERVER: Linux/4.14 UPnP/1.1 MiniUPnPd/2.3.3\r\n" in reply
    assert f"USN: {udn}::{IGD_TYPE}\r\n" in reply
    assert f"USN: {udn}\r\n" in replies[udn][0].decode()


async def test_ssdp_unicast_search_over_udp(fleet_of: FleetFactory) -> None:
    async with fleet_of([ROUTER]) as fleet:
        address = fleet.device("dev10").spec.address
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.bind(("127.0.0.1", 0))
            await loop.sock_sendto(sock, search("upnp:rootdevice"), (address, 1900))
            data, sender = await asyncio.wait_for(loop.sock_recvfrom(sock, 4096), 2)
    assert sender == (address, 1900)
    assert b"ST: upnp:rootdevice\r\n" in data


def test_ssdp_service_listens_on_the_multicast_group() -> None:
    device = SimDevice(DeviceSpec(name="d", personality="t", address="127.0.0.9"))
    service = ssdp_service(device, device_type="urn:x:device:Basic:1", location_port=80, server="S")
    assert (service.port, service.multicast_group) == (1900, "239.255.255.250")
    assert service.handler(b"M" * 10_000, ("127.0.0.1", 1)) == []
