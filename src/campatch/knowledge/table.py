"""Every advisory of a knowledge base, in merge order; most of the NVD stays on disk.

A knowledge base the size of the whole NVD holds about 300,000 advisories, nearly all
for vendors no camera reports (Microsoft, Oracle, WordPress plugins ...). Held as
objects they take about 1.7 GB. So :meth:`~campatch.knowledge.store.KnowledgeStore.load`
keeps in memory only the advisories of camera vendors (:func:`held_in_memory`) and,
for the others, a :class:`StoredAdvisory`: the id, the (vendor, model) keys the index
needs, the KEV entry the merge may have carried over, and the record's byte span in its
stored source file. The record is decoded again from that span, with the same decoder
and limits as at load time, when something asks for it:

- :meth:`AdvisoryTable.fetch` (what :meth:`KnowledgeBase.advisories_for` uses) keeps
  what it read, so a vendor's advisories are read once;
- indexing or iterating the table reads without keeping, so walking every advisory
  (a CycloneDX export) does not pull the NVD into memory.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import overload

from campatch.errors import KnowledgeSourceError
from campatch.knowledge.interface import (
    DEFAULT_LIMITS,
    KnowledgeLimits,
    RecordError,
    canonical_vendors,
    decode_advisory,
    vendor_key,
)
from campatch.knowledge.oui import OuiTable
from campatch.knowledge.sourcefile import SourceFile, parse_bytes
from campatch.knowledge.versions import SCHEME_VENDORS
from campatch.model import Advisory, KevEntry

__all__ = ["AdvisoryTable", "IndexKeys", "StoredAdvisory", "held_in_memory", "index_keys"]

#: (vendor, model name or pattern) of each product line; model "" = every model.
IndexKeys = tuple[tuple[str, str], ...]


def index_keys(advisory: Advisory) -> IndexKeys:
    """What the model index needs of an advisory."""
    return tuple(
        (product.vendor, model)
        for product in advisory.affected
        for model in product.models or ("",)
    )


@functools.cache
def _camera_vendors() -> frozenset[str]:
    names = {*canonical_vendors(), *SCHEME_VENDORS, *OuiTable.load().brands.values()}
    return frozenset(vendor_key(name) for name in names)


def held_in_memory(advisory: Advisory) -> bool:
    """Whether a loaded knowledge base keeps this advisory as an object.

    True when a product line names a camera vendor: one with a firmware version scheme
    (:mod:`campatch.knowledge.versions`), a canonical name, or a block in the bundled OUI
    table. The rest are read from disk when a device of their vendor asks for them, so
    what is kept decides speed, never findings.
    """
    vendors = _camera_vendors()
    return any(vendor_key(product.vendor) in vendors for product in advisory.affected)


@dataclass(frozen=True, slots=True)
class StoredAdvisory:
    """An advisory left in its stored source file.

    Args:
        id: the advisory id (the merge key).
        keys: its (vendor, model) index keys (:func:`index_keys`).
        kev: the KEV entry it has after the merge (its own, or the replaced record's).
        file: the source file, open.
        offset, length: the record's byte span in the file.
        source: the source name, for messages.
        limits: the caps it was decoded with at load time.
    """

    id: str
    keys: IndexKeys
    kev: KevEntry | None
    file: SourceFile
    offset: int
    length: int
    source: str
    limits: KnowledgeLimits = DEFAULT_LIMITS

    def read(self) -> Advisory:
        """The record, decoded again from its span.

        Raises:
            KnowledgeSourceError: the span no longer holds this valid record.
        """
        where = f"{self.source}: advisory {self.id} at byte {self.offset}"
        try:
            advisory = decode_advisory(
                parse_bytes(self.file.read(self.offset, self.length)), self.limits
            )
        except (ValueError, RecordError) as err:
            raise KnowledgeSourceError(f"{where}: {err}") from err
        if advisory.id != self.id:
            raise KnowledgeSourceError(f"{where}: holds {advisory.id} now")
        return advisory if advisory.kev == self.kev else dataclasses.replace(advisory, kev=self.kev)


Entry = Advisory | StoredAdvisory


class AdvisoryTable(Sequence[Advisory]):
    """Advisories by record number, some held as objects and some on disk.

    Args:
        records: advisories and stored advisories, in merge order.
    """

    def __init__(self, records: Iterable[Entry] = ()) -> None:
        self._records: list[Entry] = list(records)

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, index: int) -> Advisory: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Advisory]: ...

    def __getitem__(self, index: int | slice) -> Advisory | Sequence[Advisory]:
        if isinstance(index, slice):
            return [_advisory(r) for r in self._records[index]]
        return _advisory(self._records[index])

    def __iter__(self) -> Iterator[Advisory]:
        return map(_advisory, self._records)

    def fetch(self, number: int) -> Advisory:
        """Advisory ``number``, kept in memory from now on if it was on disk.

        Raises:
            KnowledgeSourceError: a stored record cannot be read back.
        """
        record = self._records[number]
        if isinstance(record, StoredAdvisory):
            record = self._records[number] = record.read()
        return record

    def id(self, number: int) -> str:
        """The id of advisory ``number`` (without reading it)."""
        return self._records[number].id

    def keys(self, number: int) -> IndexKeys:
        """The index keys of advisory ``number`` (without reading it)."""
        record = self._records[number]
        return record.keys if isinstance(record, StoredAdvisory) else index_keys(record)

    def camera_numbers(self) -> list[int]:
        """The numbers of the camera vendors' advisories (:func:`held_in_memory`)."""
        return [
            n for n, r in enumerate(self._records) if isinstance(r, Advisory) and held_in_memory(r)
        ]

    @property
    def held(self) -> int:
        """How many advisories are in memory as objects."""
        return sum(1 for r in self._records if isinstance(r, Advisory))


def _advisory(record: Entry) -> Advisory:
    return record if isinstance(record, Advisory) else record.read()
