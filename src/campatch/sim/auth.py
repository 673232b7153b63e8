"""Authentication and lockout as simulated devices do them.

:class:`DigestRealm` issues RFC 2617 challenges (MD5, ``qop="auth"``) and checks the
answers; :class:`Lockout` counts failed logins per client address inside a window and
locks that address, the way Hikvision's "illegal login lock" and Dahua's IP lock
behave (VENDORS.md §1, §2). Both take a clock so tests can move time instead of
sleeping.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from campatch.net.rtsp import parse_challenge

Clock = Callable[[], float]


class AuthResult(Enum):
    """Outcome of checking one request's credentials."""

    MISSING = "missing"  # no Authorization header: not a login attempt
    OK = "ok"
    BAD = "bad"  # wrong user or password: counts towards a lockout


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - the protocol mandates MD5


@dataclass
class DigestRealm:
    """Digest/Basic checking against a device's user table.

    Args:
        realm: the realm string the device announces.
        users: user name -> password (the device's accounts).
        allow_basic: also accept Basic credentials (many firmwares do).
    """

    realm: str
    users: Mapping[str, str]
    allow_basic: bool = True
    _nonces: set[str] = field(default_factory=set)

    def challenge(self, *, qop: bool = True) -> str:
        """A fresh ``WWW-Authenticate: Digest ...`` value."""
        nonce = secrets.token_hex(16)
        self._nonces.add(nonce)
        if len(self._nonces) > 4096:
            self._nonces.pop()
        qop_part = ', qop="auth"' if qop else ""
        return f'Digest realm="{self.realm}"{qop_part}, nonce="{nonce}", algorithm="MD5"'

    def basic_challenge(self) -> str:
        """A ``WWW-Authenticate: Basic ...`` value."""
        return f'Basic realm="{self.realm}"'

    def check(self, authorization: str, method: str) -> tuple[AuthResult, str]:
        """Check an ``Authorization`` header value; returns the result and the user name."""
        if not authorization:
            return AuthResult.MISSING, ""
        scheme, params = parse_challenge(authorization)
        if scheme == "basic" and self.allow_basic:
            return self._check_basic(authorization.split(" ", 1)[-1].strip())
        if scheme != "digest":
            return AuthResult.BAD, ""
        user = params.get("username", "")
        password = self.users.get(user)
        if password is None or params.get("nonce") not in self._nonces:
            return AuthResult.BAD, user
        ha1 = _md5(f"{user}:{self.realm}:{password}")
        ha2 = _md5(f"{method}:{params.get('uri', '')}")
        if "qop" in params:
            want = _md5(
                f"{ha1}:{params['nonce']}:{params.get('nc', '')}:{params.get('cnonce', '')}:{params['qop']}:{ha2}"
            )
        else:
            want = _md5(f"{ha1}:{params['nonce']}:{ha2}")
        ok = secrets.compare_digest(want, params.get("response", ""))
        return (AuthResult.OK if ok else AuthResult.BAD), user

    def _check_basic(self, token: str) -> tuple[AuthResult, str]:
        try:
            user, _, password = base64.b64decode(token).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return AuthResult.BAD, ""
        ok = user in self.users and secrets.compare_digest(self.users[user], password)
        return (AuthResult.OK if ok else AuthResult.BAD), user


@dataclass
class Lockout:
    """Per-client-address failed-login counter with a lock, as cameras implement it.

    Args:
        max_failures: failures inside ``window_s`` that lock the address.
        lock_s: how long the address stays locked.
        window_s: the counting window.
        clock: time source (seconds).
        min_failure_gap_s: a failure sooner than this after the previous one locks the
            address at once (Axis-like "more than 1 failure per second"); 0 = off.
    """

    max_failures: int = 5
    lock_s: float = 1800.0
    window_s: float = 1800.0
    clock: Clock = time.monotonic
    min_failure_gap_s: float = 0.0
    _failures: dict[str, list[float]] = field(default_factory=dict)
    _locked_until: dict[str, float] = field(default_factory=dict)
    lock_events: int = 0  # how many times any address got locked (tests assert 0)
    attempts: dict[str, int] = field(default_factory=dict)  # every login attempt per address

    def unlock_in(self, peer: str) -> float:
        """Seconds until ``peer`` is unlocked (0 when not locked)."""
        return max(0.0, self._locked_until.get(peer, 0.0) - self.clock())

    def is_locked(self, peer: str) -> bool:
        """True while ``peer`` is locked."""
        return self.unlock_in(peer) > 0

    def remaining(self, peer: str) -> int:
        """Failed attempts ``peer`` may still make before the lock."""
        return max(0, self.max_failures - len(self._recent(peer)))

    def record(self, peer: str, result: AuthResult) -> None:
        """Count one login attempt's outcome."""
        if result is AuthResult.MISSING:
            return
        self.attempts[peer] = self.attempts.get(peer, 0) + 1
        if result is AuthResult.OK:
            self._failures.pop(peer, None)
            return
        previous = self._recent(peer)
        recent = [*previous, self.clock()]
        self._failures[peer] = recent
        too_fast = bool(previous) and recent[-1] - previous[-1] < self.min_failure_gap_s
        if len(recent) >= self.max_failures or too_fast:
            self._locked_until[peer] = self.clock() + self.lock_s
            self._failures.pop(peer, None)
            self.lock_events += 1

    def _recent(self, peer: str) -> list[float]:
        horizon = self.clock() - self.window_s
        return [t for t in self._failures.get(peer, []) if t > horizon]
