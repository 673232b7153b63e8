"""The default-credential check (SAFETY B-01, D-01..D-04).

Which pairs: the vendor's factory defaults from the knowledge base, at most two
(``DEFAULT_PAIRS``), never a botnet list unless ``mirai`` is asked for explicitly; the
Mirai list only ever goes to telnet, where it was used. Which protocols: the vendor's
web API (ISAPI, CGI), ONVIF, RTSP, then telnet, protocol by protocol, each pair at
most once per protocol and not at all once a protocol accepted it. Every attempt goes
through the device's :class:`~campatch.audit.probes.budget.LoginBudget`, which stops
before the lockout threshold and at the first lock signal.

When the owner's stored credential is itself a factory default, that is a finding
without any attempt; a default pair for an account whose (different) password the
owner stored and the device accepted is not tried at all.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from campatch.audit.probes.budget import LoginBudget
from campatch.errors import DriverError
from campatch.knowledge.index import KnowledgeBase
from campatch.model import Credential, DefaultCredential, DefaultLogin, Problem, Secret

logger = logging.getLogger(__name__)

DEFAULT_PAIRS = 2  # factory pairs per vendor (D-04)
#: Services whose default is the device's own account (web, ONVIF, RTSP share it).
_ACCOUNT_SERVICES = frozenset(
    {"http", "https", "web", "any", "unspecified", "onvif", "rtsp", "ssh"}
)

Login = Callable[[Credential], Awaitable[bool]]


def _unique(creds: Sequence[DefaultCredential]) -> list[DefaultCredential]:
    seen: dict[tuple[str, str], DefaultCredential] = {}
    for c in creds:
        seen.setdefault((c.username, c.password), c)
    return list(seen.values())


def account_pairs(knowledge: KnowledgeBase, vendor: str) -> list[DefaultCredential]:
    """The vendor's factory account defaults (not botnet lists), at most two."""
    own = [c for c in knowledge.credentials_for(vendor) if not c.mirai]
    mine = [c for c in own if c.service in _ACCOUNT_SERVICES]
    specific = [c for c in mine if c.vendor.casefold() == vendor.casefold()] or mine
    return _unique(specific)[:DEFAULT_PAIRS]


def telnet_pairs(knowledge: KnowledgeBase, vendor: str, *, mirai: bool) -> list[DefaultCredential]:
    """Telnet defaults: the vendor's own (two at most); the Mirai list only when asked."""
    creds = knowledge.credentials_for(vendor, "telnet")
    own = [c for c in creds if not c.mirai and c.vendor.casefold() == vendor.casefold()]
    pairs = _unique(own)[:DEFAULT_PAIRS]
    if mirai:
        pairs += [c for c in _unique([c for c in creds if c.mirai]) if c not in pairs]
    return pairs


@dataclass
class CredentialPlan:
    """How one device may be tried: per protocol, a login function.

    Args:
        account: ``(protocol, login)`` for the account protocols, in order.
        telnet: the telnet login, when telnet is open.
        pairs: account defaults to try.
        telnet_defaults: telnet defaults to try.
    """

    account: list[tuple[str, Login]] = field(default_factory=list)
    telnet: Login | None = None
    pairs: list[DefaultCredential] = field(default_factory=list)
    telnet_defaults: list[DefaultCredential] = field(default_factory=list)


def owner_shortcuts(
    pairs: list[DefaultCredential], owner: Sequence[Credential], owner_accepted: bool
) -> tuple[list[DefaultCredential], list[DefaultLogin]]:
    """Pairs still worth trying, and defaults the owner's own stored credential *is*."""
    logins: list[DefaultLogin] = []
    left: list[DefaultCredential] = []
    stored = {c.username: c.password.reveal() for c in owner}
    for pair in pairs:
        if stored.get(pair.username) == pair.password:
            logins.append(_login("http", pair))
        elif not (owner_accepted and pair.username in stored):
            left.append(pair)
    return left, logins


def _login(service: str, pair: DefaultCredential) -> DefaultLogin:
    return DefaultLogin(service, pair.username, pair.provenance.source, pair.mirai)


async def check_defaults(
    plan: CredentialPlan, budget: LoginBudget
) -> tuple[list[DefaultLogin], list[Problem]]:
    """Try the plan's pairs within ``budget``; accepted ones become DefaultLogins."""
    found: list[DefaultLogin] = []
    problems: list[Problem] = []
    accepted: set[tuple[str, str]] = set()
    for protocol, login in plan.account:
        await _try_all(protocol, login, plan.pairs, budget, accepted, found, problems)
    if plan.telnet is not None:
        await _try_all("telnet", plan.telnet, plan.telnet_defaults, budget, set(), found, problems)
    if budget.lock_reason:
        problems.append(Problem("default-credentials", budget.lock_reason))
    return found, problems


async def _try_all(
    protocol: str,
    login: Login,
    pairs: Sequence[DefaultCredential],
    budget: LoginBudget,
    accepted: set[tuple[str, str]],
    found: list[DefaultLogin],
    problems: list[Problem],
) -> None:
    accounts_in: set[str] = set()  # accounts this protocol already let in
    for pair in pairs:
        if (pair.username, pair.password) in accepted or pair.username in accounts_in:
            continue
        if budget.remaining(protocol) <= 0:
            return
        credential = Credential(pair.username, Secret(pair.password))
        try:
            ok = await budget.attempt(protocol, pair.username, _bind(login, credential))
        except DriverError as err:
            problems.append(Problem(f"default-credentials:{protocol}", str(err)))
            return
        if ok:
            accepted.add((pair.username, pair.password))
            accounts_in.add(pair.username)
            found.append(_login(protocol, pair))


def _bind(login: Login, credential: Credential) -> Callable[[], Awaitable[bool]]:
    async def attempt() -> bool:
        return await login(credential)

    return attempt
