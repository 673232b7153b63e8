"""Build campatch's bundled MAC-prefix knowledge from the shared research data.

Usage (from the repository root, with the project's virtual environment)::

    .venv/bin/python scripts/build_knowledge.py [--shared ../shared/data] [--date YYYY-MM-DD]

Reads ``oui-camera-vendors.csv`` (research notes, derived from nmap's
``nmap-mac-prefixes`` and therefore *not* shippable verbatim, see
``shared/data/SOURCES.md``) and writes into ``src/campatch/knowledge/data/``:

- ``oui-camera-vendors.csv`` with only the columns ``prefix,bits,brand``: the IEEE
  Registration Authority's assignment facts (which prefix belongs to which company)
  reduced to the camera brand campatch reports. The ``organization`` column is never
  copied;
- ``PROVENANCE.md`` naming the facts' original source, the build date and the
  input's SHA-256.

The output is deterministic: rows are sorted, brands normalised through one table
(:data:`BRAND_NAMES`), and the date comes from ``--date``, else ``SOURCE_DATE_EPOCH``,
else today (UTC). Given the same input and date, two builds are byte-identical.
Exit codes: 0 built, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
INPUT_NAME = "oui-camera-vendors.csv"
OUTPUT_DIR = REPO / "src" / "campatch" / "knowledge" / "data"
PROVENANCE_NAME = "PROVENANCE.md"
VALID_BITS = (24, 28, 36)  # IEEE MA-L, MA-M, MA-S
_HEX = re.compile(r"[0-9A-F]+")

#: The research file's brand spellings -> the one name campatch uses for that vendor.
#: Anything not listed is kept as written (after trimming).
BRAND_NAMES: dict[str, str] = {
    "CP Plus (Aditya Infotech)": "CP Plus",
    "EZVIZ (Hikvision consumer brand)": "EZVIZ",
    "Genetec (VMS appliances)": "Genetec",
    "Hikvision (India JV)": "Hikvision",
    "Imou/Dahua consumer (Huacheng)": "Imou",
    "Lorex (India)": "Lorex",
    "Raysharp (OEM DVR/NVR maker)": "Raysharp",
    "Samsung Techwin (now Hanwha Vision)": "Hanwha Vision",
    "TVT (Shenzhen TVT Digital Technology)": "TVT",
    "Uniview (UNV)": "Uniview",
    "i-PRO (formerly Panasonic security)": "i-PRO",
    "Bosch Security Systems": "Bosch",
    "Honeywell Video Systems": "Honeywell",
}


class BuildError(Exception):
    """The input cannot be turned into shippable knowledge."""


@dataclass(frozen=True, order=True)
class PrefixFact:
    """One IEEE assignment: ``prefix`` (uppercase hex, ``bits`` / 4 digits) -> brand."""

    prefix: str
    bits: int
    brand: str


def canonical_brand(raw: str) -> str:
    """The normalised brand for a research-file brand value."""
    brand = " ".join(raw.split())
    return BRAND_NAMES.get(brand, brand)


def parse_row(row: dict[str, str], line: int) -> PrefixFact:
    """Validate one input row and keep only the prefix -> brand fact.

    Raises:
        BuildError: the prefix is not hex, disagrees with its bit length or its colon
            form, or the brand is empty.
    """
    prefix = (row.get("prefix_hex") or "").strip().upper()
    colon = (row.get("prefix_colon") or "").replace(":", "").strip().upper()
    bits_text = (row.get("prefix_bits") or "").strip()
    brand = canonical_brand(row.get("brand") or "")
    where = f"{INPUT_NAME} line {line}"
    if not _HEX.fullmatch(prefix) or (colon and colon != prefix):
        raise BuildError(f"{where}: prefix {prefix!r} is not hex or differs from {colon!r}")
    if not bits_text.isdigit() or int(bits_text) not in VALID_BITS:
        raise BuildError(f"{where}: prefix length {bits_text!r} is not one of {VALID_BITS}")
    if int(bits_text) != 4 * len(prefix):
        raise BuildError(f"{where}: prefix {prefix} has {4 * len(prefix)} bits, not {bits_text}")
    if not brand:
        raise BuildError(f"{where}: prefix {prefix} has no brand")
    return PrefixFact(prefix, int(bits_text), brand)


def read_facts(text: str) -> list[PrefixFact]:
    """All facts of the input, de-duplicated and sorted.

    Raises:
        BuildError: a row is invalid, a column is missing, or one prefix has two brands.
    """
    reader = csv.DictReader(io.StringIO(text))
    needed = {"prefix_hex", "prefix_bits", "brand"}
    if not needed <= set(reader.fieldnames or ()):
        raise BuildError(f"{INPUT_NAME}: expected columns {sorted(needed)}")
    facts: dict[str, PrefixFact] = {}
    for line, row in enumerate(reader, start=2):
        fact = parse_row(row, line)
        old = facts.setdefault(fact.prefix, fact)
        if old.brand != fact.brand:
            raise BuildError(
                f"{INPUT_NAME}: prefix {fact.prefix} is both {old.brand} and {fact.brand}"
            )
    return sorted(facts.values())


def render_csv(facts: Iterable[PrefixFact]) -> str:
    """The shipped CSV: header ``prefix,bits,brand``, one fact per line, ``\\n`` endings."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("prefix", "bits", "brand"))
    writer.writerows((f.prefix, f.bits, f.brand) for f in facts)
    return out.getvalue()


def render_provenance(facts: Sequence[PrefixFact], sha256: str, built: date) -> str:
    """``PROVENANCE.md`` for the shipped CSV."""
    counts = {bits: sum(1 for f in facts if f.bits == bits) for bits in VALID_BITS}
    return f"""# Provenance of `oui-camera-vendors.csv`

Generated by `scripts/build_knowledge.py`; do not edit by hand, rebuild instead.

- **Facts:** MAC address block assignments of the IEEE Registration Authority
  (public registries MA-L, MA-M and MA-S, https://regauth.standards.ieee.org/):
  which prefix was assigned to which company. Only the prefix, its length in bits
  and the camera brand are kept; the registrant's name is not copied.
- **Brand column:** written for campatch (one spelling per vendor).
- **Selection:** camera, NVR, DVR and VMS vendors chosen by the campatch project
  (research notes `{INPUT_NAME}`, see `shared/data/SOURCES.md`).
- **Records:** {len(facts)} prefixes: {counts[24]} MA-L (24 bits), {counts[28]} MA-M (28 bits), {counts[36]} MA-S (36 bits).
- **Built:** {built.isoformat()}
- **Input:** `{INPUT_NAME}` sha256 `{sha256}`
"""


def build_date(given: str | None) -> date:
    """``--date``, else ``SOURCE_DATE_EPOCH``, else today in UTC.

    Raises:
        BuildError: the date or epoch cannot be read.
    """
    try:
        if given:
            return date.fromisoformat(given)
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        if epoch:
            return datetime.fromtimestamp(int(epoch), UTC).date()
    except ValueError as err:
        raise BuildError(f"build date: {err}") from err
    return datetime.now(UTC).date()


def build(shared: Path, out_dir: Path, built: date) -> list[PrefixFact]:
    """Read ``shared/oui-camera-vendors.csv`` and write both output files to ``out_dir``.

    Raises:
        BuildError: the input is missing or invalid.
    """
    source = shared / INPUT_NAME
    try:
        raw = source.read_bytes()
    except OSError as err:
        raise BuildError(f"cannot read {source}: {err.strerror}") from err
    facts = read_facts(raw.decode("utf-8-sig"))
    provenance = render_provenance(facts, hashlib.sha256(raw).hexdigest(), built)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / INPUT_NAME).write_text(render_csv(facts), encoding="utf-8", newline="")
    (out_dir / PROVENANCE_NAME).write_text(provenance, encoding="utf-8", newline="")
    return facts


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=OUTPUT_DIR)
    parser.add_argument("--date", help="build date YYYY-MM-DD (default: SOURCE_DATE_EPOCH/today)")
    args = parser.parse_args(argv)
    try:
        facts = build(args.shared, args.out, build_date(args.date))
    except BuildError as err:
        sys.stderr.write(f"build_knowledge: {err}\n")
        return 2
    sys.stdout.write(f"wrote {len(facts)} prefixes to {args.out / INPUT_NAME}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
