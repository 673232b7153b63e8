"""Per-source knowledge on disk, replaced atomically, merged with the bundle on load.

Layout, under ``config.data_dir()/knowledge/`` (directory 0700, files 0600)::

    <source>.json          the source's record set (written by replace_source)
    <source>.status.json   the last failed sync of the source, if any

``<source>.json`` is one JSON object::

    {"format": "campatch-knowledge", "version": 1, "source": "nvd",
     "written": "2026-11-27T10:00:00Z", "meta": {"feed": "..."},
     "counts": {"advisories": 1200, "releases": 0, "credentials": 0, "apps": 0},
     "advisories": [...], "releases": [...], "credentials": [...], "apps": [...]}

Rules (SAFETY F-10, F-12):

- :meth:`KnowledgeStore.replace_source` is all or nothing. Every record is validated
  (and its text cleaned) first; one malformed record, a set above the cap, or a failed
  write leaves the previous file byte for byte intact. The new file is written to a
  temporary file in the same directory, fsynced, then ``os.replace``-d over the old one.
- :meth:`KnowledgeStore.load` never fails because of one bad record: a record that does
  not validate (a hand-edited or damaged file) is rejected on its own and listed in
  :attr:`KnowledgeBase.problems`; an unreadable file is listed as a problem too.
- Merge order: the bundle, then stored sources by write time, then ``manual`` last. A
  later record with the same key (:func:`~campatch.knowledge.interface.record_key`)
  replaces the earlier one whole, with its provenance; an advisory without KEV status
  keeps the KEV entry of the one it replaces (KEV facts come from their own feed).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from campatch import config
from campatch.errors import KnowledgeSourceError
from campatch.knowledge.bundle import BUNDLE_SOURCE, decode_records, load_bundle, read_document
from campatch.knowledge.index import KnowledgeBase
from campatch.knowledge.interface import (
    DEFAULT_LIMITS,
    FORMAT,
    FORMAT_VERSION,
    KnowledgeLimits,
    RecordError,
    RecordKind,
    RecordProblem,
    clean_text,
    decode_advisory,
    decode_app,
    decode_credential,
    decode_release,
    encode,
)
from campatch.knowledge.loader import Layer, merge, merge_advisories, scan_source
from campatch.knowledge.table import AdvisoryTable
from campatch.model import Advisory, DefaultCredential, FirmwareRelease, ViewerApp

__all__ = ["MANUAL_SOURCE", "KnowledgeStore", "SourceRecords", "SourceStatus"]

#: The source the user's own imports are stored under; it wins every merge.
MANUAL_SOURCE = "manual"
_SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_DECODERS: Mapping[RecordKind, Callable[..., Any]] = {
    RecordKind.ADVISORIES: decode_advisory,
    RecordKind.RELEASES: decode_release,
    RecordKind.CREDENTIALS: decode_credential,
    RecordKind.APPS: decode_app,
}
_R = TypeVar("_R", Advisory, FirmwareRelease, DefaultCredential, ViewerApp)


@dataclass(frozen=True)
class SourceStatus:
    """What ``campatch feed status`` shows for one stored source.

    Args:
        source: the source name.
        last_sync: when its records were last replaced (ISO, UTC); "" if never.
        counts: records per kind.
        last_error: the last failed sync's message ("" after a success).
        last_error_at: when that failure happened (ISO, UTC).
        meta: what the source said about itself (feed URL, catalog version ...).
    """

    source: str
    last_sync: str = ""
    counts: Mapping[str, int] = field(default_factory=dict)
    last_error: str = ""
    last_error_at: str = ""
    meta: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceRecords:
    """One stored source as read back, with its rejected records."""

    status: SourceStatus
    advisories: tuple[Advisory, ...] = ()
    releases: tuple[FirmwareRelease, ...] = ()
    credentials: tuple[DefaultCredential, ...] = ()
    apps: tuple[ViewerApp, ...] = ()
    problems: tuple[RecordProblem, ...] = ()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class KnowledgeStore:
    """Stored knowledge sources (see the module docstring for format and rules).

    Args:
        root: the folder; default ``config.data_dir()/knowledge``.
        limits: caps on records and fields.
        clock: returns the current time as ISO text (tests pin it).
        with_bundle: merge the bundled snapshot in :meth:`load`.
    """

    def __init__(
        self,
        root: Path | None = None,
        *,
        limits: KnowledgeLimits = DEFAULT_LIMITS,
        clock: Callable[[], str] = _now,
        with_bundle: bool = True,
    ) -> None:
        self.root = root if root is not None else config.data_dir() / "knowledge"
        self.limits = limits
        self._clock = clock
        self._with_bundle = with_bundle

    # --- writing ----------------------------------------------------------------------

    def replace_source(
        self,
        source: str,
        *,
        advisories: Iterable[Advisory] = (),
        releases: Iterable[FirmwareRelease] = (),
        credentials: Iterable[DefaultCredential] = (),
        apps: Iterable[ViewerApp] = (),
        meta: Mapping[str, str] | None = None,
    ) -> SourceStatus:
        """Replace every record of ``source`` at once.

        Args:
            source: lowercase name (``nvd``, ``cisa-kev``, ``manual`` ...).
            advisories, releases, credentials, apps: the complete new record sets.
            meta: short facts about the sync (feed URL, catalog version).

        Returns:
            The source's new status.

        Raises:
            KnowledgeSourceError: bad source name, a set above the cap, a malformed
                record (the message lists every problem, one per line) or a failed
                write; the previous record set is then left untouched.
        """
        _check_name(source)
        sets: dict[RecordKind, list[object]] = {
            RecordKind.ADVISORIES: list(advisories),
            RecordKind.RELEASES: list(releases),
            RecordKind.CREDENTIALS: list(credentials),
            RecordKind.APPS: list(apps),
        }
        encoded = {kind.value: self._validated(source, kind, items) for kind, items in sets.items()}
        status = SourceStatus(
            source=source,
            last_sync=self._clock(),
            counts={k: len(v) for k, v in encoded.items()},
            meta=self._clean_meta(meta or {}),
        )
        doc = {"format": FORMAT, "version": FORMAT_VERSION, "source": source,
               "written": status.last_sync, "meta": dict(status.meta),
               "counts": dict(status.counts), **encoded}  # fmt: skip
        body = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
        self._write(self._path(source), body.encode("utf-8"))
        with contextlib.suppress(FileNotFoundError):
            self._status_path(source).unlink()
        return status

    def _validated(self, source: str, kind: RecordKind, items: Sequence[object]) -> list[Any]:
        """Encoded records, each round-tripped through its strict decoder."""
        if len(items) > self.limits.max_records:
            raise KnowledgeSourceError(
                f"{source}: {len(items)} {kind.value}, more than the cap of {self.limits.max_records}"
            )
        out: list[Any] = []
        problems: list[str] = []
        for number, item in enumerate(items):
            try:
                out.append(encode(_DECODERS[kind](encode(item), self.limits)))
            except (RecordError, TypeError, AttributeError) as err:
                lines = err.problems if isinstance(err, RecordError) else (str(err),)
                problems.extend(str(RecordProblem(source, kind, number, p)) for p in lines)
        if problems:
            raise KnowledgeSourceError("\n".join(problems))
        return out

    def _clean_meta(self, meta: Mapping[str, str]) -> dict[str, str]:
        items = list(meta.items())[: self.limits.max_items]
        return {
            clean_text(str(k), self.limits.max_name_chars): clean_text(
                str(v), self.limits.max_url_chars
            )
            for k, v in items
        }

    def record_failure(self, source: str, message: str) -> None:
        """Remember that a sync of ``source`` failed; its records stay as they were.

        Raises:
            KnowledgeSourceError: bad source name or the status cannot be written.
        """
        _check_name(source)
        doc = {"last_error": clean_text(message, self.limits.max_text_chars), "at": self._clock()}
        self._write(self._status_path(source), (json.dumps(doc, sort_keys=True) + "\n").encode())

    def remove_source(self, source: str) -> bool:
        """Forget a source; True if it was stored.

        Raises:
            KnowledgeSourceError: bad source name or the file cannot be removed.
        """
        _check_name(source)
        removed = False
        for path in (self._path(source), self._status_path(source)):
            try:
                path.unlink()
                removed = True
            except FileNotFoundError:
                continue
            except OSError as err:
                raise KnowledgeSourceError(f"cannot remove {path}: {err.strerror}") from err
        return removed

    def _write(self, path: Path, body: bytes) -> None:
        """Temp file (0600) in the same directory, fsync, ``os.replace``: all or nothing."""
        if len(body) > self.limits.max_file_bytes:
            raise KnowledgeSourceError(f"{path.name}: {len(body)} bytes, more than the cap")
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(body)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            _fsync_dir(self.root)
        except OSError as err:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise KnowledgeSourceError(f"cannot write {path}: {err.strerror or err}") from err

    # --- reading ----------------------------------------------------------------------

    def sources(self) -> list[str]:
        """Names of the stored sources, sorted."""
        if not self.root.is_dir():
            return []
        names = (p.name[: -len(".json")] for p in self.root.glob("*.json"))
        return sorted(n for n in names if _SOURCE_NAME.fullmatch(n))

    def status(self) -> list[SourceStatus]:
        """Status of every stored source (and of sources that only ever failed)."""
        names = set(self.sources())
        if self.root.is_dir():
            names |= {p.name[: -len(".status.json")] for p in self.root.glob("*.status.json")}
        return [self.read_source(n).status for n in sorted(names) if _SOURCE_NAME.fullmatch(n)]

    def read_source(self, source: str) -> SourceRecords:
        """One source's records; bad records and an unreadable file become problems.

        Raises:
            KnowledgeSourceError: bad source name.
        """
        _check_name(source)
        error, error_at = self._read_status(source)
        base = SourceStatus(source, last_error=error, last_error_at=error_at)
        try:
            doc = self._read_doc(source)
        except KnowledgeSourceError as err:
            problem = RecordProblem(source, RecordKind.ADVISORIES, -1, str(err))
            return SourceRecords(status=base, problems=(problem,))
        if doc is None:
            return SourceRecords(status=base)
        return self._decode_doc(source, doc, base)

    def _decode_doc(self, source: str, doc: dict[str, Any], base: SourceStatus) -> SourceRecords:
        problems: list[RecordProblem] = []
        sets: dict[RecordKind, list[Any]] = {}
        for kind, decode in _DECODERS.items():
            try:
                sets[kind] = decode_records(
                    doc.get(kind.value, []), kind, source, decode, self.limits, problems
                )
            except KnowledgeSourceError as err:
                problems.append(RecordProblem(source, kind, -1, str(err)))
                sets[kind] = []
        meta = doc.get("meta") if isinstance(doc.get("meta"), dict) else {}
        status = dataclasses.replace(
            base,
            last_sync=clean_text(str(doc.get("written", "")), self.limits.max_name_chars),
            counts={k.value: len(v) for k, v in sets.items()},
            meta=self._clean_meta(meta or {}),
        )
        return SourceRecords(
            status, tuple(sets[RecordKind.ADVISORIES]), tuple(sets[RecordKind.RELEASES]),
            tuple(sets[RecordKind.CREDENTIALS]), tuple(sets[RecordKind.APPS]), tuple(problems),
        )  # fmt: skip

    def _read_doc(self, source: str) -> dict[str, Any] | None:
        path = self._path(source)
        try:
            with path.open("rb") as f:
                raw = f.read(self.limits.max_file_bytes + 1)
        except FileNotFoundError:
            return None
        except OSError as err:
            raise KnowledgeSourceError(f"cannot read {path}: {err.strerror}") from err
        if len(raw) > self.limits.max_file_bytes:
            raise KnowledgeSourceError(
                f"{path.name} is larger than {self.limits.max_file_bytes} bytes"
            )
        return read_document(raw.decode("utf-8", errors="replace"), path.name)

    def _read_status(self, source: str) -> tuple[str, str]:
        try:
            doc = json.loads(self._status_path(source).read_text("utf-8"))
        except (OSError, ValueError):
            return "", ""
        if not isinstance(doc, dict):
            return "", ""
        return clean_text(str(doc.get("last_error", ""))), clean_text(str(doc.get("at", "")))

    def load(self) -> KnowledgeBase:
        """The bundle merged with every stored source (see the module docstring).

        Records are validated as :meth:`read_source` validates them; advisories for
        vendors no camera reports stay in their (open) source file and are read back
        when asked for (see :mod:`campatch.knowledge.table`).

        Raises:
            KnowledgeSourceError: the bundled snapshot itself is missing or damaged.
        """
        stored = [scan_source(self._path(name), name, self.limits) for name in self.sources()]
        stored.sort(key=lambda s: (s.source == MANUAL_SOURCE, s.written))
        layers: list[Layer] = []
        if self._with_bundle:
            bundle = load_bundle(self.limits)
            layers.append(Layer(BUNDLE_SOURCE, advisories=list(bundle.advisories),
                                credentials=list(bundle.credentials), apps=list(bundle.apps),
                                problems=list(bundle.problems)))  # fmt: skip
        layers.extend(stored)
        return KnowledgeBase(
            advisories=AdvisoryTable(merge_advisories(layer.advisories for layer in layers)),
            releases=merge(layer.releases for layer in layers),
            credentials=merge(layer.credentials for layer in layers),
            apps=merge(layer.apps for layer in layers),
            problems=[p for layer in layers for p in layer.problems],
        )

    def _path(self, source: str) -> Path:
        return self.root / f"{source}.json"

    def _status_path(self, source: str) -> Path:
        return self.root / f"{source}.status.json"


def _check_name(source: str) -> None:
    if not isinstance(source, str) or not _SOURCE_NAME.fullmatch(source):
        raise KnowledgeSourceError(
            f"source name must be 1-40 lowercase letters, digits, '-' or '_', got {source!r}"
        )


def _fsync_dir(path: Path) -> None:
    """Make a rename durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
