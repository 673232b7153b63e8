"""One process at a time per upgrade job, among all processes that use the database.

Two processes driving one job would upload the same image twice. So ``campatch patch``
holds the job's lock for as long as it runs the job
(:meth:`~campatch.inventory.jobs.SqlJobStore.exclusive`). Both kinds of lock die with
their process, so a SIGKILLed run never blocks the next ``--resume``:

- **SQLite file**: ``flock`` on ``<database>.job-<id>.lock`` beside the database. This
  covers every process on the machine, which is every process that can use the file.
- **PostgreSQL**: a session-level advisory lock, ``pg_try_advisory_lock(schema key,
  job id)``, held on its own connection. This covers processes on every host that use
  the database. The schema key is a hash of ``current_schema()``, so inventories in
  different schemas of one database do not share job ids. A hash collision could
  only refuse a run, never let two through.
- **Other SQLite databases** (in memory, or ``file:`` URIs with no plain path): a lock
  file in campatch's data directory, which covers this machine.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from campatch.errors import InventoryError, JobBusyError

__all__ = ["file_lock", "postgres_lock"]

_PG_LOCK = text("SELECT pg_try_advisory_lock(hashtext('campatch-job:' || current_schema()), :job)")
_PG_UNLOCK = text("SELECT pg_advisory_unlock(hashtext('campatch-job:' || current_schema()), :job)")


def _busy(job_id: int) -> JobBusyError:
    return JobBusyError(f"job {job_id} is being run by another campatch process")


@contextlib.contextmanager
def file_lock(path: Path, job_id: int) -> Iterator[None]:
    """Hold ``flock`` on ``path`` (created 0600) while the block runs.

    Raises:
        JobBusyError: another process holds it.
        InventoryError: the lock file cannot be created.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as err:
        raise InventoryError(f"cannot lock job {job_id}: {path}: {err.strerror}") from err
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise _busy(job_id) from err
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def postgres_lock(engine: Engine, job_id: int, shown: str) -> Iterator[None]:
    """Hold the job's advisory lock on a connection of its own while the block runs.

    Args:
        engine: the inventory's engine (PostgreSQL).
        job_id: the job.
        shown: the database URL without password, for messages.

    Raises:
        JobBusyError: another session holds it.
        InventoryError: the database cannot be reached.
    """
    try:
        connection = engine.connect()
    except SQLAlchemyError as err:
        raise InventoryError(f"inventory {shown}: cannot lock job {job_id}") from err
    with contextlib.closing(connection):
        try:
            got = connection.execute(_PG_LOCK, {"job": job_id}).scalar()
            connection.commit()  # the lock is the session's: no transaction stays open
        except SQLAlchemyError as err:
            raise InventoryError(f"inventory {shown}: cannot lock job {job_id}") from err
        if not got:
            raise _busy(job_id)
        try:
            yield
        finally:
            try:
                connection.execute(_PG_UNLOCK, {"job": job_id})
                connection.commit()
            except SQLAlchemyError:  # close the session itself: that drops its locks
                connection.invalidate()
