"""The simulator's firmware catalog: images the simulated devices accept, and their
release records, for the demo and the tests.

A fleet file may list ``firmware:`` releases::

    firmware:
      - {vendor: Hikvision, model: DS-2CD2143G2-I, version: V5.7.15, build: build 230512,
         released: "2023-05-12", size: 2097152}

:func:`write_catalog` writes one image per release (the format of
:mod:`campatch.sim.flash`) and ``releases.yaml`` in the format ``campatch feed
import`` reads, each record with its SHA-256 and size. The records' provenance says
they are simulator data: they describe no real vendor release and must never be
mixed with real knowledge (which is why they are not in the bundled knowledge).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from campatch.errors import UsageError
from campatch.sim.flash import SimImage, build_image

SOURCE = "campatch-simulator"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_DEFAULT_SIZE = 2 * 1024 * 1024


@dataclass(frozen=True)
class CatalogImage:
    """One image written by :func:`write_catalog`."""

    path: Path
    vendor: str
    model: str
    version: str  # as the release record and the device report it (build included)
    hardware: str
    sha256: str
    size: int


def release_entries(fleet_file: Path) -> list[dict[str, Any]]:
    """The ``firmware:`` list of a fleet file.

    Raises:
        UsageError: unreadable file or malformed entries.
    """
    try:
        raw = yaml.safe_load(fleet_file.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise UsageError(f"cannot read fleet file {fleet_file}: {err}") from err
    entries = raw.get("firmware", []) if isinstance(raw, dict) else []
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and {"vendor", "model", "version"} <= e.keys() for e in entries
    ):
        raise UsageError(
            f"fleet file {fleet_file}: each firmware entry needs vendor, model, version"
        )
    return entries


def release_version(version: str, build: str, vendor: str) -> str:
    """The release's version text as a vendor writes it: Hikvision ``V5.7.15 build
    230512``, Dahua ``2.800.0000029.0.R, Build Date: 2023-04-10``, others the version."""
    if not build:
        return version
    if build.lower().startswith("build"):
        return f"{version} {build}"
    return f"{version}, Build Date: {build}"


def write_catalog(fleet_file: Path, out: Path) -> list[CatalogImage]:
    """Write the fleet's firmware images and ``out/releases.yaml``.

    Returns:
        The images written, in the file's order.
    """
    out.mkdir(parents=True, exist_ok=True)
    images: list[CatalogImage] = []
    records: list[dict[str, Any]] = []
    for entry in release_entries(fleet_file):
        image = SimImage(
            vendor=str(entry["vendor"]),
            model=str(entry["model"]),
            version=str(entry["version"]),
            build=str(entry.get("build", "")),
            hardware=str(entry.get("hardware", "")),
            region=str(entry.get("region", "")),
        )
        data = build_image(image, int(entry.get("size", _DEFAULT_SIZE)))
        name = _UNSAFE.sub("_", f"{image.model}_{image.version}_{image.build}").strip("_")
        path = out / f"{name}.bin"
        path.write_bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        version = release_version(image.version, image.build, image.vendor)
        images.append(
            CatalogImage(path, image.vendor, image.model, version, image.hardware, sha, len(data))
        )
        records.append(_record(entry, image, version, sha, len(data), path.name))
    (out / "releases.yaml").write_text(
        "# Simulator firmware releases: demo and test data, not vendor data.\n"
        + yaml.safe_dump({"releases": records}, sort_keys=False)
    )
    return images


def _record(
    entry: dict[str, Any], image: SimImage, version: str, sha: str, size: int, file_name: str
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "vendor": image.vendor,
        "model": image.model,
        "version": version,
        "released": str(entry.get("released", "")),
        "sha256": sha,
        "size": size,
        "notes": f"simulated release for the campatch demo fleet (file {file_name})",
        "fixes": list(entry.get("fixes", [])),
        "provenance": {"source": SOURCE, "url": "", "retrieved": ""},
    }
    if image.hardware:
        record["hardware"] = image.hardware
    if image.region:
        record["region"] = image.region
    return record
