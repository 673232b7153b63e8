"""UPnP IGD port forwards (SAFETY B-03) against the simulated router, over loopback."""

from __future__ import annotations

import pytest
from probe_support import identified, knowledge

from campatch.audit.checks.upnp import CHECKS as UPNP_CHECKS
from campatch.audit.interface import AuditContext, DeviceFacts
from campatch.audit.probes.security import assess_routers, device_key
from campatch.model import Candidate, DeviceClass, HostReport, Identity, PortForward
from campatch.sim.router import IGD_TYPE
from support import probe_context

ROUTER = {"personality": "router", "upnp_port": 5000, "external_ip": "203.0.113.7"}
CAMERA = {"personality": "hikvision", "users": {"admin": "Unique-Pass-77"}}


def _gateway(address: str, *, silent: bool = False) -> Candidate:
    if silent:
        return Candidate(address)
    return Candidate(
        address,
        upnp_locations=(f"http://{address}:5000/upnp/desc.xml",),
        notes={"upnp_device_type": IGD_TYPE},
    )


def _router_report(address: str) -> HostReport:
    return HostReport(address, DeviceClass.NOT_CAMERA, Identity(), what="router")


def _upnp_findings(report: HostReport) -> list[str]:
    facts = DeviceFacts(device_key(report), report)
    ctx = AuditContext(knowledge=knowledge())
    return [f.title for c in UPNP_CHECKS for f in c.run(facts, ctx)]


async def _scan(fleet_of, limits, *, map_camera: bool, silent: bool = False):
    async with (
        fleet_of([ROUTER, CAMERA, dict(CAMERA)], multicast=False) as fleet,
        probe_context(limits, fleet.port_map) as ctx,
    ):
        router, cam, other = (fleet.device(n) for n in ("dev10", "dev11", "dev12"))
        if map_camera:  # the camera asks the router for a mapping, as a UPnP camera does
            router.table.call(
                "AddPortMapping",
                {
                    "NewExternalPort": "8554",
                    "NewProtocol": "TCP",
                    "NewInternalPort": "554",
                    "NewInternalClient": cam.spec.address,
                    "NewPortMappingDescription": "camera rtsp",
                },
            )
        cams = [await identified(fleet, n, ctx) for n in ("dev11", "dev12")]
        candidates = [_gateway(router.spec.address, silent=silent), *(c for c, _ in cams)]
        reports = [_router_report(router.spec.address), *(r for _, r in cams)]
        out = await assess_routers(candidates, reports, ctx)
        return {r.address: r for r in out}, cam.spec.address, other.spec.address, router


@pytest.mark.safety("B-03")
async def test_b03_mapping_to_a_camera_is_attached_and_reported(fleet_of, limits) -> None:
    reports, cam, other, router = await _scan(fleet_of, limits, map_camera=True)
    assert reports[cam].security.port_forwards == (
        PortForward(router.spec.address, 8554, 554, "TCP", "camera rtsp"),
    )
    assert reports[other].security.port_forwards == ()
    assert _upnp_findings(reports[cam]) == [
        "the router forwards external port 8554 to this camera's port 554: "
        "it is reachable from the internet"
    ]
    assert _upnp_findings(reports[other]) == []
    assert router.requests.count("upnp POST /ctl/IPConn") == 2  # entry 0, then error 713
    assert router.spec.options["port_mappings"][0]["internal_client"] == cam  # nothing changed


@pytest.mark.safety("B-03")
async def test_b03_no_mapping_and_ssdp_silent_router_give_no_finding(fleet_of, limits) -> None:
    reports, cam, _other, _router = await _scan(fleet_of, limits, map_camera=False)
    assert reports[cam].security.port_forwards == ()
    silent, cam2, _o, _r = await _scan(fleet_of, limits, map_camera=True, silent=True)
    assert silent[cam2].security.port_forwards is None  # no gateway asked: not checked
    assert _upnp_findings(silent[cam2]) == []
