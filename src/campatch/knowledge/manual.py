"""Import advisories and firmware releases the user wrote by hand (source ``manual``).

The file is JSON (``.json``) or YAML (``.yaml``/``.yml``): one object with an
``advisories`` list, a ``releases`` list, or both. Fields are those of
:class:`campatch.model.Advisory` and :class:`campatch.model.FirmwareRelease`; unknown
fields are errors, so a typo never silently drops a bound. ``provenance`` may be left
out: it then names the file. Example::

    advisories:
      - id: VENDOR-2026-001              # CVE id or the vendor's advisory id
        title: Telnet left enabled by the installer's image
        description: Our installer's image enables telnet with a fixed password.
        cvss_score: 8.1
        references: [https://example.com/notice-2026-001]
        affected:
          - vendor: Hikvision
            models: ["DS-2CD2*"]         # shell patterns; [] = every model
            ranges:
              - {introduced: "V5.5.0", fixed: "V5.7.3"}   # fixed = first release with the fix
    releases:
      - vendor: Hikvision
        model: DS-2CD2142FWD-I
        version: V5.7.3 build 210630
        released: "2021-06-30"
        download_page: https://example.com/firmware
        sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
        fixes: [VENDOR-2026-001]

Every problem is reported on its own line (``advisories[0].affected[0].ranges[0]:
...``) and nothing is stored unless the whole file is valid. Records already imported
stay; a record with the same id (advisory) or vendor/model/hardware/region/version
(release) is replaced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from campatch.errors import KnowledgeSourceError
from campatch.knowledge.interface import (
    DEFAULT_LIMITS,
    KnowledgeLimits,
    RecordError,
    decode_advisory,
    decode_release,
    record_key,
)
from campatch.knowledge.store import MANUAL_SOURCE, KnowledgeStore
from campatch.model import Advisory, FirmwareRelease, Provenance

__all__ = ["ImportResult", "import_file", "parse_manual"]

#: Largest file accepted (bytes).
MAX_FILE_BYTES = 4 * 1024 * 1024
_TOP_KEYS = ("advisories", "releases")


@dataclass(frozen=True)
class ImportResult:
    """What an import added to the ``manual`` source."""

    advisories: tuple[Advisory, ...]
    releases: tuple[FirmwareRelease, ...]


def parse_manual(
    text: str, *, name: str, limits: KnowledgeLimits = DEFAULT_LIMITS, yaml_syntax: bool = False
) -> ImportResult:
    """Validate a manual knowledge file.

    Args:
        text: the file's content.
        name: the file's name (for messages and the default provenance).
        limits: caps on records and fields.
        yaml_syntax: parse as YAML (safe loader) instead of JSON.

    Raises:
        KnowledgeSourceError: one line per problem.
    """
    doc = _parse(text, name, yaml_syntax)
    problems = [f"{name}: unknown top-level field {k!r}" for k in sorted(set(doc) - set(_TOP_KEYS))]
    if not any(k in doc for k in _TOP_KEYS):
        problems.append(f"{name}: expected an 'advisories' or 'releases' list")
    today = datetime.now(UTC).date().isoformat()
    origin = Provenance(source=f"manual:{name}", retrieved=today)
    advisories = _decode_all(
        doc,
        "advisories",
        name,
        problems,
        lambda d, w: decode_advisory(d, limits, where=w, provenance=origin),
    )
    releases = _decode_all(doc, "releases", name, problems, lambda d, w: decode_release(d, limits, where=w, provenance=origin))  # fmt: skip
    if problems:
        raise KnowledgeSourceError("\n".join(problems))
    return ImportResult(tuple(advisories), tuple(releases))


def _parse(text: str, name: str, yaml_syntax: bool) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(text) if yaml_syntax else json.loads(text)
    except (ValueError, yaml.YAMLError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise KnowledgeSourceError(f"{name}: cannot parse ({first})") from err
    if not isinstance(doc, dict):
        raise KnowledgeSourceError(f"{name}: expected an object with 'advisories' or 'releases'")
    return doc


def _decode_all(
    doc: dict[str, Any], key: str, name: str, problems: list[str], decode: Any
) -> list[Any]:
    items = doc.get(key, [])
    if not isinstance(items, list):
        problems.append(f"{name}: {key!r} must be a list")
        return []
    out = []
    for number, item in enumerate(items):
        try:
            out.append(decode(item, f"{key}[{number}]"))
        except RecordError as err:
            problems.extend(f"{name}: {p}" for p in err.problems)
    return out


def import_file(path: Path, store: KnowledgeStore) -> ImportResult:
    """Validate ``path`` and add its records to the store's ``manual`` source.

    Raises:
        KnowledgeSourceError: the file cannot be read, is too large or is invalid (one
            line per problem), or the store cannot be written; nothing is stored then.
    """
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise KnowledgeSourceError(f"cannot read {path}: {err.strerror}") from err
    if len(raw) > MAX_FILE_BYTES:
        raise KnowledgeSourceError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    yaml_syntax = path.suffix.lower() in (".yaml", ".yml")
    text = raw.decode("utf-8", errors="replace")
    result = parse_manual(text, name=path.name, limits=store.limits, yaml_syntax=yaml_syntax)
    current = store.read_source(MANUAL_SOURCE)
    store.replace_source(
        MANUAL_SOURCE,
        advisories=_combined(current.advisories, result.advisories),
        releases=_combined(current.releases, result.releases),
        meta={"last_file": str(path)},
    )
    return result


def _combined(old: tuple[Any, ...], new: tuple[Any, ...]) -> list[Any]:
    merged = {record_key(r): r for r in old}
    merged.update((record_key(r), r) for r in new)
    return list(merged.values())
