"""Dahua-firmware devices (Dahua, Amcrest, Lorex and other OEM brands): CGI + DHIP."""

from __future__ import annotations

from campatch.drivers.dahua.dhip import DhipSource
from campatch.drivers.dahua.driver import DahuaDriver

DRIVER = DahuaDriver()

__all__ = ["DRIVER", "DahuaDriver", "DhipSource"]
