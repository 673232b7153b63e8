"""Hikvision cameras, NVRs and DVRs: ISAPI identification and SADP discovery."""

from __future__ import annotations

from campatch.drivers.hikvision.driver import DRIVER, HikvisionDriver
from campatch.drivers.hikvision.sadp import SadpSource

__all__ = ["DRIVER", "HikvisionDriver", "SadpSource"]
