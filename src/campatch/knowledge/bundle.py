"""The knowledge snapshot shipped inside the package (``data/bundle/*.json``).

Built reproducibly by ``scripts/build_knowledge.py bundle`` from the project's research
data (see ``data/bundle/PROVENANCE.md``). Each file is one JSON object::

    {"format": "campatch-knowledge", "version": 1, "kind": "advisories",
     "built": "2026-11-27", "inputs": {"camera-cves.json": "<sha256>", ...},
     "count": 43, "records": [ <record as written by interface.encode>, ... ]}

``kind`` is ``advisories``, ``credentials`` or ``apps``. A record that fails validation
is rejected on its own and listed in :attr:`Bundle.problems`; the rest still load.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, TypeVar

from campatch.errors import KnowledgeSourceError
from campatch.knowledge.interface import (
    DEFAULT_LIMITS,
    FORMAT,
    FORMAT_VERSION,
    KnowledgeLimits,
    RecordError,
    RecordKind,
    RecordProblem,
    decode_advisory,
    decode_app,
    decode_credential,
)
from campatch.model import Advisory, DefaultCredential, ViewerApp

__all__ = [
    "BUNDLE_SOURCE",
    "Bundle",
    "check_header",
    "decode_records",
    "load_bundle",
    "read_document",
]

#: Source name of bundled records in problems and status listings.
BUNDLE_SOURCE = "bundle"
_R = TypeVar("_R")


@dataclass(frozen=True)
class Bundle:
    """The bundled records, the build facts from the file headers, and rejected records."""

    advisories: tuple[Advisory, ...]
    credentials: tuple[DefaultCredential, ...]
    apps: tuple[ViewerApp, ...]
    built: str
    inputs: Mapping[str, str]
    problems: tuple[RecordProblem, ...] = ()


def read_document(text: str, what: str, kind: RecordKind | None = None) -> dict[str, Any]:
    """Parse a knowledge file and check its header.

    Args:
        text: the file's text.
        what: the file's name for messages.
        kind: the ``kind`` a bundle file must declare (None: a store file, no ``kind``).

    Raises:
        KnowledgeSourceError: not JSON, not an object, wrong format, newer version, or
            the wrong kind.
    """
    try:
        doc = json.loads(text)
    except ValueError as err:
        raise KnowledgeSourceError(f"{what}: not valid JSON ({err})") from err
    return check_header(doc, what, kind)


def check_header(doc: object, what: str, kind: RecordKind | None = None) -> dict[str, Any]:
    """``doc`` once its ``format``, ``version`` (and ``kind``) fields are checked.

    Raises:
        KnowledgeSourceError: see :func:`read_document`.
    """
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise KnowledgeSourceError(f"{what}: not a {FORMAT} file")
    version = doc.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise KnowledgeSourceError(
            f"{what}: format version {version!r} is newer than {FORMAT_VERSION}"
        )
    if kind is not None and doc.get("kind") != kind.value:
        raise KnowledgeSourceError(f"{what}: expected kind {kind.value!r}, got {doc.get('kind')!r}")
    return doc


def decode_records(
    items: object,
    kind: RecordKind,
    source: str,
    decode: Callable[..., _R],
    limits: KnowledgeLimits,
    problems: list[RecordProblem],
) -> list[_R]:
    """Decode a record list; each bad record becomes a :class:`RecordProblem`.

    Raises:
        KnowledgeSourceError: ``items`` is not a list or holds more than
            ``limits.max_records`` records.
    """
    if not isinstance(items, list):
        raise KnowledgeSourceError(f"{source}: {kind.value} must be a list")
    if len(items) > limits.max_records:
        raise KnowledgeSourceError(
            f"{source}: {len(items)} {kind.value}, more than the cap of {limits.max_records}"
        )
    out: list[_R] = []
    for number, item in enumerate(items):
        try:
            out.append(decode(item, limits))
        except RecordError as err:
            problems.extend(RecordProblem(source, kind, number, p) for p in err.problems)
    return out


def _read_kind(kind: RecordKind, decode: Callable[..., _R], limits: KnowledgeLimits,
               problems: list[RecordProblem]) -> tuple[list[_R], dict[str, Any]]:  # fmt: skip
    name = f"{kind.value}.json"
    try:
        text = (
            resources.files("campatch.knowledge")
            .joinpath("data", "bundle", name)
            .read_text("utf-8")
        )
    except OSError as err:
        raise KnowledgeSourceError(f"bundled knowledge file {name} is missing: {err}") from err
    doc = read_document(text, f"bundled {name}", kind)
    return decode_records(doc.get("records"), kind, BUNDLE_SOURCE, decode, limits, problems), doc


@functools.cache
def load_bundle(limits: KnowledgeLimits = DEFAULT_LIMITS) -> Bundle:
    """The bundled snapshot (read once per process).

    Raises:
        KnowledgeSourceError: a bundled file is missing or not a knowledge file.
    """
    problems: list[RecordProblem] = []
    advisories, doc = _read_kind(RecordKind.ADVISORIES, decode_advisory, limits, problems)
    credentials, _ = _read_kind(RecordKind.CREDENTIALS, decode_credential, limits, problems)
    apps, _ = _read_kind(RecordKind.APPS, decode_app, limits, problems)
    return Bundle(
        advisories=tuple(advisories),
        credentials=tuple(credentials),
        apps=tuple(apps),
        built=str(doc.get("built", "")),
        inputs=dict(doc.get("inputs") or {}),
        problems=tuple(problems),
    )
