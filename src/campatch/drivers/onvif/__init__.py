"""The generic ONVIF driver family (the fallback for any ONVIF device)."""

from __future__ import annotations

from campatch.drivers.onvif.driver import OnvifDriver

#: The driver instance the registry loads (it remembers per-host clock offsets).
DRIVER = OnvifDriver()

__all__ = ["DRIVER", "OnvifDriver"]
