"""Fix: firmware images (store, fetch, bundles) and, in ``plan``, what to install.

The firmware half follows STYLE C7: every image is bounded, verified, then placed
atomically; see :mod:`campatch.patch.firmware_store` and :mod:`campatch.patch.fetch`.
"""

from __future__ import annotations

from campatch.patch.archive import ArchiveLimits, extract_archive
from campatch.patch.fetch import FIRMWARE_DOWNLOAD_LIMITS, fetch_release
from campatch.patch.firmware_store import (
    FirmwareLimits,
    FirmwareStore,
    ImageInfo,
    StoredImage,
    sha256_file,
)
from campatch.patch.headers import VENDOR_HEADERS, HeaderCheck, HeaderFacts, check_header

__all__ = [
    "FIRMWARE_DOWNLOAD_LIMITS",
    "VENDOR_HEADERS",
    "ArchiveLimits",
    "FirmwareLimits",
    "FirmwareStore",
    "HeaderCheck",
    "HeaderFacts",
    "ImageInfo",
    "StoredImage",
    "check_header",
    "extract_archive",
    "fetch_release",
    "sha256_file",
]
