"""The one exception tree of campatch.

Library code raises only these; foreign exceptions (httpx, sqlite, socket, XML) are
mapped at the boundary where they occur, always with ``raise ... from err``.
Messages are one lowercase clause naming the subject; they never contain a password.

    CampatchError
    ├── UsageError                  bad input from the user (target, option, file)
    ├── DiscoveryError              a discovery source failed as a whole
    ├── DriverError                 talking to one device went wrong
    │   ├── TransportError          connect/read failed, timed out or hit a byte cap
    │   ├── DeviceResponseError     the device answered something we cannot accept
    │   ├── AuthError               the device refused our credentials
    │   └── LockoutError            the device signals a (possible) lockout: stop trying
    ├── KnowledgeSourceError        a feed or bundled knowledge file is unusable
    ├── InventoryError              the inventory database is unreachable or broken
    ├── CredentialStoreError        the credential vault cannot be opened or is damaged
    └── ReportError                 a report cannot be produced (e.g. invalid CycloneDX)
"""

from __future__ import annotations


class CampatchError(Exception):
    """Root of every error campatch raises on purpose."""


class UsageError(CampatchError):
    """The user asked for something that cannot be done as given."""


class DiscoveryError(CampatchError):
    """A discovery source failed as a whole (not a single host)."""


class DriverError(CampatchError):
    """Talking to one device went wrong.

    Attributes:
        host: the device address the error is about.
    """

    def __init__(self, message: str, *, host: str = "") -> None:
        super().__init__(message)
        self.host = host


class TransportError(DriverError):
    """Connecting or reading failed, timed out, or hit a byte cap."""


class DeviceResponseError(DriverError):
    """The device answered, but with something malformed, hostile or unexpected."""


class AuthError(DriverError):
    """The device refused the credentials we offered."""


class LockoutError(AuthError):
    """The device signals a lockout (or is about to): no further attempts.

    Attributes:
        unlock_after_s: seconds until the device says it unlocks, when it says so.
    """

    def __init__(
        self, message: str, *, host: str = "", unlock_after_s: float | None = None
    ) -> None:
        super().__init__(message, host=host)
        self.unlock_after_s = unlock_after_s


class KnowledgeSourceError(CampatchError):
    """A knowledge source (bundled file or feed) cannot be used."""


class InventoryError(CampatchError):
    """The inventory store is unreachable, locked or inconsistent."""


class CredentialStoreError(CampatchError):
    """The credential vault cannot be opened, decrypted or written."""


class ReportError(CampatchError):
    """A report cannot be produced as valid output (nothing was written)."""
