"""The inventory stage's contracts: the store of devices and scans, and the credential vault.

**Store.** What every scan learnt, kept as devices and as history.

A device is keyed by :attr:`campatch.model.Identity.key` (``"mac:..."`` or
``"serial:vendor:serial"``); a host without such a key is kept as ``"addr:<ip>"``.
Every scan is stored whole (every :class:`~campatch.model.HostReport`), so the
devices table is only the latest view and :meth:`InventoryStore.history` can show
how a device looked at each scan.

Change rules applied by :meth:`InventoryStore.record_scan`:

1. A key never seen before is ``NEW``.
2. A known key at another address is ``ADDRESS_CHANGED`` (DHCP moved it; same device).
3. A known key whose firmware (version and build) differs from the stored one is
   ``FIRMWARE_CHANGED``; a scan that could not read the firmware changes nothing.
4. A device last seen at an address inside this scan's scope that did not answer is
   ``GONE``. Devices outside the scope are left alone, so scanning another range never
   marks the rest of the fleet gone.
5. A host without a key at an address where a known device lives is taken to be that
   device, unless its class or vendor says otherwise (identification can fail on one
   scan; that must not look like a device swap).
6. A device that comes back after being gone is not ``NEW``: it is known. Rules 2 and 3
   still apply against what it was when last seen.

**Vault.** Device credentials scoped to a host, a range or a vendor
(:class:`CredentialScope`), listed without passwords (:class:`VaultEntry`) and looked
up most specific first (:class:`CredentialStore`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import TracebackType
from typing import Protocol, Self

from campatch.errors import UsageError
from campatch.model import Change, Credential, DeviceClass, HostReport, ScanResult
from campatch.patch.jobs import JobStore, Journal

_VENDOR = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


@dataclass(frozen=True, slots=True)
class DeviceRow:
    """The latest known state of one device.

    Args:
        key: stable device key (``mac:...``, ``serial:vendor:serial`` or ``addr:<ip>``).
        address: address at which the device answered last.
        device_class: camera, NVR, DVR, not a camera, or unknown.
        vendor: manufacturer, as the strongest source said it.
        model: model name.
        hardware: hardware revision.
        firmware: firmware version.
        build: firmware build.
        serial: serial number.
        mac: MAC address (normalised ``aa:bb:...``).
        what: for non-cameras, what the host is where known.
        first_seen: when a scan saw it first (UTC).
        last_seen: when a scan saw it last (UTC).
        gone: True when it did not answer the last scan that covered its address.
    """

    key: str
    address: str
    device_class: DeviceClass
    vendor: str | None
    model: str | None
    hardware: str | None
    firmware: str | None
    build: str | None
    serial: str | None
    mac: str | None
    what: str
    first_seen: datetime
    last_seen: datetime
    gone: bool


@dataclass(frozen=True, slots=True)
class ScanRow:
    """One stored scan.

    Args:
        id: the scan's id (``ScanResult.scan_id``).
        started_at: when the scan started (UTC).
        finished_at: when the scan finished (UTC).
        targets: the targets as the user gave them.
        host_count: how many hosts the scan reported.
        changes: what the scan changed in the inventory.
    """

    id: int
    started_at: datetime
    finished_at: datetime
    targets: tuple[str, ...]
    host_count: int
    changes: tuple[Change, ...]


@dataclass(frozen=True, slots=True)
class HostSnapshot:
    """How one device looked in one scan.

    Args:
        scan_id: the scan that saw it.
        scanned_at: when that scan started (UTC).
        device_key: the inventory key the host was filed under.
        report: the host report as the scan produced it.
    """

    scan_id: int
    scanned_at: datetime
    device_key: str
    report: HostReport


class AttemptOutcome(StrEnum):
    """What one login attempt came to (the password itself is never stored)."""

    ACCEPTED = "accepted"
    REFUSED = "refused"
    LOCKED = "locked"  # the device signalled a lockout; ``until`` says when it lifts


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """One login campatch made on a device, kept so lockout budgets hold across scans.

    Args:
        device: the inventory key of the device (``"addr:<ip>"`` when it has none yet).
        address: the address the attempt went to (lockouts are per client and address).
        protocol: ``"http"``, ``"onvif"``, ``"rtsp"``, ``"telnet"`` or ``"identify"``.
        username: the account tried ("" when unknown).
        at: when (UTC).
        outcome: accepted, refused, or a lock signal.
        owner: the owner's stored credential (SAFETY D-03), not a factory default.
        until: for a lock signal, when the device said (or we assume) it unlocks.
    """

    device: str
    address: str
    protocol: str
    username: str
    at: datetime
    outcome: AttemptOutcome
    owner: bool = False
    until: datetime | None = None


class AttemptLedger(Protocol):
    """**Protocol**: the remembered login attempts (the inventory, or memory in tests)."""

    def record_attempt(self, attempt: LoginAttempt) -> None:
        """Remember one attempt."""
        ...

    def attempts_since(self, device: str, address: str, since: datetime) -> list[LoginAttempt]:
        """Attempts on the device (by key) or at the address since ``since``, oldest first."""
        ...


class InventoryStore(AttemptLedger, Protocol):
    """**Protocol**: where scans, devices and their history are kept.

    Every method raises :class:`~campatch.errors.InventoryError` when the database
    cannot be reached or written; nothing else escapes. Methods are synchronous:
    async callers use ``asyncio.to_thread``. A store may be used from several
    threads, one call at a time per thread.
    """

    def record_scan(self, result: ScanResult, scope_addresses: Iterable[str]) -> ScanResult:
        """Store a scan, update the devices and work out what changed.

        Args:
            result: the scan's outcome; its ``scan_id`` and ``changes`` are ignored.
            scope_addresses: every address the scan covered (expanded targets). Only
                devices last seen at one of these can be marked gone.

        Returns:
            ``result`` with ``scan_id`` and ``changes`` filled in.

        Raises:
            InventoryError: the database cannot be written; nothing was stored.
        """
        ...

    def devices(self, include_gone: bool = False) -> list[DeviceRow]:
        """Every known device, ordered by address.

        Args:
            include_gone: also list devices marked gone.

        Returns:
            One row per device.

        Raises:
            InventoryError: the database cannot be read.
        """
        ...

    def scans(self, limit: int = 20) -> list[ScanRow]:
        """The most recent scans, newest first.

        Args:
            limit: at most this many scans.

        Returns:
            One row per scan, with its changes.

        Raises:
            InventoryError: the database cannot be read.
        """
        ...

    def history(self, device_key: str) -> list[HostSnapshot]:
        """Every scan's view of one device, oldest first.

        Args:
            device_key: the device's key as in :attr:`DeviceRow.key`.

        Returns:
            One snapshot per scan that saw the device (empty for an unknown key).

        Raises:
            InventoryError: the database cannot be read.
        """
        ...

    def jobs(self) -> JobStore:
        """The upgrade jobs kept in the same database."""
        ...

    def journal(self, actor: str | None = None) -> Journal:
        """The tamper-evident journal kept in the same database (``actor``: the default
        actor of its records)."""
        ...

    def close(self) -> None:
        """Release the database connections. The store cannot be used afterwards."""
        ...

    def __enter__(self) -> Self:
        """The store itself; ``with open_store(...) as store:`` closes it on exit."""
        ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the store."""
        ...


# --- the credential vault's contract -----------------------------------------------

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class ScopeKind(StrEnum):
    """What a credential applies to, most specific first."""

    HOST = "host"
    RANGE = "range"
    VENDOR = "vendor"


def ip_of(text: str) -> IPAddress:
    """An address without zone id; IPv4-mapped IPv6 as IPv4."""
    ip = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


@dataclass(frozen=True, slots=True)
class CredentialScope:
    """Where a credential applies: one host (IP), one range (CIDR) or one vendor.

    The value is normalised on construction (``"HikVision"`` -> ``"hikvision"``).

    Args:
        kind: host, range or vendor.
        value: the IP address, the network in CIDR form, or the vendor name.

    Raises:
        UsageError: the value is not valid for the kind.
    """

    kind: ScopeKind
    value: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _normalise(self.kind, self.value))

    @classmethod
    def parse(cls, text: str) -> CredentialScope:
        """A scope from user text: ``"192.0.2.7"``, ``"192.0.2.0/24"``, ``"hikvision"``.

        ``host:``, ``range:`` and ``vendor:`` prefixes make the kind explicit.

        Raises:
            UsageError: the text is neither an address, a network nor a vendor name.
        """
        text = text.strip()
        prefix, sep, rest = text.partition(":")
        if sep and prefix in {k.value for k in ScopeKind}:
            return cls(ScopeKind(prefix), rest)
        if "/" in text:
            return cls(ScopeKind.RANGE, text)
        try:
            ip_of(text)
        except ValueError:
            return cls(ScopeKind.VENDOR, text)
        return cls(ScopeKind.HOST, text)

    def rank(self, address: IPAddress, vendor: str | None) -> tuple[int, int] | None:
        """How specifically this scope matches a host (lower = more), or None."""
        match self.kind:
            case ScopeKind.HOST:
                return (0, 0) if ip_of(self.value) == address else None
            case ScopeKind.RANGE:
                net = ipaddress.ip_network(self.value)
                return (1, -net.prefixlen) if address in net else None
            case ScopeKind.VENDOR:
                matched = vendor is not None and _vendor_matches(self.value, vendor)
                return (2, 0) if matched else None

    def __str__(self) -> str:
        return self.value


def _normalise(kind: ScopeKind, value: str) -> str:
    value = value.strip()
    if kind is ScopeKind.HOST:
        try:
            return str(ip_of(value))
        except ValueError as err:
            raise UsageError(f"host scope must be an IP address, got {value!r}") from err
    if kind is ScopeKind.RANGE:
        return _normalise_range(value)
    vendor = value.casefold()
    if not _VENDOR.fullmatch(vendor):
        raise UsageError(f"vendor scope must be a vendor name like 'hikvision', got {value!r}")
    return vendor


def _normalise_range(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError:
        pass
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError as err:
        raise UsageError(f"range scope must be a network like 192.0.2.0/24, got {value!r}") from err
    raise UsageError(f"range {value} has host bits set; did you mean {network}?")


def _vendor_matches(scope_vendor: str, device_vendor: str) -> bool:
    """``"hikvision"`` matches ``"HIKVISION"`` and ``"Hangzhou Hikvision Digital ..."``."""
    pattern = rf"(?<![a-z0-9]){re.escape(scope_vendor)}(?![a-z0-9])"
    return re.search(pattern, device_vendor.casefold()) is not None


@dataclass(frozen=True, slots=True)
class VaultEntry:
    """A stored credential as listed: scope and username, never the password.

    Args:
        scope: where the credential applies.
        username: the user name.
        added_at: when it was added or last replaced (UTC).
    """

    scope: CredentialScope
    username: str
    added_at: datetime


class CredentialStore(Protocol):
    """**Protocol**: where device credentials are kept (see ``credentials.CredentialVault``).

    Every method raises :class:`~campatch.errors.CredentialStoreError` when the store
    cannot be read, opened with its key, or saved; a failed save changes nothing.
    """

    def entries(self) -> list[VaultEntry]:
        """Every stored credential's scope and username, never a password."""
        ...

    def for_host(self, address: str, vendor: str | None = None) -> list[Credential]:
        """The credentials to try on a host: host, then narrowest range, then vendor."""
        ...

    def add(self, scope: CredentialScope | str, credential: Credential) -> bool:
        """Store a credential (replacing the same scope and username); True if replaced."""
        ...

    def remove(self, scope: CredentialScope | str, username: str | None = None) -> int:
        """Delete a scope's credentials (or one username's); returns how many."""
        ...
