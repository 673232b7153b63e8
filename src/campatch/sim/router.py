"""A simulated home router: web admin login page and a UPnP Internet Gateway Device.

The UPnP side behaves like miniupnpd: SSDP answers as
``urn:schemas-upnp-org:device:InternetGatewayDevice:1``, the description (full IGD
tree: WANDevice -> WANConnectionDevice -> WANIPConnection) and the SOAP control
endpoint live on ``options["upnp_port"]`` (default 5000). The WANIPConnection
service implements GetExternalIPAddress, GetGenericPortMappingEntry,
GetSpecificPortMappingEntry, AddPortMapping and DeletePortMapping over
``options["port_mappings"]``, a live list of
``{external_port, protocol, internal_client, internal_port, description}``
(optional ``enabled``, ``lease_duration``, ``remote_host``), so a simulated camera
can add a mapping and the audit can find it.

Options: ``upnp`` (False: no SSDP and no IGD), ``upnp_port``, ``external_ip``,
``port_mappings``, ``http_server``, ``title``.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

from campatch.errors import DeviceResponseError
from campatch.net.xml import local, parse_xml
from campatch.sim.device import SimDevice, TcpService, UdpService
from campatch.sim.http import HttpRequest, HttpResponse, serve_http
from campatch.sim.ssdp import (
    DESCRIPTION_PATH,
    UpnpNode,
    UpnpServiceDesc,
    ssdp_service,
    upnp_description,
)

IGD_TYPE = "urn:schemas-upnp-org:device:InternetGatewayDevice:1"
WAN_DEVICE_TYPE = "urn:schemas-upnp-org:device:WANDevice:1"
WAN_CONNECTION_DEVICE_TYPE = "urn:schemas-upnp-org:device:WANConnectionDevice:1"
WAN_IP_CONNECTION = "urn:schemas-upnp-org:service:WANIPConnection:1"
CONTROL_PATH = "/ctl/IPConn"
SCPD_PATH = "/WANIPCn.xml"
DEFAULT_UPNP_PORT = 5000
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_SOAP_ENCODING = "http://schemas.xmlsoap.org/soap/encoding/"
_XML = 'text/xml; charset="utf-8"'

WAN_IP_SERVICE = UpnpServiceDesc(
    WAN_IP_CONNECTION, "urn:upnp-org:serviceId:WANIPConn1", CONTROL_PATH, "/evt/IPConn", SCPD_PATH
)
IGD_TREE = (
    UpnpNode(
        WAN_DEVICE_TYPE,
        "WANDevice",
        services=(
            UpnpServiceDesc(
                "urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1",
                "urn:upnp-org:serviceId:WANCommonIFC1",
                "/ctl/CmnIfCfg",
                "/evt/CmnIfCfg",
                "/WANCfg.xml",
            ),
        ),
        devices=(UpnpNode(WAN_CONNECTION_DEVICE_TYPE, "WANConnectionDevice", (WAN_IP_SERVICE,)),),
    ),
)
_ROOT_SERVICES = (
    UpnpServiceDesc(
        "urn:schemas-upnp-org:service:Layer3Forwarding:1",
        "urn:upnp-org:serviceId:L3Forwarding1",
        "/ctl/L3F",
        "/evt/L3F",
        "/L3F.xml",
    ),
)
ACTIONS = (
    "GetExternalIPAddress",
    "GetGenericPortMappingEntry",
    "GetSpecificPortMappingEntry",
    "AddPortMapping",
    "DeletePortMapping",
)


class UpnpFault(Exception):
    """A UPnP error a control action answers with (errorCode, errorDescription)."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description


def soap_response(action: str, values: list[tuple[str, str]]) -> bytes:
    """A SOAP 1.1 ``<action>Response`` envelope for the WANIPConnection service."""
    args = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in values)
    return (
        f'<?xml version="1.0"?>\n<s:Envelope xmlns:s="{SOAP_ENV}" s:encodingStyle="{_SOAP_ENCODING}">'
        f'<s:Body><u:{action}Response xmlns:u="{WAN_IP_CONNECTION}">{args}</u:{action}Response>'
        "</s:Body></s:Envelope>"
    ).encode()


def soap_fault(code: int, description: str) -> bytes:
    """A SOAP fault carrying a ``UPnPError``."""
    return (
        f'<?xml version="1.0"?>\n<s:Envelope xmlns:s="{SOAP_ENV}" s:encodingStyle="{_SOAP_ENCODING}">'
        "<s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring>"
        '<detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0">'
        f"<errorCode>{code}</errorCode><errorDescription>{escape(description)}</errorDescription>"
        "</UPnPError></detail></s:Fault></s:Body></s:Envelope>"
    ).encode()


def parse_soap_action(body: bytes) -> tuple[str, dict[str, str]]:
    """The action name and its arguments from a SOAP request body.

    Raises:
        UpnpFault: 401 Invalid Action when the body is not a SOAP call.
    """
    try:
        envelope = parse_xml(body, what="SOAP request", max_bytes=65_536)
    except DeviceResponseError as err:
        raise UpnpFault(401, "Invalid Action") from err
    body_el = next((el for el in envelope if local(el.tag) == "Body"), None)
    call = next(iter(body_el), None) if body_el is not None else None
    if call is None:
        raise UpnpFault(401, "Invalid Action")
    return local(call.tag), {local(arg.tag): (arg.text or "").strip() for arg in call}


def _mapping_values(entry: dict[str, Any], *, with_key: bool) -> list[tuple[str, str]]:
    key = [
        ("NewRemoteHost", str(entry.get("remote_host", ""))),
        ("NewExternalPort", str(entry["external_port"])),
        ("NewProtocol", str(entry["protocol"]).upper()),
    ]
    rest = [
        ("NewInternalPort", str(entry["internal_port"])),
        ("NewInternalClient", str(entry["internal_client"])),
        ("NewEnabled", "1" if entry.get("enabled", True) else "0"),
        ("NewPortMappingDescription", str(entry.get("description", ""))),
        ("NewLeaseDuration", str(entry.get("lease_duration", 0))),
    ]
    return key + rest if with_key else rest


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise UpnpFault(402, "Invalid Args")
    return int(text)


def _protocol(text: str) -> str:
    if text.upper() not in ("TCP", "UDP"):
        raise UpnpFault(402, "Invalid Args")
    return text.upper()


class PortMappingTable:
    """The WANIPConnection actions over a device's live ``port_mappings`` option."""

    def __init__(self, device: SimDevice) -> None:
        self.device = device

    @property
    def entries(self) -> list[dict[str, Any]]:
        """The live mapping list (created on first use)."""
        entries: list[dict[str, Any]] = self.device.spec.options.setdefault("port_mappings", [])
        return entries

    def call(self, action: str, args: dict[str, str]) -> list[tuple[str, str]]:
        """Run one action; returns the response arguments.

        Raises:
            UpnpFault: the UPnP error the router answers with.
        """
        handlers: dict[str, Callable[[dict[str, str]], list[tuple[str, str]]]] = {
            "GetExternalIPAddress": self._external_ip,
            "GetGenericPortMappingEntry": self._generic,
            "GetSpecificPortMappingEntry": self._specific,
            "AddPortMapping": self._add,
            "DeletePortMapping": self._delete,
        }
        handler = handlers.get(action)
        if handler is None:
            raise UpnpFault(401, "Invalid Action")
        return handler(args)

    def _external_ip(self, _args: dict[str, str]) -> list[tuple[str, str]]:
        return [
            ("NewExternalIPAddress", str(self.device.spec.options.get("external_ip", "0.0.0.0")))
        ]

    def _generic(self, args: dict[str, str]) -> list[tuple[str, str]]:
        index = args.get("NewPortMappingIndex", "")
        if not index.isdigit() or int(index) >= len(self.entries):
            raise UpnpFault(713, "SpecifiedArrayIndexInvalid")
        return _mapping_values(self.entries[int(index)], with_key=True)

    def _find(self, args: dict[str, str]) -> int | None:
        port = _port(args.get("NewExternalPort", ""))
        proto = _protocol(args.get("NewProtocol", ""))
        for i, entry in enumerate(self.entries):
            if int(entry["external_port"]) == port and str(entry["protocol"]).upper() == proto:
                return i
        return None

    def _specific(self, args: dict[str, str]) -> list[tuple[str, str]]:
        index = self._find(args)
        if index is None:
            raise UpnpFault(714, "NoSuchEntryInArray")
        return _mapping_values(self.entries[index], with_key=False)

    def _add(self, args: dict[str, str]) -> list[tuple[str, str]]:
        entry = {
            "remote_host": args.get("NewRemoteHost", ""),
            "external_port": _port(args.get("NewExternalPort", "")),
            "protocol": _protocol(args.get("NewProtocol", "")),
            "internal_port": _port(args.get("NewInternalPort", "")),
            "internal_client": args.get("NewInternalClient", ""),
            "enabled": args.get("NewEnabled", "1") != "0",
            "description": args.get("NewPortMappingDescription", ""),
            "lease_duration": int(args.get("NewLeaseDuration", "0") or 0),
        }
        if not entry["internal_client"]:
            raise UpnpFault(402, "Invalid Args")
        index = self._find(args)
        if index is not None:
            if self.entries[index]["internal_client"] != entry["internal_client"]:
                raise UpnpFault(718, "ConflictInMappingEntry")
            self.entries[index] = entry
        else:
            self.entries.append(entry)
        return []

    def _delete(self, args: dict[str, str]) -> list[tuple[str, str]]:
        index = self._find(args)
        if index is None:
            raise UpnpFault(714, "NoSuchEntryInArray")
        del self.entries[index]
        return []


def _scpd() -> bytes:
    actions = "".join(f"<action><name>{a}</name></action>" for a in ACTIONS)
    return (
        '<?xml version="1.0"?>\n<scpd xmlns="urn:schemas-upnp-org:service-1-0">'
        f"<specVersion><major>1</major><minor>0</minor></specVersion><actionList>{actions}"
        "</actionList></scpd>"
    ).encode()


class RouterDevice(SimDevice):
    """A home router with a web login page and (by default) UPnP IGD."""

    personality = "router"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.table = PortMappingTable(self)

    @property
    def upnp_enabled(self) -> bool:
        """True unless the spec turns UPnP off (``upnp: false``)."""
        return bool(self.spec.options.get("upnp", True))

    @property
    def upnp_port(self) -> int:
        """The TCP port of the IGD description and control endpoint."""
        return int(self.spec.options.get("upnp_port", DEFAULT_UPNP_PORT))

    def tcp_services(self) -> list[TcpService]:
        """Web admin on 80; the IGD's HTTP endpoint on ``upnp_port``."""
        server = str(self.spec.options.get("http_server", "httpd"))
        services = [TcpService(80, serve_http(self._web, server))]
        if self.upnp_enabled:
            upnp_server = "Linux/4.14 UPnP/1.1 MiniUPnPd/2.3.3"
            services.append(TcpService(self.upnp_port, serve_http(self._upnp, upnp_server)))
        return services

    def udp_services(self) -> list[UdpService]:
        """SSDP as an Internet Gateway Device, when UPnP is on."""
        if not self.upnp_enabled:
            return []
        return [
            ssdp_service(
                self,
                device_type=IGD_TYPE,
                location_port=self.upnp_port,
                server="Linux/4.14 UPnP/1.1 MiniUPnPd/2.3.3",
            )
        ]

    async def _web(self, request: HttpRequest) -> HttpResponse:
        self.log(f"http {request.method} {request.path}")
        if request.path not in ("/", "/login.htm", "/index.html"):
            return HttpResponse.text("Not Found", 404)
        brand = self.spec.brand or self.spec.vendor or "Wireless"
        title = str(self.spec.options.get("title", f"{brand} Router Login"))
        page = (
            f"<html><head><title>{html.escape(title)}</title></head><body>"
            '<form method="post" action="/login.cgi"><input name="username">'
            '<input type="password" name="password"><button>Log In</button></form>'
            "</body></html>"
        )
        return HttpResponse.text(page, content_type="text/html")

    async def _upnp(self, request: HttpRequest) -> HttpResponse:
        self.log(f"upnp {request.method} {request.path}")
        if request.method == "GET" and request.path == DESCRIPTION_PATH:
            body = upnp_description(
                self, IGD_TYPE, services=_ROOT_SERVICES, devices=IGD_TREE, presentation_port=80
            )
            return HttpResponse(200, body, [("Content-Type", _XML)])
        if request.method == "GET" and request.path == SCPD_PATH:
            return HttpResponse(200, _scpd(), [("Content-Type", _XML)])
        if request.method == "POST" and request.path == CONTROL_PATH:
            return self._control(request)
        return HttpResponse.text("Not Found", 404)

    def _control(self, request: HttpRequest) -> HttpResponse:
        try:
            action, args = parse_soap_action(request.body)
            values = self.table.call(action, args)
        except UpnpFault as fault:
            self.log(f"upnp fault {fault.code}")
            return HttpResponse(
                500, soap_fault(fault.code, fault.description), [("Content-Type", _XML)]
            )
        return HttpResponse(200, soap_response(action, values), [("Content-Type", _XML)])


DEVICE = RouterDevice
