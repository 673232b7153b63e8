"""One scan filed into the inventory: device keys, device updates and changes.

The rules are written out in :mod:`campatch.inventory.interface`; this module is
their one implementation, run inside the store's transaction.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from campatch.inventory import _codec
from campatch.inventory.tables import ChangeTable, DeviceTable, ScanHostTable, ScanTable
from campatch.model import Change, ChangeKind, DeviceClass, Field, HostReport, ScanResult

logger = logging.getLogger(__name__)

_IN_CHUNK = 500  # bound parameters per IN (...) query; SQLite's limit is far above


def address_key(address: str) -> str:
    """Canonical text of an IP address (``::ffff:...``, zone ids kept); else as given."""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address


def _same(a: str | None, b: str | None) -> bool:
    return " ".join((a or "").split()).casefold() == " ".join((b or "").split()).casefold()


def _firmware_label(firmware: str | None, build: str | None) -> str:
    return f"{firmware or ''} build {build}" if build else firmware or ""


#: identity field -> devices column it fills
_IDENTITY_COLUMNS: dict[Field, str] = {
    Field.VENDOR: "vendor",
    Field.MODEL: "model",
    Field.HARDWARE: "hardware",
    Field.FIRMWARE: "firmware",
    Field.BUILD: "build",
    Field.SERIAL: "serial",
    Field.MAC: "mac",
}


class ScanRecorder:
    """Files one scan's hosts under device keys and works out the changes (one transaction)."""

    def __init__(self, session: Session, result: ScanResult, scope: frozenset[str]) -> None:
        self._session = session
        self._result = result
        self._scope = scope
        self._seen_at = result.finished_at
        self._changes: list[Change] = []
        self._seen: set[str] = set()
        self._devices: dict[str, DeviceTable] = {}
        self._present_at: dict[str, DeviceTable] = {}

    def run(self) -> tuple[int, tuple[Change, ...]]:
        """Add the scan, its history rows and changes to the session; update devices.

        Returns:
            The new scan's id and the changes it noticed.
        """
        hosts = self._result.hosts
        scan = ScanTable(
            started_at=self._result.started_at,
            finished_at=self._result.finished_at,
            targets=[_codec.clean(t) for t in self._result.targets],
            host_count=len(hosts),
        )
        self._session.add(scan)
        self._session.flush()
        self._load_devices(hosts)
        for host, key in zip(hosts, self._assign_keys(hosts), strict=True):
            self._apply(host, key, scan.id)
            self._session.add(_history_row(scan.id, key, host))
        self._mark_gone({address_key(h.address) for h in hosts})
        self._session.add_all(_change_row(scan.id, c) for c in self._changes)
        return scan.id, tuple(self._changes)

    def _load_devices(self, hosts: Sequence[HostReport]) -> None:
        """Every present device (for GONE), plus gone ones this scan sees again."""
        present = select(DeviceTable).where(DeviceTable.gone.is_(False))
        self._devices = {d.key: d for d in self._session.scalars(present)}
        keys = sorted({k for h in hosts if (k := h.identity.key) and k not in self._devices})
        for i in range(0, len(keys), _IN_CHUNK):
            chunk = keys[i : i + _IN_CHUNK]
            for d in self._session.scalars(select(DeviceTable).where(DeviceTable.key.in_(chunk))):
                self._devices[d.key] = d
        by_age = sorted(
            (d for d in self._devices.values() if not d.gone), key=lambda d: d.last_seen
        )
        self._present_at = {d.address: d for d in by_age}  # the latest sighting wins

    def _assign_keys(self, hosts: Sequence[HostReport]) -> list[str]:
        """One device key per host; see rule 5 of the interface and the duplicate rule.

        Two hosts reporting one identity key (cheap cameras share bogus MACs) are not
        one device: the host at the device's known address keeps the key, otherwise
        the first one; the others are filed by address.
        """
        owners: dict[str, int] = {}
        for i, host in enumerate(hosts):
            if (key := host.identity.key) is None:
                continue
            if key not in owners or self._takes_over(key, host, hosts[owners[key]]):
                owners[key] = i
        keys: list[str] = []
        for i, host in enumerate(hosts):
            key = host.identity.key
            if key is not None and owners[key] != i:
                first = hosts[owners[key]].address
                logger.warning("hosts %s and %s report one identity %s", first, host.address, key)
            if key is None or owners[key] != i:
                key = self._unkeyed(host, set(owners))
            keys.append(key)
        return keys

    def _takes_over(self, key: str, host: HostReport, owner: HostReport) -> bool:
        return self._is_home(key, host) and not self._is_home(key, owner)

    def _is_home(self, key: str, host: HostReport) -> bool:
        device = self._devices.get(key)
        return device is not None and device.address == address_key(host.address)

    def _unkeyed(self, host: HostReport, claimed: set[str]) -> str:
        address = address_key(host.address)
        device = self._present_at.get(address)
        if device is not None and device.key not in claimed and _compatible(device, host):
            return device.key
        return f"addr:{address}"

    def _apply(self, host: HostReport, key: str, scan_id: int) -> None:
        address = address_key(host.address)
        device = self._devices.get(key)
        if device is None:
            device = DeviceTable(
                key=key,
                address=address,
                device_class=host.device_class.value,
                what="",
                first_seen=self._seen_at,
            )
            self._session.add(device)
            self._devices[key] = device
            self._changes.append(Change(ChangeKind.NEW, key, address))
        elif key not in self._seen:
            self._compare(device, host, address)
        self._seen.add(key)
        _update(device, host, address)
        device.last_seen = self._seen_at
        device.last_scan_id = scan_id
        device.gone = False

    def _compare(self, device: DeviceTable, host: HostReport, address: str) -> None:
        key = device.key
        if device.address != address:
            self._changes.append(
                Change(ChangeKind.ADDRESS_CHANGED, key, address, device.address, address)
            )
        firmware, build = host.identity.get(Field.FIRMWARE), host.identity.get(Field.BUILD)
        if firmware is None or device.firmware is None:
            return  # not read this time, or first time read: nothing to compare
        old_build = device.build if build is not None else None
        if _same(device.firmware, firmware) and _same(old_build, build):
            return
        before = _firmware_label(device.firmware, device.build)
        after = _firmware_label(firmware, build)
        self._changes.append(Change(ChangeKind.FIRMWARE_CHANGED, key, address, before, after))

    def _mark_gone(self, answered: set[str]) -> None:
        for device in sorted(self._devices.values(), key=lambda d: d.key):
            if device.gone or device.key in self._seen or device.address not in self._scope:
                continue
            device.gone = True
            if device.key.startswith("addr:") and device.address in answered:
                continue  # the same host answered, identified this time: not a departure
            self._changes.append(Change(ChangeKind.GONE, device.key, device.address))


def _compatible(device: DeviceTable, host: HostReport) -> bool:
    """False when the host's class or vendor contradicts the stored device."""
    known = DeviceClass(device.device_class)
    if DeviceClass.UNKNOWN not in (known, host.device_class) and known != host.device_class:
        return False
    vendor = host.identity.get(Field.VENDOR)
    return vendor is None or device.vendor is None or _same(vendor, device.vendor)


def _update(device: DeviceTable, host: HostReport, address: str) -> None:
    """Take what this scan learnt; keep what it did not learn (a failed login erases nothing)."""
    device.address = address
    if host.device_class is not DeviceClass.UNKNOWN:
        device.device_class = host.device_class.value
    if host.what:
        device.what = _codec.clean(host.what)
    for field_, column in _IDENTITY_COLUMNS.items():
        value = host.identity.get(field_)
        if value is not None:
            setattr(device, column, _codec.clean(value))


def _change_row(scan_id: int, change: Change) -> ChangeTable:
    return ChangeTable(
        scan_id=scan_id,
        kind=change.kind.value,
        device_key=change.device_key,
        address=change.address,
        before=change.before,
        after=change.after,
    )


def _history_row(scan_id: int, key: str, host: HostReport) -> ScanHostTable:
    return ScanHostTable(
        scan_id=scan_id,
        device_key=key,
        address=address_key(host.address),
        device_class=host.device_class.value,
        what=_codec.clean(host.what),
        identity=_codec.identity_to_json(host.identity),
        observations=[_codec.observation_to_json(o) for o in host.identity.observations],
        services=_codec.services_to_json(host.services),
        drivers=[_codec.clean(d) for d in host.drivers],
        auth=host.auth.value,
        problems=_codec.problems_to_json(host.problems),
        security=_codec.security_to_json(host.security),
    )
