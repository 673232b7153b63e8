"""What is publicly known about each vendor's firmware image header, and the policy.

Policy: campatch reads a vendor's image header to confirm model and version only where
the format is documented reliably enough to refuse an image on its strength. A wrong
reading would refuse good images or, worse, vouch for bad ones, so a format known only
from partial reverse engineering is not read at all. The image's identity then rests
on its SHA-256 (the catalog's, or the one the user vouched for by adding the file),
and the device's own check during upload; the store records why no header was read.

Research (2026, public sources only) found no vendor that documents its header, and no
community description that carries the model and the version reliably:

- Hikvision ``digicap.dav``: reverse engineered in two public tools (themactep/hiktools
  ``hiktools/fmod/decrypter.py``; an EZVIZ unpack/repack script). Both agree on a
  16-byte XOR obfuscation, magic ``SWKH``, header checksum, header length, file count,
  language and a numeric "device class"/"OEM code". They disagree on the word at offset
  28 ("firmware version" in one, "signature, unidentified" in the other), and neither
  contains a model name; the device-class to model mapping is not public.
- Dahua ``.bin``: a ZIP archive whose first two bytes read ``DH`` instead of ``PK``
  (fkie-cad/FACT_core unpacker; BotoX/Dahua-Firmware-Mod-Kit), holding ``Install``/
  ``Install.lua``, partition images and on some lines a ``hwid`` file. No header with
  model and version is described.
- Axis ``.bin``: nothing public beyond "upload it to firmwaremanagement.cgi"; the
  device answers 421 "image not matching device" itself (VAPIX firmware management).
- Reolink ``.pak``: community described (vmallet/pakler; kaitai_struct_formats
  ``firmware/reolink.ksy``): magic ``0x32725913``, CRC-32, a numeric board type, and
  per-partition names with *component* versions (``fs v1.0.0.442``), not the release
  version the device reports (``v3.1.0.956_22041507``), and no model name; the device
  checks the model in ``UpgradePrepare``.
"""

from __future__ import annotations

from dataclasses import dataclass

from campatch.knowledge.interface import vendor_key

__all__ = ["VENDOR_HEADERS", "HeaderCheck", "HeaderFacts", "check_header"]


@dataclass(frozen=True)
class HeaderFacts:
    """What is known about one vendor's image header.

    Args:
        file_types: the file names or suffixes the vendor ships images as.
        why: one clause on why the header is not read, shown in ``firmware list``.
        sources: where the facts come from.
    """

    file_types: tuple[str, ...]
    why: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class HeaderCheck:
    """The outcome of a header check; ``note`` is kept in the store's index.

    Args:
        checked: the header was read and agreed with model and version.
        note: what was confirmed, or why nothing was read (a skip reason, STYLE C2).
    """

    checked: bool
    note: str


#: Per normalised vendor name (:func:`~campatch.knowledge.interface.vendor_key`).
VENDOR_HEADERS: dict[str, HeaderFacts] = {
    "hikvision": HeaderFacts(
        ("digicap.dav",),
        why="digicap.dav header is only partly reverse engineered and names no model",
        sources=("github.com/themactep/hiktools hiktools/fmod/decrypter.py",),
    ),
    "dahua": HeaderFacts(
        (".bin",),
        why="Dahua .bin is a renamed ZIP with no documented model/version header",
        sources=("github.com/fkie-cad/FACT_core plugins/unpacking/dahua",),
    ),
    "axis": HeaderFacts(
        (".bin",),
        why="Axis .bin format is not public; the device rejects a non-matching image",
        sources=("developer.axis.com/vapix/network-video/firmware-management-api",),
    ),
    "reolink": HeaderFacts(
        (".pak",),
        why="Reolink .pak header holds component versions and a board code, no model",
        sources=("github.com/vmallet/pakler", "kaitai_struct_formats firmware/reolink.ksy"),
    ),
}


def check_header(vendor: str, file_name: str) -> HeaderCheck:
    """Check an image's header for ``vendor`` under the policy above.

    No vendor's header is documented reliably (see the module docstring), so nothing is
    read from the file; the result says why, for the store's index.

    Args:
        vendor: the vendor the image is said to be for (any spelling).
        file_name: the image's file name (for the note only; the file is not opened).

    Returns:
        ``checked=False`` and the reason.
    """
    facts = VENDOR_HEADERS.get(vendor_key(vendor))
    if facts is None:
        return HeaderCheck(False, f"not checked: no known header format for {vendor} ({file_name})")
    return HeaderCheck(False, f"not checked: {facts.why}")
