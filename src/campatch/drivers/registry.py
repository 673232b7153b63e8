"""Find the vendor drivers: every sub-package of ``campatch.drivers`` exporting ``DRIVER``.

Adding a vendor means adding ``drivers/<vendor>/`` and nothing else. Order matters
only when several drivers claim a host equally: vendor drivers come first, then the
drivers that declare themselves fallbacks with a higher ``priority`` (ONVIF, generic).
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

import campatch.drivers
from campatch.drivers.interface import Driver

DEFAULT_PRIORITY = 50  # vendor drivers; fallbacks declare e.g. ``priority = 80``


@cache
def all_drivers() -> tuple[Driver, ...]:
    """Every installed driver, vendor drivers first."""
    found: list[Driver] = []
    for info in pkgutil.iter_modules(campatch.drivers.__path__):
        if not info.ispkg:
            continue
        module = importlib.import_module(f"campatch.drivers.{info.name}")
        driver = getattr(module, "DRIVER", None)
        if driver is not None:
            found.append(driver)
    return tuple(sorted(found, key=lambda d: (getattr(d, "priority", DEFAULT_PRIORITY), d.name)))


def driver_named(name: str) -> Driver:
    """The driver called ``name``.

    Raises:
        KeyError: no such driver.
    """
    for driver in all_drivers():
        if driver.name == name:
            return driver
    raise KeyError(name)
