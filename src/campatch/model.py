"""Plain typed records shared by every pipeline step. No I/O, no imports from stages.

The identification model in one paragraph: every protocol that tells us something
about a device produces :class:`Observation`s (field, value, which protocol said it,
how much we trust it). :class:`Identity` folds them per field into the best value and
keeps every disagreeing value beside it, because cheap cameras report bogus MACs or
vendor names and an owner must be able to see that two sources disagree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

_T = TypeVar("_T")


class Field(StrEnum):
    """An identity field a device can report."""

    VENDOR = "vendor"
    BRAND = "brand"
    MODEL = "model"
    HARDWARE = "hardware"
    FIRMWARE = "firmware"
    BUILD = "build"
    SERIAL = "serial"
    MAC = "mac"
    DEVICE_TYPE = "device_type"
    NAME = "name"


class DeviceClass(StrEnum):
    """What a host is, as far as campatch is concerned."""

    CAMERA = "camera"
    NVR = "nvr"
    DVR = "dvr"
    NOT_CAMERA = "not_camera"
    UNKNOWN = "unknown"

    @property
    def is_video_device(self) -> bool:
        """True for cameras, NVRs and DVRs: the devices campatch looks after."""
        return self in (DeviceClass.CAMERA, DeviceClass.NVR, DeviceClass.DVR)


class Confidence:
    """How far an observation is trusted, by how it was obtained (0..1)."""

    GUESS = 0.2  # a port number or a generic banner
    OUI = 0.3  # a MAC prefix: vendors' boards get resold
    BANNER = 0.5  # a vendor-specific Server header, realm or page title
    DISCOVERY = 0.7  # the device's own unauthenticated discovery answer (SADP, DHIP, ONVIF scopes)
    UNAUTHENTICATED_API = 0.8  # a documented API answering without credentials
    AUTHENTICATED = 0.95  # the device's own API, after login


@dataclass(frozen=True, slots=True)
class Observation:
    """One fact about a device and where it came from.

    Args:
        field: which identity field.
        value: the value as the device said it (trimmed).
        source: protocol and call that said it, e.g. ``"isapi:/ISAPI/System/deviceInfo"``.
        confidence: trust in the value, see :class:`Confidence`.
    """

    field: Field
    value: str
    source: str
    confidence: float


_MAC_HEX = re.compile(r"[0-9a-f]{12}")


def normalize_mac(value: str) -> str | None:
    """``"50-E5-38-BB-AA-D1"`` -> ``"50:e5:38:bb:aa:d1"``; None if it is not a MAC."""
    digits = re.sub(r"[^0-9a-f]", "", value.lower())
    if not _MAC_HEX.fullmatch(digits) or digits in ("000000000000", "ffffffffffff"):
        return None
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def _comparable(field_: Field, value: str) -> str:
    if field_ is Field.MAC:
        return normalize_mac(value) or value.lower()
    return " ".join(value.split()).casefold()


@dataclass(frozen=True, slots=True)
class FieldValue:
    """The chosen value of one field, plus every observation that disagrees with it."""

    value: str
    source: str
    confidence: float
    disagreements: tuple[Observation, ...] = ()


@dataclass(frozen=True)
class Identity:
    """What a device is, folded from observations (see the module docstring)."""

    fields: Mapping[Field, FieldValue] = field(default_factory=dict)
    observations: tuple[Observation, ...] = ()

    @classmethod
    def of(cls, observations: Iterable[Observation]) -> Identity:
        """Fold observations: per field the most trusted value wins, the rest are kept.

        Ties keep the first observation seen, so callers list stronger protocols first.
        """
        obs = tuple(o for o in observations if o.value.strip())
        chosen: dict[Field, FieldValue] = {}
        for f in Field:
            mine = [o for o in obs if o.field is f]
            if not mine:
                continue
            best = max(mine, key=lambda o: o.confidence)  # max() keeps the first of equals
            value = normalize_mac(best.value) or best.value if f is Field.MAC else best.value
            key = _comparable(f, best.value)
            seen: set[str] = {key}
            others: list[Observation] = []
            for o in mine:
                k = _comparable(f, o.value)
                if k not in seen:
                    seen.add(k)
                    others.append(o)
            chosen[f] = FieldValue(value.strip(), best.source, best.confidence, tuple(others))
        return cls(fields=chosen, observations=obs)

    def get(self, f: Field) -> str | None:
        """The chosen value of ``f``, or None if no source told it."""
        fv = self.fields.get(f)
        return fv.value if fv else None

    def merged(self, more: Iterable[Observation]) -> Identity:
        """A new identity with ``more`` observations added (stronger ones first)."""
        return Identity.of((*more, *self.observations))

    @property
    def key(self) -> str | None:
        """Stable device key for the inventory: MAC, else vendor+serial, else None."""
        mac = self.get(Field.MAC)
        if mac and (norm := normalize_mac(mac)):
            return f"mac:{norm}"
        serial = self.get(Field.SERIAL)
        if serial and serial.strip("0"):
            return f"serial:{(self.get(Field.VENDOR) or '').casefold()}:{serial}"
        return None


@dataclass(frozen=True, slots=True)
class Service:
    """An open service on a host. ``port`` is the well-known (logical) port."""

    port: int
    transport: str  # "tcp" | "udp"
    protocol: str  # "http", "https", "rtsp", "telnet", "ssh", "onvif", "hik-sdk", ...
    banner: str = ""


@dataclass(frozen=True)
class Candidate:
    """A host that discovery found, with what discovery already learnt about it.

    Args:
        address: IP address (as text) of the host.
        services: open services found by the probe or announced by the host.
        observations: identity facts discovery learnt (SADP, DHIP, ONVIF scopes, SSDP).
        found_by: names of the discovery sources that saw the host.
        onvif_xaddrs: ONVIF device-service URLs the host announced.
        upnp_locations: UPnP description URLs the host announced.
        notes: free-form facts for drivers, e.g. ``{"upnp_device_type": "...IGD:1"}``.
    """

    address: str
    services: tuple[Service, ...] = ()
    observations: tuple[Observation, ...] = ()
    found_by: frozenset[str] = frozenset()
    onvif_xaddrs: tuple[str, ...] = ()
    upnp_locations: tuple[str, ...] = ()
    notes: Mapping[str, str] = field(default_factory=dict)

    def has_port(self, port: int, transport: str = "tcp") -> bool:
        """True if discovery saw ``port`` open."""
        return any(s.port == port and s.transport == transport for s in self.services)

    def merged(self, other: Candidate) -> Candidate:
        """Union of what two discovery sources learnt about the same address."""
        if other.address != self.address:
            raise ValueError(f"cannot merge {other.address} into {self.address}")
        services = {(s.port, s.transport): s for s in (*other.services, *self.services)}
        return Candidate(
            address=self.address,
            services=tuple(sorted(services.values(), key=lambda s: (s.transport, s.port))),
            observations=_unique((*self.observations, *other.observations)),
            found_by=self.found_by | other.found_by,
            onvif_xaddrs=_unique((*self.onvif_xaddrs, *other.onvif_xaddrs)),
            upnp_locations=_unique((*self.upnp_locations, *other.upnp_locations)),
            notes={**other.notes, **self.notes},
        )


def _unique(items: Iterable[_T]) -> tuple[_T, ...]:
    return tuple(dict.fromkeys(items))


@dataclass(frozen=True, slots=True)
class Problem:
    """Something that went wrong with one host; kept, never dropped (a "skip reason")."""

    source: str  # protocol/step, e.g. "http:80", "onvif", "identify"
    message: str


class AuthState(StrEnum):
    """What happened with credentials for a host."""

    NOT_TRIED = "not_tried"  # no credentials known for it
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    LOCKED = "locked"  # the device signalled a lockout; no further attempts


@dataclass(frozen=True, slots=True)
class DefaultLogin:
    """A factory or botnet-list credential a device accepted (the password is not kept)."""

    service: str  # "http", "onvif", "rtsp", "telnet"
    username: str
    source: str  # which list: "bundle:default-credentials", "bundle:mirai" ...
    mirai: bool = False


@dataclass(frozen=True, slots=True)
class PortForward:
    """A router's UPnP IGD port mapping that points at a device."""

    router: str  # the router's address
    external_port: int
    internal_port: int
    protocol: str  # "TCP" | "UDP"
    description: str = ""


@dataclass(frozen=True)
class SecurityFacts:
    """What the audit's probes observed on one host. ``None`` = not checked (and why is
    in the host's problems); an empty tuple = checked, nothing found.

    Args:
        rtsp_open: RTSP URLs that answered DESCRIBE with 200 and no credentials.
        snapshot_open: snapshot/JPEG URLs readable without credentials.
        onvif_open: the ONVIF device service gave identity without credentials.
        web_tls: "http-only", "ok", or the certificate/TLS problem ("self-signed",
            "expired", "rsa-1024", "tls1.0").
        basic_auth_over_http: the web login accepts Basic over plain HTTP.
        default_logins: factory/botnet credentials the device accepted.
        login_attempts: failed logins the default-credential check spent on it.
        port_forwards: router port mappings pointing at the device.
        upnp_enabled: the device's own UPnP (port mapping) switch.
        p2p_enabled: the vendor's P2P cloud service switch.
        clock_offset_s: device clock minus campatch's clock, in seconds.
        accounts: user names configured on the device.
    """

    rtsp_open: tuple[str, ...] | None = None
    snapshot_open: tuple[str, ...] | None = None
    onvif_open: bool | None = None
    web_tls: str | None = None
    basic_auth_over_http: bool | None = None
    default_logins: tuple[DefaultLogin, ...] | None = None
    login_attempts: int = 0
    port_forwards: tuple[PortForward, ...] | None = None
    upnp_enabled: bool | None = None
    p2p_enabled: bool | None = None
    clock_offset_s: float | None = None
    accounts: tuple[str, ...] | None = None


@dataclass(frozen=True)
class HostReport:
    """Everything one scan learnt about one host.

    Args:
        address: the host's address.
        device_class: camera/NVR/DVR, not a camera, or unknown.
        what: for non-cameras, what it is where known ("printer", "router", "ssh server").
        identity: folded identity.
        services: open services.
        drivers: the drivers that recognised the host, best first.
        auth: what happened with credentials.
        problems: what could not be done, with the reason.
        security: what the audit's probes observed (empty until assessed).
    """

    address: str
    device_class: DeviceClass
    identity: Identity
    what: str = ""
    services: tuple[Service, ...] = ()
    drivers: tuple[str, ...] = ()
    auth: AuthState = AuthState.NOT_TRIED
    problems: tuple[Problem, ...] = ()
    security: SecurityFacts = field(default_factory=SecurityFacts)


class ChangeKind(StrEnum):
    """What a scan noticed compared with the inventory."""

    NEW = "new"
    GONE = "gone"
    ADDRESS_CHANGED = "address_changed"
    FIRMWARE_CHANGED = "firmware_changed"


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between this scan and the inventory."""

    kind: ChangeKind
    device_key: str
    address: str
    before: str = ""
    after: str = ""


@dataclass(frozen=True)
class ScanResult:
    """The outcome of one scan: every host seen, and what changed since the last one.

    ``problems`` lists discovery sources that could not run (e.g. no multicast).
    """

    scan_id: int | None
    started_at: datetime
    finished_at: datetime
    targets: tuple[str, ...]
    hosts: tuple[HostReport, ...]
    changes: tuple[Change, ...] = ()
    problems: tuple[Problem, ...] = ()  # discovery sources that failed as a whole


class Secret:
    """A password that refuses to be printed: ``repr``/``str`` show a placeholder.

    Use :meth:`reveal` only at the one point where bytes go to the device.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The password itself, for the wire only."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


@dataclass(frozen=True, slots=True)
class Credential:
    """A username and password for a device (or a range, or a vendor)."""

    username: str
    password: Secret

    def __repr__(self) -> str:
        return f"Credential(username={self.username!r}, password=********)"


# --- Knowledge: advisories, firmware releases, default credentials, viewer apps -------
#
# Every knowledge record names where it came from (Provenance). Version strings are
# kept as the vendor wrote them; campatch.knowledge.versions orders them per vendor.


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a knowledge record came from.

    Args:
        source: the feed or file, e.g. ``"cisa-kev"``, ``"nvd"``, ``"bundle:camera-cves"``,
            ``"manual:/path/advisory.json"``.
        url: the record's page or the feed's address.
        retrieved: when campatch read it (ISO date or datetime, UTC).
        license: the data's licence, where it matters for redistribution.
    """

    source: str
    url: str = ""
    retrieved: str = ""
    license: str = ""


class Severity(StrEnum):
    """Finding and advisory severity, worst first when sorted by :attr:`rank`."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for critical ... 4 for info."""
        return list(Severity).index(self)

    @classmethod
    def of_cvss(cls, score: float | None) -> Severity:
        """CVSS v3 qualitative rating (FIRST CVSS v3.1 spec §5); no score = medium."""
        if score is None:
            return cls.MEDIUM
        if score >= 9.0:
            return cls.CRITICAL
        if score >= 7.0:
            return cls.HIGH
        if score >= 4.0:
            return cls.MEDIUM
        return cls.LOW if score > 0 else cls.INFO


@dataclass(frozen=True, slots=True)
class VersionRange:
    """Affected firmware versions of one product line (vendor version strings).

    ``introduced`` is inclusive, ``fixed`` exclusive (the first release with the fix),
    ``last_affected`` inclusive; None means "no bound on that side". A range with only
    ``fixed`` covers everything before it.
    """

    introduced: str | None = None
    fixed: str | None = None
    last_affected: str | None = None


@dataclass(frozen=True, slots=True)
class AffectedProduct:
    """A model family an advisory applies to.

    Args:
        vendor: normalised vendor name ("Hikvision", "Dahua").
        models: model names or shell-style patterns ("DS-2CD2*"); empty = every model.
        hardware: hardware revisions the advisory is limited to (empty = any).
        ranges: affected firmware ranges; empty = the affected versions are not known
            (the audit says "possibly affected"); ``(VersionRange(),)`` = every version.
        region: firmware region the advisory is limited to (None = any).
    """

    vendor: str
    models: tuple[str, ...] = ()
    hardware: tuple[str, ...] = ()
    ranges: tuple[VersionRange, ...] = ()
    region: str | None = None


@dataclass(frozen=True, slots=True)
class KevEntry:
    """CISA Known Exploited Vulnerabilities status of a CVE."""

    date_added: str
    due_date: str = ""
    ransomware: str = "Unknown"
    required_action: str = ""


@dataclass(frozen=True, slots=True)
class Advisory:
    """A known vulnerability and the devices it affects.

    Args:
        id: the CVE id (or the vendor's advisory id when there is no CVE).
        title: one line.
        description: plain language, written for owners.
        affected: the product lines it applies to.
        cvss_score, cvss_vector: CVSS v3.x base score and vector, where known.
        cwes: CWE ids.
        kev: KEV status when CISA lists it as exploited in the wild.
        references: advisory and vendor URLs.
        aliases: other ids (vendor advisory numbers, ICSA ids).
        published, modified: dates from the source (ISO).
        provenance: where the record came from.
    """

    id: str
    title: str
    description: str
    affected: tuple[AffectedProduct, ...]
    provenance: Provenance
    cvss_score: float | None = None
    cvss_vector: str | None = None
    cwes: tuple[str, ...] = ()
    kev: KevEntry | None = None
    references: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    published: str = ""
    modified: str = ""

    @property
    def severity(self) -> Severity:
        """KEV-listed = critical; otherwise from the CVSS score."""
        return Severity.CRITICAL if self.kev else Severity.of_cvss(self.cvss_score)


@dataclass(frozen=True)
class FirmwareRelease:
    """One firmware image a vendor published for a model (and hardware revision).

    Args:
        vendor, model: what it is for.
        version: the vendor's version string (build included where the vendor uses one).
        provenance: where the record came from.
        hardware: hardware revision it is for (None = any revision of the model).
        region: firmware region ("international", "china", ...), None = any.
        released: release date (ISO).
        download_page: the vendor page an owner gets it from.
        url: direct download URL, where the vendor publishes one.
        sha256, size: of the image file, where known.
        notes: release notes, shortened.
        fixes: advisory ids fixed by this release.
        requires: versions that must be installed first (upgrade path).
        end_of_life: the vendor marks the model end-of-life with this release.
        blocks_downgrade: installing it prevents going back to older firmware.
        breaking: it changes an API or behaviour integrations rely on.
    """

    vendor: str
    model: str
    version: str
    provenance: Provenance
    hardware: str | None = None
    region: str | None = None
    released: str = ""
    download_page: str = ""
    url: str = ""
    sha256: str = ""
    size: int | None = None
    notes: str = ""
    fixes: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    end_of_life: bool = False
    blocks_downgrade: bool = False
    breaking: bool = False


@dataclass(frozen=True, slots=True)
class DefaultCredential:
    """A factory or botnet-list credential for a vendor's devices.

    The password is a published fact (a factory default or a Mirai list entry), not a
    secret of the owner's, so it is a plain string.
    """

    vendor: str
    service: str  # "http", "telnet", "rtsp", "onvif", "ssh", ...
    username: str
    password: str
    provenance: Provenance
    product: str = ""
    mirai: bool = False  # on the Mirai scanner's list


@dataclass(frozen=True, slots=True)
class ViewerApp:
    """The latest known release of a phone or PC viewer app on one platform."""

    name: str  # "Hik-Connect", "iVMS-4200", "DMSS", ...
    vendor: str
    platform: str  # "android", "ios", "windows", "macos"
    latest_version: str
    provenance: Provenance
    released: str = ""
    url: str = ""


# --- Audit: findings --------------------------------------------------------------


class Certainty(StrEnum):
    """How sure a finding is."""

    CONFIRMED = "confirmed"  # the evidence shows it (version in range, password accepted)
    POSSIBLE = "possible"  # identity incomplete: it may apply; ``confirm_by`` says how to know


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong, and the one thing to do about it.

    A finding does not name its device: :class:`DeviceFindings` holds a device's
    findings. Devices of one identity (vendor, model, hardware, firmware) share the
    findings that depend on the identity alone, the same objects, so its texts never
    name one device's address or key.

    Args:
        check: the check's id ("known-vulnerability", "default-credentials" ...).
        severity: how bad it is.
        title: one line, plain language.
        evidence: what was observed, for an auditor (never a password).
        remediation: what the owner should do, naming model, release and source.
        certainty: confirmed, or possible (with ``confirm_by``).
        confirm_by: what would confirm a possible finding ("add credentials so the
            firmware version can be read").
        advisory: the advisory id, for vulnerability findings.
        kev: the advisory is on CISA's Known Exploited Vulnerabilities list.
        references: URLs.
        provisions: ETSI EN 303 645 provisions (and other baselines) the check serves.
    """

    check: str
    severity: Severity
    title: str
    evidence: str
    remediation: str
    certainty: Certainty = Certainty.CONFIRMED
    confirm_by: str = ""
    advisory: str = ""
    kev: bool = False
    references: tuple[str, ...] = ()
    provisions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DeviceFindings:
    """What the audit found on one device, or on one of the owner's viewer apps.

    Args:
        key: the device's inventory key, or ``"app:<name>:<platform>"`` for an app.
        address: where the device answered (``""`` for an app).
        findings: worst first: severity, CISA KEV before the rest, confirmed before
            possible, then check id and advisory id.
    """

    key: str
    address: str
    findings: tuple[Finding, ...]
