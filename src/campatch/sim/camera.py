"""What every simulated vendor camera shares; the vendor personalities fill in the rest.

:class:`CameraDevice` composes the standard services of an IP camera, NVR or DVR:

- a web server on 80 that hands each request to the ONVIF device service first
  (when ``spec.onvif``), serves ``/`` and, when ``spec.ssdp``, the UPnP description,
  and passes the vendor API (``api_prefix``) to :meth:`CameraDevice.api`; anything
  else is a 404;
- RTSP on 554 under the same per-client login lock as the web API;
- telnet 23 when ``spec.telnet``; SSDP when ``spec.ssdp``; WS-Discovery when
  ``spec.onvif`` and ``spec.ws_discovery``; HTTPS 443 (the same web server) when the
  option ``https`` names a TLS variant.

A personality (``sim/<vendor>.py``) sets its realm and headers, answers its own API and
adds its own TCP/UDP services (SDK port, SADP, DHIP) through the hooks below.
Options read here: ``lockout_max_failures``, ``lockout_seconds``,
``lockout_min_gap_s`` (a second failure sooner than this locks: the Axis-like burst
rule), ``rtsp_server``, ``ssdp_server``, ``https`` (serve the same web server over TLS
on 443: ``"secure"``, ``"self-signed"``, ``"expired"``, ``"rsa-1024"`` or ``"tls1.0"``,
see :mod:`campatch.sim.tls`), and for the personalities' settings pages
``upnp_enabled`` / ``p2p_enabled`` (the device's UPnP and vendor-cloud switches).

Firmware upgrades: every camera has a :class:`~campatch.sim.flash.Flash` (flash model,
reboot, fault switches; see that module). A personality lists its upload endpoints in
:meth:`CameraDevice.is_upload` and hands accepted bodies to ``self.flash.accept``;
while the flash reboots, the fleet drops every connection to the device.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import ClassVar

from campatch.sim.auth import AuthResult, Clock, DigestRealm, Lockout
from campatch.sim.device import DeviceSpec, SimDevice, TcpService, UdpService
from campatch.sim.flash import Flash
from campatch.sim.http import (
    HttpRequest,
    HttpResponse,
    RawWriter,
    reset_connection,
    serve_http,
)
from campatch.sim.onvif import OnvifService, ws_discovery_service
from campatch.sim.rtsp import rtsp_service
from campatch.sim.ssdp import DESCRIPTION_PATH, ssdp_service, upnp_description
from campatch.sim.telnet import telnet_service
from campatch.sim.tls import server_context

_NOT_FOUND = "<html><body>404 Not Found</body></html>"


class CameraDevice(SimDevice, ABC):
    """A vendor camera: the shared services, with hooks for the vendor's own.

    Attributes:
        lockout: the login lock per client address (web API and RTSP).
        onvif_lockout: the ONVIF lock (``lockout`` unless :meth:`new_onvif_lockout` says
            otherwise).
        onvif: the ONVIF device service, None when ``spec.onvif`` is off.
        realm: the web server's Digest realm and user table (set by the personality).
    """

    #: Paths under this prefix are the vendor's API, answered by :meth:`api`.
    api_prefix: ClassVar[str]
    #: RTSP ``Server`` header, unless the option ``rtsp_server`` gives another.
    rtsp_server: ClassVar[str]
    #: RTSP challenge: ``"digest"``, ``"basic"`` or ``"both"``.
    rtsp_scheme: ClassVar[str] = "digest"
    #: SSDP ``SERVER`` header, unless the option ``ssdp_server`` gives another.
    ssdp_server: ClassVar[str]
    upnp_device_type: ClassVar[str] = "urn:schemas-upnp-org:device:Basic:1"
    realm: DigestRealm

    def __init__(self, spec: DeviceSpec, clock: Clock = time.monotonic) -> None:
        super().__init__(spec, clock)
        self.fill_defaults()
        self.lockout = self.new_lockout()
        self.onvif_lockout = self.new_onvif_lockout()
        self.onvif = OnvifService(self, lockout=self.onvif_lockout) if spec.onvif else None
        self.flash: Flash = Flash(self)
        self._locked_for_all_until = 0.0
        self._udp: list[UdpService] | None = None

    # --- hooks ------------------------------------------------------------------------

    def fill_defaults(self) -> None:
        """Complete the spec with the vendor's defaults (model, serial, MAC ...)."""

    def new_onvif_lockout(self) -> Lockout:
        """The lock ONVIF logins count against (default: the same as the web's)."""
        return self.lockout

    @property
    def server_header(self) -> str | None:
        """The web server's ``Server`` header (None: none)."""
        return None

    def rtsp_realm(self) -> str:
        """The RTSP Digest realm (default: the web's)."""
        return self.realm.realm

    @abstractmethod
    def index_page(self) -> HttpResponse:
        """The answer to ``GET /``."""

    @abstractmethod
    async def api(self, request: HttpRequest) -> HttpResponse | RawWriter:
        """Answer a request under ``api_prefix``."""

    def vendor_tcp_services(self) -> list[TcpService]:
        """The vendor's own TCP services (an SDK port ...)."""
        return []

    def is_upload(self, request: HttpRequest) -> bool:
        """True for a request to one of the vendor's firmware upload endpoints (default:
        the ONVIF upload URI, see :mod:`campatch.sim.onvif`)."""
        return self.onvif is not None and self.onvif.is_upload(request)

    def vendor_udp_services(self) -> list[UdpService]:
        """The vendor's own UDP services (its discovery protocol ...)."""
        return []

    # --- shared -----------------------------------------------------------------------

    def lock_everyone(self) -> None:
        """Lock every client out of the web login (fault ``lock_during_job``)."""
        self._locked_for_all_until = self.clock() + self.lockout.lock_s

    def locked_for_everyone_s(self) -> float:
        """Seconds the ``lock_during_job`` lock still holds for every client (0: none)."""
        return max(0.0, self._locked_for_all_until - self.clock())

    def _web_server(self) -> TcpService:
        handler = serve_http(self._web, self.server_header, self.cut_upload,
                             self.dropped_upload)  # fmt: skip
        return TcpService(80, handler)

    def new_lockout(self) -> Lockout:
        """A login lock from the options (5 failures, 1800 s by default)."""
        seconds = float(self.spec.options.get("lockout_seconds", 1800))
        return Lockout(
            max_failures=int(self.spec.options.get("lockout_max_failures", 5)),
            lock_s=seconds,
            window_s=seconds,
            clock=self.clock,
            min_failure_gap_s=float(self.spec.options.get("lockout_min_gap_s", 0.0)),
        )

    def tcp_services(self) -> list[TcpService]:
        """HTTP 80, RTSP 554, the vendor's own and, when enabled, telnet 23."""
        services = [
            self._web_server(),
            rtsp_service(
                self,
                server=str(self.spec.options.get("rtsp_server", self.rtsp_server)),
                realm=self.rtsp_realm(),
                scheme=self.rtsp_scheme,
                lockout=self.lockout,
            ),
            *self.vendor_tcp_services(),
        ]
        if self.spec.telnet:
            services.append(telnet_service(self))
        if variant := self.spec.options.get("https"):
            tls = server_context(str(variant), self.spec.address)
            services.append(TcpService(443, self._web_server().handler, ssl=tls))
        return services

    def udp_services(self) -> list[UdpService]:
        """The vendor's own, then SSDP / WS-Discovery when the spec enables them (built once)."""
        if self._udp is None:
            self._udp = self.vendor_udp_services() + self._standard_udp()
        return self._udp

    def _standard_udp(self) -> list[UdpService]:
        spec = self.spec
        services: list[UdpService] = []
        if spec.ssdp:
            server = str(spec.options.get("ssdp_server", self.ssdp_server))
            services.append(
                ssdp_service(
                    self, device_type=self.upnp_device_type, location_port=80, server=server
                )
            )
        if spec.onvif and spec.ws_discovery:
            services.append(ws_discovery_service(self, xaddr_port=80))
        return services

    async def _web(self, request: HttpRequest) -> HttpResponse | RawWriter:
        if self.offline():  # a kept-alive connection outlives no reboot
            return reset_connection
        scheme = request.header("Authorization").split(" ", 1)[0] or "-"
        self.log(f"http {request.method} {request.target} auth={scheme} from {request.peer}")
        if self.onvif is not None and (answer := await self.onvif.handle(request)) is not None:
            return answer
        if request.path == "/" and request.method == "GET":
            return self.index_page()
        if request.path == DESCRIPTION_PATH and self.spec.ssdp:
            body = upnp_description(self, self.upnp_device_type)
            return HttpResponse(200, body, [("Content-Type", 'text/xml; charset="utf-8"')])
        if not request.path.startswith(self.api_prefix):
            return HttpResponse.text(_NOT_FOUND, 404, "text/html")
        return await self.api(request)

    def login(self, request: HttpRequest) -> tuple[AuthResult | None, str]:
        """Check the request's credentials under the login lock.

        Returns:
            ``(None, "")`` when the client is locked out (nothing checked), else the
            result (recorded against the lock) and the user name.
        """
        peer = request.peer
        if self.lockout.is_locked(peer) or self.clock() < self._locked_for_all_until:
            return None, ""
        self.realm.users = self.spec.users  # a test may have replaced the account table
        result, user = self.realm.check(request.header("Authorization"), request.method)
        self.lockout.record(peer, result)
        return result, user
