"""The content-addressed firmware store: add, get (re-verified), find, list, and its CLI."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from campatch.errors import FirmwareError, FirmwareIntegrityError, FirmwareTooLarge
from campatch.knowledge.store import KnowledgeStore
from campatch.model import FirmwareRelease, Provenance
from campatch.patch.firmware_store import FirmwareLimits, FirmwareStore
from campatch.patch.headers import VENDOR_HEADERS, check_header
from support import campatch

IMAGE = b"digicap " * 10_000
SHA = hashlib.sha256(IMAGE).hexdigest()


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "digicap.dav"
    path.write_bytes(IMAGE)
    return path


@pytest.fixture
def store(tmp_path: Path) -> FirmwareStore:
    return FirmwareStore(tmp_path / "firmware", clock=lambda: "2026-11-27T10:00:00Z")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_an_added_image_is_stored_under_its_hash_with_private_modes(
    store: FirmwareStore, image: Path
) -> None:
    stored = store.add(image, "Hikvision", "DS-2CD2143G2-I", "V5.7.3", "A")
    assert stored.sha256 == SHA
    assert stored.path == store.root / "sha256" / SHA
    assert stored.path.read_bytes() == IMAGE
    assert mode(stored.path) == 0o600
    assert mode(store.root) == mode(store.root / "sha256") == mode(store.tmp_dir) == 0o700
    assert list(store.tmp_dir.iterdir()) == []


def test_the_index_records_what_the_image_is_and_where_it_came_from(
    store: FirmwareStore, image: Path
) -> None:
    store.add(image, "Hikvision", "DS-2CD2143G2-I", "V5.7.3")
    doc = json.loads((store.root / "index.json").read_text())
    entry = doc["images"][SHA]
    assert entry["vendor"] == "Hikvision"
    assert entry["model"] == "DS-2CD2143G2-I"
    assert entry["version"] == "V5.7.3"
    assert entry["hardware"] is None
    assert entry["file_name"] == "digicap.dav"
    assert entry["size"] == len(IMAGE)
    assert entry["added"] == "2026-11-27T10:00:00Z"
    assert entry["provenance"]["source"] == "user"
    assert entry["provenance"]["url"] == image.resolve().as_uri()
    assert entry["header"].startswith("not checked: digicap.dav header")
    assert mode(store.root / "index.json") == 0o600


def test_adding_the_same_bytes_twice_keeps_one_entry(store: FirmwareStore, image: Path) -> None:
    first = store.add(image, "hikvision", "DS-2CD2143G2-I", "V5.7.3")
    again = store.add(image, "hikvision", "DS-2CD2143G2-I", "V5.7.3")
    assert again == first
    assert len(store.images()) == 1


@pytest.mark.safety("F-05")
def test_F05_a_file_above_the_cap_is_refused_and_its_copy_removed(
    tmp_path: Path, image: Path
) -> None:
    small = FirmwareStore(
        tmp_path / "fw", limits=FirmwareLimits(max_image_bytes=1000, chunk_bytes=256)
    )
    with pytest.raises(FirmwareTooLarge, match="larger than the 1000-byte firmware cap"):
        small.add(image, "hikvision", "DS-2CD2143G2-I")
    assert list(small.tmp_dir.iterdir()) == []
    assert small.images() == []


def test_a_failed_rename_leaves_no_image_and_no_temp_file(
    store: FirmwareStore, image: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(FirmwareError, match="No space left"):
        store.add(image, "hikvision", "DS-2CD2143G2-I")
    monkeypatch.undo()
    assert store.images() == []
    assert list((store.root / "sha256").iterdir()) == []
    assert list(store.tmp_dir.iterdir()) == []


def test_get_verifies_and_returns_the_image(store: FirmwareStore, image: Path) -> None:
    stored = store.add(image, "hikvision", "DS-2CD2143G2-I", "V5.7.3")
    assert store.get(SHA) == stored
    with pytest.raises(FirmwareError, match="not in the store"):
        store.get("0" * 64)


@pytest.mark.safety("F-08")
def test_F08_a_tampered_cache_entry_is_deleted_and_reported(
    store: FirmwareStore, image: Path
) -> None:
    stored = store.add(image, "hikvision", "DS-2CD2143G2-I", "V5.7.3")
    data = bytearray(stored.path.read_bytes())
    data[-1] ^= 0x01
    stored.path.write_bytes(bytes(data))
    with pytest.raises(
        FirmwareIntegrityError, match=r"was modified .* deleted and will not be used"
    ):
        store.get(SHA)
    assert not stored.path.exists()
    assert store.images() == []
    with pytest.raises(FirmwareError, match="not in the store"):
        store.get(SHA)


@pytest.mark.safety("F-08")
def test_F08_an_image_replaced_by_another_file_is_never_reused(
    store: FirmwareStore, image: Path, tmp_path: Path
) -> None:
    stored = store.add(image, "hikvision", "DS-2CD2143G2-I", "V5.7.3")
    os.replace(tmp_path / "digicap.dav", stored.path)  # the same bytes: still fine
    assert store.get(SHA).path.read_bytes() == IMAGE
    (tmp_path / "other.dav").write_bytes(b"other firmware")
    os.replace(tmp_path / "other.dav", stored.path)
    with pytest.raises(FirmwareIntegrityError):
        store.get(SHA)


def test_find_matches_vendor_and_model_spellings_version_and_hardware(
    store: FirmwareStore, tmp_path: Path
) -> None:
    for i, (version, hardware) in enumerate([("V5.7.3", None), ("V5.7.1", "B")]):
        path = tmp_path / f"img{i}"
        path.write_bytes(IMAGE + bytes([i]))
        store.add(path, "Hikvision", "DS-2CD2143G2-I", version, hardware)
    assert len(store.find("hikvision", "ds-2cd2143g2-i")) == 2
    assert [i.info.version for i in store.find("HIKVISION", "DS2CD2143G2I", "v5.7.3")] == ["V5.7.3"]
    assert [i.info.version for i in store.find("hikvision", "DS-2CD2143G2-I", hardware="A")] == [
        "V5.7.3"
    ]
    assert store.find("dahua", "DS-2CD2143G2-I") == []


def test_no_vendor_header_is_read_and_the_reason_is_kept() -> None:
    assert set(VENDOR_HEADERS) == {"hikvision", "dahua", "axis", "reolink"}
    for vendor in VENDOR_HEADERS:
        check = check_header(vendor, "image.bin")
        assert not check.checked
        assert check.note.startswith("not checked: ")
    assert "no known header format for Foscam" in check_header("Foscam", "fw.bin").note


# --- CLI -------------------------------------------------------------------------------------


async def test_cli_add_then_list(tmp_path: Path, image: Path) -> None:
    home = tmp_path / "home"
    code, out, err = await campatch(
        home, "firmware", "add", str(image), "--vendor", "hikvision",
        "--model", "DS-2CD2143G2-I", "--version", "V5.7.3",
    )  # fmt: skip
    assert code == 0, err
    assert f"sha256 {SHA}" in out
    code, out, _ = await campatch(home, "firmware", "list")
    assert code == 0
    assert "Firmware images (1)" in out
    assert SHA[:16] in out
    assert "V5.7.3" in out


async def test_cli_fetch_of_a_release_without_sha256_is_one_error_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    KnowledgeStore(home / "knowledge", with_bundle=False).replace_source(
        "manual",
        releases=[
            FirmwareRelease(
                vendor="hikvision", model="DS-2CD2143G2-I", version="V5.7.3",
                provenance=Provenance(source="manual"),
                url="https://vendor.example/digicap.dav",
            )
        ],
    )  # fmt: skip
    code, _, err = await campatch(
        home, "firmware", "fetch", "--vendor", "hikvision", "--model", "DS-2CD2143G2-I",
        "--version", "V5.7.3",
    )  # fmt: skip
    assert code == 2
    assert "no SHA-256" in err
    assert "campatch firmware add" in err
    assert "Traceback" not in err


async def test_cli_fetch_of_an_unknown_release_names_the_known_ones(tmp_path: Path) -> None:
    code, _, err = await campatch(
        tmp_path / "home", "firmware", "fetch", "--vendor", "hikvision", "--model", "NOPE-1",
        "--version", "V1",
    )  # fmt: skip
    assert code == 2
    assert "the catalog has no hikvision NOPE-1 release V1" in err
    assert "Tip:" in err
