"""Pure decoders of Hikvision payloads, fed with recorded bytes (VENDORS.md §1 captures)."""

from __future__ import annotations

import pytest

from campatch.drivers.hikvision.models import (
    DeviceInfo,
    IllegalLoginLock,
    SadpProbeMatch,
    UserCheck,
    device_type_from_model,
    sadp_inquiry,
    split_software_version,
)
from campatch.errors import DeviceResponseError

DEVICE_INFO = b"""<?xml version="1.0" encoding="UTF-8"?>
<DeviceInfo version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">
  <deviceName>IP CAMERA</deviceName>
  <deviceID>8a620000-4af4-11b4-82c5-50e538bbaad1</deviceID>
  <model>DS-2CD63C5G1-IVS</model>
  <serialNumber>DS-2CD63C5G1-IVS20250709AAWRGB0034379</serialNumber>
  <macAddress>50:e5:38:bb:aa:d1</macAddress>
  <firmwareVersion>V5.8.3</firmwareVersion>
  <firmwareReleasedDate>build 240821</firmwareReleasedDate>
  <encoderVersion>V7.3</encoderVersion>
  <encoderReleasedDate>build 240715</encoderReleasedDate>
  <deviceType>IPCamera</deviceType>
  <manufacturer>hikvision</manufacturer>
</DeviceInfo>
"""

LOCKED = (
    b"<userCheck><statusValue>401</statusValue><statusString>Unauthorized</statusString>"
    b"<lockStatus>lock</lockStatus><unlockTime>210</unlockTime><retryLoginTime>0</retryLoginTime>"
    b"</userCheck>"
)

PROBE_MATCH = b"""<?xml version="1.0" encoding="UTF-8"?>
<ProbeMatch><Uuid>11223344-5566-7788-9900-112233445566</Uuid>
<Types>inquiry</Types><DeviceType>20008</DeviceType>
<DeviceDescription>DS-2CD2432F-IW</DeviceDescription>
<DeviceSN>DS-2CD2432F-IW20150101AAWR123456</DeviceSN>
<CommandPort>8000</CommandPort><HttpPort>80</HttpPort><MAC>44-19-b6-aa-bb-cc</MAC>
<IPv4Address>192.0.2.64</IPv4Address><SoftwareVersion>V5.3.0build 150513</SoftwareVersion>
<DSPVersion>V5.0build 150327</DSPVersion><BootTime>2024-01-15 08:30:00</BootTime>
<Activated>false</Activated><PasswordResetAbility>true</PasswordResetAbility></ProbeMatch>
"""


def test_device_info_decodes_the_captured_document() -> None:
    info = DeviceInfo.decode(DEVICE_INFO)
    assert (info.model, info.serial, info.mac) == (
        "DS-2CD63C5G1-IVS",
        "DS-2CD63C5G1-IVS20250709AAWRGB0034379",
        "50:e5:38:bb:aa:d1",
    )
    assert (info.firmware, info.build, info.device_type) == ("V5.8.3", "build 240821", "IPCamera")
    assert (info.encoder, info.manufacturer, info.hardware) == ("V7.3", "hikvision", "")


@pytest.mark.parametrize(
    "data",
    [
        b"<ResponseStatus><statusCode>4</statusCode></ResponseStatus>",
        b"<DeviceInfo><deviceName>x</deviceName></DeviceInfo>",
        b"<DeviceInfo><model>x</model>",
        b"not xml at all",
    ],
)
def test_device_info_refuses_what_is_not_a_device_info(data: bytes) -> None:
    with pytest.raises(DeviceResponseError):
        DeviceInfo.decode(data, host="127.0.0.9")


@pytest.mark.safety("I-01")
def test_i01_device_info_refuses_entities_and_dtds() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b"<DeviceInfo><model>&b;</model></DeviceInfo>"
    )
    with pytest.raises(DeviceResponseError, match="hostile"):
        DeviceInfo.decode(bomb)


def test_user_check_lock_body() -> None:
    check = UserCheck.decode(LOCKED)
    assert check.locked
    assert check.near_lock
    assert (check.lock_status, check.unlock_time_s, check.retry_login_time) == ("lock", 210, 0)


@pytest.mark.parametrize(
    ("retry", "near"), [("3", False), ("2", False), ("1", True), ("0", True), ("x", False)]
)
def test_user_check_near_lock_follows_retry_login_time(retry: str, near: bool) -> None:
    body = (
        "<userCheck><statusValue>401</statusValue><lockStatus>unlock</lockStatus>"
        f"<unlockTime>0</unlockTime><retryLoginTime>{retry}</retryLoginTime></userCheck>"
    ).encode()
    check = UserCheck.decode(body)
    assert not check.locked
    assert check.near_lock is near


def test_user_check_success_body() -> None:
    body = (
        b'<userCheck version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">'
        b"<statusValue>200</statusValue><statusString>OK</statusString>"
        b"<isDefaultPassword>true</isDefaultPassword><isRiskPassword>false</isRiskPassword>"
        b"<isActivated>true</isActivated></userCheck>"
    )
    check = UserCheck.decode(body)
    assert (check.status, check.is_default_password, check.is_activated) == (200, True, True)
    assert check.lock_status is None
    assert not check.locked


def test_illegal_login_lock_policy() -> None:
    body = (
        b'<IllegalLoginLock version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">'
        b"<enabled>true</enabled><maxIllegalLoginTimes>5</maxIllegalLoginTimes>"
        b"<maxIllegalLoginLockTime>1800</maxIllegalLoginLockTime></IllegalLoginLock>"
    )
    assert IllegalLoginLock.decode(body) == IllegalLoginLock(True, 5, 1800)


def test_sadp_probe_match_decodes() -> None:
    m = SadpProbeMatch.decode(PROBE_MATCH)
    assert (m.model, m.serial, m.mac) == (
        "DS-2CD2432F-IW",
        "DS-2CD2432F-IW20150101AAWR123456",
        "44-19-b6-aa-bb-cc",
    )
    assert (m.firmware, m.build, m.command_port, m.http_port) == (
        "V5.3.0",
        "build 150513",
        8000,
        80,
    )
    assert (m.device_code, m.activated, m.password_reset_ability) == ("20008", False, True)


@pytest.mark.parametrize(
    "data",
    [
        b"<Probe><Uuid>x</Uuid><Types>inquiry</Types></Probe>",
        b"\x00\x01binary",
        b'<!DOCTYPE p [<!ENTITY e SYSTEM "file:///etc/passwd">]><ProbeMatch>&e;</ProbeMatch>',
    ],
)
def test_sadp_probe_match_refuses_other_datagrams(data: bytes) -> None:
    with pytest.raises(DeviceResponseError):
        SadpProbeMatch.decode(data)


def test_sadp_probe_match_refuses_oversized_datagram() -> None:
    with pytest.raises(DeviceResponseError):
        SadpProbeMatch.decode(PROBE_MATCH + b" " * 100, max_bytes=len(PROBE_MATCH))


def test_sadp_probe_match_drops_nonsense_ports_and_cuts_long_fields() -> None:
    data = PROBE_MATCH.replace(b"<HttpPort>80<", b"<HttpPort>99999<").replace(
        b"DS-2CD2432F-IW</DeviceDescription>", b"M" * 5000 + b"</DeviceDescription>"
    )
    m = SadpProbeMatch.decode(data)
    assert m.http_port is None
    assert len(m.model) == 256


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("V5.5.0build 170725", ("V5.5.0", "build 170725")),
        ("V5.7.3 build 220112", ("V5.7.3", "build 220112")),
        ("V4.0.1", ("V4.0.1", "")),
        ("garbage", ("", "")),
    ],
)
def test_split_software_version(text: str, expected: tuple[str, str]) -> None:
    assert split_software_version(text) == expected


@pytest.mark.parametrize(
    ("model", "kind"),
    [
        ("DS-2CD2142FWD-I", "IPCamera"),
        ("DS-7608NI-K2", "NVR"),
        ("DS-7208HGHI-F1", "DVR"),
        ("AC-100", ""),
    ],
)
def test_device_type_from_model(model: str, kind: str) -> None:
    assert device_type_from_model(model) == kind


def test_sadp_inquiry_escapes_and_round_trips() -> None:
    data = sadp_inquiry("A<B")
    assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>A&lt;B</Uuid>')
    assert data.endswith(b"<Types>inquiry</Types></Probe>")
