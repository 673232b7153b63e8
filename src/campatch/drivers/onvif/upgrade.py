"""Firmware upgrade over the ONVIF device service (any Profile S device).

VENDORS.md §7 and the device-management WSDL (onvif-zeep-async ``devicemgmt.wsdl``):

1. ``GetSystemDateAndTime`` without credentials, as every ONVIF exchange here starts:
   it finds the device service and the device's clock, so that the WS-Security
   ``Created`` stamps below match the device's clock even when it is far off.
2. ``StartFirmwareUpgrade`` (signed) -> ``UploadUri``, ``UploadDelay`` and
   ``ExpectedDownTime`` (both ``xs:duration``). After ``UploadDelay`` the image is
   POSTed to ``UploadUri`` once, as ``application/octet-stream``. The WSDL says an
   invalid image is answered "415 Unsupported Media Type" and a device error "500";
   any other 4xx is taken as a refusal too (nothing written), 401/403 as a refused
   credential. The URI itself is the authorisation (ONVIF defines none for it
   [assumed]), so no HTTP credential is sent with the image.
3. A device that answers ``StartFirmwareUpgrade`` with ``ter:ActionNotSupported`` (or
   gSOAP's "not implemented") gets the legacy ``UpgradeSystemFirmware``: the signed
   envelope and the image in one MTOM/XOP ``multipart/related`` request. Before that,
   ``GetServiceCapabilities`` is asked (no credentials): a device that says
   ``FirmwareUpgrade="false"`` is refused without sending it the image.

ONVIF has no upgrade-status call: :func:`firmware_state` reports ``upgrading=None``.
:func:`upload` hands the device's ``ExpectedDownTime`` to the orchestrator in seconds
(:attr:`UploadAccepted.downtime_s`; the legacy operation gives none), and keeps it in
the acceptance text for the owner (``"accepted; expected downtime PT60S"``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element

from campatch.drivers.interface import (
    FirmwareState,
    ProbeContext,
    UpgradeTarget,
    UploadAccepted,
    UploadRefused,
)
from campatch.drivers.onvif.models import (
    DEVICE_SERVICE_PATH,
    GetDeviceInformation,
    GetServiceCapabilities,
    GetSystemDateAndTime,
    StartFirmwareUpgrade,
    UpgradeSupport,
    UploadSlot,
    mtom_request,
    parse_duration,
    upgrade_message,
    upgrade_system_firmware_xml,
)
from campatch.errors import AuthError, DeviceResponseError, DriverError
from campatch.model import Credential
from campatch.net.http import HttpReply
from campatch.net.soap import (
    SOAP_CONTENT_TYPE,
    SoapClient,
    SoapFault,
    SoapOperation,
    envelope,
    parse_fault,
    security_header,
    soap_body,
)
from campatch.net.xml import local, parse_xml

logger = logging.getLogger(__name__)

_R = TypeVar("_R")

#: Ports tried when the driver has not located the device service before (8000 is left
#: out: on Hikvision it is the binary SDK port, see ``ONVIF_HTTP_PORTS``).
UPGRADE_PORTS = (80, 8080, 8899)
#: Longest ``UploadDelay`` campatch waits; a device asking for more is not sent the image.
MAX_UPLOAD_DELAY_S = 120.0
_ACCEPTED = "accepted"


@dataclass(frozen=True)
class DeviceService:
    """Where a device's ONVIF device service answered, and its clock.

    Args:
        url: the device-service URL (port-mapped).
        offset_s: device clock minus ours, seconds (0 when the device did not say).
    """

    url: str
    offset_s: float


async def device_service(
    address: str, ctx: ProbeContext, known_url: str | None = None
) -> DeviceService:
    """Find the device service with an unauthenticated ``GetSystemDateAndTime`` and read
    the device's clock (a fresh reading every time: a reboot may have reset it).

    Args:
        address: the device.
        known_url: where identification found the service (port-mapped URL); without
            it the usual path is tried on the usual ports.

    Raises:
        TransportError: the device did not answer (rebooting, gone).
        DeviceResponseError: no device service answered on any port tried.
    """
    urls = (
        [known_url]
        if known_url
        else [ctx.http.url(address, port, DEVICE_SERVICE_PATH) for port in UPGRADE_PORTS]
    )
    soap = SoapClient(ctx.http)
    errors: list[DriverError] = []
    for url in urls:
        try:
            device_now = await soap.call(url, GetSystemDateAndTime())
        except AuthError:
            # Against the ONVIF access policy some devices want credentials even for
            # the clock: the service is here, its clock unknown.
            return DeviceService(url, 0.0)
        except DriverError as err:
            logger.debug("onvif: %s GetSystemDateAndTime: %s", url, err)
            errors.append(err)
            continue
        return DeviceService(url, (device_now - datetime.now(UTC)).total_seconds())
    raise errors[0]  # the standard port's reason (port 80 first)


async def firmware_state(
    target: UpgradeTarget, ctx: ProbeContext, known_url: str | None = None
) -> FirmwareState:
    """Model, firmware and hardware from a signed ``GetDeviceInformation``, exactly as
    identification reports them; ``upgrading`` is None (ONVIF has no status call).

    Raises:
        TransportError: the device did not answer (rebooting, gone).
        AuthError: the credential was refused (after ``ctx.auth.failed``).
        LockoutError: this run's login budget for the device is used up.
        DeviceResponseError: no device service, or an unusable reply.
    """
    host = target.address
    service = await device_service(host, ctx, known_url)
    ctx.auth.spend(host)
    try:
        info = await SoapClient(ctx.http).call(
            service.url,
            GetDeviceInformation(),
            credential=target.credential,
            clock_offset_s=service.offset_s,
        )
    except AuthError:
        ctx.auth.failed(host)
        raise
    return FirmwareState(
        model=info.model, firmware=info.firmware_version, hardware=info.hardware_id
    )


async def backup_config(target: UpgradeTarget, ctx: ProbeContext) -> bytes | None:
    """None: campatch takes no configuration export over ONVIF.

    ``GetSystemBackup`` is optional (the ``SystemBackup`` capability), deprecated in
    newer ONVIF Core specifications (``GetSystemUris`` replaces it) and returns MTOM
    attachments in a vendor format campatch could not restore anyway. Vendor drivers
    export the configuration where the vendor's own API has a call for it.
    """
    return None


async def upload(
    target: UpgradeTarget,
    image: bytes,
    ctx: ProbeContext,
    progress: Callable[[int, int], None] | None = None,
    known_url: str | None = None,
) -> UploadAccepted:
    """Send the image once (see the module docstring); return the device's acceptance.

    Returns:
        HTTP POST upgrade: text ``"accepted; expected downtime <xs:duration>"`` and
        ``downtime_s`` the device's ``ExpectedDownTime`` in seconds (None when it gave
        none or not a duration). Legacy upgrade: text ``"accepted; <device message>"``,
        ``downtime_s`` None (``UpgradeSystemFirmware`` gives no estimate).

    Raises:
        UploadRefused: the device refused the image, or offers no upgrade operation.
        TransportError: the connection failed; how much arrived is unknown.
        AuthError: the credential (or the upload URI) was refused.
        LockoutError: this run's login budget for the device is used up.
        DeviceResponseError: a 5xx, an unusable reply or an implausible upload URI.
    """
    service = await device_service(target.address, ctx, known_url)
    started = await _signed(ctx, service, target, StartFirmwareUpgrade())
    if isinstance(started, SoapFault):
        if not _unsupported(started):
            raise DeviceResponseError(
                f"onvif StartFirmwareUpgrade: soap fault {_fault_text(started)}",
                host=target.address,
            )
        return await _legacy_upload(target, image, ctx, service, progress, started)
    return await _http_upload(target, image, ctx, started, progress)


# --- HTTP POST upgrade (StartFirmwareUpgrade) -----------------------------------------


async def _http_upload(
    target: UpgradeTarget,
    image: bytes,
    ctx: ProbeContext,
    slot: UploadSlot,
    progress: Callable[[int, int], None] | None,
) -> UploadAccepted:
    host = target.address
    url = _upload_url(slot.upload_uri, host, ctx)
    if slot.upload_delay_s > MAX_UPLOAD_DELAY_S:
        raise DeviceResponseError(
            f"onvif: the device asks to wait {slot.upload_delay_s:g} s before the upload "
            f"(more than {MAX_UPLOAD_DELAY_S:g} s); nothing sent",
            host=host,
        )
    await asyncio.sleep(slot.upload_delay_s)
    reply = await _send(ctx, url, image, "application/octet-stream", progress)
    said = _said(reply)
    if reply.status == 200:
        downtime = slot.expected_downtime
        text = f"{_ACCEPTED}; expected downtime {downtime}" if downtime else _ACCEPTED
        return UploadAccepted(text, parse_duration(downtime))
    if reply.status in (401, 403):
        raise AuthError(
            f"onvif upload: the upload URI was refused (http {reply.status})", host=host
        )
    if reply.status >= 500 or reply.status in (404, 410) or reply.status < 400:
        # 404/410: the one-time URI is unknown or expired; nothing can have been written.
        raise DeviceResponseError(f"onvif upload: http {reply.status}: {said}", host=host)
    raise UploadRefused(
        f"{host}: the device refused the image (http {reply.status})",
        vendor_message=said,
        host=host,
    )


def _upload_url(upload_uri: str, host: str, ctx: ProbeContext) -> str:
    """``UploadUri`` aimed at the device being upgraded: its port and path are kept,
    its host is replaced by ``host`` (the image goes to no other machine, and devices
    behind NAT report their inside address)."""
    try:
        parts = urlsplit(upload_uri)
        port = parts.port
    except ValueError as err:
        raise DeviceResponseError(
            f"onvif: unusable UploadUri {upload_uri[:200]!r}", host=host
        ) from err
    if parts.scheme not in ("http", "https") or not parts.path.startswith("/"):
        raise DeviceResponseError(f"onvif: unusable UploadUri {upload_uri[:200]!r}", host=host)
    tls = parts.scheme == "https"
    path = f"{parts.path}?{parts.query}" if parts.query else parts.path
    return ctx.http.url(host, port or (443 if tls else 80), path, tls=tls)


# --- legacy MTOM upgrade (UpgradeSystemFirmware) --------------------------------------


async def _legacy_upload(
    target: UpgradeTarget,
    image: bytes,
    ctx: ProbeContext,
    service: DeviceService,
    progress: Callable[[int, int], None] | None,
    start_fault: SoapFault,
) -> UploadAccepted:
    host = target.address
    support = await _upgrade_support(ctx, service)
    if support is not None and support.mtom is False:
        raise UploadRefused(
            f"{host}: the device offers no firmware upgrade operation over ONVIF "
            "(neither StartFirmwareUpgrade nor UpgradeSystemFirmware); nothing sent",
            vendor_message=_fault_text(start_fault),
            host=host,
        )
    ctx.auth.spend(host)
    signed = envelope(upgrade_system_firmware_xml(), _header(target.credential, service))
    content_type, body = mtom_request(signed, image)
    reply = await _send(ctx, service.url, body, content_type, progress)
    try:
        answer = _soap_reply(reply, "UpgradeSystemFirmware", host, ctx)
    except AuthError:
        ctx.auth.failed(host)
        raise
    if isinstance(answer, SoapFault):
        if _unsupported(answer):
            raise UploadRefused(
                f"{host}: the device offers no firmware upgrade operation over ONVIF",
                vendor_message=_fault_text(answer),
                host=host,
            )
        raise UploadRefused(
            f"{host}: the device refused the image", vendor_message=_fault_text(answer), host=host
        )
    message = upgrade_message(answer)
    return UploadAccepted(f"{_ACCEPTED}; {message}" if message else _ACCEPTED)


async def _upgrade_support(ctx: ProbeContext, service: DeviceService) -> UpgradeSupport | None:
    """What ``GetServiceCapabilities`` says about upgrades; None when it cannot tell."""
    try:
        return await SoapClient(ctx.http).call(service.url, GetServiceCapabilities())
    except (AuthError, DeviceResponseError) as err:
        logger.debug("onvif: %s GetServiceCapabilities: %s", service.url, err)
        return None


async def _send(
    ctx: ProbeContext,
    url: str,
    body: bytes,
    content_type: str,
    progress: Callable[[int, int], None] | None,
) -> HttpReply:
    """POST ``body`` once (no HTTP credential: the URI or the WS-Security header is the
    authorisation); a connection closed without a reply is a TransportError."""
    return await ctx.http.upload(
        "POST", url, body, credential=None, content_type=content_type, progress=progress
    )


# --- SOAP exchanges that may end in a fault the caller acts on -------------------------


async def _signed(
    ctx: ProbeContext, service: DeviceService, target: UpgradeTarget, operation: SoapOperation[_R]
) -> _R | SoapFault:
    """One signed call (budget spent first); its result, or the non-auth fault."""
    host = target.address
    ctx.auth.spend(host)
    reply = await ctx.http.request(
        "POST",
        service.url,
        content=envelope(operation.body_xml(), _header(target.credential, service)),
        headers={
            "Content-Type": f'{SOAP_CONTENT_TYPE}; action="{operation.namespace}/{operation.name}"'
        },
    )
    try:
        answer = _soap_reply(reply, operation.name, host, ctx)
    except AuthError:
        ctx.auth.failed(host)
        raise
    return answer if isinstance(answer, SoapFault) else operation.decode(answer, host)


def _header(credential: Credential, service: DeviceService) -> str:
    return security_header(credential, clock_offset_s=service.offset_s)


def _soap_reply(reply: HttpReply, name: str, host: str, ctx: ProbeContext) -> Element | SoapFault:
    """The ``<name>Response`` element, or the fault the device answered with.

    Raises:
        AuthError: ``ter:NotAuthorized``, or HTTP 401/403.
        DeviceResponseError: not SOAP (a 5xx page ...), or an unexpected element.
    """
    what = f"onvif {name}"
    is_xml = reply.body.lstrip().startswith(b"<")
    if reply.status in (401, 403) and not is_xml:
        raise AuthError(f"{what}: refused with http {reply.status}", host=host)
    if not is_xml:
        raise DeviceResponseError(f"{what}: http {reply.status}: {_said(reply)}", host=host)
    root = parse_xml(reply.body, what=what, host=host, max_bytes=ctx.http.limits.max_body_bytes)
    element = soap_body(root, what=what, host=host)
    if local(element.tag) == "Fault":
        fault = parse_fault(element)
        if fault.not_authorized or reply.status in (401, 403):
            raise AuthError(
                f"{what}: credential refused ({fault.reason or 'NotAuthorized'})", host=host
            )
        return fault
    if reply.status != 200 or local(element.tag) != f"{name}Response":
        raise DeviceResponseError(
            f"{what}: unexpected reply (http {reply.status}, {local(element.tag)})", host=host
        )
    return element


def _unsupported(fault: SoapFault) -> bool:
    """The device does not implement the operation: ONVIF's ``ter:ActionNotSupported``,
    or the "Method '...' not implemented" fault of gSOAP-based devices [assumed]."""
    return "ActionNotSupported" in fault.subcodes or "not implemented" in fault.reason.lower()


def _fault_text(fault: SoapFault) -> str:
    return f"{'/'.join((fault.code, *fault.subcodes))}: {fault.reason}"


def _said(reply: HttpReply) -> str:
    """A reply body as one line of text for messages (at most 200 characters)."""
    text = " ".join(reply.text.split())[:200]
    return text or f"http {reply.status}"
