#!/usr/bin/env python3
"""Audit benchmark: assess 10,000 devices against an NVD-sized advisory set.

Issue "Know", item 8: 10,000 inventory devices against about 300,000 advisories (the
bundled ones plus generated ones): wall time and peak memory, target under 1 s and
under 500 MB after loading.

The parent process generates the advisory set (deterministic for ``--seed``) and writes
it as one knowledge source in a throw-away knowledge directory, in the format
:meth:`KnowledgeStore.replace_source` writes. A fresh child process then measures, so its
memory figures hold only campatch and what it loaded:

1. **load**: ``KnowledgeStore(root).load()`` -- read, decode and validate every record,
   merge with the bundle, build the :class:`KnowledgeBase` index;
2. **index**: ``KnowledgeBase(...)`` again over the loaded records (indexing alone);
3. **devices**: 10,000 :class:`DeviceFacts` (generated from the same seed);
4. **assess**: ``audit(devices, ctx)`` with every check, ``--runs`` times, each with a
   fresh ``AuditContext`` (so no run reuses the per-identity findings of another): the
   first run is what ``campatch audit`` pays after loading; the later ones also find
   the knowledge base's answers per version already worked out. Peak RSS of the
   assessment (the kernel's high-water mark reset after loading) and, in one extra run,
   tracemalloc's peak (the assessment's own allocations).

Run it::

    .venv/bin/python bench/audit_bench.py                 # full size, ~2 min on 2 cores
    .venv/bin/python bench/audit_bench.py --advisories 20000 --devices 1000 --no-record
    .venv/bin/python bench/audit_bench.py --profile        # cProfile of one assessment

Results go to ``bench/results/audit-<date>.json``.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from campatch.audit.auditor import audit  # noqa: E402
from campatch.audit.interface import AuditContext, DeviceFacts  # noqa: E402
from campatch.knowledge.bundle import load_bundle  # noqa: E402
from campatch.knowledge.index import KnowledgeBase  # noqa: E402
from campatch.knowledge.interface import FORMAT, FORMAT_VERSION, encode  # noqa: E402
from campatch.knowledge.store import KnowledgeStore  # noqa: E402
from campatch.model import (  # noqa: E402
    Advisory,
    AffectedProduct,
    DefaultLogin,
    DeviceClass,
    Field,
    FirmwareRelease,
    HostReport,
    Identity,
    KevEntry,
    Observation,
    PortForward,
    Provenance,
    SecurityFacts,
    Service,
    VersionRange,
)

DEFAULT_ADVISORIES = 300_000
DEFAULT_CAMERA_ADVISORIES = 4_000
DEFAULT_DEVICES = 10_000
DEFAULT_SEED = 20261128
DEFAULT_RUNS = 3
TARGET_SECONDS = 1.0
TARGET_MB = 500.0
NOW = "2026-11-28T12:00:00Z"

# --- the device catalog --------------------------------------------------------------
# (vendor, model, class, hardware, [(firmware, build)]); shapes of real strings.

_HIK_CAM_FW = [
    ("V5.3.0", "build 150513"), ("V5.4.1", "build 160525"), ("V5.4.5", "build 170124"),
    ("V5.4.41", "build 170312"), ("V5.5.0", "build 170725"), ("V5.5.82", "build 190220"),
    ("V5.6.3", "build 200601"), ("V5.6.5", "build 211117"), ("V5.7.0", "build 210902"),
    ("V5.7.3", "build 220112"), ("V5.7.11", "build 221116"), ("V5.7.12", "build 230213"),
    ("V5.7.15", "build 230825"),
]  # fmt: skip
_HIK_REC_FW = [
    ("V3.4.92", "build 170518"), ("V4.30.085", "build 201120"), ("V4.31.102", "build 220524"),
    ("V4.50.100", "build 210820"), ("V4.61.005", "build 210831"), ("V4.62.210", "build 220805"),
]  # fmt: skip
_HIK_CAMS = [
    "DS-2CD2143G2-I", "DS-2CD2043G2-I", "DS-2CD2387G2-LU", "DS-2CD2T47G2-L", "DS-2CD2142FWD-I",
    "DS-2CD2032-I", "DS-2DE4425IW-DE", "DS-2CD2347G2-LU", "DS-2CD2132F-IS", "DS-2CD2042WD-I",
    "DS-2CD2342WD-I", "DS-2CD2T42WD-I8", "DS-2CD2185FWD-I", "DS-2CD2347G1-L", "DS-2DE2A404IW-DE3",
    "DS-2CD1023G0E-I", "DS-2CD1043G0-I", "DS-2CD2346G2-I", "DS-2CD2386G2-IU", "DS-2CD2T86G2-4I",
    "DS-2CD2032F-I", "DS-2CD2112F-I", "DS-2CD4A25FWD-IZS", "DS-2CD6362F-IV", "DS-2DF8225IX-AEL",
]  # fmt: skip
_HIK_RECS = [
    ("DS-7608NI-K2", "nvr"), ("DS-7616NI-I2/16P", "nvr"), ("DS-7732NI-K4", "nvr"),
    ("DS-7604NI-K1", "nvr"), ("DS-7616NI-Q2", "nvr"), ("DS-7208HQHI-K1", "dvr"),
    ("iDS-7204HUHI-M1/S", "dvr"), ("DS-7204HGHI-F1", "dvr"),
]  # fmt: skip
_DAHUA_CAM_FW = [
    ("2.622.0000000.31.R", "2018-11-20"), ("2.800.0000016.0.R", "2020-06-05"),
    ("2.800.0000000.8.R", "2020-11-12"), ("2.800.0000000.25.R", "2021-07-19"),
    ("2.800.0000000.29.R", "2021-06-30"), ("2.800.0000000.33.R", "2022-03-02"),
    ("2.820.0000000.5.R", "2021-07-05"), ("2.820.0000000.14.R", "2021-03-30"),
    ("2.820.0000000.18.R", "2021-07-05"), ("2.840.0000000.11.R", "2023-05-10"),
]  # fmt: skip
_DAHUA_REC_FW = [
    ("4.000.0000000.4.R", "2021-05-11"), ("4.001.0000000.1.R", "2021-07-10"),
    ("4.001.0000000.3.R", "2022-03-14"), ("4.001.0000005.1.R", "2021-07-09"),
    ("4.001.0000000.6.R", "2022-06-20"), ("4.001.0000000.7.R", "2022-08-01"),
]  # fmt: skip
_DAHUA_CAMS = [
    "IPC-HDW5831R-ZE", "IPC-HFW2431S-S-S2", "IPC-HDBW2431E-S-S2", "IPC-HFW5442E-ZE",
    "SD49225XA-HNR", "IPC-HDW3849H-AS-PV", "IPC-HFW3541E-AS", "IPC-HDBW1230E-S", "IPC-HUM7431",
    "DH-IPC-HFW1230S", "IPC-HDW2831T", "IPC-HFW2531T", "SD22404T-GN", "IPC-HDW4431C-A",
]  # fmt: skip
_DAHUA_RECS = [
    ("NVR4108HS-8P-4KS2", "nvr"), ("NVR5216-16P-I", "nvr"), ("NVR4104HS-P-4KS2", "nvr"),
    ("NVR2104HS-P-S3", "nvr"), ("XVR5108HS-I3", "dvr"), ("XVR4104HS-I", "dvr"),
]  # fmt: skip
_AMCREST = [
    ("IP8M-2496EB", "camera", [("2.800.00AC000.0.R", "2020-03-30"), ("2.800.0000000.25.R", "2021-07-19")]),
    ("IP4M-1041B", "camera", [("2.623.00AC004.0.R", "2020-03-16"), ("2.420.AC00.18.R", "2020-02-17")]),
    ("IP5M-T1179EW", "camera", [("2.800.0000000.30.R", "2022-01-10")]),
    ("IP2M-841B", "camera", [("2.420.AC00.15.R", "2019-05-20"), ("2.420.AC00.18.R", "2020-02-17")]),
    ("NV4108E-HS", "nvr", [("4.000.0000000.4.R", "2021-05-11")]),
]  # fmt: skip
_LOREX = [
    ("LNB8005", "camera", [("2.800.0000000.12.R", "2020-12-01")]),
    ("E892AB", "camera", [("2.820.0000000.5.R", "2021-09-09")]),
    ("N841A8", "nvr", [("4.001.0000000.3.R", "2022-03-14")]),
    ("N862A6", "nvr", [("4.001.0000000.7.R", "2022-08-01")]),
]  # fmt: skip
_AXIS_FW = [
    "6.50.5.10", "7.30.1", "8.40.4.1", "9.80.3.8", "9.80.3.11", "10.9.4", "10.12.114",
    "10.12.182", "11.5.64", "11.8.61", "11.9.60", "11.11.73",
]  # fmt: skip
_AXIS = [
    "P3245-LVE", "M3106-L Mk II", "Q6075-E", "P1455-LE", "M3057-PLVE", "Q1615 Mk III",
    "M1065-L", "P3225-LV Mk II", "M2026-LE Mk II", "P3375-V", "Q3538-LVE",
]  # fmt: skip
_SONY_FW = ["1.82.00", "1.86.00", "2.7.0", "2.7.2", "Ver.1.86.00"]
_SONY = ["SNC-CH120", "SNC-CH220", "SNC-EB600", "SNC-VB770", "SNC-CX600W", "SNC-EM600"]
_REOLINK_FW = [
    "v3.0.0.136_20121102", "v3.0.0.2356_23062000", "v3.1.0.956_22041503",
    "v3.1.0.1162_22072610", "v2.0.0.1441_19032101",
]  # fmt: skip
_REOLINK = [
    ("RLC-810A", "IPC_523128M8MP"), ("RLC-410W", "IPC_51516M5M"), ("RLC-520A", "IPC_523D95MP"),
    ("E1 Zoom", "IPC_566SD65MP"), ("RLC-811A", "IPC_523128M8MP"), ("C1 Pro", "IPC_51316M"),
]  # fmt: skip
_XM = [
    ("AHB7008T-MH", "dvr", ["V4.02.R11.34500140.10001.130800.0000", "V4.03.R11.34500140.10001.140602.0000"]),
    ("HI3516EV200_50H20L", "camera", ["V5.00.R02.000529B2.10010.040400.0020000"]),
    ("NBD7024T-Q", "nvr", ["V4.02.R11.A6380140.10010.130700.0000"]),
    ("XM530_R80X20-PQ", "camera", ["V5.00.R02.00030747.10010.346717.0000000"]),
]  # fmt: skip
_ONVIF = [
    ("Milesight", "MS-C2963-PB", "V1.2", ["45.7.0.79", "45.7.0.81"]),
    ("Milesight", "MS-C5364-PB", "V1.0", ["45.7.0.81"]),
    ("Uniview", "IPC322LB-SF28-A", "A", ["IPC_G6103-B0005P05D1805"]),
    ("Uniview", "IPC2124LB-SF40KM-G", "A", ["IPC_G6201-B0012P30D2010"]),
    ("Hanwha Techwin", "XNV-6080R", None, ["2.10.02_20211115"]),
    ("Hanwha Vision", "QNV-8080R", None, ["2.21.00_20230410"]),
    ("Vivotek", "FD9387-HTV", None, ["0100a", "0210b"]),
    ("Foscam", "FI9900P", None, ["2.74.1.59", "2.84.2.33"]),
    ("D-Link", "DCS-2530L", None, ["1.06.01", "1.06.01 Hotfix", "1.07.02"]),
    ("TP-Link", "Tapo C200", "1.0", ["1.1.15", "1.3.4"]),
]  # fmt: skip
#: Firmware strings the vendor's scheme cannot order (beta builds, cut strings).
_UNORDERABLE = {
    "Hikvision": ("V5.7.3_beta", "build 22011"),
    "Dahua": ("2.800.0000000.8", "2020-11-12"),
    "Amcrest": ("V2.800.00AC000.0.R-beta", None),
    "Lorex": ("2.800.0000000.12", None),
    "AXIS": ("10.12.114_beta", None),
    "Sony": ("1.86.00 beta", None),
    "Reolink": ("3.1.0.956_22041503", None),
    "XiongMai": ("V4.02.R11.Nat.10001", None),
}
#: Share of each family in the inventory.
MIX = {
    "hik-camera": 0.29, "hik-recorder": 0.07, "dahua-camera": 0.12, "dahua-recorder": 0.05,
    "amcrest": 0.07, "lorex": 0.06, "axis": 0.07, "sony": 0.03, "reolink": 0.07,
    "xiongmai": 0.07, "onvif": 0.10,
}  # fmt: skip

# --- advisory generation ---------------------------------------------------------------

_BIG_VENDORS = [
    "Microsoft", "Oracle", "Google", "Apple", "Linux", "IBM", "Cisco", "Adobe", "Red Hat",
    "Debian", "Fedora Project", "Mozilla", "SAP", "Qualcomm", "Jenkins", "Siemens", "Fortinet",
    "Juniper", "VMware", "HP", "Dell", "Intel", "Samsung", "Huawei", "Apache", "GitLab",
    "WordPress", "Drupal", "PHP", "Zoho", "Netgear", "TP-Link", "D-Link", "Tenda", "Zyxel",
    "ASUS", "Canonical", "SUSE", "Atlassian", "Schneider Electric", "Trend Micro", "F5",
]  # fmt: skip
_WORDS = [
    "buffer",
    "overflow",
    "in",
    "the",
    "web",
    "interface",
    "allows",
    "remote",
    "attackers",
    "to",
    "execute",
    "arbitrary",
    "code",
    "via",
    "a",
    "crafted",
    "request",
    "cross-site",
    "scripting",
    "stored",
    "reflected",
    "parameter",
    "improper",
    "input",
    "validation",
    "authentication",
    "bypass",
    "denial",
    "of",
    "service",
    "memory",
    "corruption",
    "null",
    "pointer",
    "dereference",
    "use",
    "after",
    "free",
    "path",
    "traversal",
    "SQL",
    "injection",
    "privilege",
    "escalation",
    "local",
    "users",
    "information",
    "disclosure",
    "sensitive",
    "configuration",
    "file",
    "unauthenticated",
    "attacker",
    "could",
    "exploit",
    "this",
    "vulnerability",
    "by",
    "sending",
    "a",
    "specially",
    "crafted",
    "packet",
    "to",
    "the",
    "affected",
    "device",
    "successful",
    "exploit",
    "may",
    "allow",
    "the",
    "attacker",
    "to",
    "obtain",
    "credentials",
    "or",
    "cause",
    "the",
    "service",
    "to",
    "crash",
    "component",
    "plugin",
    "module",
    "function",
    "handler",
    "endpoint",
    "API",
]
_CWES = ["CWE-79", "CWE-787", "CWE-89", "CWE-20", "CWE-125", "CWE-78", "CWE-416", "CWE-22",
         "CWE-352", "CWE-434", "CWE-862", "CWE-476", "CWE-287", "CWE-190", "CWE-502", "CWE-77"]  # fmt: skip
_NVD = Provenance("nvd", "https://services.nvd.nist.gov/rest/json/cves/2.0", "2026-11-28")


def _dotted(rng: random.Random) -> str:
    parts = [rng.randint(0, 12), rng.randint(0, 30)]
    if rng.random() < 0.7:
        parts.append(rng.randint(0, 200))
    if rng.random() < 0.15:
        parts.append(rng.randint(0, 9999))
    return ".".join(map(str, parts))


def _generic_ranges(rng: random.Random) -> tuple[VersionRange, ...]:
    """NVD-style ranges of a non-camera product (dotted numbers)."""
    roll = rng.random()
    if roll < 0.40:
        return (VersionRange(fixed=_dotted(rng)),)
    if roll < 0.60:
        low = _dotted(rng)
        return (VersionRange(introduced=low, fixed=low + ".9"),)
    if roll < 0.78:
        return (VersionRange(last_affected=_dotted(rng)),)
    if roll < 0.90:  # a CPE naming exact versions
        return tuple(
            VersionRange(introduced=v, last_affected=v)
            for v in {_dotted(rng) for _ in range(rng.randint(1, 6))}
        )
    if roll < 0.96:
        return (VersionRange(),)
    return ()


def _text(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choices(_WORDS, k=rng.randint(low, high)))


def _advisory(
    rng: random.Random, cve: str, products: tuple[AffectedProduct, ...], kev_share: float
) -> Advisory:
    year = int(cve.split("-")[1])
    kev = None
    if rng.random() < kev_share:
        kev = KevEntry(f"{max(year, 2021)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}", "2022-01-01",
                       "Unknown", "Apply mitigations per vendor instructions.")  # fmt: skip
    refs = tuple(f"https://ref{n}.example.org/{cve.lower()}" for n in range(rng.randint(1, 5)))
    return Advisory(
        id=cve,
        title=_text(rng, 6, 14),
        description=_text(rng, 20, 80),
        affected=products,
        provenance=_NVD,
        cvss_score=rng.choice([None, 4.3, 5.3, 6.1, 6.5, 7.5, 7.8, 8.8, 9.8]),
        cvss_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" if rng.random() < 0.8 else None,
        cwes=tuple(rng.sample(_CWES, rng.randint(0, 2))),
        kev=kev,
        references=refs,
        published=f"{year}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T10:15:00",
        modified="2026-01-15T00:00:00",
    )


def _ids(rng: random.Random, taken: set[str]) -> Iterator[str]:
    while True:
        cve = f"CVE-{rng.randint(1999, 2026)}-{rng.randint(1000, 999_999)}"
        if cve.upper() not in taken:
            taken.add(cve.upper())
            yield cve


def _noncamera(rng: random.Random, count: int, ids: Iterator[str]) -> Iterator[Advisory]:
    """NVD's bulk: many vendors (a few big ones, a long tail), products as CPE names."""
    tail = [f"vendor{n:05d}" for n in range(15_000)]
    products: dict[str, list[str]] = {}
    for _ in range(count):
        if rng.random() < 0.35:
            vendor = rng.choice(_BIG_VENDORS)
        else:  # long tail: a Pareto-like pick, a few tail vendors get many advisories
            vendor = tail[min(int(rng.paretovariate(0.6)) - 1, len(tail) - 1) * 37 % len(tail)]
        pool = products.setdefault(vendor, [])
        if not pool or (len(pool) < 400 and rng.random() < 0.3):
            pool.append(f"{vendor.upper().replace(' ', '_')}_PRODUCT_{len(pool)}")
        n_products = 1 if rng.random() < 0.8 else rng.randint(2, 12)
        affected = tuple(
            AffectedProduct(vendor=vendor, models=(rng.choice(pool),), ranges=_generic_ranges(rng))
            for _ in range(n_products)
        )
        yield _advisory(rng, next(ids), affected, 0.004)


def _patterns(rng: random.Random, vendor: str, models: list[str]) -> tuple[str, ...]:
    """Model names and patterns the way advisories write them for a camera vendor."""
    out = set()
    for _ in range(rng.choice([1, 1, 1, 2, 3, 5, 8])):
        model = rng.choice(models)
        roll = rng.random()
        low = min(len(model) // 2 + 2, len(model) - 1)
        if roll < 0.45:
            out.add(model)  # exact name (NVD's CPE products)
        elif roll < 0.85:  # prefix pattern: DS-2CD21*, IPC-HDW58*
            out.add(model[: rng.randint(low, len(model) - 1)] + "*")
        else:  # a pattern with a wildcard inside: DS-2CD2*2F-I*, IPC-H*5*
            cut = rng.randint(low - 2, len(model) - 2)
            out.add(model[:cut] + "*" + model[cut + 1 : cut + 3] + "*")
    # and some models no device in the inventory has
    if rng.random() < 0.5:
        out.add(f"{models[0][:3]}{rng.randint(1000, 9999)}*")
    return tuple(sorted(out))


def _camera_range(rng: random.Random, vendor: str) -> tuple[VersionRange, ...]:
    """Ranges in the vendor's own version format."""
    roll = rng.random()
    if roll < 0.20:
        return ()  # NVD's "-": versions not stated
    if roll < 0.25:
        return (VersionRange(),)
    if vendor == "Hikvision":
        fw, build = rng.choice(_HIK_CAM_FW + _HIK_REC_FW)
        if rng.random() < 0.5:
            return (VersionRange(fixed=f"{fw} {build}"),)
        low = rng.choice(_HIK_CAM_FW)
        return (VersionRange(introduced=" ".join(low), last_affected=f"{fw} {build}"),)
    if vendor in ("Dahua", "Amcrest", "Lorex"):
        picks = rng.sample(_DAHUA_CAM_FW + _DAHUA_REC_FW, rng.randint(1, 4))
        out = []
        for fw, day in picks:  # one fix per product line, with a line bound
            line = ".".join(fw.split(".")[: 2 if rng.random() < 0.5 else 3])
            out.append(VersionRange(introduced=line, fixed=f"{fw}.{day[2:].replace('-', '')}"))
        return tuple(out)
    if vendor == "Axis":
        return tuple(VersionRange(fixed=v) for v in rng.sample(_AXIS_FW, rng.randint(1, 4)))
    if vendor == "Sony":
        return (VersionRange("1", "1.86.00"), VersionRange("2", rng.choice(["2.7.0", "2.7.2"])))
    if vendor == "Reolink":
        fw = rng.choice(_REOLINK_FW)
        if rng.random() < 0.5:
            return (VersionRange(fixed=fw),)
        return (VersionRange(introduced=".".join(fw[1:].split(".")[:3]), fixed=fw),)
    if vendor == "XiongMai":
        return (VersionRange(last_affected=rng.choice(rng.choice(_XM)[2])),)
    if vendor == "D-Link":
        return (VersionRange(fixed=rng.choice(["1.06.01 Hotfix", "1.07.02", "2.12"])),)
    if vendor == "Foscam":
        return (VersionRange(last_affected=rng.choice(["2.74.1.59", "2.84.2.33", "2.x.2.40"])),)
    return (VersionRange(fixed=_dotted(rng)),)


def _routers(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{100 + 37 * n}{'L' if n % 3 else ''}" for n in range(count)]


def _catalog_models() -> dict[str, list[str]]:
    """Models per advisory vendor (the inventory's and more)."""
    return {
        "Hikvision": _HIK_CAMS + [m for m, _ in _HIK_RECS],
        "Dahua": [f"DH-{m}" if i % 3 == 0 else m for i, m in enumerate(_DAHUA_CAMS)]
        + [m for m, _ in _DAHUA_RECS],
        "Amcrest": [m for m, _, _ in _AMCREST],
        "Lorex": [m for m, _, _ in _LOREX],
        "Axis": [*_AXIS, "A1001", "A8105-E", "C1004-E", "Q1785-LE"],
        "Sony": _SONY,
        "Reolink": [m for m, _ in _REOLINK],
        "XiongMai": [m for m, _, _ in _XM],
        "Milesight": ["MS-C2963-PB", "MS-C5364-PB", "MS-C8165-PB"],
        "Uniview": ["IPC322LB-SF28-A", "IPC2124LB-SF40KM-G", "NVR301-04S"],
        "Hanwha Vision": ["XNV-6080R", "QNV-8080R", "XND-6080RV"],
        "Vivotek": ["FD9387-HTV", "IB9387-EHT"],
        "Foscam": ["FI9900P", "C1", "R2", "FI9800P"],
        "D-Link": [
            "DCS-2530L",
            "DCS-930L",
            "DCS-5020L",
            *_routers("DIR-", 60),
            *_routers("DNS-", 10),
        ],
        "TP-Link": ["Tapo C200", "Tapo C310", *_routers("Archer C", 30), *_routers("TL-WR", 30)],
        "Zyxel": _routers("NBG", 20) + _routers("USG", 20),
        "Tenda": _routers("AC", 30),
        "GeoVision": ["GV-VS12", "GV-ADR2701"],
        "AVTECH": ["AVM1203", "AVN801"],
    }


_CAMERA_SHARE = {  # roughly NVD's proportions: D-Link and TP-Link are mostly routers
    "Hikvision": 0.05, "Dahua": 0.06, "Amcrest": 0.01, "Lorex": 0.005, "Axis": 0.05,
    "Sony": 0.01, "Reolink": 0.02, "XiongMai": 0.01, "Milesight": 0.01, "Uniview": 0.015,
    "Hanwha Vision": 0.02, "Vivotek": 0.02, "Foscam": 0.02, "D-Link": 0.35, "TP-Link": 0.20,
    "GeoVision": 0.015, "AVTECH": 0.01, "Zyxel": 0.10, "Tenda": 0.05,
}  # fmt: skip


def _camera(rng: random.Random, count: int, ids: Iterator[str]) -> Iterator[Advisory]:
    models = _catalog_models()
    vendors, weights = zip(*_CAMERA_SHARE.items(), strict=True)
    for _ in range(count):
        products: list[AffectedProduct] = []
        for _ in range(1 if rng.random() < 0.75 else rng.randint(2, 11)):
            vendor = rng.choices(vendors, weights)[0] if not products else products[0].vendor
            pats = () if rng.random() < 0.04 else _patterns(rng, vendor, models[vendor])
            products.append(AffectedProduct(vendor, pats, (), _camera_range(rng, vendor)))
        yield _advisory(rng, next(ids), tuple(products), 0.03)


def generate_advisories(total: int, camera: int, seed: int) -> list[Advisory]:
    """Generated advisories so that, with the bundle, there are ``total`` in all."""
    rng = random.Random(seed)
    bundle = load_bundle().advisories
    taken = {a.id.upper() for a in bundle}
    ids = _ids(rng, taken)
    camera = min(camera, max(total - len(bundle), 0))
    rest = max(total - len(bundle) - camera, 0)
    out = list(_camera(rng, camera, ids))
    out += _noncamera(rng, rest, ids)
    rng.shuffle(out)
    return out


def generate_releases(seed: int) -> list[FirmwareRelease]:
    """A small firmware catalog for the inventory's models (manual imports in practice)."""
    rng = random.Random(seed + 1)
    src = Provenance("manual", "https://vendor.example/firmware")
    out: list[FirmwareRelease] = []

    def add(vendor: str, model: str, versions: list[str], hardware: str | None = None) -> None:
        for n, version in enumerate(versions):
            out.append(FirmwareRelease(
                vendor=vendor, model=model, version=version, provenance=src, hardware=hardware,
                released=f"202{n % 7}-0{n % 9 + 1}-15",
                download_page=f"https://vendor.example/{model.replace(' ', '-')}/{n}",
                end_of_life=n == len(versions) - 1 and rng.random() < 0.08,
            ))  # fmt: skip

    for model in _HIK_CAMS:
        add("Hikvision", model, [f"{v} {b}" for v, b in rng.sample(_HIK_CAM_FW, 4)])
    for model, _ in _HIK_RECS:
        add("Hikvision", model, [f"{v} {b}" for v, b in rng.sample(_HIK_REC_FW, 3)])
    for model in _DAHUA_CAMS:
        add("Dahua", model, [f"{v}.{d[2:].replace('-', '')}" for v, d in rng.sample(_DAHUA_CAM_FW, 4)])  # fmt: skip
    for model, _ in _DAHUA_RECS:
        add("Dahua", model, [f"{v}.{d[2:].replace('-', '')}" for v, d in rng.sample(_DAHUA_REC_FW, 3)])  # fmt: skip
    for model in _AXIS:
        add("Axis", model, rng.sample(_AXIS_FW, 5))
    for model, hardware in _REOLINK:
        add("Reolink", model, rng.sample(_REOLINK_FW, 3), hardware)
    return out


def write_source(root: Path, name: str, advisories: list[Advisory],
                 releases: list[FirmwareRelease]) -> int:  # fmt: skip
    """One stored source, as :meth:`KnowledgeStore.replace_source` writes it; its size."""
    root.mkdir(parents=True, exist_ok=True)
    sets = {"advisories": [encode(a) for a in advisories],
            "releases": [encode(r) for r in releases], "credentials": [], "apps": []}  # fmt: skip
    doc = {"format": FORMAT, "version": FORMAT_VERSION, "source": name, "written": NOW,
           "meta": {"generator": "bench/audit_bench.py"},
           "counts": {k: len(v) for k, v in sets.items()}, **sets}  # fmt: skip
    body = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
    path = root / f"{name}.json"
    path.write_text(body, "utf-8")
    return path.stat().st_size


# --- devices ---------------------------------------------------------------------------


@dataclass
class _Spec:
    vendor: str | None
    model: str | None
    cls: str
    hardware: str | None
    firmware: str | None
    build: str | None


def _pick(kind: str, rng: random.Random) -> _Spec:
    def fw(pairs: list[tuple[str, str]]) -> tuple[str, str | None]:
        return rng.choice(pairs)

    if kind == "hik-camera":
        return _Spec("Hikvision", rng.choice(_HIK_CAMS), "camera", None, *fw(_HIK_CAM_FW))
    if kind == "hik-recorder":
        model, cls = rng.choice(_HIK_RECS)
        return _Spec("Hikvision", model, cls, None, *fw(_HIK_REC_FW))
    if kind == "dahua-camera":
        return _Spec("Dahua", rng.choice(_DAHUA_CAMS), "camera", None, *fw(_DAHUA_CAM_FW))
    if kind == "dahua-recorder":
        model, cls = rng.choice(_DAHUA_RECS)
        return _Spec("Dahua", model, cls, None, *fw(_DAHUA_REC_FW))
    if kind in ("amcrest", "lorex"):
        model, cls, versions = rng.choice(_AMCREST if kind == "amcrest" else _LOREX)
        return _Spec(kind.capitalize(), model, cls, None, *fw(versions))
    if kind == "axis":
        return _Spec("AXIS", rng.choice(_AXIS), "camera", None, rng.choice(_AXIS_FW), None)
    if kind == "sony":
        return _Spec("Sony", rng.choice(_SONY), "camera", None, rng.choice(_SONY_FW), None)
    if kind == "reolink":
        model, hardware = rng.choice(_REOLINK)
        return _Spec("Reolink", model, "camera", hardware, rng.choice(_REOLINK_FW), None)
    if kind == "xiongmai":
        xm_model, xm_cls, xm_versions = rng.choice(_XM)
        return _Spec("XiongMai", xm_model, xm_cls, None, rng.choice(xm_versions), None)
    vendor, model, onvif_hw, plain = rng.choice(_ONVIF)
    return _Spec(vendor, model, "camera", onvif_hw, rng.choice(plain), None)


_SDK = {"Hikvision": (8000, "hik-sdk"), "Dahua": (37777, "dahua-dvrip"),
        "Amcrest": (37777, "dahua-dvrip"), "Lorex": (37777, "dahua-dvrip"),
        "XiongMai": (34567, "xm-netip")}  # fmt: skip
_TLS = ["http-only"] * 40 + ["self-signed"] * 35 + ["ok"] * 15 + ["self-signed,rsa-1024"] * 5 \
    + ["tls1.0"] * 3 + ["expired"] * 2  # fmt: skip


def _report(i: int, spec: _Spec, known: bool, rng: random.Random) -> HostReport:
    address = f"10.{i // 65536}.{i // 256 % 256}.{i % 256 + 1}"
    mac = f"02:00:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}:01"
    values = {Field.VENDOR: spec.vendor, Field.MODEL: spec.model, Field.HARDWARE: spec.hardware,
              Field.FIRMWARE: spec.firmware, Field.BUILD: spec.build, Field.MAC: mac,
              Field.SERIAL: f"SN{i:08d}"}  # fmt: skip
    confidence = 0.95 if known else 0.7
    identity = Identity.of(Observation(f, v, "bench", confidence) for f, v in values.items() if v)
    services = [Service(80, "tcp", "http", "Webs"), Service(554, "tcp", "rtsp")]
    if rng.random() < 0.6:
        services.append(Service(443, "tcp", "https"))
    if spec.vendor in _SDK and rng.random() < 0.8:
        port, proto = _SDK[spec.vendor]
        services.append(Service(port, "tcp", proto))
    xm = spec.vendor == "XiongMai"
    if rng.random() < (0.6 if xm else 0.01):
        services.append(Service(23, "tcp", "telnet", "BusyBox telnetd" if xm else ""))
    if rng.random() < 0.04:
        services.append(Service(22, "tcp", "ssh", "SSH-2.0-dropbear_2019.78"))
    services.append(Service(8899 if xm else 80, "tcp", "onvif"))
    rtsp = (f"rtsp://{address}:554/Streaming/Channels/101",) if rng.random() < 0.08 else ()
    logins: tuple[DefaultLogin, ...] | None = ()
    if xm and rng.random() < 0.2:
        logins = (DefaultLogin("telnet", "root", "bundle:mirai", mirai=True),)
    elif spec.vendor == "Hikvision" and rng.random() < 0.03:
        logins = (DefaultLogin("http", "admin", "bundle:default-credentials"),)
    accounts = None
    if known:
        accounts = ("admin",) if rng.random() < 0.94 else ("admin", "operator", "guest1")
    security = SecurityFacts(
        rtsp_open=rtsp,
        snapshot_open=(f"http://{address}/cgi-bin/snapshot.cgi",) if rng.random() < 0.03 else (),
        onvif_open=rng.random() < (0.4 if xm else 0.03),
        web_tls=rng.choice(_TLS),
        basic_auth_over_http=rng.random() < 0.1,
        default_logins=logins,
        port_forwards=(PortForward("192.0.2.1", 8000 + i % 1000, 80, "TCP", "camera"),)
        if rng.random() < 0.02 else (),
        upnp_enabled=rng.random() < 0.2 if known else None,
        p2p_enabled=rng.random() < 0.35 if known else None,
        clock_offset_s=rng.gauss(0, 40) if rng.random() < 0.9 else rng.uniform(-9e5, 9e5),
        accounts=accounts,
    )  # fmt: skip
    return HostReport(address, DeviceClass(spec.cls), identity, services=tuple(services),
                      drivers=("bench",), security=security)  # fmt: skip


def generate_devices(count: int, seed: int) -> list[DeviceFacts]:
    """``count`` video devices; 12 % without credentials (no firmware), 4 % unorderable."""
    rng = random.Random(seed + 2)
    kinds, weights = zip(*MIX.items(), strict=True)
    out = []
    for i in range(count):
        spec = _pick(rng.choices(kinds, weights)[0], rng)
        known = rng.random() >= 0.12
        if not known:
            spec.firmware = spec.build = None
            if rng.random() < 0.1:
                spec.model = None
        elif rng.random() < 0.04 and spec.vendor in _UNORDERABLE:
            spec.firmware, spec.build = _UNORDERABLE[spec.vendor]
        report = _report(i, spec, known, rng)
        previous = None
        if rng.random() < 0.3:  # seen in an earlier scan; some changed since
            services = report.services
            if rng.random() < 0.2:
                services = (*services[:-1], Service(8080, "tcp", "http"))
            previous = HostReport(report.address, report.device_class, report.identity,
                                  services=services, drivers=report.drivers)  # fmt: skip
        key = report.identity.key or f"addr:{report.address}"
        out.append(DeviceFacts(key, report, previous))
    return out


# --- measuring (child process) -------------------------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _hwm_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_hwm() -> bool:
    """Reset the kernel's peak-RSS mark (Linux >= 4.0); False if not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _profile(devices: list[DeviceFacts], ctx: AuditContext, top: int) -> list[dict[str, Any]]:
    prof = cProfile.Profile()
    prof.enable()
    audit(devices, ctx)
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).sort_stats("tottime")
    stats.print_stats(top)
    print(out.getvalue(), file=sys.stderr)
    rows = []
    for (path, line, func), (cc, nc, tt, ct, _) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append({"function": f"{Path(path).name}:{line}({func})", "calls": nc,
                     "primitive_calls": cc, "tottime_s": round(tt, 4), "cumtime_s": round(ct, 4)})  # fmt: skip
    rows.sort(key=lambda r: -r["tottime_s"])
    return rows[:top]


def measure(root: Path, devices_n: int, seed: int, runs: int, profile: bool) -> dict[str, Any]:
    """Everything the child process reports."""
    out: dict[str, Any] = {"rss_start_mb": _rss_mb()}
    gc.collect()
    t0 = time.perf_counter()
    kb = KnowledgeStore(root).load()
    out["load_s"] = time.perf_counter() - t0
    out["load_peak_rss_mb"] = _hwm_mb()
    gc.collect()
    out["rss_after_load_mb"] = _rss_mb()
    out["advisories"] = len(kb.advisories)
    out["releases"] = len(kb.releases)
    out["load_problems"] = len(kb.problems)

    before = _rss_mb()
    t0 = time.perf_counter()
    again = KnowledgeBase(kb.advisories, kb.releases, kb.credentials, kb.apps())
    out["index_s"] = time.perf_counter() - t0
    out["index_mb"] = _rss_mb() - before
    del again
    gc.collect()

    t0 = time.perf_counter()
    devices = generate_devices(devices_n, seed)
    out["devices_s"] = time.perf_counter() - t0
    out["devices"] = len(devices)
    gc.collect()
    out["rss_before_assess_mb"] = _rss_mb()

    out["hwm_reset"] = _reset_hwm()
    times = []
    result = None
    for _ in range(max(runs, 2)):
        result = None
        gc.collect()
        ctx = _context(kb)  # a fresh context: nothing of the last assessment is reused
        t0 = time.perf_counter()
        result = audit(devices, ctx)
        times.append(time.perf_counter() - t0)
    assert result is not None
    out["assess_peak_rss_mb"] = _hwm_mb() if out["hwm_reset"] else float("nan")
    out["assess_runs_s"] = times
    out["assess_cold_s"] = times[0]
    out["assess_best_s"] = min(times[1:])
    out["assess_median_s"] = statistics.median(times[1:])
    out["advisories_in_memory"] = getattr(kb.advisories, "held", len(kb.advisories))
    every = [f for group in result.by_device for f in group.findings]
    out["findings"] = result.count
    out["finding_objects"] = len({id(f) for f in every})
    out["problems"] = len(result.problems)
    out["findings_by_check"] = dict(Counter(f.check for f in every).most_common())
    out["findings_by_certainty"] = dict(Counter(f.certainty.value for f in every))
    out["advisory_findings_kev"] = sum(1 for f in every if f.kev)
    del every
    out["candidates_per_device"] = _candidates(devices, kb)
    del result
    gc.collect()

    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    result = audit(devices, _context(kb))
    out["assess_tracemalloc_peak_mb"] = (tracemalloc.get_traced_memory()[1] - base) / 2**20
    out["assess_result_mb"] = (tracemalloc.get_traced_memory()[0] - base) / 2**20
    tracemalloc.stop()
    del result
    out["ru_maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if profile:
        out["profile"] = _profile(devices, _context(kb), 30)
    return out


def _context(kb: KnowledgeBase) -> AuditContext:
    return AuditContext(kb, declared_accounts={"*": ("admin", "operator")},
                        owner_apps={("Hik-Connect", "android"): "5.1.0"}, now=NOW)  # fmt: skip


def _candidates(devices: list[DeviceFacts], kb: KnowledgeBase) -> dict[str, float]:
    """How many advisories the index hands the check per device (mean, max)."""
    counts = []
    for d in devices:
        vendor, model = d.report.identity.get(Field.VENDOR), d.report.identity.get(Field.MODEL)
        counts.append(len(kb.advisories_for(vendor, model or "")) if vendor else 0)
    return {"mean": round(statistics.fmean(counts), 1), "max": max(counts)}


# --- machine and report ------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """CPU, cores, RAM, kernel, OS, Python, date and commit."""
    cpu = platform.processor()
    mem_kb = 0
    with open("/proc/cpuinfo") as f:
        cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    with open("/proc/meminfo") as f:
        mem_kb = next(int(ln.split()[1]) for ln in f if ln.startswith("MemTotal:"))
    os_name = ""
    if Path("/etc/os-release").exists():
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                  check=True).stdout.strip()  # fmt: skip
        except (OSError, subprocess.CalledProcessError):
            return ""

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(mem_kb / 2**20, 1),
        "kernel": platform.release(),
        "os": os_name,
        "python": platform.python_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "commit": git("rev-parse", "--short", "HEAD"),
        "tree_dirty": bool(git("status", "--porcelain", "--", "src")),
    }


def table(r: dict[str, Any]) -> str:
    """The figures as a Markdown table."""
    ok_t = "yes" if r["assess_cold_s"] < TARGET_SECONDS else "**no**"
    ok_w = "yes" if r["assess_median_s"] < TARGET_SECONDS else "**no**"
    peak = r["assess_peak_rss_mb"]
    ok_m = "yes" if peak < TARGET_MB else "**no**"
    rows = [
        ("advisories loaded (bundle + generated)", f"{r['advisories']:,}", ""),
        ("knowledge file size", f"{r['source_mb']:.0f} MB", ""),
        ("load: read + decode + merge + index", f"{r['load_s']:.1f} s", ""),
        ("load: peak RSS", f"{r['load_peak_rss_mb']:.0f} MB", ""),
        ("index alone (KnowledgeBase construction)", f"{r['index_s']:.2f} s", ""),
        ("RSS after loading", f"{r['rss_after_load_mb']:.0f} MB", ""),
        ("advisories in memory as objects (the rest on disk)",
         f"{r.get('advisories_in_memory', r['advisories']):,}", ""),
        ("devices assessed", f"{r['devices']:,}", ""),
        ("advisory candidates per device (mean / max)",
         f"{r['candidates_per_device']['mean']} / {r['candidates_per_device']['max']}", ""),
        ("assessment, first after loading", f"{r['assess_cold_s']:.3f} s",
         f"< {TARGET_SECONDS:g} s: {ok_t}"),
        ("assessment, later runs (fresh context): best", f"{r['assess_best_s']:.3f} s", ""),
        ("assessment, later runs (fresh context): median", f"{r['assess_median_s']:.3f} s",
         f"< {TARGET_SECONDS:g} s: {ok_w}"),
        ("assessment: peak RSS of the process", f"{peak:.0f} MB", f"< {TARGET_MB:g} MB: {ok_m}"),
        ("assessment: own allocations (tracemalloc peak)",
         f"{r['assess_tracemalloc_peak_mb']:.0f} MB", ""),
        ("findings", f"{r['findings']:,}", ""),
        ("finding objects (shared per identity)", f"{r['finding_objects']:,}", ""),
        ("check errors", f"{r['problems']}", ""),
    ]  # fmt: skip
    lines = ["| measure | value | target |", "|---|---:|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Generate, measure in a child, print and record."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--advisories", type=int, default=DEFAULT_ADVISORIES)
    p.add_argument("--camera-advisories", type=int, default=DEFAULT_CAMERA_ADVISORIES)
    p.add_argument("--devices", type=int, default=DEFAULT_DEVICES)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="assessment runs (first = cold)")
    p.add_argument("--profile", action="store_true", help="cProfile one assessment run")
    p.add_argument("--no-record", action="store_true")
    p.add_argument("--out-dir", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--tag", default="", help="recorded as audit-<date>-<tag>.json")
    p.add_argument("--keep", action="store_true", help="keep the knowledge directory")
    p.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.child:
        result = measure(args.child, args.devices, args.seed, args.runs, args.profile)
        print(json.dumps(result))
        return 0

    work = Path(tempfile.mkdtemp(prefix="campatch-audit-bench-"))
    try:
        t0 = time.perf_counter()
        advisories = generate_advisories(args.advisories, args.camera_advisories, args.seed)
        releases = generate_releases(args.seed)
        gen_s = time.perf_counter() - t0
        size = write_source(work / "knowledge", "nvd", advisories, releases)
        print(f"generated {len(advisories):,} advisories and {len(releases)} releases in "
              f"{gen_s:.1f} s; knowledge file {size / 2**20:.0f} MB", flush=True)  # fmt: skip
        del advisories
        cmd = [sys.executable, __file__, "--child", str(work / "knowledge"),
               "--devices", str(args.devices), "--seed", str(args.seed), "--runs", str(args.runs)]  # fmt: skip
        if args.profile:
            cmd.append("--profile")
        env = {**os.environ, "CAMPATCH_HOME": str(work / "home")}
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
        stdout, _ = proc.communicate()
        child_s = time.perf_counter() - t0
        if proc.returncode:
            print(f"child failed with {proc.returncode}", file=sys.stderr)
            return 1
        result = json.loads(stdout.strip().splitlines()[-1])
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    result["source_mb"] = size / 2**20
    result["generate_s"] = gen_s
    result["child_wall_s"] = child_s
    record = {
        "benchmark": "audit",
        "machine": machine(),
        "parameters": {
            "advisories": args.advisories,
            "camera_advisories": args.camera_advisories,
            "devices": args.devices,
            "seed": args.seed,
            "runs": args.runs,
        },
        "targets": {"assess_s": TARGET_SECONDS, "memory_mb": TARGET_MB},
        "results": result,
        "command": " ".join([".venv/bin/python", "bench/audit_bench.py", *(argv or sys.argv[1:])]),
    }
    m = record["machine"]
    print(f"\n{m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB; kernel {m['kernel']}; "
          f"Python {m['python']}; commit {m['commit']}{' + local changes' if m['tree_dirty'] else ''}\n")  # fmt: skip
    print(table(result))
    print("\nfindings by check:", json.dumps(result["findings_by_check"]))
    print("findings by certainty:", json.dumps(result["findings_by_certainty"]))
    if not args.no_record:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        path = args.out_dir / f"audit-{m['date']}{'-' + args.tag if args.tag else ''}.json"
        path.write_text(json.dumps(record, indent=2) + "\n", "utf-8")
        print(f"\nrecorded {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
