"""Maintenance windows: the daily hours in which a rollout may start a device.

A window is given in the devices' local time zone (``--window 01:00-05:00
--window-tz Europe/Berlin``) and may cross midnight (``22:00-04:00``). It is judged by
converting *now* to that zone, so daylight-saving changes move the window with the
wall clock, as an owner expects: "1 to 5 at night" stays 1 to 5 in local time, and on
the night the clocks go forward the window is one hour shorter.

The rule (SAFETY D-09): no device starts outside the window; a device already in
flight when it closes is allowed to finish.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from campatch.errors import UsageError

_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class MaintenanceWindow:
    """Daily hours ``[start, end)`` in ``zone`` (``start > end`` crosses midnight)."""

    start: time
    end: time
    zone: str = "UTC"

    @classmethod
    def parse(cls, span: str, zone: str = "UTC") -> MaintenanceWindow:
        """``"22:00-04:00"`` in an IANA zone name.

        Raises:
            UsageError: malformed span, start equal to end, or unknown zone.
        """
        match = _SPAN.match(span)
        if match is None:
            raise UsageError(f"window {span!r}: expected HH:MM-HH:MM, e.g. 01:00-05:00")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        try:
            start, end = time(h1, m1), time(h2, m2)
        except ValueError as err:
            raise UsageError(f"window {span!r}: {err}") from err
        if start == end:
            raise UsageError(f"window {span!r}: start and end are the same time")
        window = cls(start, end, zone)
        window.tzinfo()  # validate now, not at 3 a.m.
        return window

    def tzinfo(self) -> ZoneInfo:
        """The zone.

        Raises:
            UsageError: unknown zone name.
        """
        try:
            return ZoneInfo(self.zone)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise UsageError(f"unknown time zone {self.zone!r} (use an IANA name)") from err

    def is_open(self, now: datetime) -> bool:
        """True when ``now`` (timezone-aware) falls inside the window's local hours."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        local = now.astimezone(self.tzinfo()).time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M} {self.zone}"

    def to_json(self) -> dict[str, str]:
        """Plain values for the job's stored settings."""
        return {"start": f"{self.start:%H:%M}", "end": f"{self.end:%H:%M}", "zone": self.zone}

    @classmethod
    def from_json(cls, raw: dict[str, str]) -> MaintenanceWindow:
        """The inverse of :meth:`to_json`."""
        return cls.parse(f"{raw['start']}-{raw['end']}", raw.get("zone", "UTC"))
