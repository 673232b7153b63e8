"""The credential vault: API, ordering, key handling, and SAFETY S-01 / S-02."""

from __future__ import annotations

import base64
import errno
import json
import logging
import os
import stat
import threading
import traceback
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import keyring
import keyring.backend
import keyring.errors
import pytest

from campatch.errors import CredentialStoreError, UsageError
from campatch.inventory import (
    CredentialScope,
    CredentialVault,
    ScopeKind,
    open_store,
    open_vault,
)
from campatch.inventory._vault_keys import KEYRING_ACCOUNT, KEYRING_SERVICE
from campatch.model import Credential, DeviceClass, HostReport, Identity, ScanResult, Secret


def cred(username: str, password: str) -> Credential:
    return Credential(username, Secret(password))


def scope(text: str) -> CredentialScope:
    return CredentialScope.parse(text)


def passwords(credentials: Iterable[Credential]) -> list[str]:
    return [c.password.reveal() for c in credentials]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def vault(campatch_home: Path) -> CredentialVault:
    return open_vault()


# --- scopes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("192.0.2.7", ScopeKind.HOST, "192.0.2.7"),
        (" 2001:DB8::7 ", ScopeKind.HOST, "2001:db8::7"),
        ("::ffff:192.0.2.7", ScopeKind.HOST, "192.0.2.7"),
        ("192.0.2.0/24", ScopeKind.RANGE, "192.0.2.0/24"),
        ("HikVision", ScopeKind.VENDOR, "hikvision"),
        ("vendor:axis", ScopeKind.VENDOR, "axis"),
        ("host:192.0.2.1", ScopeKind.HOST, "192.0.2.1"),
    ],
)
def test_scope_parse_infers_kind_and_normalises(text: str, kind: ScopeKind, value: str) -> None:
    parsed = CredentialScope.parse(text)

    assert (parsed.kind, parsed.value, str(parsed)) == (kind, value, value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("192.0.2.7/24", "did you mean 192.0.2.0/24"),
        ("192.0.2.0/33", "range scope must be a network"),
        ("host:hikvision", "host scope must be an IP address"),
        ("no spaces please", "vendor scope must be a vendor name"),
        ("", "vendor scope must be a vendor name"),
    ],
)
def test_bad_scope_is_a_usage_error_that_says_why(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        CredentialScope.parse(text)


# --- add / list / remove / for_host ---------------------------------------------


def test_empty_vault_lists_nothing_and_creates_no_files(
    vault: CredentialVault, campatch_home: Path
) -> None:
    assert vault.entries() == []
    assert vault.for_host("192.0.2.7", "hikvision") == []
    assert vault.remove(scope("192.0.2.7")) == 0
    assert not (campatch_home / "vault.json").exists()
    assert not (campatch_home / "vault.key").exists()


def test_add_list_remove(vault: CredentialVault) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    assert vault.add(scope("192.0.2.7"), cred("admin", "pw-host")) is False
    assert vault.add(scope("hikvision"), cred("admin", "pw-vendor")) is False
    assert vault.add(scope("192.0.2.0/24"), cred("operator", "pw-range")) is False
    assert vault.add(scope("192.0.2.0/24"), cred("admin", "pw-range-2")) is False

    listed = [(e.scope.kind, e.scope.value, e.username) for e in vault.entries()]
    assert listed == [
        (ScopeKind.HOST, "192.0.2.7", "admin"),
        (ScopeKind.RANGE, "192.0.2.0/24", "admin"),
        (ScopeKind.RANGE, "192.0.2.0/24", "operator"),
        (ScopeKind.VENDOR, "hikvision", "admin"),
    ]
    assert all(before <= e.added_at <= datetime.now(UTC) for e in vault.entries())

    assert vault.remove(scope("192.0.2.0/24"), "operator") == 1
    assert vault.remove(scope("192.0.2.0/24"), "nobody") == 0
    assert vault.remove(scope("hikvision")) == 1
    assert [e.username for e in vault.entries()] == ["admin", "admin"]
    assert vault.remove(scope("192.0.2.0/24")) == 1
    assert [str(e.scope) for e in vault.entries()] == ["192.0.2.7"]


def test_scopes_may_be_given_as_text(vault: CredentialVault) -> None:
    vault.add("192.0.2.0/24", cred("admin", "pw"))

    assert [e.scope for e in vault.entries()] == [scope("192.0.2.0/24")]
    with pytest.raises(UsageError, match="did you mean"):
        vault.add("192.0.2.1/24", cred("admin", "pw"))
    assert vault.remove("192.0.2.0/24") == 1


def test_adding_the_same_scope_and_user_replaces_the_password(vault: CredentialVault) -> None:
    vault.add(scope("192.0.2.7"), cred("admin", "old"))

    assert vault.add(scope("192.0.2.7"), cred("admin", "new")) is True
    assert passwords(vault.for_host("192.0.2.7")) == ["new"]
    assert len(vault.entries()) == 1


def test_for_host_orders_host_then_narrowest_range_then_vendor(vault: CredentialVault) -> None:
    vault.add(scope("hikvision"), cred("admin", "vendor"))
    vault.add(scope("198.18.0.0/15"), cred("admin", "range-8"))
    vault.add(scope("198.18.12.0/24"), cred("admin", "range-24"))
    vault.add(scope("198.18.0.0/16"), cred("admin", "range-16"))
    vault.add(scope("198.18.12.3"), cred("admin", "host"))
    vault.add(scope("198.18.12.3"), cred("viewer", "host-2"))
    vault.add(scope("198.18.12.4"), cred("admin", "other-host"))
    vault.add(scope("203.0.113.0/24"), cred("admin", "other-range"))
    vault.add(scope("dahua"), cred("admin", "other-vendor"))

    found = vault.for_host("198.18.12.3", "Hangzhou Hikvision Digital Technology Co., Ltd.")

    assert passwords(found) == ["host", "host-2", "range-24", "range-16", "range-8", "vendor"]
    assert [c.username for c in found] == ["admin", "viewer", "admin", "admin", "admin", "admin"]


def test_vendor_scope_needs_a_matching_vendor_word(vault: CredentialVault) -> None:
    vault.add(scope("axis"), cred("root", "pass"))

    assert passwords(vault.for_host("192.0.2.1", "AXIS")) == ["pass"]
    assert vault.for_host("192.0.2.1", None) == []
    assert vault.for_host("192.0.2.1", "Taxis Ltd") == []


def test_for_host_rejects_a_non_address(vault: CredentialVault) -> None:
    with pytest.raises(UsageError, match="expected an IP address"):
        vault.for_host("camera.local")


@pytest.mark.parametrize("username", ["", "a\nb", "x" * 257])
def test_bad_username_is_refused(vault: CredentialVault, username: str) -> None:
    with pytest.raises(UsageError, match="username"):
        vault.add(scope("192.0.2.7"), cred(username, "pw"))


def test_parallel_adds_lose_nothing(vault: CredentialVault) -> None:
    def add(i: int) -> None:
        open_vault(vault.path).add(scope(f"192.0.2.{i}"), cred("admin", f"pw-{i}"))

    threads = [threading.Thread(target=add, args=(i,)) for i in range(1, 13)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(str(e.scope) for e in vault.entries()) == sorted(
        f"192.0.2.{i}" for i in range(1, 13)
    )


# --- keys -----------------------------------------------------------------------


def test_without_keyring_a_0600_key_file_is_created_in_a_0700_dir(
    vault: CredentialVault, campatch_home: Path
) -> None:
    vault.add(scope("192.0.2.7"), cred("admin", "pw"))

    key_file = campatch_home / "vault.key"
    assert len(key_file.read_bytes()) == 32
    assert mode(key_file) == 0o600
    assert mode(campatch_home / "vault.json") == 0o600
    assert mode(campatch_home) == 0o700
    assert json.loads((campatch_home / "vault.json").read_text())["key"]["source"] == "file"


def test_working_keyring_holds_the_key_and_no_key_file_is_written(
    memory_keyring: keyring.backend.KeyringBackend, campatch_home: Path
) -> None:
    open_vault().add(scope("192.0.2.7"), cred("admin", "pw"))

    stored = memory_keyring.get_password(KEYRING_SERVICE, KEYRING_ACCOUNT)
    assert stored is not None
    assert len(base64.b64decode(stored)) == 32
    assert not (campatch_home / "vault.key").exists()
    assert passwords(open_vault().for_host("192.0.2.7")) == ["pw"]


class BrokenKeyring(keyring.backend.KeyringBackend):
    """A keyring that looks usable but fails on use (locked, D-Bus gone ...)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("locked")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.PasswordDeleteError("locked")


def test_keyring_error_falls_back_to_the_key_file(
    campatch_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keyring.set_keyring(BrokenKeyring())

    open_vault().add(scope("192.0.2.7"), cred("admin", "pw"))

    assert (campatch_home / "vault.key").exists()
    assert passwords(open_vault().for_host("192.0.2.7")) == ["pw"]
    assert "OS keyring failed (KeyringLocked); using a key file" in caplog.text


def test_vault_keyed_in_the_keyring_fails_clearly_when_the_keyring_is_gone(
    memory_keyring: keyring.backend.KeyringBackend, campatch_home: Path
) -> None:
    open_vault().add(scope("192.0.2.7"), cred("admin", "pw"))
    keyring.set_keyring(BrokenKeyring())

    with pytest.raises(
        CredentialStoreError, match=r"cannot read the vault key from the OS keyring"
    ):
        open_vault().entries()
    assert not (campatch_home / "vault.key").exists()  # no silent switch to a new key


def test_without_keyring_and_without_key_file_the_vault_is_refused(campatch_home: Path) -> None:
    with pytest.raises(CredentialStoreError, match="no usable OS keyring"):
        open_vault(allow_key_file=False).add(scope("192.0.2.7"), cred("admin", "pw"))
    assert not (campatch_home / "vault.json").exists()
    assert not (campatch_home / "vault.key").exists()


def test_key_file_readable_by_others_is_refused(
    vault: CredentialVault, campatch_home: Path
) -> None:
    vault.add(scope("192.0.2.7"), cred("admin", "pw"))
    os.chmod(campatch_home / "vault.key", 0o644)

    with pytest.raises(CredentialStoreError, match="accessible by other users"):
        vault.entries()


# --- S-01: no plaintext secrets anywhere ------------------------------------------


def _encodings(canary: str) -> list[bytes]:
    """The canary as bytes in every form a leak would likely take."""
    raw = canary.encode()
    forms = [raw, canary.encode("utf-16-le"), raw.hex().encode(), json.dumps(canary).encode()]
    for shift in range(3):  # base64 of the canary at each alignment inside a longer text
        encoded = base64.b64encode(b"\0" * shift + raw)
        first_clean_char = (shift * 8 + 5) // 6  # the first not touched by the prefix
        forms.append(encoded[first_clean_char:-4])
    return forms


def _hits(canaries: list[str], blobs: dict[str, bytes]) -> set[tuple[str, str]]:
    """(where, canary) for every blob that holds a canary in any form."""
    return {
        (where, canary)
        for canary in canaries
        for form in _encodings(canary)
        for where, blob in blobs.items()
        if form in blob
    }


def _files(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.safety("S-01")
def test_s01_grep_finds_planted_canary(tmp_path: Path) -> None:
    """The grep below is not blind: it finds a canary in each form it looks for."""
    canary = f"CANARY-{uuid.uuid4().hex}"
    for i, form in enumerate(_encodings(canary)):
        (tmp_path / f"leak{i}").write_bytes(b"prefix " + form + b" suffix")
    for shift in range(3):  # base64 of a longer plaintext holding the canary
        text = b"p" * shift + b'{"password":"' + canary.encode() + b'"}'
        (tmp_path / f"b64-{shift}").write_bytes(base64.b64encode(text))
    files = _files(tmp_path)

    assert {where for where, _ in _hits([canary], files)} == set(files)


@pytest.mark.safety("S-01")
def test_s01_no_canary_in_db_wal_shm_vault_key_dir_or_logs(
    tmp_path: Path, campatch_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    canaries = [f"CANARY-{uuid.uuid4().hex}-{i}" for i in range(20)]
    scopes = [f"198.18.{90 + i}.1" for i in range(10)] + [f"198.19.{i}.0/24" for i in range(20, 27)]
    scopes += ["hikvision", "dahua", "axis"]
    host = HostReport("198.18.90.1", DeviceClass.CAMERA, Identity())
    now = datetime.now(UTC)

    with open_store(None) as store:  # the inventory in the same data dir, WAL open
        store.record_scan(ScanResult(None, now, now, ("198.18.90.0/24",), (host,)), ["198.18.90.1"])
        vault = open_vault()
        for text, canary in zip(scopes, canaries, strict=True):
            vault.add(scope(text), cred("admin", canary))
        found = [vault.for_host(f"198.18.{90 + i}.1", "Hikvision") for i in range(10)]
        _force_an_error(vault)
        leaks = _hits(canaries, {**_files(tmp_path), "logs": caplog.text.encode()})
        modes = {p.name: mode(p) for p in campatch_home.iterdir()}

    assert leaks == set()
    assert [passwords(f)[0] for f in found] == canaries[:10]  # they were stored after all
    expected = ["inventory.db", "inventory.db-wal", "inventory.db-shm", "vault.json", "vault.key"]
    assert modes == dict.fromkeys([*expected, "vault.json.lock"], 0o600)
    assert mode(campatch_home) == 0o700


def _force_an_error(vault: CredentialVault) -> None:
    """Damage a record, hit the error, log it with its traceback, then repair."""
    original = vault.path.read_bytes()
    data = json.loads(original)
    data["records"][0]["ciphertext"] = _flip_b64(data["records"][0]["ciphertext"], 0)
    vault.path.write_bytes(_canonical(data))
    try:
        vault.for_host("198.18.90.1")
    except CredentialStoreError:
        logging.getLogger("campatch.test").exception("vault failed")
    vault.path.write_bytes(original)


@pytest.mark.safety("S-01")
def test_s01_repr_str_and_errors_never_show_a_password(vault: CredentialVault) -> None:
    canary = f"CANARY-{uuid.uuid4().hex}"
    credential = cred("admin", canary)
    vault.add(scope("192.0.2.7"), credential)
    (found,) = vault.for_host("192.0.2.7")
    objects: list[object] = [credential, found, found.password, vault, *vault.entries()]

    texts = [f(o) for o in objects for f in (repr, str)]
    texts += [repr(vault.for_host("192.0.2.7")), repr(vault.entries())]
    data = json.loads(vault.path.read_bytes())
    data["records"][0]["username"] = "root"
    vault.path.write_bytes(_canonical(data))
    with pytest.raises(CredentialStoreError) as caught:
        vault.for_host("192.0.2.7")
    texts.append("".join(traceback.format_exception(caught.value)))

    assert found.password.reveal() == canary
    assert [t for t in texts if canary in t] == []


# --- S-02: vault integrity ------------------------------------------------------


def _canonical(data: object) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def _flip_b64(text: str, index: int) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[index] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


@pytest.fixture
def filled(vault: CredentialVault) -> CredentialVault:
    vault.add(scope("192.0.2.7"), cred("admin", "first-password"))
    vault.add(scope("192.0.2.0/24"), cred("operator", "second-password"))
    vault.add(scope("hikvision"), cred("admin", "third-password"))
    return vault


@pytest.mark.safety("S-02")
@pytest.mark.parametrize("record", [0, 1, 2])
def test_s02_flipped_ciphertext_byte_fails_that_record_and_opens_nothing(
    filled: CredentialVault, record: int
) -> None:
    data = json.loads(filled.path.read_bytes())
    length = len(base64.b64decode(data["records"][record]["ciphertext"]))
    for index in (0, length // 2, length - 1):  # password bytes and the tag
        tampered = json.loads(filled.path.read_bytes())
        tampered["records"][record]["ciphertext"] = _flip_b64(
            data["records"][record]["ciphertext"], index
        )
        filled.path.write_bytes(_canonical(tampered))

        with pytest.raises(CredentialStoreError, match=rf"record {record + 1} .*authentication"):
            filled.for_host("192.0.2.7", "hikvision")
        with pytest.raises(CredentialStoreError):
            filled.entries()


@pytest.mark.safety("S-02")
def test_s02_every_flipped_bit_of_the_vault_file_is_detected(filled: CredentialVault) -> None:
    original = filled.path.read_bytes()
    undetected = []
    for index in range(len(original)):
        for mask in (0x01, 0x20, 0x80):
            damaged = bytearray(original)
            damaged[index] ^= mask
            filled.path.write_bytes(bytes(damaged))
            try:
                filled.for_host("192.0.2.7", "hikvision")
            except CredentialStoreError:
                continue
            undetected.append((index, mask))

    assert undetected == []
    filled.path.write_bytes(original)
    assert len(filled.for_host("192.0.2.7", "hikvision")) == 3


@pytest.mark.safety("S-02")
def test_s02_ciphertext_moved_to_another_scope_fails(filled: CredentialVault) -> None:
    data = json.loads(filled.path.read_bytes())
    first, second = data["records"][0], data["records"][1]
    first["nonce"], second["nonce"] = second["nonce"], first["nonce"]
    first["ciphertext"], second["ciphertext"] = second["ciphertext"], first["ciphertext"]
    filled.path.write_bytes(_canonical(data))

    with pytest.raises(CredentialStoreError, match=r"record 1 .*authentication"):
        filled.for_host("192.0.2.7")


@pytest.mark.safety("S-02")
def test_s02_wrong_key_fails(filled: CredentialVault, campatch_home: Path) -> None:
    key_file = campatch_home / "vault.key"
    key_file.write_bytes(os.urandom(32))

    with pytest.raises(CredentialStoreError, match="sealed with another key"):
        filled.entries()


@pytest.mark.safety("S-02")
def test_s02_wrong_key_fails_per_record_even_with_a_forged_key_id(
    filled: CredentialVault, campatch_home: Path
) -> None:
    from campatch.inventory._vault_keys import key_id

    wrong = os.urandom(32)
    (campatch_home / "vault.key").write_bytes(wrong)
    data = json.loads(filled.path.read_bytes())
    data["key"]["id"] = key_id(wrong)
    filled.path.write_bytes(_canonical(data))

    with pytest.raises(CredentialStoreError, match=r"record 1 .*authentication"):
        filled.for_host("192.0.2.7")


@pytest.mark.safety("S-02")
def test_s02_truncated_vault_fails(filled: CredentialVault) -> None:
    original = filled.path.read_bytes()
    for length in (0, 1, len(original) // 3, len(original) // 2, len(original) - 2):
        filled.path.write_bytes(original[:length])

        with pytest.raises(CredentialStoreError, match="is damaged"):
            filled.entries()


@pytest.mark.safety("S-02")
def test_s02_truncated_key_file_fails(filled: CredentialVault, campatch_home: Path) -> None:
    key_file = campatch_home / "vault.key"
    key_file.write_bytes(key_file.read_bytes()[:31])

    with pytest.raises(CredentialStoreError, match=r"key file .* is damaged: 31 bytes"):
        filled.entries()


@pytest.mark.safety("S-02")
@pytest.mark.parametrize("failing", ["tempfile.mkstemp", "os.fsync", "os.replace"])
def test_s02_failed_save_leaves_the_old_vault_intact(
    filled: CredentialVault, monkeypatch: pytest.MonkeyPatch, campatch_home: Path, failing: str
) -> None:
    original = filled.path.read_bytes()

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(failing, disk_full)

    with pytest.raises(CredentialStoreError, match="previous vault is unchanged"):
        filled.add(scope("192.0.2.1"), cred("admin", "new-password"))
    with pytest.raises(CredentialStoreError, match="previous vault is unchanged"):
        filled.remove(scope("192.0.2.7"))
    monkeypatch.undo()

    assert filled.path.read_bytes() == original
    assert sorted(p.name for p in campatch_home.iterdir()) == [
        "vault.json",
        "vault.json.lock",
        "vault.key",
    ]  # no temporary file left behind
    assert len(filled.entries()) == 3


@pytest.mark.safety("S-02")
def test_s02_newer_vault_version_is_refused_not_rewritten(filled: CredentialVault) -> None:
    data = json.loads(filled.path.read_bytes())
    data["version"] = 2
    filled.path.write_bytes(_canonical(data))
    before = filled.path.read_bytes()

    with pytest.raises(CredentialStoreError, match="version 2, this campatch reads version 1"):
        filled.add(scope("192.0.2.1"), cred("admin", "pw"))
    assert filled.path.read_bytes() == before


def test_added_at_is_utc_and_recent(vault: CredentialVault) -> None:
    vault.add(scope("192.0.2.7"), cred("admin", "pw"))

    (entry,) = vault.entries()

    assert entry.added_at.tzinfo is not None
    assert datetime.now(UTC) - entry.added_at < timedelta(minutes=1)


@pytest.mark.safety("S-02")
def test_s02_vault_not_in_the_exact_written_form_is_refused(filled: CredentialVault) -> None:
    """Same content, other bytes (a hand edit, another JSON writer): refused, not guessed."""
    filled.path.write_text(json.dumps(json.loads(filled.path.read_bytes()), indent=2))

    with pytest.raises(CredentialStoreError, match="not in the form campatch writes"):
        filled.entries()


def test_snapshot_answers_like_the_vault_without_rereading_it(tmp_path: Path) -> None:
    vault = open_vault(tmp_path / "vault.json", key_file=tmp_path / "vault.key", use_keyring=False)
    vault.add("127.0.0.7", Credential("admin", Secret("host-pw")))
    vault.add("127.0.0.0/24", Credential("admin", Secret("range-pw")))
    vault.add("hikvision", Credential("admin", Secret("vendor-pw")))
    snapshot = vault.snapshot()
    (tmp_path / "vault.json").unlink()  # the snapshot no longer needs the file
    assert snapshot.for_host("127.0.0.7", "Hikvision") == [
        Credential("admin", Secret("host-pw")),
        Credential("admin", Secret("range-pw")),
        Credential("admin", Secret("vendor-pw")),
    ]
    assert "pw" not in repr(snapshot)
