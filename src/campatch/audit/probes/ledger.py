"""An in-memory :class:`~campatch.inventory.interface.AttemptLedger` (tests, one-off runs).

The inventory's SQL store is the ledger a real scan uses, so that attempts made by
earlier scans still count inside the vendor's lockout window; this one forgets them
when the process ends.
"""

from __future__ import annotations

from datetime import datetime

from campatch.inventory.interface import LoginAttempt

MAX_REMEMBERED = 100_000  # attempts kept; the oldest go first


class MemoryLedger:
    """Login attempts kept in a list (see the module docstring)."""

    def __init__(self) -> None:
        self.attempts: list[LoginAttempt] = []

    def record_attempt(self, attempt: LoginAttempt) -> None:
        """Remember one attempt."""
        self.attempts.append(attempt)
        if len(self.attempts) > MAX_REMEMBERED:
            del self.attempts[: MAX_REMEMBERED // 2]

    def attempts_since(self, device: str, address: str, since: datetime) -> list[LoginAttempt]:
        """Attempts on ``device`` or at ``address`` since ``since``, oldest first."""
        found = [
            a
            for a in self.attempts
            if (a.device == device or a.address == address) and a.at >= since
        ]
        return sorted(found, key=lambda a: a.at)
