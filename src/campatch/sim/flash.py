"""Simulated firmware: image files, flash memory and the reboot, shared by the personalities.

Real vendors sign their images or give them a header the device checks before it
writes a byte (VENDORS.md: Hikvision "upgrade packet mismatch", Axis error 421 "image
not matching device"); those formats are not public. The simulator therefore uses an
image format of its own, which campatch treats as opaque bytes like any vendor image:

    CAMPATCH-SIM-FIRMWARE/1\\n
    {"vendor": ..., "model": ..., "hardware": ..., "version": ..., "build": ...,
     "region": ..., "payload_sha256": ..., "payload_size": ...}\\n
    <payload>

:class:`Flash` is one device's flash memory and boot loader. Everything it does is
computed from the device clock at the moment it is asked (no background tasks), so a
test can read the state at any instant:

- ``accept`` checks an uploaded image (model, hardware, region, minimum version,
  completeness on the self-recovery model, busy, free space) and starts the flash
  write (``flash_s``), then the reboot (``reboot_s``): while rebooting the device
  answers nothing (:meth:`Flash.offline`);
- after the reboot it runs the new version, unless a fault or the flash model says
  otherwise:

  ========================  ===================  ======================  ==================
  what happened             single bank          A/B, boot counter 3     self-recovery
  ========================  ===================  ======================  ==================
  image boots               new version          new version             new version
  image fails to boot       BRICKED              old version (3 tries)   old version
  power cut during write    BRICKED              old version             old version
  incomplete payload        written, BRICKED     written, old version    refused at upload
  ========================  ===================  ======================  ==================

Options read from the device spec (all optional): ``flash_model`` (``single-bank``,
``ab``, ``self-recovery``; default ``ab``), ``flash_s`` (1.0), ``reboot_s`` (3.0),
``min_firmware`` (the device refuses images older than this version text, compared
by :func:`campatch.knowledge.versions.compare`-free numeric order), ``region``,
``free_flash`` (bytes; default 64 MiB), and the fault switches in :class:`Faults`.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from campatch.sim.device import SimDevice

IMAGE_MAGIC = b"CAMPATCH-SIM-FIRMWARE/1\n"
_MAX_HEADER = 4096


class FlashModel(StrEnum):
    """How a device's flash and boot loader behave when an upgrade goes wrong."""

    SINGLE_BANK = "single-bank"
    AB = "ab"
    SELF_RECOVERY = "self-recovery"


class Rejection(StrEnum):
    """Why a device refused an image before writing it (the personality maps each to its
    vendor's error)."""

    NOT_AN_IMAGE = "not-an-image"
    WRONG_MODEL = "wrong-model"
    WRONG_REGION = "wrong-region"
    BELOW_MINIMUM = "below-minimum"
    INCOMPLETE = "incomplete"
    BUSY = "busy"
    NO_SPACE = "no-space"


@dataclass(frozen=True)
class SimImage:
    """What an image's header says it is."""

    vendor: str
    model: str
    version: str
    build: str = ""
    hardware: str = ""
    region: str = ""
    payload_sha256: str = ""
    payload_size: int = 0


def build_image(image: SimImage, size: int = 2 * 1024 * 1024) -> bytes:
    """A complete image of about ``size`` bytes whose payload is derived from its header
    (the same header always gives the same bytes, so catalogs are reproducible)."""
    seed = f"{image.vendor}|{image.model}|{image.hardware}|{image.version}|{image.build}"
    payload = random.Random(seed).randbytes(max(0, size))
    header = {
        **{k: v for k, v in image.__dict__.items() if k not in ("payload_sha256", "payload_size")},
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "payload_size": len(payload),
    }
    return IMAGE_MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + payload


def read_image(data: bytes) -> tuple[SimImage | None, bool]:
    """The image's header and whether its payload is complete and intact.

    Returns:
        ``(None, False)`` when ``data`` is not a simulator image at all.
    """
    if not data.startswith(IMAGE_MAGIC):
        return None, False
    end = data.find(b"\n", len(IMAGE_MAGIC), len(IMAGE_MAGIC) + _MAX_HEADER)
    if end < 0:
        return None, False
    try:
        raw = json.loads(data[len(IMAGE_MAGIC) : end])
        image = SimImage(**{k: raw[k] for k in SimImage.__dataclass_fields__ if k in raw})
    except (ValueError, TypeError, KeyError):
        return None, False
    payload = data[end + 1 :]
    intact = (
        len(payload) == image.payload_size
        and hashlib.sha256(payload).hexdigest() == image.payload_sha256
    )
    return image, intact


@dataclass(frozen=True)
class Faults:
    """Fault switches, read from the spec's options (``fault_<name>``).

    Args:
        upload_reset_at: the device drops the connection after receiving this percent of
            the upload (0 drops it at once); None = no drop.
        reboot_mid_upload: the device reboots (old version) once it has received half.
        reject: refuse every image with this :class:`Rejection` (``wrong-model``,
            ``busy`` ...), as the vendor's firmware would.
        boot_old: report success, then boot the old version again.
        bad_boot: the new image fails to boot (see the flash model table).
        power_cut: power is lost during the flash write.
        never_back: the device never answers again after the upload.
        http_status: the upgrade endpoints answer with this status (500, 503).
        rtsp_down_after: after an upgrade, RTSP stops answering (HTTP still works).
        lock_during_job: after accepting an image the web login locks every client.
    """

    upload_reset_at: float | None = None
    reboot_mid_upload: bool = False
    reject: Rejection | None = None
    boot_old: bool = False
    bad_boot: bool = False
    power_cut: bool = False
    never_back: bool = False
    http_status: int | None = None
    rtsp_down_after: bool = False
    lock_during_job: bool = False

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> Faults:
        """Read ``fault_*`` options."""
        reset = options.get("fault_upload_reset_at")
        reject = options.get("fault_reject")
        status = options.get("fault_http_status")
        return cls(
            upload_reset_at=None if reset is None else float(reset),
            reboot_mid_upload=bool(options.get("fault_reboot_mid_upload", False)),
            reject=None if reject is None else Rejection(str(reject)),
            boot_old=bool(options.get("fault_boot_old", False)),
            bad_boot=bool(options.get("fault_bad_boot", False)),
            power_cut=bool(options.get("fault_power_cut", False)),
            never_back=bool(options.get("fault_never_back", False)),
            http_status=None if status is None else int(status),
            rtsp_down_after=bool(options.get("fault_rtsp_down_after", False)),
            lock_during_job=bool(options.get("fault_lock_during_job", False)),
        )


@dataclass
class _Pending:
    """An image being written, then booted."""

    image: SimImage
    intact: bool
    started: float


@dataclass
class FlashCounters:
    """What happened to the device, for tests: every upload request, every write."""

    upload_requests: int = 0
    images_accepted: int = 0
    flashes: int = 0
    rejections: list[str] = field(default_factory=list)
    bricked: bool = False


class Flash:
    """One simulated device's flash memory, boot loader and reboot."""

    def __init__(self, device: SimDevice) -> None:
        self.device = device
        options = device.spec.options
        self.model = FlashModel(str(options.get("flash_model", FlashModel.AB)))
        self.flash_s = float(options.get("flash_s", 1.0))
        self.reboot_s = float(options.get("reboot_s", 3.0))
        self.free_bytes = int(options.get("free_flash", 64 * 1024 * 1024))
        self.counters = FlashCounters()
        self._pending: _Pending | None = None
        self._down_until = 0.0
        self._rtsp_down = False

    @property
    def faults(self) -> Faults:
        """The fault switches as the spec says now (a test may flip them mid-run)."""
        return Faults.from_options(self.device.spec.options)

    # --- what the device shows -----------------------------------------------------

    def offline(self) -> bool:
        """True while the device answers nothing (flash reboot, bricked, never back)."""
        self._settle()
        if self.counters.bricked:
            return True
        return self.device.clock() < self._down_until

    def rtsp_offline(self) -> bool:
        """True when RTSP is down although the device is up (fault ``rtsp_down_after``)."""
        return self.offline() or self._rtsp_down

    def status(self) -> tuple[bool, int]:
        """``(upgrading, percent)`` as the vendor's upgrade-status call reports it."""
        self._settle()
        if self._pending is None:
            return False, 0
        elapsed = self.device.clock() - self._pending.started
        percent = min(99, int(100 * elapsed / self.flash_s)) if self.flash_s > 0 else 99
        return True, percent

    # --- what the device is sent ---------------------------------------------------

    def upload_started(self) -> None:
        """Count one request to the upload endpoint (D-05 counts these)."""
        self.counters.upload_requests += 1

    def cut_upload_at(self) -> float | None:
        """Fraction of the upload after which the device drops the connection, if any."""
        faults = self.faults
        if faults.upload_reset_at is not None:
            return faults.upload_reset_at / 100
        if faults.reboot_mid_upload:
            return 0.5
        return None

    def dropped_upload(self) -> None:
        """The connection was dropped mid-upload: nothing is written; a
        ``reboot_mid_upload`` device also reboots (on its old version)."""
        if self.faults.reboot_mid_upload:
            self._down_until = self.device.clock() + self.reboot_s

    def accept(self, data: bytes) -> Rejection | None:
        """Check an uploaded image and, if it is acceptable, start writing it.

        Returns:
            None when the image was accepted (the device now flashes, then reboots),
            else why it was refused (nothing was written).
        """
        self._settle()
        rejection = self._check(data)
        if rejection is not None:
            self.counters.rejections.append(str(rejection))
            return rejection
        image, intact = read_image(data)
        if image is None:  # _check refuses what is not an image; kept for the type checker
            return Rejection.NOT_AN_IMAGE
        self.counters.images_accepted += 1
        self._pending = _Pending(image, intact, self.device.clock())
        if self.faults.lock_during_job and hasattr(self.device, "lock_everyone"):
            self.device.lock_everyone()
        return None

    def _check(self, data: bytes) -> Rejection | None:
        faults, spec = self.faults, self.device.spec
        if faults.reject is not None:
            return faults.reject
        if self._pending is not None:
            return Rejection.BUSY
        if len(data) > self.free_bytes:
            return Rejection.NO_SPACE
        image, intact = read_image(data)
        if image is None:
            return Rejection.NOT_AN_IMAGE
        if image.model.casefold() != spec.model.casefold() or (
            image.hardware and spec.hardware and image.hardware != spec.hardware
        ):
            return Rejection.WRONG_MODEL
        region = str(spec.options.get("region", ""))
        if image.region and region and image.region != region:
            return Rejection.WRONG_REGION
        minimum = str(spec.options.get("min_firmware", ""))
        if minimum and _numbers(image.version) < _numbers(minimum):
            return Rejection.BELOW_MINIMUM
        if not intact and self.model is FlashModel.SELF_RECOVERY:
            return Rejection.INCOMPLETE
        return None

    # --- the timeline --------------------------------------------------------------

    def _settle(self) -> None:
        """Apply whatever the clock says has happened since the image was accepted."""
        pending = self._pending
        if pending is None:
            return
        now = self.device.clock()
        written_at = pending.started + self.flash_s
        if now < written_at:
            return
        self._pending = None
        self.counters.flashes += 1
        self._boot(pending, written_at)

    def _boot(self, pending: _Pending, written_at: float) -> None:
        faults, spec = self.faults, self.device.spec
        reboot = self.reboot_s
        boots_new = pending.intact and not faults.bad_boot and not faults.power_cut
        if faults.power_cut or not boots_new:
            if self.model is FlashModel.SINGLE_BANK:
                self.counters.bricked = True
                return
            if self.model is FlashModel.AB and not faults.power_cut:
                reboot *= 3  # the boot counter: three failed tries, then the old bank
        elif not faults.boot_old:
            spec.firmware = pending.image.version
            spec.build = pending.image.build
            self._rtsp_down = faults.rtsp_down_after
        self._down_until = float("inf") if faults.never_back else written_at + reboot


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", version))
