"""The simulated Hikvision device speaks the vendor's wire format (checked over sockets)."""

from __future__ import annotations

import asyncio

from hik_support import BAD, GOOD, USER, camera

from campatch.drivers.hikvision.models import DeviceInfo, IllegalLoginLock, UserCheck
from campatch.model import Credential, Secret
from campatch.net.http import HttpClient
from campatch.net.rtsp import rtsp_request
from campatch.sim.hikvision import SDK_REPLY

DEVICE_INFO = "/ISAPI/System/deviceInfo"


class FakeClock:
    """A clock tests move by hand (lockout timing without sleeping)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_401_has_the_captured_header_set_and_a_user_check(fleet_of, limits) -> None:
    async with fleet_of([camera()], multicast=False) as fleet:
        address = fleet.device("dev10").spec.address
        async with HttpClient(limits, fleet.port_map) as http:
            reply = await http.request("GET", http.url(address, 80, DEVICE_INFO))
    assert reply.status == 401
    names = [k.lower() for k, _ in reply.headers.multi_items()]
    assert names[:5] == [
        "server",
        "x-frame-options",
        "content-type",
        "www-authenticate",
        "www-authenticate",
    ]
    assert reply.header("Server") == "Webs"
    assert reply.header("Content-Type") == 'application/xml; charset="UTF-8"'
    digest, basic = reply.all_headers("WWW-Authenticate")
    realm = digest.split('realm="', 1)[1].split('"', 1)[0]
    assert len(realm) == 24
    assert int(realm, 16) >= 0  # a hex string, as on current firmware
    assert ', domain="::", qop="auth", nonce="' in digest
    assert digest.endswith('opaque="", algorithm="MD5", stale="FALSE"')
    assert basic == f'Basic realm="{realm}"'
    check = UserCheck.decode(reply.body)
    assert (check.status, check.lock_status, check.retry_login_time) == (401, "unlock", 5)


async def test_device_info_matches_the_spec(fleet_of, limits) -> None:
    async with fleet_of([camera(server_header="App-webs/")], multicast=False) as fleet:
        spec = fleet.device("dev10").spec
        async with HttpClient(limits, fleet.port_map) as http:
            reply = await http.request(
                "GET", http.url(spec.address, 80, DEVICE_INFO), credential=GOOD
            )
    assert reply.status == 200
    assert reply.header("Server") == "App-webs/"
    assert b'xmlns="http://www.hikvision.com/ver20/XMLSchema"' in reply.body
    assert b"<hardwareVersion>" not in reply.body  # the spec gives none
    info = DeviceInfo.decode(reply.body)
    assert (info.model, info.serial, info.mac) == (spec.model, spec.serial, spec.mac)
    assert (info.firmware, info.build, info.device_type) == ("V5.5.0", "build 170725", "IPCamera")
    assert info.serial.startswith(info.model)


async def test_lock_after_max_failures_refuses_even_the_right_password(fleet_of, limits) -> None:
    clock = FakeClock()
    cam = camera(lockout_max_failures=3, lockout_seconds=600)
    async with fleet_of([cam], multicast=False, clock=clock) as fleet:
        dev = fleet.device("dev10")
        async with HttpClient(limits, fleet.port_map) as http:
            url = http.url(dev.spec.address, 80, DEVICE_INFO)
            retries = [
                UserCheck.decode((await http.request("GET", url, credential=BAD)).body)
                for _ in range(3)
            ]
            locked = await http.request("GET", url, credential=GOOD)
            rtsp = await rtsp_request(
                dev.spec.address,
                554,
                "DESCRIBE",
                "/Streaming/Channels/101",
                limits=limits,
                port_map=fleet.port_map,
                credential=GOOD,
            )
            clock.now += 601
            unlocked = await http.request("GET", url, credential=GOOD)
    assert [r.retry_login_time for r in retries] == [2, 1, 0]
    assert retries[-1].locked
    check = UserCheck.decode(locked.body)
    assert (locked.status, check.lock_status, check.unlock_time_s, check.retry_login_time) == (
        401,
        "lock",
        600,
        0,
    )
    assert rtsp.status == 401  # one lock for every protocol
    assert unlocked.status == 200
    assert dev.lockout.lock_events == 1


async def test_user_check_and_illegal_login_lock(fleet_of, limits) -> None:
    legacy = camera(users={USER: "12345"}, lockout_max_failures=7, lockout_seconds=900)
    async with fleet_of([legacy, camera()], multicast=False) as fleet:
        old, new = (fleet.device(n).spec.address for n in ("dev10", "dev11"))
        async with HttpClient(limits, fleet.port_map) as http:
            default_pw = Credential(USER, Secret("12345"))
            old_check = await http.request(
                "GET", http.url(old, 80, "/ISAPI/Security/userCheck"), credential=default_pw
            )
            new_check = await http.request(
                "GET", http.url(new, 80, "/ISAPI/Security/userCheck"), credential=GOOD
            )
            policy = await http.request(
                "GET", http.url(old, 80, "/ISAPI/Security/illegalLoginLock"), credential=default_pw
            )
            anonymous = await http.request(
                "GET", http.url(old, 80, "/ISAPI/Security/illegalLoginLock")
            )
    assert UserCheck.decode(old_check.body).is_default_password is True
    assert UserCheck.decode(new_check.body).is_default_password is False
    assert UserCheck.decode(new_check.body).status == 200
    assert IllegalLoginLock.decode(policy.body) == IllegalLoginLock(True, 7, 900)
    assert anonymous.status == 401


async def test_sdk_port_answers_with_the_ipcam_reply(fleet_of) -> None:
    async with fleet_of([camera()], multicast=False) as fleet:
        address = fleet.device("dev10").spec.address
        reader, writer = await asyncio.open_connection(address, fleet.port_map.actual(8000))
        writer.write(b"\x00\x00\x00\x20hello")
        await writer.drain()
        reply = await asyncio.wait_for(reader.read(64), 2.0)
        closed = await asyncio.wait_for(reader.read(1), 2.0)
        writer.close()
    assert reply == SDK_REPLY == bytes.fromhex("000000100000001e0000001e00000000")
    assert closed == b""


async def test_rtsp_challenges_with_the_hikvision_realm(fleet_of, limits) -> None:
    async with fleet_of([camera()], multicast=False) as fleet:
        address = fleet.device("dev10").spec.address
        reply = await rtsp_request(
            address,
            554,
            "DESCRIBE",
            "/Streaming/Channels/101",
            limits=limits,
            port_map=fleet.port_map,
        )
    assert reply.status == 401
    assert reply.all_headers("WWW-Authenticate")[0].startswith('Digest realm="Hikvision"')


async def test_web_root_onvif_and_upnp_description(fleet_of, limits) -> None:
    async with fleet_of([camera(ssdp=True, onvif=True)], multicast=False) as fleet:
        address = fleet.device("dev10").spec.address
        async with HttpClient(limits, fleet.port_map) as http:
            root = await http.request("GET", http.url(address, 80, "/"))
            desc = await http.request("GET", http.url(address, 80, "/upnp/desc.xml"))
            onvif = await http.request(
                "POST",
                http.url(address, 80, "/onvif/device_service"),
                headers={"Content-Type": "application/soap+xml"},
                content=(
                    b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
                    b'<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/>'
                    b"</s:Body></s:Envelope>"
                ),
            )
    assert (root.status, root.header("Server")) == (200, "Webs")
    assert b"/doc/page/login.asp" in root.body
    assert desc.status == 200
    assert b"urn:schemas-upnp-org:device:Basic:1" in desc.body
    assert onvif.status == 200
    assert b"SystemDateAndTime" in onvif.body


async def test_telnet_only_when_the_spec_asks(fleet_of) -> None:
    async with fleet_of([camera(telnet=True), camera()], multicast=False) as fleet:
        with_telnet, without = (fleet.device(n).spec.address for n in ("dev10", "dev11"))
        port = fleet.port_map.actual(23)
        reader, writer = await asyncio.open_connection(with_telnet, port)
        greeting = await asyncio.wait_for(reader.read(64), 2.0)
        writer.close()
        refused = False
        try:
            await asyncio.open_connection(without, port)
        except ConnectionRefusedError:
            refused = True
    assert greeting
    assert refused
