"""Dahua wire models: decoding recorded replies, no I/O."""

from __future__ import annotations

import json
import struct

import pytest

from campatch.drivers.dahua.dhip import SEARCH
from campatch.drivers.dahua.models import (
    DHIP_MAX_JSON_BYTES,
    DhipDeviceInfo,
    SoftwareVersion,
    SystemInfo,
    brand_of,
    class_prefix,
    decode_mac,
    decode_single,
    device_class_of,
    dhip_frame,
)
from campatch.errors import DeviceResponseError
from campatch.model import DeviceClass

# VENDORS.md §2 (S-DAHUA-HA).
SYSTEM_INFO = (
    "appAutoStart=true\r\ndeviceType=IPC-HDW5831R-ZE\r\nhardwareVersion=1.00\r\n"
    "processor=S3LM\r\nserialNumber=4X7C5A1ZAG21L3F\r\nupdateSerial=IPC-HDW5830R-Z\r\n"
)

# The shape of the DHIP reply quoted in a public amplification advisory, addresses
# replaced by loopback ones.
CAPTURED_DHIP_JSON = (
    '{ "mac" : "4c:11:bf:c2:0b:9d", "method" : "client.notifyDevInfo", "params" : '
    '{ "deviceInfo" : { "AlarmInputChannels" : 0, "AlarmOutputChannels" : 0, '
    '"DeviceClass" : "IPC", "DeviceType" : "IPC-HDW5421S", "HttpPort" : 80, '
    '"IPv4Address" : { "DefaultGateway" : "127.5.136.1", "DhcpEnable" : false, '
    '"IPAddress" : "127.5.136.140", "SubnetMask" : "255.255.255.0" }, '
    '"MachineName" : "1F006E4PAX00075", "Manufacturer" : "Private", "Port" : 37777, '
    '"RemoteVideoInputChannels" : 0, "SerialNo" : "1F006E4PAX00075", "Vendor" : "Dahua", '
    '"Version" : "2.400.0.8", "VideoInputChannels" : 1, "VideoOutputChannels" : 16 } } }'
)


def _framed(body: bytes) -> bytes:
    return b"\x20\x00\x00\x00DHIP" + bytes(8) + struct.pack("<QQ", len(body), len(body)) + body


def test_system_info_decodes_the_documented_reply() -> None:
    info = SystemInfo.decode(SYSTEM_INFO)
    assert info == SystemInfo(
        device_type="IPC-HDW5831R-ZE",
        hardware="1.00",
        serial="4X7C5A1ZAG21L3F",
        processor="S3LM",
        update_serial="IPC-HDW5830R-Z",
    )


@pytest.mark.parametrize(
    "body",
    ["Error\r\nBad Request!\r\n", "Invalid Authority!", "", "\x00\x01\x02garbage", "no pairs"],
)
def test_system_info_rejects_error_and_garbage_bodies(body: str) -> None:
    with pytest.raises(DeviceResponseError):
        SystemInfo.decode(body, host="127.0.0.9")


@pytest.mark.parametrize(
    ("value", "firmware", "build"),
    [
        ("2.800.0000016.0.R,build:2020-06-05", "2.800.0000016.0.R", "2020-06-05"),
        ("2.400.0.8", "2.400.0.8", ""),
        ("4.001.0000000.3.R, build : 2022-03-14", "4.001.0000000.3.R", "2022-03-14"),
    ],
)
def test_software_version_splits_firmware_and_build(value: str, firmware: str, build: str) -> None:
    assert SoftwareVersion.decode(f"version={value}\r\n") == SoftwareVersion(firmware, build)


def test_single_value_and_mac_decoders() -> None:
    assert decode_single("vendor=Amcrest\r\n", "vendor", what="getVendor") == "Amcrest"
    with pytest.raises(DeviceResponseError):
        decode_single("vendor=\r\n", "vendor", what="getVendor")
    network = (
        "table.Network.DefaultInterface=eth2\r\n"
        "table.Network.eth0.PhysicalAddress=00:00:00:00:00:00\r\n"
        "table.Network.eth2.PhysicalAddress=9C-8E-CD-20-00-22\r\n"
    )
    assert decode_mac(network) == "9c:8e:cd:20:00:22"
    with pytest.raises(DeviceResponseError):
        decode_mac("table.Network.eth0.PhysicalAddress=ff:ff:ff:ff:ff:ff\r\n")


@pytest.mark.parametrize(
    ("kind", "prefix", "device_class"),
    [
        ("IPC-HDW5831R-ZE", "IPC", DeviceClass.CAMERA),
        ("DHI-NVR5216-16P-4KS2E", "NVR", DeviceClass.NVR),
        ("XVR5108HS", "XVR", DeviceClass.DVR),
        ("HCVR4104C", "HCVR", DeviceClass.DVR),
        ("N841A8", "", DeviceClass.UNKNOWN),
    ],
)
def test_device_class_from_model_prefix(kind: str, prefix: str, device_class: DeviceClass) -> None:
    assert class_prefix(kind) == prefix
    assert device_class_of(kind) is device_class


def test_brand_ignores_white_label_vendor_values() -> None:
    assert brand_of("Lorex") == "Lorex"
    assert brand_of(" General ") is None
    assert brand_of("Private") is None


def test_search_frame_is_the_configtool_probe() -> None:
    body = b'{"method":"DHDiscover.search","params":{"mac":"","uni":1}}'
    expected = bytes.fromhex("20000000 44484950 0000000000000000")
    expected += struct.pack("<Q", len(body)) * 2 + body
    assert expected == SEARCH


def test_dhip_reply_decodes_captured_shape() -> None:
    info = DhipDeviceInfo.decode(_framed(CAPTURED_DHIP_JSON.encode()))
    assert info == DhipDeviceInfo(
        model="IPC-HDW5421S",
        device_class="IPC",
        serial="1F006E4PAX00075",
        firmware="2.400.0.8",
        vendor="Dahua",
        name="1F006E4PAX00075",
        mac="4c:11:bf:c2:0b:9d",
        address="127.5.136.140",
        http_port=80,
        sdk_port=37777,
    )


def test_dhip_frame_round_trips() -> None:
    message = json.loads(CAPTURED_DHIP_JSON)
    assert DhipDeviceInfo.decode(dhip_frame(message, pretty=True)).serial == "1F006E4PAX00075"


@pytest.mark.safety("I-07")
@pytest.mark.parametrize(
    "datagram",
    [
        b"",
        b"\xff",
        b"DHIP" * 10,
        _framed(b"{not json"),
        _framed(b"[" * 100_000),
        _framed(b"[" * 5_000 + b"]" * 5_000),
        _framed(b'{"method":"client.notifyDevInfo","params":{"deviceInfo":[]}}'),
        _framed(b'{"method":"client.notifyDevInfo","params":{"deviceInfo":{"HttpPort":80}}}'),
        _framed(b'{"method":"DHDiscover.search","params":{"mac":"","uni":1}}'),
        _framed(
            b'{"method":"client.notifyDevInfo","params":{"deviceInfo":{"SerialNo":"'
            + b"A" * DHIP_MAX_JSON_BYTES
            + b'"}}}'
        ),
        _framed("\udcff".encode("utf-8", "surrogatepass")),
    ],
)
def test_i07_hostile_dhip_datagrams_raise_only_the_declared_error(datagram: bytes) -> None:
    with pytest.raises(DeviceResponseError):
        DhipDeviceInfo.decode(datagram, host="127.0.0.9")


def test_dhip_reply_fields_of_wrong_types_are_ignored() -> None:
    body = json.dumps(
        {
            "mac": 12,
            "method": "client.notifyDevInfo",
            "params": {"deviceInfo": {"DeviceType": "IPC-X", "HttpPort": True, "Port": 70000}},
        }
    ).encode()
    info = DhipDeviceInfo.decode(_framed(body))
    assert (info.model, info.mac, info.http_port, info.sdk_port) == ("IPC-X", "", 0, 0)
