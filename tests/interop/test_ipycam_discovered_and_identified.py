"""Interop: our WsDiscovery + OnvifDriver find and identify ipycam's ONVIF implementation.

ipycam (PyPI ``ipycam`` 1.3.0) is a virtual IP camera written independently of us.
What runs here is ipycam's own code: its ``WSDiscoveryServer`` thread and its
``IPCameraHTTPHandler`` (which routes ``/onvif/`` to ``ONVIFService``, with its own
WS-Security check) served by its ``ReusableThreadingTCPServer`` - the two parts that
``IPCamera.start()`` starts first. The rest of ``start()`` is left out because it is
video plumbing that needs a frame source: an MJPEG streamer, a probe for a go2rtc
server, and the native RTSP/WebRTC fallbacks (ffmpeg/aiortc). None of that is ONVIF.

Why a network namespace: ipycam binds its WS-Discovery socket to all interfaces
(``''``:3702) and multicasts a Hello on start. Inside ``unshare -Urn`` the only
interface is ``lo``, so nothing leaves the machine and the real multicast path is
exercised too. The script prints one JSON line that the test checks.
"""

from __future__ import annotations

import pytest

from netns import json_result, require_netns, run_in_netns

SCRIPT = """
import asyncio, json, threading

from ipycam import CameraConfig, IPCamera, IPCameraHTTPHandler, WSDiscoveryServer
from ipycam.camera import ReusableThreadingTCPServer

from campatch.config import Limits, PortMap
from campatch.discovery.interface import DiscoveryContext, Scope
from campatch.discovery.ws_discovery import WsDiscovery
from campatch.drivers.interface import AuthBudget, Banners, ProbeContext
from campatch.drivers.onvif import OnvifDriver
from campatch.errors import AuthError
from campatch.model import Credential, Identity, Secret
from campatch.net.http import HttpClient

config = CameraConfig(
    name="Interop Cam", manufacturer="InteropVendor", model="IPY-1", serial_number="IPY-SN-7",
    firmware_version="9.9.9", local_ip="127.0.0.1", onvif_port=8080,
    username="admin", password="ipycam-Pw1",
)
camera = IPCamera(config)
IPCameraHTTPHandler.camera = camera
http_server = ReusableThreadingTCPServer(("127.0.0.1", config.onvif_port), IPCameraHTTPHandler)
threading.Thread(target=http_server.serve_forever, daemon=True).start()
discovery = WSDiscoveryServer(camera.onvif)
discovery.start()


async def main():
    limits = Limits(discovery_listen_s=1.0, connect_timeout_s=1.0, request_deadline_s=3.0)
    scope = Scope.of(["127.0.0.1"], multicast=True)
    found = await WsDiscovery().discover(scope, DiscoveryContext(limits))
    result = {"found": [c.address for c in found]}
    candidate = found[0]
    result["xaddrs"] = list(candidate.onvif_xaddrs)
    result["discovery_vendor"] = [o.value for o in candidate.observations if o.field == "vendor"]
    async with HttpClient(limits) as http:
        ctx = ProbeContext(http=http, limits=limits, port_map=PortMap(), auth=AuthBudget())
        driver = OnvifDriver()
        fp = await driver.fingerprint(candidate, Banners(), ctx)
        result["fingerprint"] = fp and {"driver": fp.driver, "class": fp.device_class.value}
        obs = await driver.identify(candidate, Credential("admin", Secret("ipycam-Pw1")), ctx)
        ident = Identity.of(obs)
        result["identity"] = {f.value: v.value for f, v in ident.fields.items()}
        result["sources"] = sorted({o.source for o in obs})
        try:
            await driver.identify(candidate, Credential("admin", Secret("wrong")), ctx)
            result["wrong_password"] = "accepted"
        except AuthError:
            result["wrong_password"] = "AuthError"
        result["failures"] = ctx.auth.failures("127.0.0.1")
    print(json.dumps(result))


try:
    asyncio.run(main())
finally:
    discovery.stop()
    http_server.shutdown()
    camera.ptz.stop()
"""


@pytest.mark.netns
def test_ipycam_is_discovered_and_identified() -> None:
    require_netns()
    result = json_result(run_in_netns(SCRIPT, timeout=60))
    assert result["found"] == ["127.0.0.1"]
    assert result["xaddrs"] == ["http://127.0.0.1:8080/onvif/device_service"]
    # ipycam puts its camera name unescaped into the name scope ("name/Interop Cam"); scopes
    # are a space-separated URI list, so a spec-following reader sees "Interop". The
    # authenticated GetDeviceInformation below outranks it anyway.
    assert result["discovery_vendor"] == ["Interop"]
    assert result["fingerprint"] == {"driver": "onvif", "class": "camera"}
    assert result["identity"] == {
        "vendor": "InteropVendor",
        "model": "IPY-1",
        "firmware": "9.9.9",
        "serial": "IPY-SN-7",
        "hardware": "PY-HW-01",  # fixed in ipycam's GetDeviceInformation template
    }
    # ipycam has no GetNetworkInterfaces: the MAC is simply missing, identify still succeeds.
    assert result["sources"] == ["onvif:GetDeviceInformation"]
    assert result["wrong_password"] == "AuthError"
    assert result["failures"] == 1
