"""One device's upgrade, from wherever its stored record says it is.

:class:`DeviceUpgrade` walks a device through the steps of :mod:`campatch.patch.jobs`
for each release of its path, writing the step to the :class:`JobStore` *before* the
action it names (so a crash leaves a record that says what may have been in flight):

1. **preflight** (nothing is sent yet): the device answers; its model and hardware are
   the planned ones; its version is below the release (equal: that step is already
   done; above: refused); it reports no upgrade in progress; the image read from the
   store hashes to the planned SHA-256 and the store says it is for this vendor and
   model. The stream's health is read as the baseline.
2. **backup**: the configuration export, where the vendor API has one, kept 0600 in
   the data directory.
3. **uploading**: one upload (counted). A refusal by the device is FAILED_SAFE. A
   dropped connection or a 5xx is not a verdict: the device is re-read and, when it
   still runs the old version and reports nothing under way, the upload is retried
   within ``retries``.
4. **rebooting**: the device accepted the image. campatch polls it until it is back
   on the release (-> verifying), back on the old version after it went away
   (ROLLED_BACK), or the expected downtime has passed (UNREACHABLE_AFTER_UPGRADE, or
   NEEDS_OPERATOR when it never went away). The expected downtime is the operator's
   ``reboot_timeout_s`` when set; otherwise the vendor's (the plan's), lengthened for
   this upload when the device itself said it needs longer (ONVIF
   ``ExpectedDownTime``, capped at :data:`MAX_DEVICE_DOWNTIME_S`), never shortened.
5. **verifying**: the device must *report* the release (VENDORS.md §11.1) and its RTSP
   stream must answer ``DESCRIBE`` as it did before (else DEGRADED).

campatch never sends reboot, cancel or factory-reset commands (SAFETY D-07): waiting
is always the safe move. On resume, a device whose record is in flight is re-read
before anything else; an upload is never repeated to a device that already runs the
release, or that is still busy with the last one (SAFETY D-10).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from campatch.drivers.interface import (
    FirmwareState,
    ProbeContext,
    Upgrader,
    UpgradeTarget,
    UploadAccepted,
    UploadRefused,
)
from campatch.errors import (
    AuthError,
    DeviceResponseError,
    DriverError,
    FirmwareError,
    LockoutError,
    TransportError,
    UsageError,
)
from campatch.knowledge.versions import Ordering, compare, parse_version
from campatch.net.rtsp import rtsp_request
from campatch.patch.jobs import DeviceJob, DeviceUpdate, JobStore, Journal, Step

logger = logging.getLogger(__name__)

__all__ = [
    "ApplySettings",
    "DeviceUpgrade",
    "ImageSource",
    "StepListener",
    "stream_answers",
]

RTSP_PORT = 554
#: Longest wait a device's own downtime estimate can ask for, seconds: a device (or a
#: forged reply) must not be able to make campatch wait for it forever.
MAX_DEVICE_DOWNTIME_S = 3600.0


@dataclass(frozen=True)
class ApplySettings:
    """How patiently and how often one device upgrade is driven.

    Args:
        poll_interval_s: seconds between two reads of a device that is flashing or
            rebooting.
        reboot_timeout_s: seconds a device may take from accepting an image to
            reporting its new version; None = the plan's expected downtime per step,
            or the device's own estimate for that upload when it is longer (at most
            :data:`MAX_DEVICE_DOWNTIME_S`).
        settle_s: after a crash mid-upload, how long a device that cannot report an
            upgrade status (ONVIF) is watched before campatch decides the upload did not
            arrive.
        retries: further uploads allowed per release after a failed transfer (1..10;
            SAFETY D-07: "0 = infinite" is refused).
        health_check: require the RTSP stream to answer after the upgrade as before.
        allow_downgrade, allow_reinstall: the owner's overrides (audited).
    """

    poll_interval_s: float = 5.0
    reboot_timeout_s: float | None = None
    settle_s: float = 30.0
    retries: int = 2
    health_check: bool = True
    allow_downgrade: bool = False
    allow_reinstall: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.retries <= 10:
            raise UsageError(
                f"retries must be between 0 and 10, got {self.retries} (unbounded retries "
                "could flash a device again and again)"
            )
        for name in ("poll_interval_s", "settle_s"):
            if getattr(self, name) <= 0:
                raise UsageError(f"{name} must be positive")
        if self.reboot_timeout_s is not None and self.reboot_timeout_s <= 0:
            raise UsageError("reboot_timeout_s must be positive")


class ImageSource(Protocol):
    """**Protocol**: the verified bytes of a stored firmware image."""

    def read(self, sha256: str, vendor: str, model: str) -> bytes:
        """The image's bytes, hashed in memory against ``sha256`` just now.

        Raises:
            FirmwareError: missing, modified, or stored for another vendor or model.
        """
        ...


class StepListener(Protocol):
    """**Protocol**: who watches the rollout (the CLI's progress display)."""

    def stepped(self, record: DeviceJob) -> None:
        """A device's record changed."""
        ...

    def uploaded(self, record: DeviceJob, sent: int, total: int) -> None:
        """Upload progress of a device."""
        ...


class _Outcome(Exception):
    """Ends a device's run with a terminal step (internal control flow)."""

    def __init__(self, step: Step, detail: str) -> None:
        super().__init__(detail)
        self.step = step
        self.detail = detail


class DeviceUpgrade:
    """Drive one device's upgrade to a terminal step. Use :meth:`run`.

    Args:
        record: the device's stored record (resumes from its step).
        upgrader: the device's driver.
        credential_target: address and credential.
        ctx: HTTP client, limits, port map.
        jobs: where every transition is written.
        images: verified image bytes.
        settings: timing, retries, overrides.
        downtime_s: the vendor's expected downtime of one step, seconds (the plan's).
        rtsp_paths: the driver's stream paths for the health check.
        upload_slot: held while an image is being sent (per-subnet limit).
        journal: the tamper-evident journal (upgrade start, states, end).
        listener: progress display.
        backup_dir: where configuration exports go.
    """

    def __init__(
        self,
        record: DeviceJob,
        upgrader: Upgrader,
        credential_target: UpgradeTarget,
        ctx: ProbeContext,
        *,
        jobs: JobStore,
        images: ImageSource,
        settings: ApplySettings,
        downtime_s: float,
        rtsp_paths: Sequence[str] = (),
        upload_slot: asyncio.Semaphore | None = None,
        journal: Journal | None = None,
        listener: StepListener | None = None,
        backup_dir: Path | None = None,
    ) -> None:
        self.record = record
        self.upgrader = upgrader
        self.target = credential_target
        self.ctx = ctx
        self.jobs = jobs
        self.images = images
        self.settings = settings
        #: The plan's (or the operator's) wait for one step; an upload's own reboot wait
        #: may be longer (:meth:`_reboot_wait`), but never changes this.
        self.timeout_s = settings.reboot_timeout_s or downtime_s
        self.rtsp_paths = tuple(rtsp_paths)
        self.upload_slot = upload_slot or asyncio.Semaphore(1)
        self.journal = journal
        self.listener = listener
        self.backup_dir = backup_dir
        self._healthy_before: bool | None = None
        # A reinstall looks "done" before it starts: only a restart proves it happened.
        self._reinstall = False

    # --- the run -------------------------------------------------------------------

    async def run(self) -> DeviceJob:
        """Drive the device to a terminal step and return its final record."""
        if self.record.step.terminal:
            return self.record
        if self.record.step is Step.PENDING:
            self._journal("upgrade-start", "started", target=self.record.target)
        try:
            await self._drive()
        except _Outcome as end:
            self._write(end.step, end.detail)
        except LockoutError as err:
            self._write(Step.NEEDS_OPERATOR, f"the device signalled a login lockout during the "
                        f"upgrade; campatch sent nothing more ({err})")  # fmt: skip
        except AuthError as err:
            self._write(Step.NEEDS_OPERATOR, f"the device refused the credential during the "
                        f"upgrade ({err}); check `campatch creds`")  # fmt: skip
        self._journal("upgrade-end", str(self.record.step), detail_text=self.record.detail)
        return self.record

    async def _drive(self) -> None:
        while True:
            step = self.record.step
            if step in (Step.PENDING, Step.PREFLIGHT, Step.BACKUP):
                await self._preflight()
            elif step is Step.UPLOADING:  # campatch died while sending: not the device's fault
                await self._after_interrupted_upload(crashed=True)
            elif step is Step.REBOOTING:
                await self._await_reboot(resumed=True)
            elif step is Step.VERIFYING:
                await self._verify()
            else:
                return
            if self.record.step is Step.SUCCESS:
                return

    # --- 1 preflight, 2 backup, 3 upload ---------------------------------------------

    async def _preflight(self) -> None:
        index = self.record.path_index
        release = self.record.path[index]
        self._write(Step.PREFLIGHT, f"checking before installing {release}")
        state = await self._read("preflight")
        self._check_identity(state)
        order = self._order(state, release)
        if order is Ordering.EQUAL and not (self.settings.allow_reinstall and self._first_try()):
            self._next_release(f"already runs {release}")
            return
        self._reinstall = order is Ordering.EQUAL
        self._check_order(order, state, release)
        if state.upgrading:
            raise _Outcome(Step.FAILED_SAFE, "D-05: the device reports an upgrade already in "
                           "progress; nothing was sent")  # fmt: skip
        image = self._image(index)
        if self._healthy_before is None:
            self._healthy_before = await self._healthy()
        if index == 0 and self.record.uploads == 0:
            await self._backup()
        await self._upload(image, state)

    def _first_try(self) -> bool:
        return self.record.uploads == 0 and self.record.path_index == 0

    def _check_identity(self, state: FirmwareState) -> None:
        planned, found = self.record.model.casefold(), state.model.casefold()
        if planned and found and planned != found:
            raise _Outcome(Step.FAILED_SAFE, f"D-05: the device now reports model "
                           f"{state.model!r}, the plan was for {self.record.model!r}; "
                           "nothing was sent")  # fmt: skip
        hardware = self.record.hardware
        if hardware and state.hardware and hardware.casefold() != state.hardware.casefold():
            raise _Outcome(Step.FAILED_SAFE, f"D-05: the device reports hardware "
                           f"{state.hardware!r}, the image is for {hardware!r}; nothing was sent")  # fmt: skip

    def _check_order(self, order: Ordering, state: FirmwareState, release: str) -> None:
        installed = _text(state)
        if order is Ordering.UNKNOWN:
            raise _Outcome(Step.NEEDS_OPERATOR, f"the device reports {installed!r}, which "
                           f"campatch cannot order against {release}; nothing was sent")  # fmt: skip
        if order is Ordering.GREATER and not self.settings.allow_downgrade:
            raise _Outcome(Step.FAILED_SAFE, f"D-05: the device already runs {installed}, "
                           f"newer than {release}; nothing was sent")  # fmt: skip

    def _image(self, index: int) -> bytes:
        try:
            return self.images.read(self.record.images[index], self.record.vendor,
                                    self.record.model)  # fmt: skip
        except FirmwareError as err:
            raise _Outcome(Step.FAILED_SAFE, f"the image for {self.record.path[index]} cannot "
                           f"be used ({err}); nothing was sent") from err  # fmt: skip

    async def _backup(self) -> None:
        self._write(Step.BACKUP, "saving the device configuration")
        try:
            config = await self.upgrader.backup_config(self.target, self.ctx)
        except (TransportError, DeviceResponseError) as err:
            raise _Outcome(Step.FAILED_SAFE, f"the configuration backup failed ({err}); "
                           "nothing was sent") from err  # fmt: skip
        if config is None or self.backup_dir is None:
            return
        self.backup_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        name = f"{self.record.device_key.replace(':', '_')}-{stamp}.cfg"
        fd = os.open(self.backup_dir / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(config)

    async def _upload(self, image: bytes, before: FirmwareState) -> None:
        release = self.record.path[self.record.path_index]
        if self.record.attempts > self.settings.retries:
            raise _Outcome(Step.FAILED_SAFE, f"{self.record.attempts} uploads of {release} "
                           f"failed; the device still runs {_text(before)}")  # fmt: skip
        async with self.upload_slot:
            self._write(Step.UPLOADING, f"sending {release}", add_uploads=1,
                        attempts=self.record.attempts + 1)  # fmt: skip
            self._journal("upgrade-state", "uploading", target=release)
            try:
                accepted = await self.upgrader.upload(self.target, image, self.ctx, self._progress)
            except UploadRefused as err:
                raise _Outcome(Step.FAILED_SAFE, f"the device refused {release}: "
                               f"{err.vendor_message or err}; nothing was flashed") from err  # fmt: skip
            except (TransportError, DeviceResponseError) as err:
                self._write(Step.UPLOADING, f"upload of {release} did not complete ({err}); "
                            "re-reading the device")  # fmt: skip
                await self._after_interrupted_upload()
                return
        timeout_s, why = self._reboot_wait(accepted)
        self._write(Step.REBOOTING, f"the device accepted {release} ({accepted.text[:120]}); "
                    f"waiting up to {timeout_s:g} s for it to flash and restart{why}")  # fmt: skip
        await self._await_reboot(resumed=False, timeout_s=timeout_s)

    def _reboot_wait(self, accepted: UploadAccepted) -> tuple[float, str]:
        """How long to wait for the device after this upload, and why (for the detail).

        The operator's ``reboot_timeout_s`` always wins. Otherwise the plan's downtime,
        or the device's own estimate when it is longer, that estimate capped at
        :data:`MAX_DEVICE_DOWNTIME_S`: a device that claims less never shortens the wait.
        """
        claimed = accepted.downtime_s
        if claimed is None or not claimed >= 0:  # none given (or NaN)
            return self.timeout_s, ""
        if self.settings.reboot_timeout_s is not None:
            return self.timeout_s, (f" (the operator's reboot timeout; the device's own "
                                    f"estimate, {claimed:.10g} s, is not used)")  # fmt: skip
        device_s = min(claimed, MAX_DEVICE_DOWNTIME_S)
        if device_s <= self.timeout_s:
            return self.timeout_s, (f" (the device expects to be back within {claimed:.10g} s; "
                                    "the vendor's expected downtime is kept)")  # fmt: skip
        if claimed > MAX_DEVICE_DOWNTIME_S:
            return device_s, (f" (the device says it needs {claimed:.10g} s; campatch waits at "
                              f"most {MAX_DEVICE_DOWNTIME_S:g} s on a device's word)")  # fmt: skip
        return device_s, f" (the device expects to be back within {device_s:g} s)"

    def _progress(self, sent: int, total: int) -> None:
        if self.listener is not None:
            self.listener.uploaded(self.record, sent, total)

    async def _after_interrupted_upload(self, *, crashed: bool = False) -> None:
        """The upload ended without a verdict (dropped, 5xx, or campatch died): find out
        what the device did with it before anything else is sent.

        A device that went away is given its whole expected downtime to return; one that
        answers on the old version and idle (or, when it cannot report an upgrade status,
        still so after ``settle_s``) did not take the image, and the upload may be
        retried. An upload that campatch's own crash cut short (``crashed``) does not
        count against the retry cap.
        """
        release = self.record.path[self.record.path_index]
        start = time.monotonic()
        while True:
            try:
                state = await self.upgrader.firmware_state(self.target, self.ctx)
            except (TransportError, DeviceResponseError) as err:
                if time.monotonic() - start >= self.timeout_s:
                    raise _Outcome(Step.UNREACHABLE_AFTER_UPGRADE, f"the upload of {release} "
                                   f"was interrupted and the device has not answered since "
                                   f"({err}); check it on site") from err  # fmt: skip
                await asyncio.sleep(self.settings.poll_interval_s)
                continue
            if self._order(state, release) is Ordering.EQUAL and not state.upgrading:
                self._write(Step.VERIFYING, f"the device already runs {release}")
                await self._verify()
                return
            if state.upgrading:
                self._write(Step.REBOOTING, "the device is installing the image")
                await self._await_reboot(resumed=True)
                return
            settled = time.monotonic() - start >= self.settings.settle_s
            if state.upgrading is False or settled:
                break
            await asyncio.sleep(self.settings.poll_interval_s)
        attempts = max(0, self.record.attempts - 1) if crashed else None
        self._write(Step.PREFLIGHT, f"the upload of {release} did not take; the device "
                    f"still runs {_text(state)} and is idle", attempts=attempts)  # fmt: skip

    # --- 4 reboot --------------------------------------------------------------------

    async def _await_reboot(self, *, resumed: bool, timeout_s: float | None = None) -> None:
        """Wait for the device to come back from flashing and restarting.

        Args:
            resumed: campatch did not see the upload's acceptance (a resumed record, or
                an interrupted upload the device turned out to be installing).
            timeout_s: this upload's wait (:meth:`_reboot_wait`); None = the plan's.
        """
        release = self.record.path[self.record.path_index]
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        deadline = self._deadline(resumed, timeout_s)
        went_away, last = False, None
        while True:
            try:
                last = await self.upgrader.firmware_state(self.target, self.ctx)
            except (TransportError, DeviceResponseError):
                went_away, last = True, None
            else:
                on_release = self._order(last, release) is Ordering.EQUAL
                if on_release and not last.upgrading and (went_away or not self._reinstall):
                    self._write(Step.VERIFYING, f"the device is back and reports {_text(last)}")
                    await self._verify()
                    return
                if went_away and not last.upgrading:
                    raise _Outcome(Step.ROLLED_BACK, f"the device took {release} but "
                                   f"restarted on {_text(last)}; it is not upgraded")  # fmt: skip
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(self.settings.poll_interval_s)
        if last is None:
            raise _Outcome(Step.UNREACHABLE_AFTER_UPGRADE, f"the device took {release} and has "
                           f"not answered for {timeout_s:g} s; check it on site before "
                           "anything else (do not power-cycle it while it may be flashing)")  # fmt: skip
        if resumed and not last.upgrading:
            # campatch was not watching when the device restarted; it accepted the image
            # and runs the old version after the whole expected downtime.
            raise _Outcome(Step.ROLLED_BACK, f"the device took {release} but runs "
                           f"{_text(last)}; it is not upgraded")  # fmt: skip
        raise _Outcome(Step.NEEDS_OPERATOR, f"the device took {release} but after "
                       f"{timeout_s:g} s still reports {_text(last)} and never restarted")  # fmt: skip

    def _deadline(self, resumed: bool, timeout_s: float) -> float:
        """Monotonic deadline; on resume, counted from the stored transition's time."""
        if not resumed or self.record.updated_at is None:
            return time.monotonic() + timeout_s
        elapsed = (datetime.now(UTC) - self.record.updated_at).total_seconds()
        remaining = max(timeout_s - max(elapsed, 0.0), 3 * self.settings.poll_interval_s)
        return time.monotonic() + remaining

    # --- 5 verify --------------------------------------------------------------------

    async def _verify(self) -> None:
        release = self.record.path[self.record.path_index]
        self._write(Step.VERIFYING, f"verifying {release}")
        state = await self._read("verification")
        self._check_identity(state)
        if self._order(state, release) is not Ordering.EQUAL:
            raise _Outcome(Step.ROLLED_BACK, f"the device reports {_text(state)}, not {release}")
        if not await self._health_ok():
            raise _Outcome(Step.DEGRADED, f"the device runs {release} but its video stream no "
                           "longer answers; check it in the vendor's web page")  # fmt: skip
        self._next_release(f"the device reports {_text(state)} and its stream answers")

    async def _health_ok(self) -> bool:
        if not self.settings.health_check or self._healthy_before is False:
            return True
        if self._healthy_before is None:  # resumed after preflight: judge on what we see
            self._healthy_before = True
        deadline = time.monotonic() + max(3 * self.settings.poll_interval_s, 5.0)
        while not await self._healthy():
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(self.settings.poll_interval_s)
        return True

    async def _healthy(self) -> bool:
        if not self.settings.health_check or not self.rtsp_paths:
            return True
        return await stream_answers(self.target, self.ctx, self.rtsp_paths)

    def _next_release(self, detail: str) -> None:
        index = self.record.path_index
        if index + 1 >= len(self.record.path):
            self._write(Step.SUCCESS, detail)
            return
        self._write(Step.PREFLIGHT, f"{detail}; next {self.record.path[index + 1]}",
                    path_index=index + 1, attempts=0)  # fmt: skip

    # --- helpers ---------------------------------------------------------------------

    async def _read(self, why: str) -> FirmwareState:
        try:
            return await self.upgrader.firmware_state(self.target, self.ctx)
        except (TransportError, DeviceResponseError) as err:
            if why == "preflight":
                raise _Outcome(Step.FAILED_SAFE, f"the device did not answer the preflight "
                               f"({err}); nothing was sent") from err  # fmt: skip
            raise _Outcome(
                Step.NEEDS_OPERATOR, f"the device did not answer the {why} ({err})"
            ) from err

    def _order(self, state: FirmwareState, release: str) -> Ordering:
        vendor = self.record.vendor
        return compare(parse_version(vendor, state.firmware, state.build or None),
                       parse_version(vendor, release))  # fmt: skip

    def _write(
        self,
        step: Step,
        detail: str,
        *,
        add_uploads: int = 0,
        attempts: int | None = None,
        path_index: int | None = None,
    ) -> None:
        update = DeviceUpdate(step=step, detail=detail, add_uploads=add_uploads,
                              attempts=attempts, path_index=path_index)  # fmt: skip
        self.record = self.jobs.update_device(self.record.job_id, self.record.device_key, update)
        if self.listener is not None:
            self.listener.stepped(self.record)

    def _journal(
        self, action: str, result: str, *, target: str = "", detail_text: str = ""
    ) -> None:
        if self.journal is None:
            return
        detail = {"job": self.record.job_id, "address": self.record.address}
        if target:
            detail["target"] = target
        if detail_text:
            detail["detail"] = detail_text[:300]
        self.journal.append(action, result, device=self.record.device_key, detail=detail)


async def stream_answers(
    target: UpgradeTarget, ctx: ProbeContext, paths: Sequence[str], port: int = RTSP_PORT
) -> bool:
    """True when one of the device's RTSP stream paths answers ``DESCRIBE`` with 200
    (the owner's credential offered once when challenged)."""
    for path in paths:
        try:
            reply = await rtsp_request(target.address, port, "DESCRIBE", path,
                                       limits=ctx.limits, port_map=ctx.port_map,
                                       credential=target.credential)  # fmt: skip
        except DriverError as err:
            logger.debug("%s: RTSP %s: %s", target.address, path, err)
            continue
        if reply.status == 200:
            return True
    return False


def _text(state: FirmwareState) -> str:
    return " ".join(p for p in (state.firmware, state.build) if p) or "an unknown version"
