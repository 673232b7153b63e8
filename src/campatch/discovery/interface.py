"""The discovery stage's contract: sources that turn a scope into candidates."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from campatch.config import Limits, PortMap
from campatch.model import Candidate

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Scope:
    """The addresses a scan may contact, and nothing else.

    Replies from discovery (WS-Discovery XAddrs, SSDP LOCATION, spoofed answers) that
    point outside the scope are dropped, never followed (SAFETY I-05).

    Args:
        addresses: every address in scope, in scan order.
        multicast: also send multicast/broadcast discovery on the local link.
    """

    addresses: tuple[IPAddress, ...]
    multicast: bool = True
    _members: frozenset[IPAddress] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_members", frozenset(self.addresses))

    def __contains__(self, address: object) -> bool:
        if isinstance(address, str):
            try:
                address = ipaddress.ip_address(address.split("%", 1)[0])
            except ValueError:
                return False
        return address in self._members

    def ipv4(self) -> list[str]:
        """The IPv4 addresses in scope, in scan order: what a UDP discovery socket probes."""
        return [str(a) for a in self.addresses if a.version == 4]

    def ordered(self, addresses: Iterable[str]) -> list[str]:
        """The in-scope ones of ``addresses``, in scan order."""
        rank = {str(a): i for i, a in enumerate(self.addresses)}
        return sorted((a for a in addresses if a in self), key=lambda a: rank.get(a, len(rank)))

    @classmethod
    def of(cls, addresses: Iterable[str], *, multicast: bool = True) -> Scope:
        """Scope from address strings (already expanded; see ``discovery.targets``)."""
        return cls(tuple(ipaddress.ip_address(a) for a in addresses), multicast=multicast)


@dataclass(frozen=True)
class DiscoveryContext:
    """What every discovery source gets: bounds and the port map."""

    limits: Limits
    port_map: PortMap = field(default_factory=PortMap)


class DiscoverySource(Protocol):
    """**Protocol**: one way of finding hosts (TCP probe, WS-Discovery, SADP ...).

    A source never raises for a single host; it raises
    :class:`~campatch.errors.DiscoveryError` only when it cannot run at all.
    """

    name: str

    async def discover(self, scope: Scope, ctx: DiscoveryContext) -> Sequence[Candidate]:
        """Find hosts in ``scope``; every returned candidate's address is in scope."""
        ...
