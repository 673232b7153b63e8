"""One process per upgrade job, among all processes that use the database.

A second process that tries to drive a running job is refused (on SQLite through a
lock file beside the database, on PostgreSQL through an advisory lock that processes
on other hosts see too). The lock dies with its holder, so a SIGKILLed run never
blocks the next ``--resume``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from campatch.errors import JobBusyError
from campatch.inventory import SqlInventoryStore, open_store

HOLD = """
import sys, time
from campatch.inventory import open_store
with open_store(sys.argv[1]) as store, store.jobs().exclusive(int(sys.argv[2])):
    print("held", flush=True)
    time.sleep(120)
"""


@contextmanager
def held_elsewhere(url: str, job_id: int) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the job's lock until it is killed (SIGKILL, no cleanup)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, url, str(job_id)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait(timeout=10)
        if holder.stdout is not None:
            holder.stdout.close()


def test_a_job_held_by_another_process_is_refused_until_that_process_dies(
    db_url: str, store: SqlInventoryStore
) -> None:
    jobs = store.jobs()
    with held_elsewhere(db_url, 7) as holder:
        busy = pytest.raises(JobBusyError, match="job 7 is being run by another campatch process")
        with busy, jobs.exclusive(7):
            pytest.fail("two processes held one job")
        with jobs.exclusive(8):  # other jobs are free
            pass
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
    with (
        jobs.exclusive(7),  # the killed holder's lock died with it
        pytest.raises(JobBusyError),
        open_store(db_url) as other,
        other.jobs().exclusive(7),
    ):
        pytest.fail("the lock was not held")


def test_the_lock_is_released_when_the_block_ends_or_raises(store: SqlInventoryStore) -> None:
    jobs = store.jobs()
    with pytest.raises(RuntimeError), jobs.exclusive(3):
        raise RuntimeError("the run failed")
    with jobs.exclusive(3):
        pass


def test_sqlite_locks_beside_the_database_so_every_data_directory_sees_it(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with open_store(url) as store, store.jobs().exclusive(5):
        assert (tmp_path / "shared.db.job-5.lock").exists()


def test_postgresql_inventories_in_other_schemas_do_not_share_job_ids(
    pg_url: str, pg_user: str
) -> None:
    schema = f"campatch_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(host="127.0.0.1", dbname="test", user=pg_user, autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"'.encode())
    try:
        other_url = pg_url.rsplit("%3D", 1)[0] + f"%3D{schema}"
        with (
            open_store(pg_url) as first,
            open_store(other_url) as second,
            first.jobs().exclusive(1),
            second.jobs().exclusive(1),
        ):
            pass
    finally:
        with psycopg.connect(host="127.0.0.1", dbname="test", user=pg_user, autocommit=True) as c:
            c.execute(f'DROP SCHEMA "{schema}" CASCADE'.encode())
