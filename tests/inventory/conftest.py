"""Fixtures for the inventory and the credential vault.

PostgreSQL is the one at 127.0.0.1:5432 (trust auth, database ``test``). Each test
gets its own schema (``campatch_test_<random>``) through the URL's ``search_path``,
dropped afterwards, so parallel runs never see each other's tables. Without a
reachable server the PostgreSQL cases skip, except under ``CI``, where they fail.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import psycopg
import pytest
from keyring.backends import fail

from campatch.inventory import SqlInventoryStore, open_store
from support import require_service

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_DATABASE = "test"
PG_USERS = ("postgres", "root")


def _pg_connect(user: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host=PG_HOST, port=PG_PORT, dbname=PG_DATABASE, user=user, connect_timeout=3,
        autocommit=True,
    )  # fmt: skip


@pytest.fixture(scope="session")
def pg_user() -> str | None:
    """The first of postgres/root that can log in, or None if the server is unreachable."""
    for user in PG_USERS:
        try:
            with _pg_connect(user):
                return user
        except psycopg.OperationalError:
            continue
    return None


@pytest.fixture
def pg_url(pg_user: str | None) -> Iterator[str]:
    """A SQLAlchemy URL whose tables land in a fresh schema, dropped after the test."""
    require_service(pg_user is not None, f"PostgreSQL at {PG_HOST}:{PG_PORT}/{PG_DATABASE}")
    assert pg_user is not None
    schema = f"campatch_test_{uuid.uuid4().hex[:12]}"
    with _pg_connect(pg_user) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"'.encode())
    try:
        yield (
            f"postgresql+psycopg://{pg_user}@{PG_HOST}:{PG_PORT}/{PG_DATABASE}"
            f"?options=-csearch_path%3D{schema}"
        )
    finally:
        with _pg_connect(pg_user) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE'.encode())


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The inventory URL, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'inventory.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[SqlInventoryStore]:
    """An open, migrated store, closed after the test."""
    with open_store(db_url) as s:
        yield s


@pytest.fixture(autouse=True)
def campatch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``config.data_dir()`` inside the test's tmp_path (never the user's real one)."""
    home = tmp_path / "home"
    monkeypatch.setenv("CAMPATCH_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def no_os_keyring() -> Iterator[None]:
    """keyring's fail backend, so no test touches the real OS keyring."""
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        keyring.set_keyring(before)


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A working keyring backend that keeps passwords in a dict."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.items[(service, username)]


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    """Install a working in-memory keyring for this test."""
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend
