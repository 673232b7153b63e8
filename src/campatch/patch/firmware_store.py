"""Firmware images on disk, content-addressed, verified on every use.

Layout, under ``config.data_dir()/firmware/`` (directories 0700, files 0600)::

    sha256/<hex>       the image bytes, named by their SHA-256
    index.json         what each image is (vendor, model, hardware, version, file name,
                       size, sha256, when added, provenance, header check)
    tmp/               temporary copies and partial downloads (same filesystem)
    index.lock         serialises index updates between processes

Rules (STYLE C7, SAFETY F-05, F-08):

1. An image enters ``sha256/`` only by ``os.replace`` of a complete, fsynced temporary
   file whose SHA-256 was computed (and, for downloads, compared with the catalog's)
   before the rename. A half-written image never has a final name.
2. Copies and downloads are capped (:class:`FirmwareLimits`); the cap is checked while
   streaming, so an endless source stops at the cap and its temporary file is deleted.
3. :meth:`FirmwareStore.get` re-hashes the file on every call. An entry whose bytes no
   longer match its name is deleted (file and index entry) and reported with
   :class:`~campatch.errors.FirmwareIntegrityError`: a tampered cache entry is never
   reused.
4. The vendor's image header is read only where its format is publicly documented
   (:mod:`campatch.patch.headers`); otherwise the index records why it was not.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import KW_ONLY, asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from campatch import config
from campatch.errors import FirmwareError, FirmwareIntegrityError, FirmwareTooLarge, UsageError
from campatch.knowledge.interface import normalize_model, vendor_key
from campatch.model import Provenance
from campatch.patch.headers import check_header

__all__ = [
    "FirmwareLimits",
    "FirmwareStore",
    "ImageInfo",
    "ImageListing",
    "StoredImage",
    "sha256_file",
]

logger = logging.getLogger(__name__)

_HEX = re.compile(r"[0-9a-f]{64}")
_INDEX_FORMAT = "campatch-firmware-index"
_INDEX_VERSION = 1


@dataclass(frozen=True)
class FirmwareLimits:
    """Byte caps for firmware images.

    Args:
        max_image_bytes: largest image copied in or downloaded when the catalog does not
            declare a size (bytes; camera and NVR images are well below it).
        chunk_bytes: read/write block size while copying and hashing (bytes).
        max_index_bytes: largest ``index.json`` read (bytes).
    """

    _: KW_ONLY
    max_image_bytes: int = 1024 * 1024 * 1024
    chunk_bytes: int = 1024 * 1024
    max_index_bytes: int = 16 * 1024 * 1024

    def __post_init__(self) -> None:
        for name in ("max_image_bytes", "chunk_bytes", "max_index_bytes"):
            if getattr(self, name) <= 0:
                raise UsageError(f"firmware limit {name} must be positive")


@dataclass(frozen=True)
class ImageInfo:
    """What an image is for, as the user or the catalog states it.

    Args:
        vendor, model: the device it is for.
        version: the firmware version it installs, if known.
        hardware: the hardware revision it is for (None = any).
        file_name: the vendor's file name (``digicap.dav``, ``*.pak`` ...).
        provenance: where it came from (a URL, or the user's file).
    """

    vendor: str
    model: str
    version: str | None = None
    hardware: str | None = None
    file_name: str = ""
    provenance: Provenance = field(default_factory=lambda: Provenance(source="user"))


@dataclass(frozen=True)
class StoredImage:
    """One image in the store.

    Args:
        sha256: hex SHA-256 of the bytes (the file's name).
        size: bytes.
        info: vendor, model, version, hardware, file name, provenance.
        added: when it entered the store (ISO, UTC).
        header: how the vendor header was checked, or why it was not.
        path: the file (valid only after :meth:`FirmwareStore.get` verified it).
    """

    sha256: str
    size: int
    info: ImageInfo
    added: str
    header: str
    path: Path


@dataclass(frozen=True)
class ImageListing:
    """The store's index read once: :meth:`FirmwareStore.find` without re-reading it."""

    images: tuple[StoredImage, ...]

    def find(
        self,
        vendor: str,
        model: str,
        version: str | None = None,
        hardware: str | None = None,
    ) -> list[StoredImage]:
        """See :meth:`FirmwareStore.find`."""
        want_vendor, want_model = vendor_key(vendor), normalize_model(vendor, model)
        return [
            i
            for i in self.images
            if vendor_key(i.info.vendor) == want_vendor
            and normalize_model(i.info.vendor, i.info.model) == want_model
            and (version is None or (i.info.version or "").casefold() == version.casefold())
            and _fits(i.info.hardware, hardware)
        ]


def sha256_file(path: Path, chunk_bytes: int = 1024 * 1024) -> tuple[str, int]:
    """Hex SHA-256 and size of a file, read in blocks.

    Raises:
        OSError: the file cannot be read.

    Returns:
        (hex digest, bytes read).
    """
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while block := f.read(chunk_bytes):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class FirmwareStore:
    """Content-addressed firmware images (see the module docstring for the rules).

    Args:
        root: the folder; default ``config.data_dir()/firmware``.
        limits: byte caps.
        clock: the current time as ISO text (tests pin it).
    """

    def __init__(
        self,
        root: Path | None = None,
        *,
        limits: FirmwareLimits | None = None,
        clock: Callable[[], str] = _now,
    ) -> None:
        self.root = root if root is not None else config.data_dir() / "firmware"
        self.limits = limits or FirmwareLimits()
        self._clock = clock

    # --- folders ----------------------------------------------------------------------

    @property
    def tmp_dir(self) -> Path:
        """Where temporary copies and partial downloads live (created 0700)."""
        return self._folder("tmp")

    def _folder(self, name: str) -> Path:
        path = self.root / name
        for p in (self.root, path):
            p.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(p, 0o700)
        return path

    def blob_path(self, sha256: str) -> Path:
        """The final file name of an image with that hash (it may not exist)."""
        return self._folder("sha256") / _check_hex(sha256)

    # --- adding -----------------------------------------------------------------------

    def add(
        self,
        path: Path,
        vendor: str,
        model: str,
        version: str | None = None,
        hardware: str | None = None,
    ) -> StoredImage:
        """Copy a file the user has into the store (streamed, capped, hashed, atomic).

        Args:
            path: the image file (``digicap.dav``, ``*.bin``, ``*.pak`` ...).
            vendor, model: the device it is for.
            version, hardware: its firmware version and hardware revision, if known.

        Raises:
            FirmwareTooLarge: the file is larger than ``max_image_bytes``.
            FirmwareIntegrityError: the vendor header names another model or version.
            FirmwareError: the file cannot be read or the store cannot be written.

        Returns:
            The stored image (the existing entry if the same bytes were added before).
        """
        info = ImageInfo(
            vendor.strip(), model.strip(), _opt(version), _opt(hardware), path.name,
            Provenance(source="user", url=path.resolve().as_uri(), retrieved=self._clock()),
        )  # fmt: skip
        header = check_header(info.vendor, path.name)
        tmp = self._copy_in(path)
        try:
            digest, size = sha256_file(tmp, self.limits.chunk_bytes)
            return self.admit(tmp, digest, size, info, header.note)
        finally:
            tmp.unlink(missing_ok=True)

    def _copy_in(self, source: Path) -> Path:
        """Copy ``source`` to a fsynced 0600 temporary file, stopping at the cap."""
        try:
            src = source.open("rb")
        except OSError as err:
            raise FirmwareError(
                f"{source}: cannot read ({err.strerror})", image=str(source)
            ) from err
        with src, self.temp_file() as (tmp, out):
            _copy_capped(src, out, self.limits, str(source))
        return tmp

    @contextlib.contextmanager
    def temp_file(self, name: str | None = None) -> Iterator[tuple[Path, IO[bytes]]]:
        """A new 0600 file in :attr:`tmp_dir`, fsynced and closed on success, deleted if
        the block raises.

        Args:
            name: a fixed file name (partial downloads), else a random one.
        """
        folder = self.tmp_dir
        if name is None:
            fd, raw = tempfile.mkstemp(dir=folder, prefix="image-", suffix=".tmp")
        else:
            raw = str(folder / name)
            fd = os.open(raw, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        tmp = Path(raw)
        try:
            with os.fdopen(fd, "wb") as out:
                yield tmp, out
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def admit(
        self, tmp: Path, sha256: str, size: int, info: ImageInfo, header: str = ""
    ) -> StoredImage:
        """Move a complete, already verified temporary file into the store.

        The caller has computed ``sha256`` from ``tmp`` itself (and compared it with the
        catalog's, for downloads); ``tmp`` must be in :attr:`tmp_dir` and fsynced.

        Raises:
            FirmwareError: the store cannot be written.

        Returns:
            The stored image.
        """
        sha256 = _check_hex(sha256)
        image = StoredImage(
            sha256, size, info, self._clock(), header or "not checked", self.blob_path(sha256)
        )
        with self._locked():
            index = self._read_index()
            if sha256 in index and image.path.exists():
                logger.debug("image %s is already stored", sha256)
                return _decode(sha256, index[sha256], image.path)
            try:
                os.chmod(tmp, 0o600)
                os.replace(tmp, image.path)
                _fsync_dir(image.path.parent)
            except OSError as err:
                raise FirmwareError(
                    f"cannot store image {sha256}: {err.strerror}", image=sha256
                ) from err
            index[sha256] = _encode(image)
            self._write_index(index)
        logger.info("stored firmware %s (%s %s %s)", sha256, info.vendor, info.model, info.version)
        return image

    # --- reading ----------------------------------------------------------------------

    def get(self, sha256: str) -> StoredImage:
        """The image with that hash, re-verified now (SAFETY F-08).

        Raises:
            FirmwareError: no such image (or its file is gone).
            FirmwareIntegrityError: the file's bytes no longer match its hash; the entry
                has been deleted and must be added or fetched again.

        Returns:
            The image; its ``path`` holds bytes that hashed to ``sha256`` just now.
        """
        sha256 = _check_hex(sha256.lower())
        entry = self._read_index().get(sha256)
        path = self.blob_path(sha256)
        if entry is None or not path.is_file():
            raise FirmwareError(f"firmware {sha256[:12]} is not in the store", image=sha256)
        try:
            got, _size = sha256_file(path, self.limits.chunk_bytes)
        except OSError as err:
            raise FirmwareError(
                f"firmware {sha256[:12]}: cannot read ({err.strerror})", image=sha256
            ) from err
        if got != sha256:
            self._discard(sha256)
            raise FirmwareIntegrityError(
                f"firmware {sha256[:12]} in the store was modified (its bytes hash to "
                f"{got[:12]}); the entry was deleted and will not be used",
                image=sha256,
            )
        return _decode(sha256, entry, path)

    def read(self, sha256: str, vendor: str, model: str) -> bytes:
        """The image's bytes, hashed in memory (what is sent is what was checked) and
        stored for ``vendor`` and ``model``; see :class:`campatch.patch.apply.ImageSource`.

        Raises:
            FirmwareError: missing, stored for another model, or unreadable.
            FirmwareIntegrityError: the bytes no longer match the hash (entry deleted).
        """
        image = self.get(sha256)
        if vendor_key(image.info.vendor) != vendor_key(vendor) or normalize_model(
            image.info.vendor, image.info.model
        ) != normalize_model(vendor, model):
            raise FirmwareError(
                f"firmware {sha256[:12]} is stored for {image.info.vendor} {image.info.model}, "
                f"not {vendor} {model}",
                image=sha256,
            )
        if image.size > self.limits.max_image_bytes:
            raise FirmwareError(f"firmware {sha256[:12]} is larger than the cap", image=sha256)
        try:
            data = image.path.read_bytes()
        except OSError as err:
            raise FirmwareError(
                f"firmware {sha256[:12]}: cannot read ({err.strerror})", image=sha256
            ) from err
        if hashlib.sha256(data).hexdigest() != image.sha256:
            self._discard(image.sha256)
            raise FirmwareIntegrityError(
                f"firmware {sha256[:12]} changed while being read; the entry was deleted",
                image=sha256,
            )
        return data

    def _discard(self, sha256: str) -> None:
        logger.warning("deleting tampered firmware store entry %s", sha256)
        with self._locked():
            self.blob_path(sha256).unlink(missing_ok=True)
            index = self._read_index()
            if index.pop(sha256, None) is not None:
                self._write_index(index)

    def images(self) -> list[StoredImage]:
        """Every indexed image (not re-verified: use :meth:`get` before using one)."""
        index = self._read_index()
        return sorted(
            (_decode(sha, entry, self.root / "sha256" / sha) for sha, entry in index.items()),
            key=lambda i: (i.info.vendor.casefold(), i.info.model.casefold(), i.added),
        )

    def find(
        self,
        vendor: str,
        model: str,
        version: str | None = None,
        hardware: str | None = None,
    ) -> list[StoredImage]:
        """Indexed images for the vendor and model (spellings normalised as the catalog
        does); with ``version``/``hardware``, only those that match (an image stored
        without a hardware revision matches any). Not re-verified: use :meth:`get`.

        Reads the index on every call; for many lookups use :meth:`listing`."""
        return self.listing().find(vendor, model, version, hardware)

    def listing(self) -> ImageListing:
        """The index as it is now, read once, for many :meth:`ImageListing.find` calls
        (a plan or a job over hundreds of devices)."""
        return ImageListing(tuple(self.images()))

    # --- index ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self._folder("sha256")
        fd = os.open(self.root / "index.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _read_index(self) -> dict[str, dict[str, Any]]:
        path = self.root / "index.json"
        try:
            with path.open("rb") as f:
                raw = f.read(self.limits.max_index_bytes + 1)
        except FileNotFoundError:
            return {}
        except OSError as err:
            raise FirmwareError(f"cannot read {path}: {err.strerror}") from err
        if len(raw) > self.limits.max_index_bytes:
            raise FirmwareError(f"{path}: larger than {self.limits.max_index_bytes} bytes")
        return _parse_index(raw, path)

    def _write_index(self, index: dict[str, dict[str, Any]]) -> None:
        doc = {"format": _INDEX_FORMAT, "version": _INDEX_VERSION, "images": index}
        body = json.dumps(doc, indent=1, sort_keys=True).encode()
        try:
            with self.temp_file() as (tmp, out):
                out.write(body)
            os.replace(tmp, self.root / "index.json")
            _fsync_dir(self.root)
        except OSError as err:
            raise FirmwareError(f"cannot write the firmware index: {err.strerror}") from err


def _copy_capped(src: IO[bytes], out: IO[bytes], limits: FirmwareLimits, name: str) -> None:
    copied = 0
    while block := src.read(limits.chunk_bytes):
        copied += len(block)
        if copied > limits.max_image_bytes:
            raise FirmwareTooLarge(
                f"{name}: larger than the {limits.max_image_bytes}-byte firmware cap", image=name
            )
        out.write(block)


def _parse_index(raw: bytes, path: Path) -> dict[str, dict[str, Any]]:
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FirmwareError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(doc, dict) or doc.get("format") != _INDEX_FORMAT:
        raise FirmwareError(f"{path}: not a campatch firmware index")
    images = doc.get("images")
    if not isinstance(images, dict):
        raise FirmwareError(f"{path}: 'images' is not an object")
    return {k: v for k, v in images.items() if _HEX.fullmatch(k) and isinstance(v, dict)}


def _encode(image: StoredImage) -> dict[str, Any]:
    info = image.info
    return {
        "vendor": info.vendor, "model": info.model, "version": info.version,
        "hardware": info.hardware, "file_name": info.file_name, "size": image.size,
        "sha256": image.sha256, "added": image.added, "header": image.header,
        "provenance": asdict(info.provenance),
    }  # fmt: skip


def _decode(sha256: str, entry: dict[str, Any], path: Path) -> StoredImage:
    raw = entry.get("provenance")
    prov: dict[str, Any] = raw if isinstance(raw, dict) else {}
    info = ImageInfo(
        vendor=str(entry.get("vendor", "")),
        model=str(entry.get("model", "")),
        version=_opt(entry.get("version")),
        hardware=_opt(entry.get("hardware")),
        file_name=str(entry.get("file_name", "")),
        provenance=Provenance(
            **{k: str(prov.get(k, "")) for k in ("source", "url", "retrieved", "license")}
        ),
    )
    size = entry.get("size")
    return StoredImage(
        sha256, size if isinstance(size, int) else -1, info,
        str(entry.get("added", "")), str(entry.get("header", "")), path,
    )  # fmt: skip


def _opt(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _fits(value: str | None, wanted: str | None) -> bool:
    return value is None or wanted is None or value.casefold() == wanted.casefold()


def _check_hex(sha256: str) -> str:
    if not _HEX.fullmatch(sha256):
        raise UsageError(f"a SHA-256 is 64 lowercase hex digits, got {sha256[:80]!r}")
    return sha256


def _fsync_dir(path: Path) -> None:
    """Make a rename durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
