"""Security settings read with the owner's stored credential (accounts, UPnP, P2P).

Every login goes through the device's :class:`LoginBudget` as an *owner* attempt, so
the stale-credential rules of SAFETY D-03 hold: at most one failed login per scan,
back-off after a failure, and after two failures in a row the credential is marked
invalid and left alone (a problem on the report says so).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence

from campatch.audit.probes.budget import LoginBudget
from campatch.drivers.interface import ProbeContext, SecurityReader, SecuritySettings
from campatch.errors import AuthError, DriverError, LockoutError
from campatch.model import Candidate, Credential, Problem

SOURCE = "security-settings"
_Attempt = Callable[[], Awaitable[bool]]


async def read_settings(
    candidate: Candidate,
    reader: SecurityReader,
    credentials: Sequence[Credential],
    budget: LoginBudget,
    ctx: ProbeContext,
) -> tuple[SecuritySettings | None, list[Problem]]:
    """The device's settings via ``reader``, trying the owner's credentials in order.

    Returns:
        The settings (None when none could be read) and what got in the way.
    """
    problems: list[Problem] = []
    for credential in credentials:
        if budget.owner_invalid(credential.username):
            problems.append(_invalid(credential.username))
            continue
        result: list[SecuritySettings] = []
        try:
            ok = await budget.attempt(
                "onvif" if reader.name == "onvif" else "http",
                credential.username,
                _reading(reader, candidate, credential, ctx, result),
                owner=True,
            )
        except DriverError as err:
            return None, [*problems, Problem(SOURCE, str(err))]
        if ok:
            return dataclasses.replace(result[0], username=credential.username), problems
        if budget.owner_invalid(credential.username):
            problems.append(_invalid(credential.username))
        if ok is None or budget.lock_reason:
            break
    return None, problems


def _invalid(username: str) -> Problem:
    return Problem(
        SOURCE,
        f"stored credential for {username!r} marked invalid after repeated failed logins;"
        " update it with 'campatch creds'",
    )


def _reading(
    reader: SecurityReader,
    candidate: Candidate,
    credential: Credential,
    ctx: ProbeContext,
    into: list[SecuritySettings],
) -> _Attempt:
    async def attempt() -> bool:
        try:
            into.append(await reader.security_settings(candidate, credential, ctx))
        except LockoutError:
            raise
        except AuthError:
            return False
        return True

    return attempt
