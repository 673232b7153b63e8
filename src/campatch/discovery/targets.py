"""Turn what the user typed as targets into a list of addresses to scan.

Accepted forms, alone, comma- or space-separated, or one per line in a file:

- ``192.0.2.7`` / ``2001:db8::7`` — one address;
- ``192.0.2.0/24`` / ``2001:db8::/120`` — a network; for IPv4 wider than /31 the
  network and broadcast addresses are left out, for IPv6 wider than /127 the
  subnet-router anycast (network) address;
- ``192.0.2.1-192.0.2.20`` / ``192.0.2.1-20`` / ``2001:db8::1-ff`` — an inclusive range
  (the short form replaces the last octet, or the last IPv6 group in hex);
- ``@targets.txt`` or the path of an existing file — one target per line, ``#`` comments;
- ``cam-lobby.example`` — a host name, resolved only by :func:`resolve_targets`.

Parsing never contacts anything; only :func:`resolve_targets` asks DNS, and only for
names. The result keeps the order of first appearance without duplicates.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from campatch.discovery.interface import IPAddress
from campatch.errors import UsageError

__all__ = ["DEFAULT_MAX_ADDRESSES", "Resolver", "parse_targets", "resolve_targets"]

DEFAULT_MAX_ADDRESSES = 65536
_MAX_FILE_BYTES = 1_048_576
_MAX_CONCURRENT_LOOKUPS = 16
_SPLIT = re.compile(r"[,\s]+")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")

#: Resolves one host name to its addresses (injectable for tests).
Resolver = Callable[[str], Awaitable[list[IPAddress]]]


@dataclass(frozen=True, slots=True)
class _Block:
    """``count`` consecutive addresses from ``first``."""

    first: IPAddress
    count: int
    text: str

    def __iter__(self) -> Iterator[IPAddress]:
        base = int(self.first)
        cls = type(self.first)
        return (cls(base + i) for i in range(self.count))


@dataclass(frozen=True, slots=True)
class _Name:
    """A host name still to be resolved."""

    text: str
    where: str


_Part = _Block | _Name


def parse_targets(
    items: Sequence[str], *, max_addresses: int = DEFAULT_MAX_ADDRESSES
) -> list[IPAddress]:
    """Expand literal targets (addresses, networks, ranges, files) into addresses.

    Args:
        items: targets as the user gave them (see the module docstring).
        max_addresses: refuse to expand to more addresses than this.

    Raises:
        UsageError: a malformed item, a host name (use :func:`resolve_targets`), an
            unreadable file, or more than ``max_addresses`` addresses.

    Returns:
        The addresses in order of first appearance, without duplicates.
    """
    parts = _expand(items)
    for part in parts:
        if isinstance(part, _Name):
            raise _bad(part.text, part.where, "host names need resolving (resolve_targets)")
    return _materialize([p for p in parts if isinstance(p, _Block)], max_addresses)


async def resolve_targets(
    items: Sequence[str],
    *,
    max_addresses: int = DEFAULT_MAX_ADDRESSES,
    timeout_s: float = 5.0,
    resolver: Resolver | None = None,
) -> list[IPAddress]:
    """Like :func:`parse_targets`, and also resolve host names (concurrently, bounded).

    Args:
        items: targets as the user gave them.
        max_addresses: refuse to expand to more addresses than this.
        timeout_s: seconds allowed for resolving each name.
        resolver: name -> addresses; default asks the system resolver.

    Raises:
        UsageError: as :func:`parse_targets`, or a name that does not resolve in time.

    Returns:
        The addresses in order of first appearance, without duplicates.
    """
    parts = _expand(items)
    lookup = resolver or _system_resolve
    sem = asyncio.Semaphore(_MAX_CONCURRENT_LOOKUPS)

    async def resolve(part: _Part) -> list[_Block]:
        if isinstance(part, _Block):
            return [part]
        async with sem:
            found = await _resolve_one(part, lookup, timeout_s)
        return [_Block(a, 1, part.text) for a in found]

    try:
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(resolve(p)) for p in parts]
    except ExceptionGroup as group:
        raise _first_usage_error(group) from None
    return _materialize([b for t in tasks for b in t.result()], max_addresses)


async def _resolve_one(name: _Name, lookup: Resolver, timeout_s: float) -> list[IPAddress]:
    try:
        async with asyncio.timeout(timeout_s):
            found = await lookup(name.text)
    except TimeoutError as err:
        raise _bad(name.text, name.where, f"name lookup timed out after {timeout_s:g}s") from err
    except OSError as err:
        raise _bad(name.text, name.where, f"cannot resolve host name ({err})") from err
    if not found:
        raise _bad(name.text, name.where, "host name has no addresses")
    return found


async def _system_resolve(name: str) -> list[IPAddress]:
    infos = await asyncio.get_running_loop().getaddrinfo(name, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0])) for info in infos))


def _materialize(blocks: Sequence[_Block], max_addresses: int) -> list[IPAddress]:
    total = 0
    for block in blocks:
        total += block.count
        if total > max_addresses:
            raise UsageError(
                f"too many addresses: '{block.text}' brings the total to {total},"
                f" over the limit of {max_addresses}; give a narrower range (e.g. a /24)"
            )
    seen: dict[IPAddress, None] = {}
    for block in blocks:
        seen.update(dict.fromkeys(block))
    return list(seen)


def _expand(items: Sequence[str], where: str = "") -> list[_Part]:
    parts: list[_Part] = []
    for item in items:
        for piece in _SPLIT.split(item.strip()):
            if piece:
                parts.extend(_parse_piece(piece, where))
    return parts


def _parse_piece(piece: str, where: str) -> list[_Part]:
    if piece.startswith("@"):
        return _read_file(piece, Path(piece[1:]), where)
    try:
        return [_parse_literal(piece)]
    except ValueError as err:
        literal_error = str(err)
    if not where and ("/" in piece or "." in piece) and Path(piece).is_file():
        return _read_file(piece, Path(piece), where)
    if _looks_like_name(piece):
        return [_Name(piece, where)]
    raise _bad(piece, where, literal_error)


def _read_file(piece: str, path: Path, where: str) -> list[_Part]:
    if where:
        raise _bad(piece, where, "target files cannot include other files")
    try:
        with path.open("rb") as fh:
            data = fh.read(_MAX_FILE_BYTES + 1)
    except OSError as err:
        raise _bad(piece, where, f"cannot read file ({err.strerror or err})") from err
    if len(data) > _MAX_FILE_BYTES:
        raise _bad(piece, where, f"file is larger than {_MAX_FILE_BYTES} bytes")
    parts: list[_Part] = []
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        content = line.split("#", 1)[0]
        parts.extend(_expand([content], where=f"{path} line {number}"))
    return parts


def _parse_literal(piece: str) -> _Block:
    """An address, network or range; ValueError with a readable reason otherwise."""
    if "/" in piece:
        return _parse_network(piece)
    if "-" in piece and _is_address_start(piece):
        return _parse_range(piece)
    return _single(piece, _address(piece))


def _parse_network(piece: str) -> _Block:
    text, _, prefix = piece.partition("/")
    addr = _address(text)
    if not prefix.isdigit():
        raise ValueError(f"prefix length '{prefix}' is not a number")
    net = ipaddress.ip_network(f"{addr}/{prefix}", strict=False)
    first, count = net.network_address, net.num_addresses
    if count > 2:  # /31, /32, /127, /128: every address is a host
        first, count = first + 1, count - (2 if net.version == 4 else 1)
    return _Block(first, count, piece)


def _parse_range(piece: str) -> _Block:
    start_text, _, end_text = piece.partition("-")
    start = _address(start_text)
    end = _range_end(start, end_text)
    if int(end) < int(start):
        raise ValueError(f"range end {end} is before its start {start}")
    return _Block(start, int(end) - int(start) + 1, piece)


def _range_end(start: IPAddress, text: str) -> IPAddress:
    if start.version == 4 and text.isdigit() and len(text) <= 3:
        if int(text) > 255:
            raise ValueError(f"range end octet {text} is over 255")
        return ipaddress.IPv4Address((int(start) & ~0xFF) | int(text))
    if start.version == 6 and re.fullmatch(r"[0-9A-Fa-f]{1,4}", text):
        return ipaddress.IPv6Address((int(start) & ~0xFFFF) | int(text, 16))
    end = _address(text)
    if end.version != start.version:
        raise ValueError("range mixes IPv4 and IPv6")
    return end


def _address(text: str) -> IPAddress:
    try:
        addr: IPAddress = (
            ipaddress.IPv6Address(text) if ":" in text else ipaddress.IPv4Address(text)
        )
    except ValueError as err:
        raise ValueError(str(err).rstrip(".")) from err
    return addr


def _single(piece: str, addr: IPAddress) -> _Block:
    if addr.is_multicast or addr.is_unspecified:
        kind = "multicast" if addr.is_multicast else "unspecified"
        raise ValueError(f"{kind} address, not a host")
    return _Block(addr, 1, piece)


def _is_address_start(piece: str) -> bool:
    head = piece.split("-", 1)[0]
    return bool(re.fullmatch(r"[0-9.]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*", head))


def _looks_like_name(piece: str) -> bool:
    if ":" in piece or re.fullmatch(r"[0-9.]+(-.*)?", piece):
        return False  # "192.0.2.300", "192.0.2.1-300": bad addresses, not names
    labels = piece.rstrip(".").split(".")
    if len(piece) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return False
    return not labels[-1].isdigit()


def _first_usage_error(group: ExceptionGroup[Exception]) -> Exception:
    """The first UsageError in a failed task group, else the group itself."""
    match: Exception | None = group.split(UsageError)[0]
    while isinstance(match, ExceptionGroup):
        match = match.exceptions[0]
    return match or group


def _bad(piece: str, where: str, reason: str) -> UsageError:
    at = f" ({where})" if where else ""
    return UsageError(f"bad target '{piece}'{at}: {reason}")
