"""Unpack a vendor's firmware bundle (zip or tar) safely into a fresh temporary folder.

Rules (SAFETY I-06, PEP 706):

1. The whole member list is checked before a single byte is written; one bad member
   refuses the archive (:class:`~campatch.errors.UnsafeArchiveError`) and nothing is
   extracted. Refused: absolute names (``/x``, ``C:x``, ``\\\\x``), ``..`` components, NUL
   bytes, duplicate names (also ones differing only in case or by ``./``), a member
   below another member that is a file or a link, symlinks or hardlinks whose target
   leaves the folder, device nodes, FIFOs and any other special file.
2. Bombs are refused while the list is read: more than ``max_entries`` members (a zip's
   count is read from its end record before its directory is parsed), more than
   ``max_total_bytes`` of content, or content more than ``max_ratio`` times the
   archive's size. A compressed tar is read header by header and stops at the first
   header past a limit, so a huge member is never decompressed.
3. Tar members are then extracted with ``filter="data"`` *and* the checks above (so
   the guarantee holds on a Python whose filter has a hole); zip members are written
   by our own loop with ``O_EXCL | O_NOFOLLOW``, capped at their declared size.
4. Everything goes into a new ``mkdtemp`` folder; on any error it is removed whole.
   Nested archives are not opened: call :func:`extract_archive` on them again.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path, PurePosixPath

from campatch.errors import FirmwareError, FirmwareTooLarge, UnsafeArchiveError, UsageError

__all__ = ["ArchiveLimits", "extract_archive"]

logger = logging.getLogger(__name__)

_EOCD = b"PK\x05\x06"
_EOCD_SEARCH = 65_536 + 22  # the end record sits in the last 64 KiB comment + itself
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ArchiveLimits:
    """Caps for one bundle.

    Args:
        max_entries: members per archive (directories included).
        max_total_bytes: uncompressed content of all members together (bytes).
        max_ratio: content bytes per byte of archive; above it, a bomb.
    """

    _: KW_ONLY
    max_entries: int = 10_000
    max_total_bytes: int = 4 * 1024 * 1024 * 1024
    max_ratio: float = 100.0

    def __post_init__(self) -> None:
        if self.max_entries <= 0 or self.max_total_bytes <= 0 or self.max_ratio <= 0:
            raise UsageError("archive limits must be positive")


@dataclass
class _Plan:
    """Members accepted so far, by normalised name."""

    archive: Path
    limits: ArchiveLimits
    size: int
    kinds: dict[str, str] = field(default_factory=dict)  # casefolded name -> file|dir|link
    total: int = 0

    def count(self, name: str, kind: str, content: int) -> PurePosixPath:
        """Check one member and record it; returns its safe relative path."""
        path = _safe_name(name, self.archive)
        if len(self.kinds) >= self.limits.max_entries:
            raise UnsafeArchiveError(
                f"{self.archive.name}: more than {self.limits.max_entries} entries",
                image=str(self.archive),
            )
        self._check_parents(path)
        key = str(path).casefold()
        if key in self.kinds:
            raise UnsafeArchiveError(
                f"{self.archive.name}: duplicate entry {name!r}", image=str(self.archive)
            )
        self.kinds[key] = kind
        self._add_bytes(content)
        return path

    def _check_parents(self, path: PurePosixPath) -> None:
        for parent in path.parents:
            kind = self.kinds.get(str(parent).casefold())
            if kind in ("file", "link"):
                raise UnsafeArchiveError(
                    f"{self.archive.name}: entry {str(path)!r} lies below {kind} {str(parent)!r}",
                    image=str(self.archive),
                )

    def _add_bytes(self, content: int) -> None:
        self.total += max(content, 0)
        if self.total > self.limits.max_total_bytes:
            raise FirmwareTooLarge(
                f"{self.archive.name}: content exceeds {self.limits.max_total_bytes} bytes",
                image=str(self.archive),
            )
        if self.total > self.limits.max_ratio * max(self.size, 1):
            raise UnsafeArchiveError(
                f"{self.archive.name}: expands more than {self.limits.max_ratio:g} times "
                f"its {self.size} bytes (an archive bomb)",
                image=str(self.archive),
            )


def extract_archive(
    archive: Path, *, limits: ArchiveLimits | None = None, parent: Path | None = None
) -> Path:
    """Extract a zip or tar bundle into a new temporary folder (see the module rules).

    Args:
        archive: the bundle.
        limits: entry, size and ratio caps.
        parent: where the temporary folder is created (default: the system's).

    Raises:
        UnsafeArchiveError: traversal, escaping link, device node, duplicate, bomb.
        FirmwareTooLarge: the content exceeds ``max_total_bytes``.
        FirmwareError: not a zip or tar, or unreadable.

    Returns:
        The new folder (0700) holding the members; the caller removes it.
    """
    limits = limits or ArchiveLimits()
    dest = Path(tempfile.mkdtemp(prefix="campatch-bundle-", dir=parent))
    try:
        _extract_into(archive, dest, limits)
        _check_tree(dest, archive)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    logger.info("extracted %s into %s", archive, dest)
    return dest


def _extract_into(archive: Path, dest: Path, limits: ArchiveLimits) -> None:
    try:
        size = archive.stat().st_size
        if zipfile.is_zipfile(archive):
            _extract_zip(_Plan(archive, limits, size), dest)
        elif tarfile.is_tarfile(archive):
            _extract_tar(_Plan(archive, limits, size), dest)
        else:
            raise FirmwareError(f"{archive.name}: not a zip or tar archive", image=str(archive))
    except tarfile.FilterError as err:  # the stdlib's own PEP 706 check caught something
        raise UnsafeArchiveError(f"{archive.name}: {err}", image=str(archive)) from err
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError) as err:
        raise FirmwareError(f"{archive.name}: cannot unpack ({err})", image=str(archive)) from err


# --- names ------------------------------------------------------------------------------


def _safe_name(name: str, archive: Path) -> PurePosixPath:
    """The member name as a relative path that cannot leave the folder."""

    def refuse(why: str) -> UnsafeArchiveError:
        return UnsafeArchiveError(f"{archive.name}: entry {name[:200]!r} {why}", image=str(archive))

    if not name or "\x00" in name:
        raise refuse("has an empty name or a NUL byte")
    text = name.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise refuse("has an absolute path")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise refuse("climbs out of the folder with '..'")
    if not parts:
        raise refuse("names the folder itself")
    return PurePosixPath(*parts)


def _inside(link_dir: PurePosixPath, target: str) -> bool:
    """Whether ``target``, resolved from ``link_dir`` by name only, stays inside."""
    text = target.replace("\\", "/")
    if not text or text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        return False
    depth = len(link_dir.parts)
    for part in text.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return False
        elif part not in ("", "."):
            depth += 1
    return True


# --- tar ---------------------------------------------------------------------------------


def _extract_tar(plan: _Plan, dest: Path) -> None:
    with tarfile.open(plan.archive, "r:*") as tar:
        members = list(_checked_tar_members(tar, plan))
        tar.extractall(dest, members=members, filter="data")


def _checked_tar_members(tar: tarfile.TarFile, plan: _Plan) -> Iterator[tarfile.TarInfo]:
    """Members one header at a time, each checked before the next header is read."""
    while (member := tar.next()) is not None:
        path = plan.count(
            member.name, _tar_kind(member, plan), member.size if member.isfile() else 0
        )
        if member.issym():
            _check_link(plan, path, path.parent, member.linkname)
        elif member.islnk():
            _check_hardlink(plan, path, member.linkname)
        yield member


def _tar_kind(member: tarfile.TarInfo, plan: _Plan) -> str:
    if member.isfile():
        return "file"
    if member.isdir():
        return "dir"
    if member.issym() or member.islnk():
        return "link"
    kind = "device node" if member.ischr() or member.isblk() else "special file"
    raise UnsafeArchiveError(
        f"{plan.archive.name}: entry {member.name[:200]!r} is a {kind}", image=str(plan.archive)
    )


def _check_link(plan: _Plan, path: PurePosixPath, base: PurePosixPath, target: str) -> None:
    if not _inside(base, target):
        raise UnsafeArchiveError(
            f"{plan.archive.name}: link {str(path)!r} points outside the folder ({target[:200]!r})",
            image=str(plan.archive),
        )


def _check_hardlink(plan: _Plan, path: PurePosixPath, target: str) -> None:
    """A hardlink must name an earlier regular member (tar targets are archive paths)."""
    _check_link(plan, path, PurePosixPath(), target)
    key = str(_safe_name(target, plan.archive)).casefold()
    if plan.kinds.get(key) != "file":
        raise UnsafeArchiveError(
            f"{plan.archive.name}: hardlink {str(path)!r} does not name an earlier file",
            image=str(plan.archive),
        )


# --- zip ---------------------------------------------------------------------------------


def _extract_zip(plan: _Plan, dest: Path) -> None:
    declared = _zip_declared_entries(plan.archive)
    if declared > plan.limits.max_entries:
        raise UnsafeArchiveError(
            f"{plan.archive.name}: {declared} entries, more than {plan.limits.max_entries}",
            image=str(plan.archive),
        )
    with zipfile.ZipFile(plan.archive) as zf:
        members = [
            (info, plan.count(info.filename, _zip_kind(info, plan), info.file_size))
            for info in zf.infolist()
        ]
        for info, path in members:
            _write_zip_member(zf, info, dest / path)


def _zip_declared_entries(archive: Path) -> int:
    """Total entries from the end-of-central-directory record (0xFFFF = Zip64: many)."""
    with archive.open("rb") as f:
        f.seek(max(0, archive.stat().st_size - _EOCD_SEARCH))
        tail = f.read(_EOCD_SEARCH)
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) < at + 12:
        raise FirmwareError(f"{archive.name}: zip end record not found", image=str(archive))
    return int.from_bytes(tail[at + 10 : at + 12], "little")


def _zip_kind(info: zipfile.ZipInfo, plan: _Plan) -> str:
    if info.is_dir():
        return "dir"
    file_type = stat.S_IFMT(info.external_attr >> 16)  # 0: no Unix type recorded
    if file_type not in (0, stat.S_IFREG, stat.S_IFDIR):
        mode = info.external_attr >> 16
        what = "a symlink" if stat.S_ISLNK(mode) else "a device node or special file"
        raise UnsafeArchiveError(
            f"{plan.archive.name}: entry {info.filename[:200]!r} is {what}", image=str(plan.archive)
        )
    return "file"


def _write_zip_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    if info.is_dir():
        target.mkdir(mode=0o700, parents=True, exist_ok=True)
        return
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    written = 0
    with os.fdopen(fd, "wb") as out, zf.open(info) as src:
        while block := src.read(_CHUNK):
            written += len(block)
            if written > info.file_size:
                raise UnsafeArchiveError(
                    f"entry {info.filename[:200]!r} holds more than it declares"
                )
            out.write(block)


# --- after ------------------------------------------------------------------------------


def _check_tree(dest: Path, archive: Path) -> None:
    """Belt and braces: everything extracted resolves inside ``dest``."""
    root = dest.resolve()
    for folder, dirs, files in os.walk(dest):
        for name in (*dirs, *files):
            real = (Path(folder) / name).resolve()
            if real != root and root not in real.parents:
                raise UnsafeArchiveError(
                    f"{archive.name}: {name!r} resolves outside the folder", image=str(archive)
                )
