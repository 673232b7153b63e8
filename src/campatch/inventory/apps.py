"""The owner's viewer apps: which phone and PC viewer apps they use, and at which version.

Kept in ``config.data_dir()/apps.json`` (0600, written atomically: temp file, fsync,
rename), beside the credential vault, not in the inventory database: the apps are the
declaration of the person running campatch (their phone, their PC), not a fact about a
site's devices, so a shared PostgreSQL inventory (``--db``) does not mix several
operators' phones, and no schema migration is needed. The file::

    {"format": "campatch-owner-apps", "version": 1,
     "apps": [{"name": "Hik-Connect", "platform": "android", "version": "6.2.1",
               "added": "2026-11-28T10:00:00Z"}, ...]}

Entries are keyed by (name, platform), case-insensitively; names keep the owner's
spelling. Text is cleaned (no control or escape sequences) and bounded; a file that is
not this format is refused with one line (:class:`~campatch.errors.InventoryError`),
never half-read.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from campatch.config import data_dir
from campatch.errors import InventoryError, UsageError
from campatch.inventory._vault_file import atomic_write
from campatch.knowledge.interface import clean_text

__all__ = ["APP_PLATFORMS", "MAX_APPS", "OwnerApp", "OwnerApps", "open_owner_apps"]

#: Platforms a viewer app runs on (the catalog's ``ViewerApp.platform`` values).
APP_PLATFORMS = ("android", "ios", "windows", "macos")
#: At most this many declared apps (a person has a few phones and PCs).
MAX_APPS = 256
#: Longest name or version accepted (characters).
MAX_TEXT = 128
#: Largest file read (bytes).
MAX_FILE_BYTES = 1024 * 1024
_FORMAT = "campatch-owner-apps"
_VERSION = 1


@dataclass(frozen=True, slots=True)
class OwnerApp:
    """One viewer app the owner uses: name, platform and the installed version."""

    name: str
    platform: str
    version: str
    added: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """(name, platform), case-folded: one entry per app and platform."""
        return (self.name.casefold(), self.platform)


def _clean(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise UsageError(f"{what} must be text")
    text = clean_text(value)
    if not text:
        raise UsageError(f"{what} is empty")
    if len(text) > MAX_TEXT:
        raise UsageError(f"{what} is longer than {MAX_TEXT} characters")
    return text


def _platform(value: object) -> str:
    platform = _clean(value, "platform").lower()
    if platform not in APP_PLATFORMS:
        raise UsageError(f"platform {platform!r} is not one of {', '.join(APP_PLATFORMS)}")
    return platform


class OwnerApps:
    """The owner's declared viewer apps, in one JSON file.

    Args:
        path: the file (default ``config.data_dir()/apps.json``); created on first add.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self) -> list[OwnerApp]:
        """Every declared app, by name then platform.

        Raises:
            InventoryError: the file exists but cannot be read or is not an app list.
        """
        return sorted(self._read().values(), key=lambda a: (a.name.casefold(), a.platform))

    def installed(self) -> dict[tuple[str, str], str]:
        """(name, platform) -> installed version: ``AuditContext.owner_apps``.

        Raises:
            InventoryError: as :meth:`entries`.
        """
        return {(a.name, a.platform): a.version for a in self.entries()}

    def add(self, name: str, platform: str, version: str) -> tuple[OwnerApp, bool]:
        """Declare (or update) an app: the stored entry, and True if it replaced one.

        Raises:
            UsageError: an empty or too long name or version, an unknown platform, or
                more than :data:`MAX_APPS` apps.
            InventoryError: the file cannot be read or written (the old one is kept).
        """
        app = OwnerApp(
            _clean(name, "app name"), _platform(platform), _clean(version, "version"), _now()
        )
        with self._locked():
            apps = self._read()
            replaced = app.key in apps
            apps[app.key] = app
            if len(apps) > MAX_APPS:
                raise UsageError(f"more than {MAX_APPS} apps declared; remove some first")
            self._write(apps)
        return app, replaced

    def remove(self, name: str, platform: str | None = None) -> int:
        """Forget an app (on one platform, or on all); returns how many entries went.

        Raises:
            UsageError: an unknown platform.
            InventoryError: the file cannot be read or written.
        """
        wanted = _platform(platform) if platform is not None else None
        with self._locked():
            apps = self._read()
            gone = [
                k
                for k, a in apps.items()
                if k[0] == clean_text(name).casefold() and wanted in (None, a.platform)
            ]
            for key in gone:
                del apps[key]
            if gone:
                self._write(apps)
        return len(gone)

    # --- file ---------------------------------------------------------------------

    def _read(self) -> dict[tuple[str, str], OwnerApp]:
        try:
            with self.path.open("rb") as f:
                raw = f.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            return {}
        except OSError as err:
            raise InventoryError(f"cannot read {self.path}: {err.strerror or err}") from err
        if len(raw) > MAX_FILE_BYTES:
            raise InventoryError(f"{self.path}: larger than {MAX_FILE_BYTES} bytes")
        try:
            return _decode(json.loads(raw.decode("utf-8")))
        except (ValueError, UsageError, TypeError, KeyError) as err:
            raise InventoryError(
                f"{self.path} is not a campatch app list ({err}); fix or remove it"
            ) from err

    def _write(self, apps: Mapping[tuple[str, str], OwnerApp]) -> None:
        doc = {
            "format": _FORMAT,
            "version": _VERSION,
            "apps": [
                {"name": a.name, "platform": a.platform, "version": a.version, "added": a.added}
                for a in sorted(apps.values(), key=lambda a: (a.name.casefold(), a.platform))
            ],
        }
        body = (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            atomic_write(self.path, body)
        except OSError as err:
            raise InventoryError(
                f"cannot save {self.path}: {err.strerror or err}; the previous list is unchanged"
            ) from err

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise read-modify-write across processes (advisory lock, POSIX)."""
        lock = self.path.with_name(self.path.name + ".lock")
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as err:
            raise InventoryError(f"cannot lock {self.path}: {err.strerror or err}") from err
        try:
            if sys.platform != "win32":
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


def _decode(doc: Any) -> dict[tuple[str, str], OwnerApp]:
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
        raise ValueError(f"not a {_FORMAT} file")
    if doc.get("version") != _VERSION:
        raise ValueError(f"version {doc.get('version')!r} is not {_VERSION}")
    items = doc.get("apps")
    if not isinstance(items, list) or len(items) > MAX_APPS:
        raise ValueError(f"'apps' must be a list of at most {MAX_APPS}")
    apps: dict[tuple[str, str], OwnerApp] = {}
    for item in items:
        if not isinstance(item, dict):
            raise ValueError("an app entry is not an object")
        added = item.get("added", "")
        app = OwnerApp(
            _clean(item["name"], "app name"),
            _platform(item["platform"]),
            _clean(item["version"], "version"),
            clean_text(added)[:40] if isinstance(added, str) else "",
        )
        apps[app.key] = app
    return apps


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def open_owner_apps(path: Path | None = None) -> OwnerApps:
    """The owner's app list (opening reads nothing).

    Args:
        path: the file; default ``config.data_dir()/apps.json``.
    """
    return OwnerApps(path if path is not None else data_dir() / "apps.json")
