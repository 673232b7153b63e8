"""Stored source files read one record at a time, each record with its place in the file.

:meth:`campatch.knowledge.store.KnowledgeStore.load` reads sources this way instead of
with one ``json.loads``: each record is decoded (and validated) as soon as it is parsed,
so a 300 MB source never sits in memory as one tree of Python objects, and an advisory
the knowledge base leaves on disk is read back later from its byte span
(:meth:`SourceFile.read`).

The file is parsed as Latin-1 text. JSON's structure is ASCII, so every character is one
byte and positions in that text are byte offsets in the file. A value holding non-ASCII
bytes is parsed again from its bytes as UTF-8, with invalid sequences replaced, which
is what :meth:`~campatch.knowledge.store.KnowledgeStore.read_source` does for the whole
file.

A :class:`SourceFile` keeps its file open (a descriptor closed when the object is
garbage-collected or :meth:`~SourceFile.close` is called): a sync that replaces the
file afterwards (``os.replace``) does not change what it reads.
"""

from __future__ import annotations

import json
import os
import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from campatch.errors import KnowledgeSourceError
from campatch.knowledge.interface import RecordKind

__all__ = [
    "Element",
    "Elements",
    "SourceFile",
    "fields",
    "parse_bytes",
    "starts_an_object",
]

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_KINDS = {kind.value: kind for kind in RecordKind}


class SourceFile:
    """One stored source file, open for reading at any offset.

    Args:
        path: the file.

    Raises:
        FileNotFoundError: there is no such file.
        OSError: it cannot be opened.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self._closer = weakref.finalize(self, os.close, self._fd)

    def read_all(self, limit: int) -> bytes:
        """The whole file, or its first ``limit + 1`` bytes when it is larger.

        Raises:
            KnowledgeSourceError: it cannot be read.
        """
        chunks: list[bytes] = []
        size = 0
        try:
            while size <= limit:
                chunk = os.pread(self._fd, min(limit + 1 - size, 1 << 24), size)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        except OSError as err:
            raise KnowledgeSourceError(f"cannot read {self.path}: {err.strerror}") from err
        return b"".join(chunks)

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes at ``offset`` (a span :func:`fields` reported).

        Raises:
            KnowledgeSourceError: they cannot be read.
        """
        try:
            data = os.pread(self._fd, length, offset)
        except OSError as err:
            raise KnowledgeSourceError(f"cannot read {self.path}: {err.strerror}") from err
        if len(data) != length:
            raise KnowledgeSourceError(f"{self.path.name} is shorter than when it was loaded")
        return data

    def close(self) -> None:
        """Close the file (reading a span afterwards fails)."""
        self._closer()


@dataclass(frozen=True, slots=True)
class Element:
    """One element of a record list: its JSON value and its byte span in the file."""

    value: Any
    offset: int
    length: int


def parse_bytes(data: bytes) -> Any:
    """One JSON value from a span of the file (UTF-8, invalid sequences replaced).

    Raises:
        ValueError: it is not JSON.
    """
    return json.loads(data.decode("utf-8", errors="replace"))


def starts_an_object(text: str) -> bool:
    """Whether the text's first value is a JSON object (what :func:`fields` reads)."""
    pos = _skip(text, 0)
    return text[pos : pos + 1] == "{"


def fields(text: str) -> Iterator[tuple[str, Any]]:
    """The top-level fields of a knowledge file, in file order, parsed one by one.

    Args:
        text: the file's bytes decoded as Latin-1 (see the module docstring).

    Yields:
        ``(key, value)``; for a record kind (``advisories`` ...) holding a list, the value
        is an iterator of :class:`Element` that must be consumed before the next field.

    Raises:
        ValueError: the text is not one JSON object (:class:`json.JSONDecodeError`).
    """
    pos = _skip(text, 0)
    if text[pos : pos + 1] != "{":
        raise json.JSONDecodeError("Expecting a JSON object", text, pos)
    pos = _skip(text, pos + 1)
    closed = text[pos : pos + 1] == "}"
    while not closed:
        if text[pos : pos + 1] != '"':
            raise json.JSONDecodeError(
                "Expecting property name enclosed in double quotes", text, pos
            )
        key, pos = _value(text, pos)
        pos = _skip(text, pos)
        if text[pos : pos + 1] != ":":
            raise json.JSONDecodeError("Expecting ':' delimiter", text, pos)
        pos = _skip(text, pos + 1)
        if key in _KINDS and text[pos : pos + 1] == "[":
            elements = Elements(text, pos)
            yield key, elements
            pos = elements.finish()
        else:
            value, end = _value(text, pos)
            yield key, value
            pos = end
        pos = _skip(text, pos)
        if text[pos : pos + 1] == ",":
            pos = _skip(text, pos + 1)
        elif text[pos : pos + 1] == "}":
            closed = True
        else:
            raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)
    end = _skip(text, pos + 1)
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)


class Elements(Iterator[Element]):
    """The elements of one record list, parsed as they are asked for."""

    def __init__(self, text: str, start: int) -> None:
        self._text = text
        self._pos = _skip(text, start + 1)  # after "["
        self._done = text[self._pos : self._pos + 1] == "]"

    def __next__(self) -> Element:
        if self._done:
            raise StopIteration
        text, start = self._text, self._pos
        value, end = _value(text, start)
        pos = _skip(text, end)
        if text[pos : pos + 1] == ",":
            self._pos = _skip(text, pos + 1)
        elif text[pos : pos + 1] == "]":
            self._pos, self._done = pos, True
        else:
            raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)
        return Element(value, start, end - start)

    def finish(self) -> int:
        """Parse what is left of the list; the position after its ``]``."""
        for _ in self:
            pass
        return self._pos + 1


def _skip(text: str, pos: int) -> int:
    match = _SPACE.match(text, pos)
    return match.end() if match else pos


def _value(text: str, pos: int) -> tuple[Any, int]:
    value, end = _DECODER.raw_decode(text, pos)
    if _NON_ASCII.search(text, pos, end):
        value = parse_bytes(text[pos:end].encode("latin-1"))
    return value, end
