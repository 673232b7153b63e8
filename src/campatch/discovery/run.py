"""Run discovery sources side by side and turn what they found into one candidate list.

The runner is the last line of defence for the scope (SAFETY I-05): whatever a source
returns, candidates outside the scope are dropped, announced URLs (ONVIF XAddrs, UPnP
LOCATION) that point outside it are stripped, and each source's contribution is capped
at ``max_discovery_replies``. A source that fails becomes a :class:`Problem`; the scan
goes on with the others.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import logging
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from campatch.discovery.interface import DiscoveryContext, DiscoverySource, Scope
from campatch.discovery.merge import merge_candidates
from campatch.errors import DiscoveryError
from campatch.model import Candidate, Problem

__all__ = ["Progress", "discover"]

logger = logging.getLogger(__name__)

#: Called with a source's name and the number of candidates it contributed.
Progress = Callable[[str, int], None]


async def discover(
    scope: Scope,
    sources: Sequence[DiscoverySource],
    ctx: DiscoveryContext,
    *,
    progress: Progress | None = None,
) -> tuple[list[Candidate], list[Problem]]:
    """Run every source concurrently; merge their candidates per address.

    Args:
        scope: the addresses the scan may contact.
        sources: discovery sources to run.
        ctx: limits and port map handed to every source.
        progress: told when each source finishes, with its candidate count.

    Returns:
        Candidates (one per address, sorted by address) and the problems met: failed
        sources, off-scope replies dropped, caps reached.
    """
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(_run_source(s, scope, ctx, progress)) for s in sources]
    found: list[Candidate] = []
    problems: list[Problem] = []
    for task in tasks:  # in the order of ``sources``, so merging is deterministic
        cands, probs = task.result()
        found.extend(cands)
        problems.extend(probs)
    merged = merge_candidates(found)
    merged.sort(key=lambda c: _address_key(c.address))
    return merged, problems


async def _run_source(
    source: DiscoverySource, scope: Scope, ctx: DiscoveryContext, progress: Progress | None
) -> tuple[list[Candidate], list[Problem]]:
    try:
        raw = await source.discover(scope, ctx)
    except DiscoveryError as err:
        logger.warning("discovery source %s failed: %s", source.name, err)
        return [], [Problem(source.name, str(err))]
    except Exception as err:  # a bug in one source must not end the scan
        logger.exception("discovery source %s crashed", source.name)
        return [], [Problem(source.name, f"unexpected error: {type(err).__name__}: {err}")]
    cands, problems = _confine(source.name, raw, scope, ctx.limits.max_discovery_replies)
    if progress is not None:
        progress(source.name, len(cands))
    return cands, problems


def _confine(
    name: str, raw: Sequence[Candidate], scope: Scope, cap: int
) -> tuple[list[Candidate], list[Problem]]:
    """Drop off-scope candidates and URLs, then cap; report what was left out."""
    kept = [c for c in raw if c.address in scope]
    problems: list[Problem] = []
    if dropped := len(raw) - len(kept):
        problems.append(Problem(name, f"ignored {dropped} replies from outside the scope"))
    cleaned = [_strip_urls(c, scope) for c in kept]
    if stripped := sum(_url_count(a) - _url_count(b) for a, b in zip(kept, cleaned, strict=True)):
        problems.append(Problem(name, f"ignored {stripped} announced URLs outside the scope"))
    if len(cleaned) > cap:
        problems.append(
            Problem(name, f"kept the first {cap} of {len(cleaned)} hosts (max_discovery_replies)")
        )
        cleaned = cleaned[:cap]
    return cleaned, problems


def _strip_urls(cand: Candidate, scope: Scope) -> Candidate:
    xaddrs = tuple(u for u in cand.onvif_xaddrs if _url_in_scope(u, scope))
    locations = tuple(u for u in cand.upnp_locations if _url_in_scope(u, scope))
    if xaddrs == cand.onvif_xaddrs and locations == cand.upnp_locations:
        return cand
    return dataclasses.replace(cand, onvif_xaddrs=xaddrs, upnp_locations=locations)


def _url_in_scope(url: str, scope: Scope) -> bool:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    return host is not None and host in scope


def _url_count(cand: Candidate) -> int:
    return len(cand.onvif_xaddrs) + len(cand.upnp_locations)


def _address_key(address: str) -> tuple[int, int]:
    ip = ipaddress.ip_address(address)
    return ip.version, int(ip)
