"""``campatch patch`` without ``--plan``: start or resume a rollout.

One process drives one job at a time, among all processes that use the inventory
(``JobStore.exclusive``: a lock file beside SQLite, an advisory lock in PostgreSQL,
see :mod:`campatch.inventory.job_lock`). A second ``--resume`` of a running job is
refused; the lock dies with its process, so a SIGKILLed run never blocks the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Sequence

import typer

from campatch import config
from campatch.cli._common import inventory, video_devices
from campatch.cli._output import ExitCode, fatal, stderr, stdout
from campatch.cli.plan_view import print_plan
from campatch.cli.rollout_view import LiveProgress, print_devices, rollout_to_dict
from campatch.cli.scan import scan_and_assess
from campatch.config import Limits, PortMap, Settings
from campatch.inventory.credentials import VaultSnapshot, open_vault
from campatch.inventory.interface import InventoryStore
from campatch.inventory.journal import actor_for
from campatch.knowledge.store import KnowledgeStore
from campatch.patch.firmware_store import FirmwareStore
from campatch.patch.jobs import Job, JobState, JobStore, Journal, Step
from campatch.patch.launch import create_job, run_job
from campatch.patch.plan import Strategy
from campatch.patch.planner import plan_upgrades
from campatch.patch.rollout import RolloutSettings, assign_waves


class RolloutRun:
    """Start or resume a rollout from the CLI (prompts, locks, output, exit code).

    Args:
        db: inventory URL (None: the default SQLite file).
        port_map: where devices' low ports really listen.
        json_out: print the ``campatch-rollout`` JSON instead of tables.
    """

    def __init__(self, db: str | None, port_map: PortMap, json_out: bool) -> None:
        self.db = db
        self.port_map = port_map
        self.json_out = json_out

    def start(
        self,
        targets: Sequence[str],
        strategy: Strategy,
        version: str | None,
        settings: RolloutSettings,
        *,
        yes: bool,
        dry_run: bool,
    ) -> None:
        """Plan, show, confirm, store the job and run it."""
        store = inventory(self.db)
        with contextlib.closing(store):
            devices = video_devices(store, targets)
            images = FirmwareStore()
            listing = images.listing()  # one read: the plan and the job see the same store
            plan = plan_upgrades(devices, KnowledgeStore().load(), strategy=strategy,
                                 version=version, allow_downgrade=settings.apply.allow_downgrade,
                                 allow_reinstall=settings.apply.allow_reinstall,
                                 firmware_store=listing)  # fmt: skip
            if not self.json_out:
                print_plan(plan)
            if not plan.ready:
                self._nothing(dry_run)
                return
            if dry_run:
                self._show_waves(plan.ready, settings)
                return
            self._confirm(len(plan.ready), yes)
            journal = store.journal(actor_for("patch"))
            self._journal_overrides(journal, settings)
            job, excluded = create_job(plan, devices, store.jobs(), listing, settings)
            for e in excluded:
                stderr.print(f"campatch: {e.address}: left out: {e.reason}", markup=False)
            if job is None:
                fatal("no device is left to upgrade", "see the reasons above")
            journal.append("rollout-start", "started", detail={"job": job.id})
            with store.jobs().exclusive(job.id):
                self._run(store, job, journal, images)

    def resume(self, job_id: int | None) -> None:
        """Continue an unfinished job (explicit operator action: journalled)."""
        store = inventory(self.db)
        with contextlib.closing(store):
            jobs = store.jobs()
            chosen = _resumable(jobs, job_id)
            with jobs.exclusive(chosen.id):
                job = _resumable(jobs, chosen.id)  # another process may have ended it
                journal = store.journal(actor_for("patch"))
                journal.append("rollout-resume", str(job.state),
                               detail={"job": job.id, "was": job.reason})  # fmt: skip
                job = jobs.set_job_state(job.id, JobState.RUNNING, "")
                self._run(store, job, journal, FirmwareStore())

    # --- the run ---------------------------------------------------------------------

    def _run(
        self, store: InventoryStore, job: Job, journal: Journal, images: FirmwareStore
    ) -> None:
        """Run ``job`` (the caller holds its lock), refresh the inventory, print, exit."""
        jobs = store.jobs()
        logins = open_vault().snapshot()  # decrypted once for the rollout and the re-scan
        live = LiveProgress(enabled=not self.json_out and sys.stderr.isatty())
        with live:
            job = asyncio.run(run_job(
                job, jobs, credentials=logins, images=images,
                limits=Limits(), port_map=self.port_map, journal=journal,
                listener=live, backup_dir=config.data_dir() / "backups",
            ))  # fmt: skip
        records = jobs.device_jobs(job.id)
        self._refresh_inventory(store, [r.address for r in records if r.uploads], logins)
        if self.json_out:
            sys.stdout.write(json.dumps(rollout_to_dict(job, records), indent=2) + "\n")
        else:
            print_devices(job, records)
            if job.state is not JobState.DONE:
                stdout.print(f"Job {job.id} stopped: {job.reason}", markup=False)
        complete = job.state is JobState.DONE and all(r.step is Step.SUCCESS for r in records)
        raise typer.Exit(ExitCode.CLEAN if complete else ExitCode.FINDINGS)

    def _refresh_inventory(
        self, store: InventoryStore, addresses: list[str], logins: VaultSnapshot
    ) -> None:
        """Identify the devices that were sent an image again, so the inventory (and the
        next plan) records what they run now."""
        if not addresses:
            return
        stderr.print(f"recording the firmware of {len(addresses)} device(s) in the inventory",
                     markup=False)  # fmt: skip
        asyncio.run(scan_and_assess(addresses, settings=Settings(port_map=self.port_map),
                                    credentials=logins, store=store,
                                    audit=False, multicast=False))  # fmt: skip

    def _confirm(self, count: int, yes: bool) -> None:
        if yes:
            return
        if not sys.stdin.isatty():
            fatal("not starting a rollout without confirmation",
                  "run it in a terminal, or add --yes to confirm in a script")  # fmt: skip
        if not typer.confirm(f"Upgrade {count} device(s) as planned above?", default=False):
            fatal("rollout cancelled; nothing was changed")

    def _nothing(self, dry_run: bool) -> None:
        if self.json_out:
            sys.stdout.write(json.dumps({"format": "campatch-rollout", "version": 1,
                                         "job": None, "devices": []}, indent=2) + "\n")  # fmt: skip
        else:
            verb = "would be" if dry_run else "is"
            stdout.print(f"Nothing {verb} upgraded: no device is ready (reasons above).")

    def _show_waves(self, ready: Sequence[object], settings: RolloutSettings) -> None:
        waves = assign_waves(len(ready), settings)
        sizes = [waves.count(w) for w in sorted(set(waves))]
        names = ["canary" if i == 0 else f"wave {i}" for i in range(len(sizes))]
        text = ", ".join(f"{n}: {s}" for n, s in zip(names, sizes, strict=True))
        if self.json_out:
            sys.stdout.write(json.dumps({"format": "campatch-rollout", "version": 1,
                                         "dry_run": True, "waves": sizes}, indent=2) + "\n")  # fmt: skip
            return
        stdout.print(f"Dry run: {len(ready)} device(s) in {text}; nothing was changed.",
                     markup=False)  # fmt: skip

    def _journal_overrides(self, journal: Journal, settings: RolloutSettings) -> None:
        for flag, on in (("--allow-downgrade", settings.apply.allow_downgrade),
                         ("--allow-reinstall", settings.apply.allow_reinstall)):  # fmt: skip
            if on:
                journal.append("override", flag, detail={"command": "patch"})


def _resumable(jobs: JobStore, job_id: int | None) -> Job:
    if job_id is not None:
        job = jobs.job(job_id)
        if job is None:
            fatal(f"there is no job {job_id}", "list them with `campatch jobs`")
    else:
        job = next((j for j in jobs.jobs(limit=50) if j.state.resumable), None)
        if job is None:
            fatal("there is no unfinished job to resume", "list them with `campatch jobs`")
    if not job.state.resumable:
        fatal(f"job {job.id} is finished ({job.state})")
    return job
