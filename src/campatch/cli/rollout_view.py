"""How a rollout looks to the owner: live progress, the end summary, and JSON.

Shared by ``campatch patch`` (while it runs) and ``campatch jobs`` (afterwards).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from campatch.cli._output import stderr, stdout
from campatch.patch.jobs import DeviceJob, Job, JobEvent, Step

#: Version of the ``campatch-rollout`` JSON document.
ROLLOUT_FORMAT_VERSION = 1

_STYLE = {
    Step.SUCCESS: "green",
    Step.ROLLED_BACK: "red",
    Step.DEGRADED: "red",
    Step.UNREACHABLE_AFTER_UPGRADE: "red",
    Step.FAILED_SAFE: "yellow",
    Step.NEEDS_OPERATOR: "red",
}


class LiveProgress:
    """A :class:`~campatch.patch.apply.StepListener` drawing one line per device on
    stderr: its step, and a byte bar while its image is uploading. Use as a context
    manager; ``enabled=False`` draws nothing (JSON output, scripts)."""

    def __init__(self, enabled: bool = True) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
            TimeElapsedColumn(), console=stderr, disable=not enabled,
        )  # fmt: skip
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> LiveProgress:
        self._progress.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.__exit__(exc_type, exc, tb)

    def _task(self, record: DeviceJob) -> TaskID:
        if record.device_key not in self._tasks:
            self._tasks[record.device_key] = self._progress.add_task(_line(record), total=None)
        return self._tasks[record.device_key]

    def stepped(self, record: DeviceJob) -> None:
        """A device moved to another step."""
        task = self._task(record)
        self._progress.update(task, description=_line(record))
        if record.step.terminal:
            self._progress.update(task, total=1, completed=1)

    def uploaded(self, record: DeviceJob, sent: int, total: int) -> None:
        """Upload progress of a device."""
        self._progress.update(self._task(record), completed=sent, total=total)


def _line(record: DeviceJob) -> str:
    where = f"{record.address:<15} {record.name[:28]:<28}"
    return f"{where} {record.step!s:<25}"


def print_devices(job: Job, records: Sequence[DeviceJob]) -> None:
    """The job's devices, one row each: where each ended and why."""
    table = Table(title=f"Job {job.id}: {job.state}" + (f" ({job.reason})" if job.reason else ""),
                  title_justify="left", show_lines=True)  # fmt: skip
    for column in ("wave", "device", "from", "to", "result", "uploads", "detail"):
        table.add_column(column)
    for r in records:
        table.add_row(
            "canary" if r.wave == 0 else str(r.wave),
            Text(f"{r.address}\n{r.name}"),
            Text(r.from_version),
            Text(" -> ".join(r.path)),
            Text(str(r.step), style=_STYLE.get(r.step, "")),
            str(r.uploads),
            Text(r.detail),
        )
    stdout.print(table)
    done = sum(1 for r in records if r.step is Step.SUCCESS)
    stdout.print(f"{done} of {len(records)} device(s) upgraded and verified.", markup=False)


def print_jobs(jobs: Sequence[Job], counts: Mapping[int, Mapping[Step, int]]) -> None:
    """One row per job, newest first."""
    table = Table(title="Upgrade jobs", title_justify="left")
    for column in ("job", "state", "created (UTC)", "devices", "reason"):
        table.add_column(column)
    for job in jobs:
        steps = counts.get(job.id, {})
        summary = ", ".join(f"{n} {s}" for s, n in sorted(steps.items(), key=lambda i: str(i[0])))
        table.add_row(str(job.id), str(job.state), f"{job.created_at:%Y-%m-%d %H:%M}",
                      Text(summary), Text(job.reason))  # fmt: skip
    stdout.print(table)


def rollout_to_dict(
    job: Job, records: Sequence[DeviceJob], events: Sequence[JobEvent] = ()
) -> dict[str, Any]:
    """The job as the versioned ``campatch-rollout`` JSON document."""
    doc: dict[str, Any] = {
        "format": "campatch-rollout",
        "version": ROLLOUT_FORMAT_VERSION,
        "job": {
            "id": job.id,
            "state": str(job.state),
            "reason": job.reason,
            "created_at": job.created_at.isoformat(),
            "updated_at": job.updated_at.isoformat(),
            "settings": dict(job.settings),
        },
        "devices": [_device(r) for r in records],
    }
    if events:
        doc["events"] = [
            {"at": e.at.isoformat(), "device": e.device_key, "step": e.step, "detail": e.detail}
            for e in events
        ]
    return doc


def _device(r: DeviceJob) -> dict[str, Any]:
    return {
        "key": r.device_key,
        "address": r.address,
        "name": r.name,
        "driver": r.driver,
        "wave": r.wave,
        "from": r.from_version,
        "path": list(r.path),
        "images": list(r.images),
        "result": str(r.step),
        "done": r.step is Step.SUCCESS,
        "uploads": r.uploads,
        "detail": r.detail,
        "updated_at": r.updated_at.isoformat() if r.updated_at else None,
    }
