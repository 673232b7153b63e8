"""MAC addresses from the kernel's neighbour (ARP) table, plus what their OUI says.

Nothing here sends a packet. The kernel fills its table while other sources talk to
hosts on the local link (the TCP probe's connects trigger ARP), so the table is read
*after* discovery: :func:`learn_macs` adds each known candidate's MAC. The scan
pipeline calls it right after ``discover()``. :class:`NeighborsSource` offers the
same reading as a discovery source, for callers that want the table's in-scope hosts
as candidates of their own (it only finds what an earlier step already contacted).

Linux only (``/proc/net/arp``, IPv4). Elsewhere, or when the file cannot be read,
there are simply no neighbours; that is never an error. Only complete entries
(``ATF_COM``, flag ``0x2``) with a usable MAC and an address in the scope count; the
read is capped at :data:`MAX_TABLE_BYTES` (a larger table is cut at the last whole
line).

Trust: the MAC in a complete entry is the link-layer address that answered ARP for
that IP, i.e. the address the host really uses on the wire, not a string its firmware
claims. It gets :data:`ARP_CONFIDENCE` (= :attr:`Confidence.UNAUTHENTICATED_API`):
above what a device announces about itself (SADP, DHIP, mDNS at ``DISCOVERY``),
below an authenticated read, because ARP is unauthenticated (a spoofer or a proxy-ARP
router can answer for the address). Any difference stays visible as a disagreement
in the folded identity.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from campatch.discovery.interface import DiscoveryContext, Scope
from campatch.knowledge.oui import SOURCE as OUI_SOURCE
from campatch.knowledge.oui import observations_for_mac
from campatch.model import Candidate, Confidence, Field, Observation, normalize_mac

__all__ = [
    "ARP_CONFIDENCE",
    "ARP_TABLE",
    "MAC_SOURCE",
    "MAX_TABLE_BYTES",
    "SOURCE",
    "NeighborsSource",
    "learn_macs",
    "parse_arp_table",
    "read_arp_table",
]

logger = logging.getLogger(__name__)

#: Name of the discovery source (in ``Candidate.found_by``).
SOURCE = "neighbors"
#: Observation source of MACs read from the table.
MAC_SOURCE = "arp"
#: Trust in a MAC taken from a complete ARP entry (see the module docstring).
ARP_CONFIDENCE = Confidence.UNAUTHENTICATED_API
ARP_TABLE = Path("/proc/net/arp")
#: Most bytes read from the table: ~4,000 lines of ~80 bytes, far above Linux's default
#: neighbour limit (gc_thresh3 = 1024 entries).
MAX_TABLE_BYTES = 327_680
_ATF_COM = 0x2  # entry complete: the host answered
_ETHER = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}")

#: One complete neighbour entry: canonical IP address text, normalised MAC.
Neighbor = tuple[str, str]


def parse_arp_table(text: str) -> list[Neighbor]:
    """Complete entries of ``/proc/net/arp`` text, in table order, without repeats.

    Columns are ``IP address, HW type, Flags, HW address, Mask, Device``; the header,
    malformed lines, incomplete entries and all-zero or broadcast MACs are skipped.
    """
    found: dict[Neighbor, None] = {}
    for line in text.splitlines():
        entry = _parse_line(line)
        if entry is not None:
            found[entry] = None
    return list(found)


def _parse_line(line: str) -> Neighbor | None:
    cols = line.split()
    if len(cols) < 4:
        return None
    try:
        address = ipaddress.ip_address(cols[0])
        flags = int(cols[2], 16)
    except ValueError:
        return None
    mac = normalize_mac(cols[3]) if _ETHER.fullmatch(cols[3]) else None
    if not flags & _ATF_COM or mac is None:
        return None
    return str(address), mac


def read_arp_table(path: Path = ARP_TABLE, max_bytes: int = MAX_TABLE_BYTES) -> list[Neighbor]:
    """Read and parse the table at ``path`` (blocking; see :func:`learn_macs`).

    Returns:
        The complete entries; empty if the file is missing or unreadable.
    """
    try:
        with path.open("rb") as f:
            raw = f.read(max_bytes + 1)
    except OSError as err:
        logger.debug("no neighbour table at %s: %s", path, err)
        return []
    if len(raw) > max_bytes:
        logger.warning(
            "neighbour table %s exceeds %d bytes; reading only the start", path, max_bytes
        )
        raw = raw[: raw.rfind(b"\n", 0, max_bytes) + 1]
    return parse_arp_table(raw.decode("ascii", errors="replace"))


class NeighborsSource:
    """The neighbour table's in-scope hosts as discovery candidates (sends nothing).

    A :class:`~campatch.discovery.interface.DiscoverySource`.

    Args:
        path: the table to read (tests point it at a file of their own).
        max_bytes: most bytes read from it.
    """

    name = SOURCE

    def __init__(self, *, path: Path = ARP_TABLE, max_bytes: int = MAX_TABLE_BYTES) -> None:
        self.path = path
        self.max_bytes = max_bytes

    async def discover(self, scope: Scope, ctx: DiscoveryContext) -> Sequence[Candidate]:
        """Candidates for complete, in-scope entries, each with its MAC and OUI facts."""
        return await self.neighbors(scope)

    async def neighbors(self, scope: Scope) -> list[Candidate]:
        """Like :meth:`discover`, without a discovery context."""
        table = await asyncio.to_thread(read_arp_table, self.path, self.max_bytes)
        by_address: dict[str, list[str]] = {}
        for address, mac in table:
            if address in scope:
                by_address.setdefault(address, []).append(mac)
        return [_candidate(address, macs) for address, macs in by_address.items()]


def _candidate(address: str, macs: Iterable[str]) -> Candidate:
    observations: list[Observation] = []
    for mac in macs:  # one IP on two interfaces may have two MACs: keep both
        observations.append(Observation(Field.MAC, mac, MAC_SOURCE, ARP_CONFIDENCE))
        observations.extend(observations_for_mac(mac, f"{OUI_SOURCE}:{MAC_SOURCE}"))
    return Candidate(
        address=address, observations=tuple(observations), found_by=frozenset({SOURCE})
    )


async def learn_macs(
    scope: Scope, candidates: Sequence[Candidate], *, source: NeighborsSource | None = None
) -> list[Candidate]:
    """Add the neighbour table's MAC (and its OUI facts) to candidates discovery found.

    Call it after discovery, so the probe's traffic has filled the table. Hosts that
    are only in the table are not added; order and everything else stay as they were.

    Args:
        scope: the scan's scope (entries outside it are ignored).
        candidates: what discovery found.
        source: where to read the table (default: the kernel's).

    Raises:
        KnowledgeSourceError: the bundled OUI table is damaged (a packaging fault).

    Returns:
        The candidates, those with a complete neighbour entry merged with it.
    """
    learnt = {c.address: c for c in await (source or NeighborsSource()).neighbors(scope)}
    return [c.merged(learnt[c.address]) if c.address in learnt else c for c in candidates]
