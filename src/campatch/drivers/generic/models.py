"""Rules that recognise hosts that are not cameras (pure: no I/O, unit-tested on values).

Each rule looks at what discovery and the banner pass already saw and yields
evidence weights (0..1); weights of one kind combine as independent hints
(``1 - prod(1 - w)``). Anything that points at a camera, NVR or DVR (RTSP, vendor
ports, ONVIF, camera words in headers) vetoes every rule: the generic driver then
abstains, so a camera is never reported as a non-camera because its web server
happens to be nginx.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from campatch.model import Candidate, Confidence, Field, Observation

SOURCE = "generic:banner"
MAX_SCORE = 0.9
PRINTER, ROUTER, SSH_SERVER, WEB_SERVER = "printer", "router", "ssh server", "web server"

IPP_PORT, JETDIRECT_PORT, LPD_PORT = 631, 9100, 515
CAMERA_PORTS = (554, 8554, 322, 8000, 37777, 34567, 8899, 3702)
CAMERA_SOURCES = frozenset({"ws-discovery", "sadp", "dhip"})
CAMERA_WORDS = re.compile(
    r"camera|ipcam|\bnvr\b|\bdvr\b|\bxvr\b|video|surveillance|hikvision|dahua|axis|"
    r"-webs\b|^webs$|app-webs|uc-httpd|h264dvr|rtsp|geohttpserver|avtech|vivotek|"
    r"reolink|foscam|amcrest|hanwha|uniview|mobotix|streaming",
    re.IGNORECASE,
)
PRINTER_SERVERS = re.compile(
    r"HP HTTP Server|Virata-EmWeb|HP-ChaiSOE|EPSON|Brother|debut/|CUPS/|Xerox|Lexmark|"
    r"KM-MFP|Canon Http Server|PrintServer|JetDirect|Ricoh|Kyocera",
    re.IGNORECASE,
)
PRINTER_WORDS = re.compile(
    r"printer|laserjet|officejet|deskjet|envy|pixma|imageclass|workcentre|versalink|"
    r"ecotank|color ?laser|mfc-|\bmfp\b",
    re.IGNORECASE,
)
ROUTER_WORDS = re.compile(
    r"router|(?<!bad )gateway|modem|fritz!?box|archer|netgear|linksys|tp-?link|openwrt|luci|"
    r"dd-wrt|routeros|mikrotik|asuswrt|speedport|livebox",
    re.IGNORECASE,
)
GENERIC_SERVERS = re.compile(
    r"^(nginx|apache|microsoft-iis|caddy|openresty|litespeed|gunicorn|uvicorn|"
    r"python|werkzeug|tomcat|jetty)\b",
    re.IGNORECASE,
)
DEFAULT_PAGES = re.compile(
    r"welcome to nginx|default page|it works|iis windows server|test page for", re.IGNORECASE
)
IGD_TYPE = re.compile(r"urn:schemas-upnp-org:device:(InternetGatewayDevice|WANDevice):\d")
PRINTER_TYPE = re.compile(r"urn:schemas-upnp-org:device:Printer:\d")
_HP_SERVER = re.compile(
    r"HP HTTP Server;\s*(?P<model>[^;]+?)\s*-\s*(?P<product>[^;]+?)\s*;"
    r"(?:\s*Serial Number:\s*(?P<serial>[^;\s]+))?"
)
_TITLE = re.compile(rb"<title[^>]*>(.{0,200}?)</title>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class HostView:
    """The facts the rules read, taken from a candidate and its banners.

    Args:
        tcp_ports: open TCP ports (logical).
        servers: HTTP ``Server`` headers.
        titles: HTML page titles.
        realms: HTTP/RTSP auth realms.
        text_banners: unprompted greetings per port (SSH, telnet, FTP).
        rtsp: True if any RTSP service answered.
        upnp_type: the UPnP device type discovery saw.
        upnp_words: UPnP manufacturer, model, friendly name and SERVER header.
        camera_discovery: a camera discovery protocol (ONVIF, SADP, DHIP) saw it.
    """

    tcp_ports: frozenset[int]
    servers: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()
    realms: tuple[str, ...] = ()
    text_banners: tuple[tuple[int, str], ...] = ()
    rtsp: bool = False
    upnp_type: str = ""
    upnp_words: tuple[str, ...] = ()
    camera_discovery: bool = False


def page_title(body: bytes) -> str:
    """The ``<title>`` of an HTML page, whitespace-collapsed, or ``""``."""
    match = _TITLE.search(body[:65_536])
    return " ".join(match.group(1).decode("utf-8", "replace").split()) if match else ""


def host_view(
    candidate: Candidate,
    *,
    servers: Sequence[str],
    bodies: Sequence[bytes],
    realms: Sequence[str],
    text_banners: dict[int, str],
    rtsp: bool,
) -> HostView:
    """Collect the facts the rules read (the driver passes in what Banners hold)."""
    notes = candidate.notes
    return HostView(
        tcp_ports=frozenset(s.port for s in candidate.services if s.transport == "tcp")
        | frozenset(text_banners),
        servers=tuple(servers),
        titles=tuple(t for b in bodies if (t := page_title(b))),
        realms=tuple(realms),
        text_banners=tuple(sorted(text_banners.items())),
        rtsp=rtsp or any(s.protocol == "rtsp" for s in candidate.services),
        upnp_type=notes.get("upnp_device_type", ""),
        upnp_words=tuple(
            notes.get(k, "")
            for k in ("upnp_manufacturer", "upnp_model", "upnp_friendly_name", "upnp_server")
            if notes.get(k)
        ),
        camera_discovery=bool(
            candidate.found_by & CAMERA_SOURCES
            or candidate.onvif_xaddrs
            or any(k.startswith("onvif_") for k in notes)
        ),
    )


def camera_hints(view: HostView) -> list[str]:
    """Why the host may be a camera, NVR or DVR (empty: nothing points that way)."""
    hints = [f"port {p}" for p in CAMERA_PORTS if p in view.tcp_ports]
    if view.rtsp:
        hints.append("rtsp")
    if view.camera_discovery:
        hints.append("camera discovery protocol")
    words = (*view.servers, *view.titles, *view.realms, *view.upnp_words)
    words += tuple(text for _port, text in view.text_banners)
    hints += [f"banner {w[:40]!r}" for w in words if CAMERA_WORDS.search(w)]
    return hints


def _any(pattern: re.Pattern[str], texts: Iterable[str]) -> bool:
    return any(pattern.search(t) for t in texts)


def printer_evidence(view: HostView) -> list[float]:
    """Weights for "this is a printer"."""
    found = [
        (0.6, IPP_PORT in view.tcp_ports),
        (0.6, JETDIRECT_PORT in view.tcp_ports),
        (0.3, LPD_PORT in view.tcp_ports),
        (0.85, bool(PRINTER_TYPE.search(view.upnp_type))),
        (0.6, _any(PRINTER_SERVERS, view.servers)),
        (0.5, _any(PRINTER_WORDS, (*view.titles, *view.upnp_words))),
    ]
    return [w for w, hit in found if hit]


def router_evidence(view: HostView) -> list[float]:
    """Weights for "this is a home/office router"."""
    found = [
        (0.85, bool(IGD_TYPE.search(view.upnp_type))),
        (0.5, _any(ROUTER_WORDS, (*view.titles, *view.realms))),
        (0.3, _any(ROUTER_WORDS, view.upnp_words)),
        (0.2, _any(re.compile("miniupnpd", re.IGNORECASE), view.upnp_words)),
    ]
    return [w for w, hit in found if hit]


def ssh_evidence(view: HostView) -> list[float]:
    """Weights for "an SSH server and nothing else"."""
    if view.tcp_ports - {22}:
        return []
    ssh = any(text.startswith("SSH-") for _port, text in view.text_banners)
    return [0.6] if ssh else ([0.3] if 22 in view.tcp_ports else [])


def web_server_evidence(view: HostView) -> list[float]:
    """Weights for "a general-purpose web server" (deliberately modest)."""
    found = [
        (0.35, _any(GENERIC_SERVERS, view.servers)),
        (0.3, _any(DEFAULT_PAGES, view.titles)),
    ]
    return [w for w, hit in found if hit]


def combine(weights: Sequence[float]) -> float:
    """Independent hints: ``1 - prod(1 - w)``, capped at :data:`MAX_SCORE`."""
    return round(min(MAX_SCORE, 1.0 - math.prod(1.0 - w for w in weights)), 3)


def classify(view: HostView) -> tuple[str, float] | None:
    """``(what, score)`` for the most likely non-camera kind, or None to abstain."""
    if camera_hints(view):
        return None
    scored = [
        (PRINTER, combine(printer_evidence(view))),
        (ROUTER, combine(router_evidence(view))),
        (SSH_SERVER, combine(ssh_evidence(view))),
        (WEB_SERVER, combine(web_server_evidence(view))),
    ]
    what, score = max(scored, key=lambda item: item[1])  # max keeps the first of equals
    return (what, score) if score > 0 else None


def server_observations(servers: Iterable[str]) -> list[Observation]:
    """Vendor, model and serial from an HP embedded web server's ``Server`` header."""
    found: list[Observation] = []
    for server in servers:
        match = _HP_SERVER.search(server)
        if not match:
            continue
        found.append(Observation(Field.VENDOR, "HP", SOURCE, Confidence.BANNER))
        found.append(Observation(Field.MODEL, match["model"], SOURCE, Confidence.BANNER))
        if match["serial"]:
            found.append(Observation(Field.SERIAL, match["serial"], SOURCE, Confidence.BANNER))
    return found
