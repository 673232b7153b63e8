"""Hikvision firmware upgrade over ISAPI: device state, configuration backup, upload.

The :class:`~campatch.drivers.interface.Upgrader` operations of
:class:`~campatch.drivers.hikvision.driver.HikvisionDriver` (which delegates here).
Wire details (VENDORS.md §1 unless marked):

- Every operation starts as identify does: the host's auth budget is spent, then one
  unauthenticated ``GET /ISAPI/System/deviceInfo``; a ``userCheck`` that reports a lock
  or one try left raises :class:`~campatch.errors.LockoutError` before any credential
  is offered (SAFETY D-02). A refused login later is read with the driver's own rules.
- :func:`firmware_state`: ``GET /ISAPI/System/deviceInfo`` (model, firmware, build,
  hardware folded exactly as identify's observations are) and ``GET
  /ISAPI/System/upgradeStatus`` (``upgrading``, ``percent``; absent on firmware that
  lacks the endpoint).
- :func:`upload`: ``PUT /ISAPI/System/updateFirmware``, the raw image as
  ``application/octet-stream`` with Digest, as field tools do (``curl --digest -X PUT
  -T digicap.dav``). :meth:`~campatch.net.http.HttpClient.upload` learns the challenge
  from an authenticated ``GET`` of deviceInfo first, so the image travels once. The
  reply is a ``ResponseStatus``: statusCode 1 (or 7, Reboot Required) is acceptance;
  2 (Device Busy), 4, 5 and 6 are refusals, nothing written (the wrong-model
  refusal says "upgrade packet mismatch"). Any other 5xx is a device error.
- :func:`backup_config`: ``GET /ISAPI/System/configurationData``, a binary export
  [assumed: path from the ISAPI guide]; None when the device does not support it.
- No reboot is ever sent: a device that wants ``PUT /ISAPI/System/reboot`` after the
  upload is left to its owner (the orchestrator never reboots, SAFETY D-07).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from campatch.drivers.hikvision.login import (
    device_info_observations,
    offered_scheme,
    refused,
    stop_if_locked,
    user_check,
)
from campatch.drivers.hikvision.models import (
    CONFIGURATION_DATA_PATH,
    DEVICE_INFO,
    UPDATE_FIRMWARE,
    UPGRADE_STATUS,
    ResponseStatus,
    UpgradeStatus,
)
from campatch.drivers.interface import (
    FirmwareState,
    ProbeContext,
    UpgradeTarget,
    UploadAccepted,
    UploadRefused,
)
from campatch.errors import AuthError, DeviceResponseError
from campatch.model import Confidence, Credential, Field, Identity
from campatch.net.http import AuthScheme, HttpReply

HTTP_PORT = 80
MAX_CONFIG_BYTES = 16 * 1024 * 1024  # a configuration export; real ones are well below
_ACCEPTED = frozenset({1, 7})  # OK; Reboot Required (the image was taken all the same)
_REFUSED = frozenset({2, 4, 5, 6})  # busy, invalid operation / format / content
_NOT_SUPPORTED = "notsupport"


@dataclass(frozen=True)
class _Session:
    """A device whose lock state has been looked at and whose auth scheme is known."""

    target: UpgradeTarget
    ctx: ProbeContext
    scheme: AuthScheme | None  # None: the device asks for no credential at all

    @property
    def host(self) -> str:
        return self.target.address

    @property
    def credential(self) -> Credential | None:
        return None if self.scheme is None else self.target.credential

    def url(self, path: str) -> str:
        return self.ctx.http.url(self.host, HTTP_PORT, path)

    async def get(self, path: str, *, max_body_bytes: int | None = None) -> HttpReply:
        """An authenticated GET; a refused login raises AuthError or LockoutError."""
        reply = await self.ctx.http.request(
            "GET",
            self.url(path),
            credential=self.credential,
            scheme=self.scheme or AuthScheme.DIGEST,
            max_body_bytes=max_body_bytes,
        )
        self.check_login(reply)
        return reply

    def check_login(self, reply: HttpReply) -> None:
        """Raise as the driver does for a refused login (401, or a 403 that is not
        ISAPI's "notSupport", which this driver reads as a lock signal)."""
        if reply.status == 401 or (reply.status == 403 and not _not_supported(reply, self.host)):
            refused(reply, self.target.credential, self.host, self.ctx)


async def _open(target: UpgradeTarget, ctx: ProbeContext) -> _Session:
    """Spend the budget and look at the lock state without offering the credential.

    Raises:
        LockoutError: the budget is used up, or the device reports a (near) lock.
        TransportError, DeviceResponseError: the device did not answer as ISAPI does.
    """
    host = target.address
    ctx.auth.spend(host)
    url = ctx.http.url(host, HTTP_PORT, DEVICE_INFO.path)
    first = await ctx.http.request(DEVICE_INFO.method, url)
    if first.status == 200:
        return _Session(target, ctx, None)
    if first.status != 401:
        raise DeviceResponseError(f"{url}: expected 401 or 200, got HTTP {first.status}", host=host)
    stop_if_locked(user_check(first, host), host, ctx)
    return _Session(target, ctx, offered_scheme(first, url, host))


async def firmware_state(target: UpgradeTarget, ctx: ProbeContext) -> FirmwareState:
    """Model, firmware, build and hardware as identify reports them, plus the upgrade
    status (``upgrading``/``percent`` None when the device has no status endpoint).

    Raises:
        TransportError: the device did not answer (rebooting, gone).
        AuthError, LockoutError: the login was refused, or the device signals a lock.
        DeviceResponseError: an HTTP error status or a reply that cannot be read.
    """
    session = await _open(target, ctx)
    reply = await session.get(DEVICE_INFO.path)
    _expect_ok(reply, session, DEVICE_INFO.path)
    info = DEVICE_INFO.response_type.decode(reply.body, host=session.host)
    identity = Identity.of(device_info_observations(info, Confidence.AUTHENTICATED))
    status = await _upgrade_status(session)
    return FirmwareState(
        model=identity.get(Field.MODEL) or "",
        firmware=identity.get(Field.FIRMWARE) or "",
        build=identity.get(Field.BUILD) or "",
        hardware=identity.get(Field.HARDWARE) or "",
        upgrading=status.upgrading if status else None,
        percent=status.percent if status else None,
    )


async def _upgrade_status(session: _Session) -> UpgradeStatus | None:
    reply = await session.get(UPGRADE_STATUS.path)
    if reply.status == 404 or reply.status == 403:  # 403 reaches here only as notSupport
        return None
    _expect_ok(reply, session, UPGRADE_STATUS.path)
    return UPGRADE_STATUS.response_type.decode(reply.body, host=session.host)


async def backup_config(target: UpgradeTarget, ctx: ProbeContext) -> bytes | None:
    """The configuration export (binary, at most :data:`MAX_CONFIG_BYTES`), or None when
    the device does not support it (404, or 403 ``notSupport``).

    Raises:
        TransportError: the device did not answer, or the export exceeds the cap.
        AuthError, LockoutError: the login was refused, or the device signals a lock.
        DeviceResponseError: any other HTTP error status.
    """
    session = await _open(target, ctx)
    reply = await session.get(CONFIGURATION_DATA_PATH, max_body_bytes=MAX_CONFIG_BYTES)
    if reply.status in (403, 404):
        return None
    _expect_ok(reply, session, CONFIGURATION_DATA_PATH)
    return reply.body


async def upload(
    target: UpgradeTarget,
    image: bytes,
    ctx: ProbeContext,
    progress: Callable[[int, int], None] | None = None,
) -> UploadAccepted:
    """Send ``image`` once; return the device's acceptance text (``"OK"``). ISAPI gives
    no downtime estimate: ``downtime_s`` is None.

    Acceptance is not success: the device still flashes and reboots, and only a
    re-read version (:func:`firmware_state`) proves the new image runs.

    Raises:
        UploadRefused: the device refused the image (wrong model, busy ...).
        TransportError: the connection failed; how much arrived is unknown.
        AuthError, LockoutError: the login was refused, or the device signals a lock.
        DeviceResponseError: an HTTP error status, or a reply that is not a
            ``ResponseStatus``.
    """
    session = await _open(target, ctx)
    url = session.url(UPDATE_FIRMWARE.path)
    try:
        reply = await ctx.http.upload(
            UPDATE_FIRMWARE.method,
            url,
            image,
            credential=session.credential,
            scheme=session.scheme or AuthScheme.DIGEST,
            auth_url=session.url(DEVICE_INFO.path),
            progress=progress,
        )
    except AuthError:
        # HttpClient saw the 401 but keeps its userCheck to itself: look again, without
        # credentials, to tell a plain refusal from a (near) lock.
        peek = await ctx.http.request(DEVICE_INFO.method, session.url(DEVICE_INFO.path))
        refused(peek, target.credential, session.host, ctx)
        raise  # not reached: _refused always raises
    return UploadAccepted(_upload_verdict(reply, session, url))


def _upload_verdict(reply: HttpReply, session: _Session, url: str) -> str:
    host = session.host
    session.check_login(reply)
    outcome = _response_status(reply, host)
    code = outcome.status_code if outcome else None
    if outcome is not None and code in _REFUSED:
        raise UploadRefused(
            f"{host}: the device refused the firmware image: {outcome.message}",
            vendor_message=outcome.message,
            host=host,
        )
    if outcome is not None and code in _ACCEPTED and 200 <= reply.status < 300:
        return outcome.status_string or "OK"
    said = f", statusCode {code}" if code is not None else ", no ResponseStatus"
    raise DeviceResponseError(f"{url}: HTTP {reply.status} to the firmware upload{said}", host=host)


def _response_status(reply: HttpReply, host: str) -> ResponseStatus | None:
    """The reply's ``ResponseStatus``, None when the body is not one."""
    try:
        return ResponseStatus.decode(reply.body, host=host)
    except DeviceResponseError:
        return None


def _not_supported(reply: HttpReply, host: str) -> bool:
    outcome = _response_status(reply, host)
    return outcome is not None and outcome.sub_status_code.casefold() == _NOT_SUPPORTED


def _expect_ok(reply: HttpReply, session: _Session, path: str) -> None:
    if reply.status != 200:
        raise DeviceResponseError(f"{session.url(path)}: HTTP {reply.status}", host=session.host)
