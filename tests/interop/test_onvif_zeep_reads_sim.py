"""Interop: onvif-zeep-async (the ONVIF client Home Assistant uses) reads our simulated camera.

zeep validates every reply against the real ONVIF WSDL/XSD, so this is the check that
the simulator's SOAP is what a real client accepts, not just what our own parser reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import onvif
import pytest
from onvif import ONVIFCamera
from onvif.util import extract_subcodes_as_strings, is_auth_error
from zeep.exceptions import Fault

if TYPE_CHECKING:
    from support import FleetFactory


WSDL_DIR = str(Path(onvif.__file__).parent / "wsdl")
USER, PASSWORD = "operator", "Zeep-Interop-1"


def spec(**kw: object) -> dict[str, object]:
    return {
        "personality": "onvif",
        "vendor": "Acme",
        "brand": "AcmeVision",
        "model": "AV-2000",
        "hardware": "HW-2",
        "firmware": "5.1.0",
        "serial": "AV2000-0042",
        "mac": "aa:bb:cc:00:11:22",
        "users": {USER: PASSWORD},
        **kw,
    }


async def test_onvif_zeep_async_reads_identity_from_sim(fleet_of: FleetFactory) -> None:
    # The device's clock is 3 h ahead: zeep's adjust_time must learn and apply the offset.
    async with fleet_of([spec(clock_offset_s=3 * 3600)]) as fleet:
        dev = fleet.device("dev10")
        cam = ONVIFCamera(
            dev.spec.address,
            fleet.port_map.actual(80),  # the port map: connect where the sim really listens
            USER,
            PASSWORD,
            WSDL_DIR,
            adjust_time=True,
            no_cache=True,
        )
        try:
            await cam.update_xaddrs()
            mgmt = await cam.create_devicemgmt_service()
            info = await mgmt.GetDeviceInformation()
            scopes = await mgmt.GetScopes()
            interfaces = await mgmt.GetNetworkInterfaces()
            capabilities = await cam.get_capabilities()
        finally:
            await cam.close()
    assert (info.Manufacturer, info.Model, info.FirmwareVersion) == (
        "AcmeVision",
        "AV-2000",
        "5.1.0",
    )
    assert (info.SerialNumber, info.HardwareId) == ("AV2000-0042", "HW-2")
    assert "onvif://www.onvif.org/hardware/AV-2000" in [s.ScopeItem for s in scopes]
    assert interfaces[0].Info.HwAddress == "aa:bb:cc:00:11:22"
    assert capabilities is not None
    assert capabilities["Media"]["XAddr"].endswith("/onvif/media_service")
    assert abs(cam.dt_diff.total_seconds() - 3 * 3600) < 2
    assert "http://www.onvif.org/ver10/media/wsdl" in cam.xaddrs


async def test_onvif_zeep_async_sees_not_authorized_for_a_wrong_password(
    fleet_of: FleetFactory,
) -> None:
    async with fleet_of([spec()]) as fleet:
        dev = fleet.device("dev10")
        cam = ONVIFCamera(
            dev.spec.address, fleet.port_map.actual(80), USER, "wrong", WSDL_DIR, no_cache=True
        )
        try:
            mgmt = await cam.create_devicemgmt_service()
            with pytest.raises(Fault) as err:
                await mgmt.GetDeviceInformation()
        finally:
            await cam.close()
    assert is_auth_error(err.value)
    assert any("NotAuthorized" in c for c in extract_subcodes_as_strings(err.value.subcodes))
