"""The lockout budget: how many logins campatch may still spend on one device.

Rules (SAFETY D-01..D-03, VENDORS.md §11 "what a client must do"):

1. At most ``threshold - 2`` failed logins per device inside the vendor's lockout
   window (Hikvision 5 and Dahua 5 failures per 30 min; others assumed 5), so the
   default cap is 3. The cap is per device, across every account and every protocol
   that shares the device's accounts (web API, ISAPI/CGI, ONVIF, RTSP) together:
   Hikvision and Dahua lock the *client address*, not just the account, so a
   per-device cap is also a per-account cap. Telnet logins go to the operating
   system's own ``login`` (separate accounts, no vendor lock) and have a counter of
   their own with the same cap. Failures from earlier scans count
   (they are read back from the :class:`AttemptLedger`), and so do the failed logins
   identification already spent in this scan.
2. Fewer than one attempt per second per device (``min_interval_s`` = 1.1 s).
3. A lock signal stops every protocol until the device's ``unlockTime`` (or the
   vendor window when it names none) plus a margin; the signal itself is recorded and
   counts as a failure.
4. The owner's stored credential (D-03): at most one failed login per scan, an
   exponential back-off after a failure, and after two failures in a row it is
   marked invalid and not offered again until it succeeds elsewhere or is replaced.

Time comes from an injected clock and sleeper, so tests move simulated time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from campatch.errors import DriverError, LockoutError
from campatch.inventory.interface import AttemptLedger, AttemptOutcome, LoginAttempt

logger = logging.getLogger(__name__)

Clock = Callable[[], float]  # seconds since the epoch
Sleep = Callable[[float], Awaitable[None]]

#: Failed logins that lock a client out, per vendor (VENDORS.md §1, §2).
LOCKOUT_THRESHOLDS = {"hikvision": 5, "dahua": 5}
DEFAULT_THRESHOLD = 5  # others: assume the common 5
#: How long a vendor counts failures (and stays locked), seconds (VENDORS.md §1, §2).
LOCKOUT_WINDOWS_S = {"hikvision": 1800.0, "dahua": 1800.0}
DEFAULT_WINDOW_S = 1800.0
SAFETY_MARGIN = 2  # failures kept in hand below the threshold (D-01)
SEPARATE_COUNTERS = frozenset({"telnet"})  # protocols whose logins the vendor lock ignores


def counter_of(protocol: str) -> str:
    """Which failure counter a protocol's logins count against."""
    return protocol if protocol in SEPARATE_COUNTERS else "account"


OWNER_HISTORY_S = 30 * 86400.0  # how far back the owner-credential rule looks


def _vendor(vendor: str | None) -> str:
    return (vendor or "").strip().casefold()


def failure_cap(vendor: str | None) -> int:
    """Failed logins allowed per device and window: the vendor threshold minus 2."""
    return max(1, LOCKOUT_THRESHOLDS.get(_vendor(vendor), DEFAULT_THRESHOLD) - SAFETY_MARGIN)


def lockout_window_s(vendor: str | None) -> float:
    """The vendor's failure-counting window in seconds."""
    return LOCKOUT_WINDOWS_S.get(_vendor(vendor), DEFAULT_WINDOW_S)


@dataclass(frozen=True)
class BudgetPolicy:
    """Pacing and back-off settings.

    Args:
        min_interval_s: seconds between two attempts on one device (> 1: D-01).
        lock_margin_s: seconds added to a device's ``unlockTime`` before trying again.
        owner_backoff_s: first back-off after the owner's credential failed (doubles).
        owner_max_failures: consecutive failures that mark the owner's credential invalid.
    """

    min_interval_s: float = 1.1
    lock_margin_s: float = 60.0
    owner_backoff_s: float = 3600.0
    owner_max_failures: int = 2


class LoginBudget:
    """The logins one device may still take, for one scan (see the module docstring).

    Args:
        ledger: where attempts are remembered across scans.
        device: the device's inventory key (``"addr:<ip>"`` when it has none).
        address: the device's address.
        vendor: the device's vendor, for its threshold and window.
        prior_failures: failed logins already spent on it in this scan (identification).
        policy: pacing and back-off.
        clock: seconds since the epoch.
        sleep: waits (tests pass one that moves simulated time).
    """

    def __init__(
        self,
        ledger: AttemptLedger,
        *,
        device: str,
        address: str,
        vendor: str | None,
        prior_failures: int = 0,
        policy: BudgetPolicy | None = None,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.ledger, self.device, self.address = ledger, device, address
        self.cap, self.window_s = failure_cap(vendor), lockout_window_s(vendor)
        self.policy = policy or BudgetPolicy()
        self.prior_failures = prior_failures
        self.clock, self.sleep = clock, sleep
        self.refused = 0  # failed logins this budget spent
        self.lock_reason = ""  # why attempts stopped, when a lock signal was seen
        self._last: float | None = None
        self._owner_failed = False

    def now(self) -> datetime:
        """The budget's clock as an aware UTC datetime."""
        return datetime.fromtimestamp(self.clock(), UTC)

    def _recent(self, seconds: float) -> list[LoginAttempt]:
        since = self.now() - timedelta(seconds=seconds)
        return self.ledger.attempts_since(self.device, self.address, since)

    def locked_until(self) -> datetime | None:
        """When a remembered lock signal lifts (with the margin), or None."""
        horizon = self.window_s + self.policy.lock_margin_s
        locks = [a for a in self._recent(horizon * 4) if a.outcome is AttemptOutcome.LOCKED]
        ends = [
            (a.until or a.at + timedelta(seconds=self.window_s))
            + timedelta(seconds=self.policy.lock_margin_s)
            for a in locks
        ]
        latest = max(ends, default=None)
        return latest if latest is not None and latest > self.now() else None

    def failures(self, protocol: str = "http") -> int:
        """Failed logins (and lock signals) in the window on ``protocol``'s counter;
        the account counter includes the failures of this scan's identification."""
        counted = (AttemptOutcome.REFUSED, AttemptOutcome.LOCKED)
        counter = counter_of(protocol)
        recent = [
            a
            for a in self._recent(self.window_s)
            if a.outcome in counted and counter_of(a.protocol) == counter
        ]
        return len(recent) + (self.prior_failures if counter == "account" else 0)

    def remaining(self, protocol: str = "http") -> int:
        """Failed logins that may still be risked now on ``protocol`` (0 while locked)."""
        if self.lock_reason or self.locked_until() is not None:
            return 0
        return max(0, self.cap - self.failures(protocol))

    async def attempt(
        self,
        protocol: str,
        username: str,
        login: Callable[[], Awaitable[bool]],
        *,
        owner: bool = False,
    ) -> bool | None:
        """Spend one login if the budget allows it.

        Args:
            protocol: ``"http"``, ``"onvif"``, ``"rtsp"`` or ``"telnet"``.
            username: the account (kept; the password never is).
            login: makes the attempt; True = accepted. A LockoutError is a lock signal.
            owner: the owner's stored credential (D-03 rules apply on top).

        Raises:
            DriverError: the attempt could not be completed (it is counted as refused).

        Returns:
            True/False for accepted/refused; None when no attempt was made.
        """
        if self.remaining(protocol) <= 0 or (owner and not self.owner_may_try(username)):
            return None
        await self._pace()
        try:
            accepted = await login()
        except LockoutError as err:
            self._locked(protocol, username, err, owner)
            return None
        except DriverError:
            # The credential may have reached the device: count it as refused.
            self._record(protocol, username, AttemptOutcome.REFUSED, owner)
            self.refused += 1
            raise
        finally:
            # Spacing counts from the end of an attempt: the device saw it at some
            # moment before now, so the next one is at least the interval after it.
            self._last = self.clock()
        outcome = AttemptOutcome.ACCEPTED if accepted else AttemptOutcome.REFUSED
        self._record(protocol, username, outcome, owner)
        if not accepted:
            self.refused += 1
            self._owner_failed = self._owner_failed or owner
        return accepted

    async def _pace(self) -> None:
        if self._last is not None:
            wait = self._last + self.policy.min_interval_s - self.clock()
            if wait > 0:
                await self.sleep(wait)

    def _record(
        self,
        protocol: str,
        username: str,
        outcome: AttemptOutcome,
        owner: bool,
        until: datetime | None = None,
    ) -> None:
        self.ledger.record_attempt(
            LoginAttempt(
                self.device, self.address, protocol, username, self.now(), outcome, owner, until
            )
        )

    def _locked(self, protocol: str, username: str, err: LockoutError, owner: bool) -> None:
        seconds = err.unlock_after_s if err.unlock_after_s is not None else self.window_s
        until = self.now() + timedelta(seconds=seconds)
        by_us = "yes" if self.refused or self.failures(protocol) else "no"
        self.lock_reason = f"device signalled a login lock on {protocol} (by us: {by_us}): {err}"
        self._record(protocol, username, AttemptOutcome.LOCKED, owner, until)
        logger.warning("%s: %s", self.address, self.lock_reason)

    # --- the owner's stored credential (D-03) -------------------------------------------

    def owner_failures_in_a_row(self, username: str) -> tuple[int, datetime | None]:
        """Consecutive failures of the owner's credential for ``username``, and the last."""
        mine = [a for a in self._recent(OWNER_HISTORY_S) if a.owner and a.username == username]
        count, last = 0, None
        for a in reversed(mine):
            if a.outcome is AttemptOutcome.ACCEPTED:
                break
            count, last = count + 1, last or a.at
        return count, last

    def owner_invalid(self, username: str) -> bool:
        """True once the owner's credential failed ``owner_max_failures`` times in a row."""
        return self.owner_failures_in_a_row(username)[0] >= self.policy.owner_max_failures

    def owner_may_try(self, username: str) -> bool:
        """At most one owner failure per scan, back-off after one, none once invalid."""
        if self._owner_failed:
            return False
        count, last = self.owner_failures_in_a_row(username)
        if count >= self.policy.owner_max_failures:
            return False
        if count and last is not None:
            backoff = self.policy.owner_backoff_s * 2 ** (count - 1)
            return self.now() >= last + timedelta(seconds=backoff)
        return True
