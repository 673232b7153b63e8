"""Hosts that are not cameras: printers, routers, SSH-only servers, plain web servers."""

from __future__ import annotations

from campatch.drivers.generic.driver import GenericDriver

DRIVER = GenericDriver()

__all__ = ["DRIVER", "GenericDriver"]
