"""mDNS / DNS-SD discovery (python-zeroconf, async API) of the types cameras announce.

What is known about who announces what (checked against public sources, 2025):

- ``_axis-video._tcp`` — Axis cameras, instance name ``"AXIS <model> - <MAC>"``, TXT
  ``macaddress``, host ``axis-<mac>.local`` (Axis's VAPIX mDNS-SD API; Home Assistant's
  Axis integration matches Axis OUIs 00408c, accc8e, b8a44f on ``macaddress``).
  DoorBird doorbells use the same type (OUI 1ccae3), so the type alone does not mean Axis.
- ``_hap._tcp`` — HomeKit accessories; TXT ``md`` is the model, ``ci`` the category
  (17 IP camera, 18 video doorbell). Its ``id`` looks like a MAC but is a random
  pairing identifier, so it is not used as one.
- ``_rtsp._tcp`` and ``_http._tcp`` — generic registered types some cameras, NVRs and
  NAS-hosted recorders announce; only the instance name and common TXT keys are used.
- ``_onvif._tcp`` — *assumed*: ONVIF itself discovers over WS-Discovery, but a few
  firmwares are reported to announce it.

mDNS is link-local, so the source listens only on local interfaces whose IPv4 subnet
holds an address in scope (inside a test namespace, that is ``lo``), keeps only
announced addresses in scope (SAFETY I-05), stops after ``max_discovery_replies``
instances and always closes zeroconf before returning.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
from collections.abc import Iterable, Mapping, Sequence

import ifaddr
from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from campatch.discovery.interface import DiscoveryContext, Scope
from campatch.errors import DiscoveryError
from campatch.model import Candidate, Confidence, Field, Observation, Service, normalize_mac

__all__ = ["CAMERA_SERVICE_TYPES", "MdnsSource", "observations_from"]

logger = logging.getLogger(__name__)

#: Service types browsed by default (see the module docstring for what is confirmed).
CAMERA_SERVICE_TYPES: tuple[str, ...] = (
    "_axis-video._tcp.local.",
    "_rtsp._tcp.local.",
    "_onvif._tcp.local.",
    "_hap._tcp.local.",
    "_http._tcp.local.",
)

_PROTOCOL_BY_TYPE: Mapping[str, str] = {
    "_axis-video._tcp.local.": "http",
    "_rtsp._tcp.local.": "rtsp",
    "_onvif._tcp.local.": "onvif",
    "_hap._tcp.local.": "hap",
    "_http._tcp.local.": "http",
    "_https._tcp.local.": "https",
}
#: Generic TXT keys and the identity field they usually carry.
_TXT_FIELDS: Mapping[str, Field] = {
    "model": Field.MODEL,
    "manufacturer": Field.VENDOR,
    "vendor": Field.VENDOR,
    "macaddress": Field.MAC,
    "mac": Field.MAC,
    "serialnumber": Field.SERIAL,
    "serial": Field.SERIAL,
    "firmware": Field.FIRMWARE,
}
_HAP_CAMERA_CATEGORIES = {"17": "camera", "18": "video doorbell"}
_AXIS_NAME = re.compile(r"AXIS\s+(?P<model>\S.*?)\s+-\s+(?P<mac>[0-9A-Fa-f]{12})")
_MAX_VALUE_CHARS = 256
_MAX_CONCURRENT_RESOLVES = 32


class MdnsSource:
    """Discovery source ``"mdns"``: browse DNS-SD types, resolve, keep what is in scope.

    Args:
        service_types: fully qualified DNS-SD types to browse.
        interfaces: local IPv4 addresses to listen on; default: those whose subnet
            holds an address in scope.
    """

    name = "mdns"

    def __init__(
        self,
        service_types: Sequence[str] = CAMERA_SERVICE_TYPES,
        *,
        interfaces: Sequence[str] | None = None,
    ) -> None:
        self.service_types = tuple(service_types)
        self.interfaces = tuple(interfaces) if interfaces is not None else None

    async def discover(self, scope: Scope, ctx: DiscoveryContext) -> Sequence[Candidate]:
        """Listen ``discovery_listen_s`` for announcements, then resolve them.

        Raises:
            DiscoveryError: zeroconf cannot open its sockets on the chosen interfaces.

        Returns:
            One candidate per announced in-scope address (empty without ``scope.multicast``).
        """
        if not scope.multicast or not scope.addresses:
            return []
        interfaces = list(self.interfaces) if self.interfaces is not None else local_links(scope)
        if not interfaces:
            logger.info("mdns: no local interface is on a scope subnet; nothing to listen on")
            return []
        try:
            aiozc = AsyncZeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)
        except (OSError, RuntimeError, ValueError) as err:
            raise DiscoveryError(f"mdns: cannot listen on {', '.join(interfaces)}: {err}") from err
        try:
            names = await self._browse(aiozc.zeroconf, ctx)
            infos = await _resolve(aiozc.zeroconf, names, ctx)
        finally:
            await aiozc.async_close()
        return _candidates(infos, scope, ctx)

    async def _browse(self, zc: Zeroconf, ctx: DiscoveryContext) -> list[tuple[str, str]]:
        """Collect (type, name) pairs for ``discovery_listen_s`` or until the cap."""
        cap = ctx.limits.max_discovery_replies
        found: dict[tuple[str, str], None] = {}
        full = asyncio.Event()

        def on_change(
            zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
        ) -> None:
            if state_change is ServiceStateChange.Removed or full.is_set():
                return
            found[(service_type, name)] = None
            if len(found) >= cap:
                logger.warning("mdns: stopped after %d announced services (cap)", cap)
                full.set()

        browser = AsyncServiceBrowser(zc, list(self.service_types), handlers=[on_change])
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(ctx.limits.discovery_listen_s):
                    await full.wait()
        finally:
            await browser.async_cancel()
        return list(found)


async def _resolve(
    zc: Zeroconf, names: Iterable[tuple[str, str]], ctx: DiscoveryContext
) -> list[AsyncServiceInfo]:
    """Resolve SRV/TXT/A for each name (mostly from cache), within one deadline."""
    sem = asyncio.Semaphore(_MAX_CONCURRENT_RESOLVES)
    timeout_ms = ctx.limits.read_timeout_s * 1000
    resolved: list[AsyncServiceInfo] = []

    async def one(type_: str, name: str) -> None:
        info = AsyncServiceInfo(type_, name)
        async with sem:
            if await info.async_request(zc, timeout_ms):
                resolved.append(info)

    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(ctx.limits.request_deadline_s), asyncio.TaskGroup() as tg:
            for type_, name in names:
                tg.create_task(one(type_, name))
    return resolved


def local_links(scope: Scope, adapters: Iterable[ifaddr.Adapter] | None = None) -> list[str]:
    """Local IPv4 addresses whose subnet holds at least one address in ``scope``.

    Args:
        scope: the scan's scope.
        adapters: the local interfaces; default: the machine's (``ifaddr``).

    Returns:
        The chosen interface addresses, sorted.
    """
    wanted = [a for a in scope.addresses if a.version == 4]
    chosen: set[str] = set()
    for adapter in ifaddr.get_adapters() if adapters is None else adapters:
        for ip in adapter.ips:
            if not ip.is_IPv4 or not isinstance(ip.ip, str):
                continue
            net = ipaddress.IPv4Network(f"{ip.ip}/{ip.network_prefix}", strict=False)
            if any(a in net for a in wanted):
                chosen.add(ip.ip)
    return sorted(chosen)


def _candidates(
    infos: Iterable[AsyncServiceInfo], scope: Scope, ctx: DiscoveryContext
) -> list[Candidate]:
    by_address: dict[str, Candidate] = {}
    for info in infos:
        for address in info.parsed_addresses():
            if address not in scope:
                logger.debug("mdns: dropped off-scope address %s of %s", address, info.name)
                continue
            cand = _candidate(address, info, ctx)
            old = by_address.get(address)
            by_address[address] = old.merged(cand) if old else cand
    return list(by_address.values())


def _candidate(address: str, info: AsyncServiceInfo, ctx: DiscoveryContext) -> Candidate:
    services: tuple[Service, ...] = ()
    if info.port:
        protocol = _PROTOCOL_BY_TYPE.get(info.type, "unknown")
        services = (Service(ctx.port_map.logical(info.port), "tcp", protocol),)
    return Candidate(
        address=address,
        services=services,
        observations=tuple(observations_from(info.type, info.name, _txt(info))),
        found_by=frozenset({"mdns"}),
        notes={f"mdns:{_short(info.type)}": _clip(_instance(info.type, info.name))},
    )


def observations_from(type_: str, name: str, txt: Mapping[str, str]) -> list[Observation]:
    """Identity facts in one announcement: instance name, vendor conventions, TXT keys.

    Args:
        type_: the DNS-SD type, e.g. ``"_axis-video._tcp.local."``.
        name: the full service instance name.
        txt: TXT properties, keys lower-cased, values decoded.

    Returns:
        Observations, strongest first.
    """
    source = f"mdns:{_short(type_)}"
    instance = _instance(type_, name)
    found: list[Observation] = []
    for key, f in _TXT_FIELDS.items():
        if value := txt.get(key):
            conf = Confidence.DISCOVERY if f is Field.MAC else Confidence.BANNER
            found.append(Observation(f, _clip(value), f"{source}/txt:{key}", conf))
    if type_ == "_axis-video._tcp.local." and (m := _AXIS_NAME.fullmatch(instance)):
        found += [
            Observation(Field.VENDOR, "Axis", f"{source}/name", Confidence.BANNER),
            Observation(Field.MODEL, m["model"], f"{source}/name", Confidence.BANNER),
            Observation(Field.MAC, m["mac"], f"{source}/name", Confidence.BANNER),
        ]
    if type_ == "_hap._tcp.local.":
        found += _hap_observations(txt, source)
    if instance:
        found.append(
            Observation(Field.NAME, _clip(instance), f"{source}/name", Confidence.DISCOVERY)
        )
    return [o for o in found if o.field is not Field.MAC or normalize_mac(o.value)]


def _hap_observations(txt: Mapping[str, str], source: str) -> list[Observation]:
    found: list[Observation] = []
    if model := txt.get("md"):
        found.append(Observation(Field.MODEL, _clip(model), f"{source}/txt:md", Confidence.BANNER))
    if kind := _HAP_CAMERA_CATEGORIES.get(txt.get("ci", "")):
        found.append(Observation(Field.DEVICE_TYPE, kind, f"{source}/txt:ci", Confidence.DISCOVERY))
    return found


def _txt(info: AsyncServiceInfo) -> dict[str, str]:
    return {k.lower(): v.strip() for k, v in info.decoded_properties.items() if v and v.strip()}


def _instance(type_: str, name: str) -> str:
    suffix = "." + type_
    return name[: -len(suffix)] if name.endswith(suffix) else name


def _short(type_: str) -> str:
    return type_.removesuffix(".local.")


def _clip(value: str) -> str:
    return value[:_MAX_VALUE_CHARS]
