"""Firmware upgrade on Dahua-firmware devices (Dahua, Amcrest, Lorex): the Upgrader calls.

Wire (VENDORS.md §2 "Firmware upgrade", from HTTP_API_V3.26 §4.12 via S-AMCREST-GO):

- upload: ``POST /cgi-bin/upgrader.cgi?action=uploadFirmware``, ``multipart/form-data``
  with one file part; the device answers ``OK`` when it took the image, else
  ``Error\\r\\n<reason>`` with HTTP 200 or 400 (the Dahua CGI convention). The part is
  ``name="upgrade"; filename="update.bin"`` [assumed: not in VENDORS.md; a public test
  script written against Dahua IPCs sends these, S-AMCREST-GO sends ``name="firmware"``;
  the CGI takes the file part whatever its name is believed to be].
- status: ``GET /cgi-bin/upgrader.cgi?action=getState`` -> ``state=<word>`` and
  ``progress=<n>`` (see :class:`~campatch.drivers.dahua.models.UpgradeState`).
- configuration backup: ``GET /cgi-bin/Config.backup?action=All`` [assumed: the path
  the Dahua web UI's "Backup" button is believed to use; not in VENDORS.md]; a device
  without it (400/404/501 or an ``Error`` body) has none: None.
- ``upgrader.cgi?action=cancel`` exists but is never sent: cancelling a flash write
  can brick a device (SAFETY D-07).

Every call first logs in exactly as identification does (one unauthenticated request to
learn the scheme, then ``getSystemInfo``), so a refused credential or a lock signal is
seen on a small GET and the image is never sent with a credential the device refuses.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from campatch.drivers.dahua.cgi import (
    GET_SOFTWARE_VERSION,
    GET_SYSTEM_INFO,
    HTTP_PORT,
    CgiRequest,
    CgiSession,
    open_session,
)
from campatch.drivers.dahua.models import SystemInfo, UpgradeState, is_error_body
from campatch.drivers.interface import (
    FirmwareState,
    ProbeContext,
    UpgradeTarget,
    UploadAccepted,
    UploadRefused,
)
from campatch.errors import AuthError, DeviceResponseError
from campatch.net.http import HttpReply

UPLOAD_PATH = "/cgi-bin/upgrader.cgi?action=uploadFirmware"
GET_UPGRADE_STATE = CgiRequest(
    "getState", "/cgi-bin/upgrader.cgi?action=getState", UpgradeState.decode
)
BACKUP_PATH = "/cgi-bin/Config.backup?action=All"
FORM_FIELD = "upgrade"  # [assumed], see the module docstring
FORM_FILENAME = "update.bin"  # [assumed], see the module docstring
#: Largest configuration backup read (real ones are tens to hundreds of KiB).
BACKUP_MAX_BYTES = 16 * 1024 * 1024
#: What a refusal's reason word means, for the owner (the words getState uses).
_REASONS = {
    "invalid": "not a valid image for this device (model, region, version or checksum)",
    "notenoughmemory": "not enough memory for the image",
    "upgrading": "an upgrade is already in progress",
    "failed": "the device could not take the image",
}


async def firmware_state(target: UpgradeTarget, ctx: ProbeContext) -> FirmwareState:
    """Model, hardware, firmware and build as ``identify()`` reports them, plus getState.

    Raises:
        TransportError: the device did not answer (rebooting, gone).
        AuthError, LockoutError: the credential was refused, or a lock signal.
        DeviceResponseError: identity or version unreadable.
    """
    session, info = await _login(target, ctx)
    # Required here (identify() treats it as optional): the version is the point.
    version = await session.login(GET_SOFTWARE_VERSION)
    state = await session.optional(GET_UPGRADE_STATE)
    return FirmwareState(
        model=info.device_type,
        firmware=version.firmware,
        build=version.build,
        hardware=info.hardware,
        upgrading=state.upgrading if state else None,
        percent=state.progress if state else None,
        status=state.state if state else "",
    )


async def backup_config(target: UpgradeTarget, ctx: ProbeContext) -> bytes | None:
    """The device's configuration file (``Config.backup``), or None where it has none.

    Raises:
        AuthError, LockoutError, TransportError: see :func:`firmware_state`.
        DeviceResponseError: a server error, or an empty or unexpected reply.
    """
    session, _info = await _login(target, ctx)
    host = target.address
    reply = await ctx.http.request(
        "GET",
        ctx.http.url(host, HTTP_PORT, BACKUP_PATH),
        credential=session.credential,
        scheme=session.scheme,
        max_body_bytes=BACKUP_MAX_BYTES,
    )
    if reply.status != 200 and session._refused(reply):
        raise session._refusal(reply, "Config.backup")
    # Only a leading "Error" means one: is_error_body's "invalid" anywhere would also
    # match a backup that merely contains the word.
    if reply.status in (400, 404, 501) or reply.body[:16].strip().lower().startswith(b"error"):
        return None
    if reply.status != 200 or not reply.body:
        what = f"HTTP {reply.status}" if reply.status != 200 else "an empty body"
        raise DeviceResponseError(f"{host}: Config.backup answered {what}", host=host)
    return reply.body


async def upload(
    target: UpgradeTarget,
    image: bytes,
    ctx: ProbeContext,
    progress: Callable[[int, int], None] | None = None,
) -> UploadAccepted:
    """Send ``image`` once, as ``multipart/form-data``; return the device's ``OK`` (the
    CGI gives no downtime estimate: ``downtime_s`` is None).

    Raises:
        UploadRefused: the device answered an ``Error`` (or another 4xx): nothing written.
        TransportError: the connection failed; how much arrived is unknown.
        AuthError, LockoutError: the credential was refused, or a lock signal.
        DeviceResponseError: HTTP 5xx, or a reply that is neither ``OK`` nor an error.
    """
    session, _info = await _login(target, ctx)
    host = target.address
    boundary = _boundary(image)
    try:
        reply = await ctx.http.upload(
            "POST",
            ctx.http.url(host, HTTP_PORT, UPLOAD_PATH),
            multipart_body(image, boundary),
            credential=session.credential,
            scheme=session.scheme,
            auth_url=ctx.http.url(host, HTTP_PORT, GET_SYSTEM_INFO.path),
            content_type=f"multipart/form-data; boundary={boundary}",
            progress=progress,
        )
    except AuthError:
        ctx.auth.failed(host)
        raise
    return UploadAccepted(_upload_outcome(session, reply))


def multipart_body(image: bytes, boundary: str) -> bytes:
    """``image`` as the one file part of a ``multipart/form-data`` body (RFC 7578)."""
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{FORM_FIELD}"; filename="{FORM_FILENAME}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    return head.encode() + image + f"\r\n--{boundary}--\r\n".encode()


def _boundary(image: bytes) -> str:
    """A random boundary that does not occur in the image."""
    while True:
        boundary = f"campatch-{secrets.token_hex(16)}"
        if boundary.encode() not in image:
            return boundary


async def _login(target: UpgradeTarget, ctx: ProbeContext) -> tuple[CgiSession, SystemInfo]:
    """Log in as identification does; the session carries the scheme the device offers.

    Raises:
        LockoutError: the host already signalled a lock (nothing is sent), or does now.
        AuthError: the credential was refused.
    """
    ctx.auth.spend(target.address)
    session = await open_session(target.address, target.credential, ctx)
    return session, await session.login(GET_SYSTEM_INFO)


def _upload_outcome(session: CgiSession, reply: HttpReply) -> str:
    host = session.host
    text = reply.text.strip()
    if reply.status != 200 and session._refused(reply):
        raise session._refusal(reply, "uploadFirmware")
    if reply.status >= 500:
        raise DeviceResponseError(f"{host}: uploadFirmware answered HTTP {reply.status}", host=host)
    if reply.status == 200 and text.splitlines()[:1] == ["OK"]:
        return text
    if 400 <= reply.status < 500 or (reply.status == 200 and is_error_body(text)):
        raise UploadRefused(
            f"{host}: the device refused the image: {_reason(text, reply.status)}",
            vendor_message=text[:200],
            host=host,
        )
    # Not a refusal we recognise: the device may have taken the image; the caller must
    # re-read its state.
    raise DeviceResponseError(
        f"{host}: uploadFirmware answered HTTP {reply.status} {text[:80]!r}", host=host
    )


def _reason(text: str, status: int) -> str:
    """The reason after ``Error``, explained where the word is known."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    words = lines[1:] if lines[:1] and lines[0].lower() == "error" else lines
    reason = " ".join(words)[:120]
    if not reason:
        return f"HTTP {status}"
    explained = _REASONS.get(reason.casefold().rstrip("!."))
    return f"{reason} ({explained})" if explained else reason
