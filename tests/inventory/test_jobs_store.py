"""Upgrade jobs in the inventory (SQLite and PostgreSQL): round trips, transitions, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from campatch.errors import InventoryError
from campatch.inventory import SqlInventoryStore, open_store
from campatch.inventory.jobs import SqlJobStore
from campatch.patch.jobs import DeviceJob, DeviceUpdate, JobState, JobStore, Step

SETTINGS = {"waves": [1, 0.1, 0.5, 1.0], "canary_success": 1.0, "window": None}


def device(key: str, address: str, wave: int = 1, step: Step = Step.PENDING) -> DeviceJob:
    return DeviceJob(
        job_id=0,
        device_key=key,
        address=address,
        name="Hikvision DS-2CD2143G2-I",
        driver="hikvision",
        wave=wave,
        from_version="V5.7.3 build 220112",
        path=("V5.7.10", "V5.7.15"),
        images=("a" * 64, "b" * 64),
        step=step,
    )


FLEET = [
    device("mac:aa:00:00:00:00:10", "192.0.2.10"),
    device("mac:aa:00:00:00:00:09", "192.0.2.9"),
    device("mac:aa:00:00:00:00:01", "192.0.2.1", wave=0),
]


def test_store_exposes_a_job_store_that_satisfies_the_protocol(
    store: SqlInventoryStore,
) -> None:
    jobs: JobStore = store.jobs()  # mypy checks the assignment
    assert isinstance(jobs, SqlJobStore)
    assert jobs.jobs() == []


def test_created_job_round_trips_with_devices_by_wave_then_address(
    store: SqlInventoryStore,
) -> None:
    jobs = store.jobs()
    job = jobs.create_job(SETTINGS, FLEET)

    assert job.state is JobState.RUNNING
    assert job.reason == ""
    assert jobs.job(job.id) == job
    assert dict(job.settings) == SETTINGS
    listed = jobs.device_jobs(job.id)
    assert [d.address for d in listed] == ["192.0.2.1", "192.0.2.9", "192.0.2.10"]
    first = listed[0]
    assert first.job_id == job.id
    assert first.path == ("V5.7.10", "V5.7.15")
    assert first.images == ("a" * 64, "b" * 64)
    assert first.target == "V5.7.15"
    assert first.step is Step.PENDING
    assert first.updated_at is not None
    assert first.updated_at.tzinfo is not None


def test_creation_writes_one_event_for_the_job_and_one_per_device(
    store: SqlInventoryStore,
) -> None:
    jobs = store.jobs()
    job = jobs.create_job(SETTINGS, FLEET)

    events = jobs.events(job.id)
    assert [(e.device_key, e.step) for e in events] == [
        ("", "running"),
        *((d.device_key, "pending") for d in FLEET),
    ]
    assert [e.seq for e in events] == sorted(e.seq for e in events)


def test_update_device_changes_the_row_and_appends_its_event(store: SqlInventoryStore) -> None:
    jobs = store.jobs()
    job = jobs.create_job(SETTINGS, FLEET)
    key = FLEET[0].device_key

    jobs.update_device(job.id, key, DeviceUpdate(Step.PREFLIGHT, "checking model"))
    after = jobs.update_device(
        job.id, key,
        DeviceUpdate(Step.UPLOADING, "sending V5.7.10", path_index=0, add_uploads=1, attempts=1,
                     address="192.0.2.77"),
    )  # fmt: skip

    assert after.step is Step.UPLOADING
    assert (after.uploads, after.attempts, after.address) == (1, 1, "192.0.2.77")
    assert after.detail == "sending V5.7.10"
    stored = next(d for d in jobs.device_jobs(job.id) if d.device_key == key)
    assert stored == after
    mine = [(e.step, e.detail) for e in jobs.events(job.id) if e.device_key == key]
    assert mine == [
        ("pending", ""),
        ("preflight", "checking model"),
        ("uploading", "sending V5.7.10"),
    ]


def test_none_fields_of_an_update_keep_their_values(store: SqlInventoryStore) -> None:
    jobs = store.jobs()
    job = jobs.create_job(SETTINGS, FLEET)
    key = FLEET[0].device_key
    jobs.update_device(job.id, key, DeviceUpdate(Step.UPLOADING, path_index=1, attempts=2))

    after = jobs.update_device(job.id, key, DeviceUpdate(Step.REBOOTING, add_uploads=1))

    assert (after.path_index, after.attempts, after.uploads) == (1, 2, 1)
    assert after.address == FLEET[0].address


@pytest.mark.parametrize(
    ("job_id", "key", "message"),
    [
        (999, "mac:aa:00:00:00:00:10", "no job 999"),
        (None, "mac:ff:ff:ff:ff:ff:ff", "has no device 'mac:ff:ff:ff:ff:ff:ff'"),
    ],
)
def test_update_of_unknown_job_or_device_is_one_line_and_writes_nothing(
    store: SqlInventoryStore, job_id: int | None, key: str, message: str
) -> None:
    jobs = store.jobs()
    job = jobs.create_job(SETTINGS, FLEET)
    before = jobs.events(job.id)

    with pytest.raises(InventoryError, match=message) as caught:
        jobs.update_device(job_id or job.id, key, DeviceUpdate(Step.UPLOADING))

    assert "\n" not in str(caught.value)
    assert jobs.events(job.id) == before


def test_path_index_outside_the_path_is_refused_and_nothing_written(
    store: SqlInventoryStore,
) -> None:
    jobs = store.jobs()
    job = jobs.create_job(SETTINGS, FLEET)
    key = FLEET[0].device_key

    with pytest.raises(InventoryError, match="path_index 2 outside"):
        jobs.update_device(job.id, key, DeviceUpdate(Step.UPLOADING, path_index=2))

    assert next(d for d in jobs.device_jobs(job.id) if d.device_key == key).step is Step.PENDING
    assert len(jobs.events(job.id)) == 1 + len(FLEET)


def test_job_state_changes_with_a_job_level_event(store: SqlInventoryStore) -> None:
    jobs = store.jobs()
    job = jobs.create_job(SETTINGS, FLEET)

    halted = jobs.set_job_state(job.id, JobState.HALTED, "canary failed: rolled back")

    assert halted.state is JobState.HALTED
    assert halted.reason == "canary failed: rolled back"
    assert halted.updated_at >= job.updated_at
    assert jobs.job(job.id) == halted
    last = jobs.events(job.id)[-1]
    assert (last.device_key, last.step, last.detail) == ("", "halted", halted.reason)
    with pytest.raises(InventoryError, match="no job 12345"):
        jobs.set_job_state(12345, JobState.DONE)


def test_jobs_are_listed_newest_first(store: SqlInventoryStore) -> None:
    jobs = store.jobs()
    ids = [jobs.create_job({"n": i}, FLEET[:1]).id for i in range(3)]

    assert [j.id for j in jobs.jobs()] == ids[::-1]
    assert [j.id for j in jobs.jobs(limit=2)] == ids[:0:-1]
    assert jobs.job(max(ids) + 1) is None


def test_active_device_jobs_are_the_unfinished_ones(store: SqlInventoryStore) -> None:
    jobs = store.jobs()
    key = FLEET[0].device_key
    done = jobs.create_job(SETTINGS, FLEET)
    jobs.set_job_state(done.id, JobState.DONE)
    finished = jobs.create_job(SETTINGS, FLEET)
    jobs.update_device(finished.id, key, DeviceUpdate(Step.SUCCESS, "on V5.7.15"))
    running = jobs.create_job(SETTINGS, FLEET)
    jobs.update_device(running.id, key, DeviceUpdate(Step.REBOOTING))
    paused = jobs.create_job(SETTINGS, FLEET)
    jobs.set_job_state(paused.id, JobState.PAUSED, "pause after wave")

    active = jobs.active_device_jobs(key)

    assert [(d.job_id, d.step) for d in active] == [
        (running.id, Step.REBOOTING),
        (paused.id, Step.PENDING),
    ]
    assert jobs.active_device_jobs("mac:not:in:any:job") == []


def test_a_device_twice_in_one_job_is_refused_and_no_job_is_stored(
    store: SqlInventoryStore,
) -> None:
    jobs = store.jobs()

    with pytest.raises(InventoryError, match="cannot create job"):
        jobs.create_job(SETTINGS, [FLEET[0], FLEET[0]])

    assert jobs.jobs() == []


def test_hostile_strings_are_stored_and_read_back(store: SqlInventoryStore) -> None:
    jobs = store.jobs()
    odd = device("mac:aa:00:00:00:00:42", "192.0.2.42")
    job = jobs.create_job(SETTINGS, [odd])

    detail = "device said: \x00\x1b[31mRED\x1b[0m ' OR 1=1 -- \ud800 ö"
    after = jobs.update_device(job.id, odd.device_key, DeviceUpdate(Step.NEEDS_OPERATOR, detail))

    assert "\x00" not in after.detail
    assert "\x1b[31mRED" in after.detail
    assert jobs.device_jobs(job.id)[0].detail == after.detail


def test_jobs_survive_reopening_the_database(db_url: str) -> None:
    with open_store(db_url) as store:
        jobs = store.jobs()
        job = jobs.create_job(SETTINGS, FLEET)
        jobs.update_device(job.id, FLEET[1].device_key, DeviceUpdate(Step.VERIFYING))
    with open_store(db_url) as store:
        jobs = store.jobs()
        assert jobs.job(job.id) == job
        steps = {d.device_key: d.step for d in jobs.device_jobs(job.id)}
        assert steps[FLEET[1].device_key] is Step.VERIFYING


def test_frozen_clock_stamps_rows_and_events(store: SqlInventoryStore) -> None:
    t0 = datetime(2025, 3, 1, 2, 30, tzinfo=UTC)
    ticks = iter(t0 + timedelta(minutes=i) for i in range(10))
    jobs = SqlJobStore(store._session, store._job_lock, clock=lambda: next(ticks))
    job = jobs.create_job(SETTINGS, FLEET[:1])

    moved = jobs.update_device(job.id, FLEET[0].device_key, DeviceUpdate(Step.PREFLIGHT))

    assert job.created_at == t0
    assert moved.updated_at == t0 + timedelta(minutes=1)
    assert [e.at for e in jobs.events(job.id)] == [t0, t0, t0 + timedelta(minutes=1)]


def test_closed_store_refuses_job_calls() -> None:
    store = open_store("sqlite://")
    jobs = store.jobs()
    store.close()

    with pytest.raises(InventoryError, match="store is closed"):
        jobs.jobs()
