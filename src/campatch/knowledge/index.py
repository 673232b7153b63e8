"""In-memory knowledge with fast lookups for the audit.

:class:`KnowledgeBase` is built once from record sets (the bundle merged with the stored
sources, see :meth:`campatch.knowledge.store.KnowledgeStore.load`) and then answers
per-device questions without scanning: records are indexed by normalised vendor
(:func:`~campatch.knowledge.interface.vendor_key`), then by model key
(:func:`~campatch.knowledge.interface.normalize_model`):

- an exact model name is one dict lookup;
- a pattern ``LITERAL*`` (the usual form, ``DS-2CD2*``) is stored under its literal
  prefix; a lookup tries every prefix of the model key, one dict lookup each;
- any other pattern (``IPC-H*5*``, ``?``) is stored under its literal prefix too and
  matched with a regular expression compiled on first use;
- an advisory product without models applies to every model of the vendor.

So a lookup costs about ``len(model)`` dict lookups plus the candidates it returns,
whatever the number of advisories.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import translate

from campatch.knowledge.interface import (
    ANY_VENDOR,
    RecordProblem,
    normalize_model,
    vendor_key,
)
from campatch.model import Advisory, DefaultCredential, FirmwareRelease, ViewerApp

__all__ = ["KnowledgeBase", "ModelIndex", "model_key", "pattern_keys"]

#: :func:`~campatch.knowledge.interface.normalize_model`, memoised (inputs and result
#: are strings; the audit asks for the same few thousand models and patterns again and
#: again).
model_key = functools.lru_cache(maxsize=65536)(normalize_model)


@functools.lru_cache(maxsize=65536)
def pattern_keys(vendor: str, patterns: tuple[str, ...]) -> tuple[str, ...]:
    """The model keys of a product line's names and patterns, normalised once."""
    return tuple(model_key(vendor, p) for p in patterns)


@dataclass
class ModelIndex:
    """Model names and patterns of one vendor -> record numbers."""

    exact: dict[str, list[int]] = field(default_factory=dict)
    prefixes: dict[str, list[int]] = field(default_factory=dict)
    complex: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    every: list[int] = field(default_factory=list)
    _compiled: dict[str, re.Pattern[str]] = field(default_factory=dict)

    def add(self, key: str, number: int) -> None:
        """Index record ``number`` under a model key or pattern ("" = every model)."""
        if not key:
            self.every.append(number)
            return
        literal = re.split(r"[*?]", key, maxsplit=1)[0]
        if literal == key:
            self.exact.setdefault(key, []).append(number)
        elif key == literal + "*":
            self.prefixes.setdefault(literal, []).append(number)
        else:
            self.complex.setdefault(literal, []).append((key, number))

    def find(self, key: str) -> set[int]:
        """Numbers of the records whose model or pattern matches ``key``."""
        found = set(self.every)
        found.update(self.exact.get(key, ()))
        for end in range(len(key) + 1):
            head = key[:end]
            found.update(self.prefixes.get(head, ()))
            for pattern, number in self.complex.get(head, ()):
                if self._regex(pattern).fullmatch(key):
                    found.add(number)
        return found

    def _regex(self, pattern: str) -> re.Pattern[str]:
        compiled = self._compiled.get(pattern)
        if compiled is None:
            compiled = self._compiled[pattern] = re.compile(translate(pattern))
        return compiled


class KnowledgeBase:
    """Advisories, firmware releases, default credentials and viewer apps, indexed.

    Args:
        advisories: one record per advisory id (the merge already happened).
        releases: firmware releases.
        credentials: default and botnet-list credentials.
        apps: viewer apps.
        problems: records that were rejected while loading (kept for ``feed status``).
    """

    def __init__(
        self,
        advisories: Iterable[Advisory] = (),
        releases: Iterable[FirmwareRelease] = (),
        credentials: Iterable[DefaultCredential] = (),
        apps: Iterable[ViewerApp] = (),
        problems: Iterable[RecordProblem] = (),
    ) -> None:
        self.advisories: tuple[Advisory, ...] = tuple(advisories)
        self.releases: tuple[FirmwareRelease, ...] = tuple(releases)
        self.credentials: tuple[DefaultCredential, ...] = tuple(credentials)
        self._apps = tuple(apps)
        self.problems: tuple[RecordProblem, ...] = tuple(problems)
        self._by_id = {a.id.upper(): a for a in self.advisories}
        self._advisory_index = self._index_advisories()
        self._release_index = _index((r.vendor, r.model, n) for n, r in enumerate(self.releases))
        self._credentials: dict[str, list[DefaultCredential]] = {}
        for cred in self.credentials:
            self._credentials.setdefault(vendor_key(cred.vendor), []).append(cred)

    def _index_advisories(self) -> dict[str, ModelIndex]:
        def entries() -> Iterable[tuple[str, str, int]]:
            for number, advisory in enumerate(self.advisories):
                for product in advisory.affected:
                    for model in product.models or ("",):
                        yield product.vendor, model, number

        return _index(entries())

    def advisory(self, advisory_id: str) -> Advisory | None:
        """The advisory with that id (case-insensitive), if known."""
        return self._by_id.get(advisory_id.upper())

    def advisories_for(self, vendor: str, model: str) -> list[Advisory]:
        """Advisories with a product line matching the device's vendor and model.

        Version ranges are not checked here (that is the audit's job, with
        :mod:`campatch.knowledge.versions`); each advisory appears once, in load order.
        """
        index = self._advisory_index.get(vendor_key(vendor))
        if index is None:
            return []
        numbers = index.find(model_key(vendor, model))
        return [self.advisories[n] for n in sorted(numbers)]

    def releases_for(
        self, vendor: str, model: str, hardware: str | None = None, region: str | None = None
    ) -> list[FirmwareRelease]:
        """Firmware releases for the model; with ``hardware``/``region``, only the ones
        for that revision/region or for any."""
        index = self._release_index.get(vendor_key(vendor))
        if index is None:
            return []
        found = (self.releases[n] for n in sorted(index.find(model_key(vendor, model))))
        return [r for r in found if _fits(r.hardware, hardware) and _fits(r.region, region)]

    def credentials_for(self, vendor: str, service: str | None = None) -> list[DefaultCredential]:
        """The vendor's default credentials first, then those for any vendor.

        Args:
            vendor: the device's vendor (any spelling).
            service: only credentials for this service or for "any" service.
        """
        own = self._credentials.get(vendor_key(vendor), [])
        anyone = self._credentials.get(ANY_VENDOR, []) if vendor_key(vendor) != ANY_VENDOR else []
        return [
            c for c in (*own, *anyone) if service is None or c.service in (service.lower(), "any")
        ]

    def apps(self) -> list[ViewerApp]:
        """Every known viewer app, by name then platform."""
        return sorted(self._apps, key=lambda a: (a.name.casefold(), a.platform))


def _index(entries: Iterable[tuple[str, str, int]]) -> dict[str, ModelIndex]:
    out: dict[str, ModelIndex] = {}
    for vendor, model, number in entries:
        key = model_key(vendor, model) if model else ""
        out.setdefault(vendor_key(vendor), ModelIndex()).add(key, number)
    return out


def _fits(value: str | None, wanted: str | None) -> bool:
    return value is None or wanted is None or value.casefold() == wanted.casefold()
