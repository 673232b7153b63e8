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
    ├── FirmwareError               a firmware image cannot be fetched, stored or used
    │   ├── FirmwareIntegrityError  its hash, size or origin is not what was expected
    │   ├── FirmwareTooLarge        it (or an archive's content) exceeds its byte cap
    │   └── UnsafeArchiveError      a vendor bundle holds traversal, links, devices, bombs
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


class FirmwareError(CampatchError):
    """A firmware image cannot be fetched, stored, unpacked or used.

    Attributes:
        image: what the error is about (a file name, URL or SHA-256), "" if nothing.
    """

    def __init__(self, message: str, *, image: str = "") -> None:
        super().__init__(message)
        self.image = image


class FirmwareIntegrityError(FirmwareError):
    """The image's hash or size differs from what the catalog or the store recorded."""


class FirmwareTooLarge(FirmwareError):  # no "Error" suffix: the name STYLE C9 gives it
    """An image, a download or an archive's content exceeds its byte cap (SAFETY F-05)."""


class UnsafeArchiveError(FirmwareError):
    """A vendor bundle holds traversal, escaping links, device nodes, duplicates or a
    bomb (SAFETY I-06); nothing was extracted."""


class InventoryError(CampatchError):
    """The inventory store is unreachable, locked or inconsistent."""


class CredentialStoreError(CampatchError):
    """The credential vault cannot be opened, decrypted or written."""


class ReportError(CampatchError):
    """A report cannot be produced as valid output (nothing was written)."""


class JobBusyError(CampatchError):
    """Another process is running this upgrade job (one process per job, per database)."""
