"""Fold what several discovery sources said about the same address into one candidate."""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable

from campatch.model import Candidate

__all__ = ["merge_candidates"]


def merge_candidates(cands: Iterable[Candidate]) -> list[Candidate]:
    """One candidate per address, in order of first appearance.

    Addresses are compared in canonical form (``2001:DB8::1`` equals ``2001:db8::1``);
    the earlier candidate's notes win where two sources disagree (see
    :meth:`Candidate.merged`).

    Args:
        cands: candidates from any number of sources.

    Raises:
        ValueError: a candidate's address is not an IP address.

    Returns:
        The merged candidates.
    """
    merged: dict[str, Candidate] = {}
    for cand in cands:
        canonical = str(ipaddress.ip_address(cand.address))
        if canonical != cand.address:
            cand = dataclasses.replace(cand, address=canonical)
        old = merged.get(canonical)
        merged[canonical] = old.merged(cand) if old else cand
    return list(merged.values())
