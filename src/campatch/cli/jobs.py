"""``campatch jobs``: upgrade jobs and how each device ended (reads the store only)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections import Counter
from typing import Annotated

import typer

from campatch.cli._common import DbOption, inventory
from campatch.cli._output import OutputFormat, fatal, stdout
from campatch.cli.rollout_view import print_devices, print_jobs, rollout_to_dict


def jobs_command(
    job_id: Annotated[int | None, typer.Argument(help="Show this job's devices.")] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="table or json.")
    ] = OutputFormat.TABLE,
    events: Annotated[
        bool, typer.Option("--events", help="With JOB and json: every stored transition.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", help="Jobs to list.", min=1)] = 20,
    db: DbOption = None,
) -> None:
    """List upgrade jobs, or show one job's devices, steps and results."""
    store = inventory(db)
    with contextlib.closing(store):
        jobs = store.jobs()
        if job_id is None:
            listed = jobs.jobs(limit=limit)
            counts = {j.id: Counter(r.step for r in jobs.device_jobs(j.id)) for j in listed}
            if output is OutputFormat.JSON:
                docs = [rollout_to_dict(j, jobs.device_jobs(j.id)) for j in listed]
                sys.stdout.write(json.dumps({"format": "campatch-jobs", "version": 1,
                                             "jobs": docs}, indent=2) + "\n")  # fmt: skip
                return
            if not listed:
                stdout.print("No upgrade jobs yet: `campatch patch` starts one.")
                return
            print_jobs(listed, counts)
            return
        job = jobs.job(job_id)
        if job is None:
            fatal(f"there is no job {job_id}", "list them with `campatch jobs`")
        records = jobs.device_jobs(job_id)
        if output is OutputFormat.JSON:
            trail = jobs.events(job_id) if events else []
            sys.stdout.write(json.dumps(rollout_to_dict(job, records, trail), indent=2) + "\n")
            return
        print_devices(job, records)
