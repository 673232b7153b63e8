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

For the audit, :meth:`KnowledgeBase.candidates` also hands out each advisory's product
lines compiled once (:class:`ProductLine`): model patterns normalised and matched
without ``fnmatch``, hardware revisions case-folded, version ranges parsed once per
scheme (:class:`~campatch.knowledge.versions.RangeSet`). Camera vendors' advisories are
compiled when the knowledge base is built, ranges parsed in the vendor's scheme; the
rest when a device first asks for them. The advisories themselves live
in an :class:`~campatch.knowledge.table.AdvisoryTable`: a loaded knowledge base keeps
most of the NVD on disk and reads a vendor's advisories when a device asks for them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import translate

from campatch.knowledge.interface import (
    ANY_VENDOR,
    RecordProblem,
    normalize_model,
    vendor_key,
)
from campatch.knowledge.table import AdvisoryTable
from campatch.knowledge.versions import RangeSet, scheme_for_vendor
from campatch.model import Advisory, AffectedProduct, DefaultCredential, FirmwareRelease, ViewerApp

__all__ = ["KnowledgeBase", "ModelIndex", "ProductLine", "model_key", "pattern_keys"]

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


@dataclass(frozen=True, slots=True, eq=False)
class ProductLine:
    """One product line of an advisory, compiled for matching devices.

    :meth:`fits` answers what :func:`campatch.audit.checks.vulnerabilities.matching_products`
    asks of one product (vendor, model pattern, hardware revision), and :attr:`ranges`
    what :func:`~campatch.knowledge.versions.in_any_range` answers for its ranges.

    Args:
        product: the advisory's product line.
        vendor: its vendor key.
        exact, prefixes, patterns: its model keys without wildcards, the literal heads of
            ``HEAD*`` keys, and the other wildcard keys compiled.
        hardware: its hardware revisions, case-folded (empty = any).
        ranges: its version ranges.
    """

    product: AffectedProduct
    vendor: str
    exact: frozenset[str]
    prefixes: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    hardware: frozenset[str]
    ranges: RangeSet

    @classmethod
    def of(cls, product: AffectedProduct) -> ProductLine:
        """The product line compiled."""
        keys = pattern_keys(product.vendor, product.models)
        exact = frozenset(k for k in keys if not _WILDCARD.search(k))
        heads = {k[:-1] for k in keys if k.endswith("*") and not _WILDCARD.search(k[:-1])}
        other = sorted(set(keys) - exact - {h + "*" for h in heads})
        ranges = RangeSet(product.ranges)
        ranges.prepare(scheme_for_vendor(product.vendor))  # the usual scheme, parsed now
        return cls(
            product=product,
            vendor=vendor_key(product.vendor),
            exact=exact,
            prefixes=tuple(sorted(heads)),
            patterns=tuple(_regex(k) for k in other),
            hardware=frozenset(h.casefold() for h in product.hardware),
            ranges=ranges,
        )

    def fits(self, vendor: str, model: str | None, hardware: str | None) -> bool:
        """Whether the product line may be a device's.

        Args:
            vendor: the device's vendor key (:func:`vendor_key`).
            model: the device's model key (:data:`model_key`), None when it has no model.
            hardware: the device's hardware revision, None when unknown.
        """
        if vendor != self.vendor:
            return False
        if self.product.models and not (
            model is not None
            and (
                model in self.exact
                or model.startswith(self.prefixes)
                or any(p.fullmatch(model) for p in self.patterns)
            )
        ):
            return False
        return not (
            self.hardware and hardware is not None and hardware.casefold() not in self.hardware
        )


#: One advisory the index found for a device, with all its product lines compiled.
Candidate = tuple[Advisory, tuple[ProductLine, ...]]

_WILDCARD = re.compile(r"[*?]")


@functools.lru_cache(maxsize=4096)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(translate(pattern))


class KnowledgeBase:
    """Advisories, firmware releases, default credentials and viewer apps, indexed.

    Args:
        advisories: one record per advisory id (the merge already happened); an
            :class:`~campatch.knowledge.table.AdvisoryTable` is used as it is (records
            on disk stay there).
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
        table = advisories if isinstance(advisories, AdvisoryTable) else AdvisoryTable(advisories)
        #: Every advisory, by record number (read from disk on access when not in memory).
        self.advisories: Sequence[Advisory] = table
        self._table = table
        self.releases: tuple[FirmwareRelease, ...] = tuple(releases)
        self.credentials: tuple[DefaultCredential, ...] = tuple(credentials)
        self._apps = tuple(apps)
        self.problems: tuple[RecordProblem, ...] = tuple(problems)
        numbers = list(range(len(table)))  # one int object per record for both maps
        self._by_id = {_upper(table.id(n)): n for n in numbers}
        self._advisory_index = _index(
            (vendor, model, n) for n in numbers for vendor, model in table.keys(n)
        )
        self._release_index = _index((r.vendor, r.model, n) for n, r in enumerate(self.releases))
        self._lines: dict[int, tuple[ProductLine, ...]] = {}
        for n in table.camera_numbers():  # compiled now; the others on first use
            self._product_lines(n)
        self._credentials: dict[str, list[DefaultCredential]] = {}
        for cred in self.credentials:
            self._credentials.setdefault(vendor_key(cred.vendor), []).append(cred)

    def advisory(self, advisory_id: str) -> Advisory | None:
        """The advisory with that id (case-insensitive), if known."""
        number = self._by_id.get(advisory_id.upper())
        return None if number is None else self._table.fetch(number)

    def advisories_for(self, vendor: str, model: str) -> list[Advisory]:
        """Advisories with a product line matching the device's vendor and model.

        Version ranges are not checked here (that is the audit's job, with
        :mod:`campatch.knowledge.versions`); each advisory appears once, in load order.
        """
        return [self._table.fetch(n) for n in self._numbers(vendor, model)]

    def candidates(self, vendor: str, model: str) -> list[Candidate]:
        """:meth:`advisories_for`, each advisory with its product lines compiled.

        The compiled lines are kept for the knowledge base's lifetime, so their parsed
        ranges and answers (see :class:`~campatch.knowledge.versions.RangeSet`) are
        worked out once however many devices ask.
        """
        return [
            (self._table.fetch(n), self._product_lines(n)) for n in self._numbers(vendor, model)
        ]

    def _numbers(self, vendor: str, model: str) -> list[int]:
        index = self._advisory_index.get(vendor_key(vendor))
        return sorted(index.find(model_key(vendor, model))) if index is not None else []

    def _product_lines(self, number: int) -> tuple[ProductLine, ...]:
        lines = self._lines.get(number)
        if lines is None:
            affected = self._table.fetch(number).affected
            lines = self._lines[number] = tuple(ProductLine.of(p) for p in affected)
        return lines

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


def _upper(text: str) -> str:
    """``text.upper()``, the same string object when it is upper case already."""
    upper = text.upper()
    return text if upper == text else upper


def _fits(value: str | None, wanted: str | None) -> bool:
    return value is None or wanted is None or value.casefold() == wanted.casefold()
