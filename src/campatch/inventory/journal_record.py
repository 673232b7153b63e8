"""The journal's record format (SAFETY S-03): what makes a record and its hash; no SQL.

Each record's ``hash`` is ``sha256(prev_hash || canonical JSON of (seq, at, actor, action,
device, result, detail))``; the first record chains to :data:`GENESIS` (64 zeros).

Secrets never go in: :func:`safe_detail` refuses detail keys naming a password, secret or
token, :class:`~campatch.model.Secret` values and anything that is not a JSON value.

The journal itself (appends, verify) is :mod:`campatch.inventory.journal`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from campatch.inventory._codec import clean
from campatch.model import Secret

__all__ = [
    "GENESIS",
    "MAX_DETAIL_BYTES",
    "SECRET_WORDS",
    "canonical_json",
    "record_hash",
    "safe_detail",
]

#: prev_hash of the first record
GENESIS = "0" * 64
#: detail keys containing one of these are refused (secrets never go in the journal)
SECRET_WORDS = ("password", "passwd", "secret", "token")
#: canonical JSON of one record's detail, at most (bytes)
MAX_DETAIL_BYTES = 16 * 1024


def record_hash(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    device: str,
    result: str,
    detail: Mapping[str, Any],
) -> str:
    """The chained hash of one record (hex SHA-256)."""
    fields = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "device": device,
        "result": result,
        "detail": detail,
    }
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(fields)).hexdigest()


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: the bytes that are hashed."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def safe_detail(detail: Mapping[str, Any] | None) -> dict[str, Any]:
    """``detail`` as storable JSON values.

    Raises:
        ValueError: a key names a password, secret or token, a value is a
            :class:`~campatch.model.Secret` or not a JSON value, or it is too large.
    """
    clean_detail = _json_value(dict(detail or {}), "detail")
    if len(canonical_json(clean_detail)) > MAX_DETAIL_BYTES:
        raise ValueError(f"journal detail is larger than {MAX_DETAIL_BYTES} bytes")
    assert isinstance(clean_detail, dict)  # noqa: S101 - a mapping stays a mapping
    return clean_detail


def _json_value(value: Any, where: str) -> Any:
    if isinstance(value, Secret):
        raise ValueError(f"journal refuses a secret in {where}")
    if isinstance(value, Mapping):
        return {_key(k, where): _json_value(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v, where) for v in value]
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"journal refuses a non-finite number in {where}")
    if value is None or isinstance(value, bool | int | float):
        return value
    raise ValueError(f"journal refuses {type(value).__name__} in {where}: not a JSON value")


def _key(key: Any, where: str) -> str:
    if not isinstance(key, str):
        raise ValueError(f"journal refuses a non-text key in {where}")
    if any(word in key.casefold() for word in SECRET_WORDS):
        raise ValueError(f"journal refuses {where}.{key}: secrets never go in the journal")
    return clean(key)
