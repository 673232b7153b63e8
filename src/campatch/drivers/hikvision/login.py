"""ISAPI logins and lock signals, shared by identification, the audit's probes and
upgrades: which scheme the device offers, what its ``userCheck`` says, and when to stop
(SAFETY D-02: at the first lock signal, or one failure before it)."""

from __future__ import annotations

from campatch.drivers.hikvision.models import DEVICE_INFO, DeviceInfo, UserCheck
from campatch.drivers.interface import ProbeContext
from campatch.errors import AuthError, DeviceResponseError, LockoutError
from campatch.model import Credential, Field, Observation
from campatch.net.http import AuthScheme, HttpReply
from campatch.net.rtsp import parse_challenge

VENDOR = "Hikvision"
ISAPI_SOURCE = f"isapi:{DEVICE_INFO.path}"


def device_info_observations(info: DeviceInfo, confidence: float) -> list[Observation]:
    """Observations from a decoded ``DeviceInfo`` (vendor key names already ours)."""
    values = [
        (Field.VENDOR, VENDOR),
        (Field.MODEL, info.model),
        (Field.SERIAL, info.serial),
        (Field.MAC, info.mac),
        (Field.FIRMWARE, info.firmware),
        (Field.BUILD, info.build),
        (Field.HARDWARE, info.hardware),
        (Field.DEVICE_TYPE, info.device_type),
        (Field.NAME, info.name),
    ]
    if info.manufacturer and info.manufacturer.casefold() != VENDOR.casefold():
        values.append((Field.BRAND, info.manufacturer))  # an OEM label on Hikvision firmware
    return [Observation(f, v, ISAPI_SOURCE, confidence) for f, v in values if v]


def user_check(reply: HttpReply, host: str) -> UserCheck | None:
    """The ``userCheck`` of a 401, None when the body is not XML (older firmware).

    Raises:
        DeviceResponseError: an XML body that is hostile or malformed.
    """
    if "xml" not in reply.header("Content-Type").lower() or not reply.body.strip():
        return None
    try:
        return UserCheck.decode(reply.body, host=host)
    except DeviceResponseError:
        if b"<!DOCTYPE" in reply.body.upper() or b"<!ENTITY" in reply.body.upper():
            raise
        return None


def offered_scheme(challenge_reply: HttpReply, url: str, host: str) -> AuthScheme:
    """Digest when offered; Basic only when the device offers Basic and no Digest."""
    schemes = {parse_challenge(c)[0] for c in challenge_reply.all_headers("WWW-Authenticate")}
    if "digest" in schemes:
        return AuthScheme.DIGEST
    if "basic" in schemes:
        return AuthScheme.BASIC
    raise DeviceResponseError(f"{url}: 401 without a Digest or Basic challenge", host=host)


def stop_if_locked(check: UserCheck | None, host: str, ctx: ProbeContext) -> None:
    """Raise LockoutError (after ``ctx.auth.locked``) when ``check`` signals a lock."""
    if check is None or not (check.locked or check.near_lock):
        return
    by_us = "yes" if ctx.auth.failures(host) else "no"
    if check.locked:
        why = f"device reports a login lock for {check.unlock_time_s or 0} s (by us: {by_us})"
        unlock = float(check.unlock_time_s) if check.unlock_time_s else None
    else:
        why = (
            f"device allows {check.retry_login_time} more failed login(s) before it locks "
            f"(by us: {by_us})"
        )
        unlock = None
    ctx.auth.locked(host, why)
    raise LockoutError(f"{host}: {why}", host=host, unlock_after_s=unlock)


def refused(reply: HttpReply, credential: Credential, host: str, ctx: ProbeContext) -> None:
    """Record a refused login; raise LockoutError on a lock signal, else AuthError."""
    ctx.auth.failed(host)
    if reply.status == 403:
        why = "device answered 403 to a login (treated as a lock)"
        ctx.auth.locked(host, why)
        raise LockoutError(f"{host}: {why}", host=host)
    check = user_check(reply, host)
    stop_if_locked(check, host, ctx)
    left = "" if check is None else f" ({check.retry_login_time} tries left before the lock)"
    raise AuthError(
        f"{host}: ISAPI refused the login of user {credential.username!r}{left}", host=host
    )
