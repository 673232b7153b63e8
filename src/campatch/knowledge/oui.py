"""MAC address prefixes (OUI): which camera brand's address block a MAC comes from.

The bundled table ``data/oui-camera-vendors.csv`` is built by
``scripts/build_knowledge.py`` (provenance, date and input hash in
``data/PROVENANCE.md``). It maps IEEE-assigned prefixes of 24 (MA-L), 28 (MA-M) and
36 bits (MA-S) to a brand. A MAC is matched longest prefix first, because 28- and
36-bit blocks are carved out of 24-bit blocks that belong to someone else.

Which field an OUI fills (a decision, see ADR 0003 "brand and vendor are separate"):

- :attr:`Field.VENDOR` when the block's owner makes its own devices and firmware
  (Hikvision, Dahua, Axis, Uniview ...). Drivers already treat such an observation as
  weak evidence (the Hikvision fingerprint counts a ``VENDOR`` containing its name).
- :attr:`Field.BRAND` for the labels in :data:`OEM_BRANDS`: consumer sub-brands and
  relabellers whose devices run another maker's firmware (Amcrest and Lorex sell
  Dahua's, EZVIZ is Hikvision's consumer line, Imou Dahua's). Their MAC says what is
  printed on the box, not whose firmware (and advisories) apply; the vendor is not
  guessed from it, because such labels have sold more than one maker's devices.

Every observation is made at :attr:`Confidence.OUI`: boards are resold and some cheap
devices ship with made-up or cloned MACs, so whatever the device itself says wins and
the OUI's opinion is kept as a disagreement (see :meth:`Identity.of`).
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources

from campatch.errors import KnowledgeSourceError
from campatch.model import Confidence, Field, Identity, Observation, normalize_mac

__all__ = [
    "OEM_BRANDS",
    "SOURCE",
    "OuiTable",
    "field_for",
    "observations_for_mac",
    "oui_observations",
]

#: Observation source of OUI facts; ``"oui:<where the MAC came from>"`` when known.
SOURCE = "oui"
#: Prefix lengths the IEEE assigns (MA-S, MA-M, MA-L), longest first.
PREFIX_BITS = (36, 28, 24)
#: Brands whose OUI fills :attr:`Field.BRAND` instead of :attr:`Field.VENDOR`.
OEM_BRANDS = frozenset({"Amcrest", "Lorex", "EZVIZ", "Imou", "CP Plus", "Swann", "Night Owl"})
DATA_FILE = "oui-camera-vendors.csv"
_HEX = re.compile(r"[0-9A-F]+")

#: One table row: hex prefix (any case), its length in bits, the brand.
Fact = tuple[str, int, str]


@dataclass(frozen=True)
class OuiTable:
    """MAC prefix -> brand, looked up longest prefix first.

    Args:
        brands: uppercase hex prefix (6, 7 or 9 digits for 24, 28 or 36 bits) -> brand.
    """

    brands: Mapping[str, str]

    @classmethod
    def load(cls) -> OuiTable:
        """The bundled table (read once per process, then cached).

        Raises:
            KnowledgeSourceError: the bundled file is missing or damaged.
        """
        return _bundled()

    @classmethod
    def of(cls, facts: Iterable[Fact]) -> OuiTable:
        """A table from ``(prefix, bits, brand)`` facts.

        Raises:
            KnowledgeSourceError: a prefix is not hex, does not have ``bits`` bits, has
                an unsupported length or no brand, or is given two brands.
        """
        brands: dict[str, str] = {}
        for prefix, bits, brand in facts:
            key = _checked_prefix(prefix, bits, brand)
            if brands.setdefault(key, brand) != brand:
                raise KnowledgeSourceError(f"oui prefix {key} is both {brands[key]} and {brand}")
        return cls(brands)

    @classmethod
    def parse(cls, text: str) -> OuiTable:
        """A table from CSV text with the header ``prefix,bits,brand``.

        Raises:
            KnowledgeSourceError: a column is missing or a row is invalid.
        """
        reader = csv.DictReader(io.StringIO(text))
        if not {"prefix", "bits", "brand"} <= set(reader.fieldnames or ()):
            raise KnowledgeSourceError(f"{DATA_FILE}: expected columns prefix,bits,brand")
        return cls.of(_row_fact(row, line) for line, row in enumerate(reader, start=2))

    def brand_of(self, mac: str) -> str | None:
        """The brand owning the longest registered prefix of ``mac``; None if unknown."""
        norm = normalize_mac(mac)
        if norm is None:
            return None
        digits = norm.replace(":", "").upper()
        for bits in PREFIX_BITS:
            brand = self.brands.get(digits[: bits // 4])
            if brand is not None:
                return brand
        return None

    def observations(self, mac: str, source: str = SOURCE) -> list[Observation]:
        """What the OUI of ``mac`` says, as observations (empty if nothing).

        Args:
            mac: a MAC address in any common notation.
            source: observation source, e.g. ``"oui:arp"`` to say where the MAC came from.

        Returns:
            One :attr:`Field.VENDOR` or :attr:`Field.BRAND` observation (see
            :func:`field_for`) at :attr:`Confidence.OUI`, or nothing.
        """
        brand = self.brand_of(mac)
        if brand is None:
            return []
        return [Observation(field_for(brand), brand, source, Confidence.OUI)]


def field_for(brand: str) -> Field:
    """:attr:`Field.BRAND` for an OEM label (:data:`OEM_BRANDS`), else :attr:`Field.VENDOR`."""
    return Field.BRAND if brand in OEM_BRANDS else Field.VENDOR


def observations_for_mac(mac: str, source: str = SOURCE) -> list[Observation]:
    """What the bundled OUI table says about ``mac`` (see :meth:`OuiTable.observations`).

    Raises:
        KnowledgeSourceError: the bundled table is missing or damaged.
    """
    return OuiTable.load().observations(mac, source)


def oui_observations(
    seen: Identity | Iterable[Observation], *, table: OuiTable | None = None
) -> list[Observation]:
    """OUI observations for every distinct MAC that any protocol reported.

    Each disagreeing MAC gets its own OUI opinion (source ``"oui:<mac's source>"``), so
    a device whose SADP MAC and ARP MAC point at different brands shows both.
    Observations already present in ``seen`` are not repeated.

    Args:
        seen: an identity, or the observations about to be folded into one.
        table: the OUI table (default: the bundled one).

    Raises:
        KnowledgeSourceError: the bundled table is missing or damaged.

    Returns:
        New observations, in the order of the MACs in ``seen``.
    """
    observations = seen.observations if isinstance(seen, Identity) else tuple(seen)
    table = table or OuiTable.load()
    present = set(observations)
    found: dict[Observation, None] = {}
    for o in observations:
        if o.field is Field.MAC:
            for new in table.observations(o.value, f"{SOURCE}:{o.source}"):
                if new not in present:
                    found[new] = None
    return list(found)


@functools.cache
def _bundled() -> OuiTable:
    try:
        text = resources.files("campatch.knowledge").joinpath("data", DATA_FILE).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise KnowledgeSourceError(f"bundled {DATA_FILE} cannot be read: {err}") from err
    return OuiTable.parse(text)


def _row_fact(row: dict[str, str], line: int) -> Fact:
    bits = (row.get("bits") or "").strip()
    if not bits.isdigit():
        raise KnowledgeSourceError(f"{DATA_FILE} line {line}: prefix length {bits!r} is no number")
    return (row.get("prefix") or "").strip(), int(bits), (row.get("brand") or "").strip()


def _checked_prefix(prefix: str, bits: int, brand: str) -> str:
    key = prefix.replace(":", "").replace("-", "").upper()
    if bits not in PREFIX_BITS or not _HEX.fullmatch(key) or len(key) * 4 != bits:
        raise KnowledgeSourceError(f"oui prefix {prefix!r} is not a {bits}-bit hex prefix")
    if not brand:
        raise KnowledgeSourceError(f"oui prefix {key} has no brand")
    return key
