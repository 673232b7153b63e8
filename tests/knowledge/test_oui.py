"""OUI table: longest-prefix lookup, vendor vs brand, and disagreements kept."""

from __future__ import annotations

import pytest

from campatch.errors import KnowledgeSourceError
from campatch.knowledge.oui import (
    OEM_BRANDS,
    OuiTable,
    field_for,
    observations_for_mac,
    oui_observations,
)
from campatch.model import Confidence, Field, Identity, Observation

# A 24-bit block owned by one brand with a 28- and a 36-bit block carved out of it.
NESTED = OuiTable.of(
    [
        ("344663", 24, "Dahua"),
        ("3446632", 28, "Amcrest"),
        ("34:46:63:2A:B", 36, "Lorex"),
    ]
)


@pytest.mark.parametrize(
    ("mac", "brand"),
    [
        ("34:46:63:11:22:33", "Dahua"),  # only the 24-bit block matches
        ("34-46-63-21-22-33", "Amcrest"),  # the 28-bit block wins over the 24-bit one
        ("344663 2ab123", "Lorex"),  # the 36-bit block wins over both
        ("34:46:63:2a:c1:23", "Amcrest"),  # next 36-bit neighbour falls back to 28 bits
        ("34:46:64:21:22:33", None),
        ("not a mac", None),
        ("00:00:00:00:00:00", None),
    ],
)
def test_longest_prefix_wins(mac: str, brand: str | None) -> None:
    assert NESTED.brand_of(mac) == brand


def test_bundled_table_loads_once_and_knows_the_big_vendors() -> None:
    table = OuiTable.load()
    assert table is OuiTable.load()
    assert table.brand_of("00:40:8c:12:34:56") == "Axis"
    assert table.brand_of("bc:ba:c2:00:00:01") == "Hikvision"
    assert table.brand_of("0c:75:d2:00:00:01") == "Hikvision"  # Prama Hikvision India
    assert table.brand_of("e0:50:8b:00:00:01") == "Dahua"
    assert table.brand_of("1c:4d:89:00:00:01") == "Imou"  # Hangzhou Huacheng


def test_bundled_28_bit_amcrest_block_is_found() -> None:
    assert OuiTable.load().brand_of("34:46:63:2f:ff:ff") == "Amcrest"
    assert OuiTable.load().brand_of("34:46:63:3f:ff:ff") is None


def test_maker_oui_is_vendor_and_oem_oui_is_brand() -> None:
    assert observations_for_mac("BC:BA:C2:00:00:01") == [
        Observation(Field.VENDOR, "Hikvision", "oui", Confidence.OUI)
    ]
    assert observations_for_mac("9c:8e:cd:00:00:01", "oui:arp") == [
        Observation(Field.BRAND, "Amcrest", "oui:arp", Confidence.OUI)
    ]
    assert observations_for_mac("02:00:00:00:00:01") == []
    assert field_for("Dahua") is Field.VENDOR
    assert {field_for(b) for b in OEM_BRANDS} == {Field.BRAND}


def test_every_oem_brand_exists_in_the_bundled_table() -> None:
    assert set(OuiTable.load().brands.values()) >= OEM_BRANDS


def test_device_whose_reported_vendor_differs_from_its_oui_keeps_both() -> None:
    """A cheap camera says "Hikvision" over ONVIF but its MAC is from a Dahua block."""
    reported = [
        Observation(Field.VENDOR, "Hikvision", "onvif:GetDeviceInformation", Confidence.DISCOVERY),
        Observation(Field.MAC, "E0-50-8B-01-02-03", "onvif:GetNetworkInterfaces", 0.8),
    ]
    identity = Identity.of((*reported, *oui_observations(reported)))
    vendor = identity.fields[Field.VENDOR]
    assert (vendor.value, vendor.source) == ("Hikvision", "onvif:GetDeviceInformation")
    assert [(o.value, o.source) for o in vendor.disagreements] == [
        ("Dahua", "oui:onvif:GetNetworkInterfaces")
    ]


def test_two_reported_macs_give_two_oui_opinions_without_repeats() -> None:
    seen = [
        Observation(Field.MAC, "bc:ba:c2:00:00:01", "sadp", Confidence.DISCOVERY),
        Observation(Field.MAC, "9c:8e:cd:00:00:01", "arp", 0.8),
        Observation(Field.BRAND, "Amcrest", "oui:arp", Confidence.OUI),  # already folded in
        Observation(Field.MODEL, "DS-2CD2042WD-I", "sadp", Confidence.DISCOVERY),
    ]
    assert oui_observations(Identity.of(seen)) == [
        Observation(Field.VENDOR, "Hikvision", "oui:sadp", Confidence.OUI)
    ]


def test_mac_from_an_unknown_block_adds_nothing() -> None:
    seen = [Observation(Field.MAC, "02:11:22:33:44:55", "dhip", Confidence.DISCOVERY)]
    assert oui_observations(seen, table=NESTED) == []


def test_parse_reads_csv_and_rejects_damage() -> None:
    table = OuiTable.parse("prefix,bits,brand\n00408C,24,Axis\n")
    assert table.brand_of("00:40:8c:00:00:01") == "Axis"
    for text in (
        "prefix,brand\n00408C,Axis\n",  # column missing
        "prefix,bits,brand\n00408C,twenty-four,Axis\n",
        "prefix,bits,brand\n00408C,28,Axis\n",  # 6 digits are 24 bits
        "prefix,bits,brand\n00408G,24,Axis\n",
        "prefix,bits,brand\n00408C,24,\n",
        "prefix,bits,brand\n0040,16,Axis\n",
        "prefix,bits,brand\n00408C,24,Axis\n00408C,24,Bosch\n",
    ):
        with pytest.raises(KnowledgeSourceError):
            OuiTable.parse(text)
