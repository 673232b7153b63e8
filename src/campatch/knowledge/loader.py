"""How :meth:`~campatch.knowledge.store.KnowledgeStore.load` reads and merges sources.

Each stored source is parsed one record at a time (:mod:`campatch.knowledge.sourcefile`)
and every record is decoded and validated, exactly as
:meth:`~campatch.knowledge.store.KnowledgeStore.read_source` does: the same records are
accepted, and the same problems reported in the same order. The difference is what is
kept: advisories for vendors no camera reports become
:class:`~campatch.knowledge.table.StoredAdvisory` references into the still-open file
(see :mod:`campatch.knowledge.table`), so memory follows the camera part of the NVD.

Merge (the store's rule): layers in order, a later record with the same key replaces the
earlier one whole and moves to the end; an advisory without KEV status keeps the KEV
entry of the one it replaces.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from campatch.errors import KnowledgeSourceError
from campatch.knowledge.bundle import check_header
from campatch.knowledge.interface import (
    KnowledgeLimits,
    RecordError,
    RecordKind,
    RecordProblem,
    clean_text,
    decode_advisory,
    decode_app,
    decode_credential,
    decode_release,
    record_key,
)
from campatch.knowledge.sourcefile import (
    Elements,
    SourceFile,
    fields,
    parse_bytes,
    starts_an_object,
)
from campatch.knowledge.table import Entry, StoredAdvisory, held_in_memory, index_keys
from campatch.model import Advisory, DefaultCredential, FirmwareRelease, ViewerApp

__all__ = ["Layer", "merge", "merge_advisories", "scan_source"]

_DECODERS: Mapping[RecordKind, Callable[..., Any]] = {
    RecordKind.ADVISORIES: decode_advisory,
    RecordKind.RELEASES: decode_release,
    RecordKind.CREDENTIALS: decode_credential,
    RecordKind.APPS: decode_app,
}
_KINDS = {kind.value: kind for kind in RecordKind}
_R = TypeVar("_R", FirmwareRelease, DefaultCredential, ViewerApp)
_T = TypeVar("_T")


@dataclass
class Layer:
    """One source's records, as the merge takes them.

    Args:
        source: the source name.
        written: when the source was written (ISO, UTC; sorts the stored layers).
        advisories: advisories, in memory or left on disk.
        releases, credentials, apps: the other record kinds.
        problems: rejected records, or why the whole file was rejected.
    """

    source: str
    written: str = ""
    advisories: list[Entry] = field(default_factory=list)
    releases: list[FirmwareRelease] = field(default_factory=list)
    credentials: list[DefaultCredential] = field(default_factory=list)
    apps: list[ViewerApp] = field(default_factory=list)
    problems: list[RecordProblem] = field(default_factory=list)


def scan_source(path: Path, source: str, limits: KnowledgeLimits) -> Layer:
    """Read one stored source file for the merge; a bad file is one problem, never a crash."""
    layer = Layer(source)
    try:
        file = SourceFile(path)
    except FileNotFoundError:
        return layer
    except OSError as err:
        return _failed(layer, f"cannot read {path}: {err.strerror}")
    try:
        raw = file.read_all(limits.max_file_bytes)
        if len(raw) > limits.max_file_bytes:
            raise KnowledgeSourceError(f"{path.name} is larger than {limits.max_file_bytes} bytes")
        text = raw.decode("latin-1")
        if not starts_an_object(text):  # not a knowledge file: say why as read_source does
            check_header(_whole(raw, path.name), path.name)
        header, sets = _Reader(file, source, limits).read(text)
        check_header(header, path.name)
    except KnowledgeSourceError as err:
        file.close()
        return _failed(layer, str(err))
    layer.written = clean_text(str(header.get("written", "")), limits.max_name_chars)
    for kind in _DECODERS:  # problems in the order read_source reports them
        records, problems = sets.get(kind, ([], []))
        layer.problems.extend(problems)
        getattr(layer, kind.value).extend(records)
    if not any(isinstance(a, StoredAdvisory) for a in layer.advisories):
        file.close()
    return layer


def _whole(raw: bytes, name: str) -> object:
    try:
        return parse_bytes(raw)
    except ValueError as err:
        raise KnowledgeSourceError(f"{name}: not valid JSON ({err})") from err


def _failed(layer: Layer, message: str) -> Layer:
    layer.problems.append(RecordProblem(layer.source, RecordKind.ADVISORIES, -1, message))
    return layer


Decoded = tuple[list[Any], list[RecordProblem]]


class _Reader:
    """Decodes a file's record lists as they are parsed."""

    def __init__(self, file: SourceFile, source: str, limits: KnowledgeLimits) -> None:
        self.file = file
        self.source = source
        self.limits = limits
        self._interned: dict[Any, Any] = {}  # one object per distinct key and key set

    def read(self, text: str) -> tuple[dict[str, Any], dict[RecordKind, Decoded]]:
        header: dict[str, Any] = {}
        sets: dict[RecordKind, Decoded] = {}
        try:
            for key, value in fields(text):
                kind = _KINDS.get(key)
                if kind is None:
                    header[key] = value
                elif isinstance(value, Elements):
                    sets[kind] = self._records(kind, value)
                else:
                    sets[kind] = (
                        [],
                        [self._problem(kind, f"{self.source}: {kind.value} must be a list")],
                    )
        except ValueError as err:
            raise KnowledgeSourceError(f"{self.file.path.name}: not valid JSON ({err})") from err
        return header, sets

    def _records(self, kind: RecordKind, elements: Elements) -> Decoded:
        decode, cap = _DECODERS[kind], self.limits.max_records
        records: list[Any] = []
        problems: list[RecordProblem] = []
        count = 0
        for number, element in enumerate(elements):
            count += 1
            if count > cap:
                continue  # the list is refused whole below; count the rest
            try:
                record = decode(element.value, self.limits)
            except RecordError as err:
                problems.extend(RecordProblem(self.source, kind, number, p) for p in err.problems)
                continue
            records.append(self._kept(record, element.offset, element.length))
        if count > cap:
            message = f"{self.source}: {count} {kind.value}, more than the cap of {cap}"
            return [], [self._problem(kind, message)]
        return records, problems

    def _kept(self, record: Any, offset: int, length: int) -> Any:
        if not isinstance(record, Advisory) or held_in_memory(record):
            return record
        keys = tuple(self._intern(pair) for pair in index_keys(record))
        return StoredAdvisory(
            id=record.id,
            keys=self._intern(keys),
            kev=record.kev,
            file=self.file,
            offset=offset,
            length=length,
            source=self.source,
            limits=self.limits,
        )

    def _intern(self, value: _T) -> _T:
        """One shared object per distinct index key: most NVD records repeat a few."""
        return self._interned.setdefault(value, value)  # type: ignore[no-any-return]

    def _problem(self, kind: RecordKind, message: str) -> RecordProblem:
        return RecordProblem(self.source, kind, -1, message)


def merge(layers: Iterable[Iterable[_R]]) -> list[_R]:
    """Records of all layers; a later record with the same key replaces an earlier one."""
    merged: dict[tuple[str, ...], _R] = {}
    for layer in layers:
        for record in layer:
            key = record_key(record)
            merged.pop(key, None)  # re-insert: the order follows the winning layer
            merged[key] = record
    return list(merged.values())


def merge_advisories(layers: Iterable[Iterable[Entry]]) -> list[Entry]:
    """As :func:`merge`, but an advisory without KEV status keeps the replaced one's."""
    merged: dict[str, Entry] = {}
    for layer in layers:
        for advisory in layer:
            key = advisory.id.upper()
            old = merged.pop(key, None)
            if old is not None and old.kev is not None and advisory.kev is None:
                advisory = dataclasses.replace(advisory, kev=old.kev)
            merged[key] = advisory
    return list(merged.values())
