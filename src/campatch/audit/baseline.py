"""The security baselines an audit is measured against, and what it covered (SAFETY B-06).

Three baselines name what a connected camera should get right:

- **ETSI EN 303 645** (consumer IoT), provisions 5.1 to 5.13 and the data-protection
  provisions of clause 6;
- the **OWASP IoT Top 10** (2018), I1 to I10;
- **NISTIR 8259A**, the six core device cybersecurity capabilities.

A check names the provisions it serves (``"ETSI 5.3-2"``, ``"OWASP I4"``,
``"8259A update"``); a provision belongs to a baseline item when it equals the item's
id or extends it with ``-`` or ``.`` (``ETSI 5.3-2`` -> ``ETSI 5.3``; ``ETSI 6.1`` ->
``ETSI 6``). :func:`coverage` sorts every item into one of three lists, so a report is
honest about what it did *not* look at:

- **assessed**: a check that ran serves the item;
- **not assessed**: the item could be checked over the network, but no check that ran
  does so;
- **not assessable**: the item is about storage, software integrity, personal data,
  user-data deletion or physical hardening, which no network audit can see (ETSI 5.4,
  5.7, 5.8, 5.11, clause 6; OWASP I6, I10). A check that claims one of these is a bug.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["BASELINE", "BaselineItem", "Coverage", "coverage", "item_of"]


@dataclass(frozen=True, slots=True)
class BaselineItem:
    """One item of a baseline.

    Args:
        id: campatch's id of the item ("ETSI 5.3", "OWASP I4", "8259A update").
        baseline: the document ("ETSI EN 303 645", "OWASP IoT Top 10 2018", "NISTIR 8259A").
        title: the item's name in the document.
        network_assessable: False when no network audit can judge it.
        why_not: for items that are not assessable, why (shown in reports).
    """

    id: str
    baseline: str
    title: str
    network_assessable: bool = True
    why_not: str = ""


_ETSI = "ETSI EN 303 645"
_OWASP = "OWASP IoT Top 10 2018"
_NIST = "NISTIR 8259A"
_STORAGE = "a property of the device's storage and code, invisible from the network"

# fmt: off
#: Every item of the three baselines, in document order.
BASELINE: tuple[BaselineItem, ...] = (
    BaselineItem("ETSI 5.1", _ETSI, "No universal default passwords"),
    BaselineItem("ETSI 5.2", _ETSI, "Implement a means to manage reports of vulnerabilities"),
    BaselineItem("ETSI 5.3", _ETSI, "Keep software updated"),
    BaselineItem("ETSI 5.4", _ETSI, "Securely store sensitive security parameters", False, _STORAGE),
    BaselineItem("ETSI 5.5", _ETSI, "Communicate securely"),
    BaselineItem("ETSI 5.6", _ETSI, "Minimize exposed attack surfaces"),
    BaselineItem("ETSI 5.7", _ETSI, "Ensure software integrity", False, _STORAGE),
    BaselineItem(
        "ETSI 5.8", _ETSI, "Ensure that personal data is secure", False,
        "needs the device's data flows and storage, not its network surface",
    ),
    BaselineItem("ETSI 5.9", _ETSI, "Make systems resilient to outages"),
    BaselineItem("ETSI 5.10", _ETSI, "Examine system telemetry data"),
    BaselineItem(
        "ETSI 5.11", _ETSI, "Make it easy for users to delete user data", False,
        "a user-interface and storage property; deleting data is never tried",
    ),
    BaselineItem("ETSI 5.12", _ETSI, "Make installation and maintenance of devices easy"),
    BaselineItem("ETSI 5.13", _ETSI, "Validate input data"),
    BaselineItem(
        "ETSI 6", _ETSI, "Data protection provisions for consumer IoT", False,
        "about the manufacturer's handling of personal data",
    ),
    BaselineItem("OWASP I1", _OWASP, "Weak, guessable, or hardcoded passwords"),
    BaselineItem("OWASP I2", _OWASP, "Insecure network services"),
    BaselineItem("OWASP I3", _OWASP, "Insecure ecosystem interfaces"),
    BaselineItem("OWASP I4", _OWASP, "Lack of secure update mechanism"),
    BaselineItem("OWASP I5", _OWASP, "Use of insecure or outdated components"),
    BaselineItem(
        "OWASP I6", _OWASP, "Insufficient privacy protection", False,
        "about what personal data the device keeps and shares",
    ),
    BaselineItem("OWASP I7", _OWASP, "Insecure data transfer and storage"),
    BaselineItem("OWASP I8", _OWASP, "Lack of device management"),
    BaselineItem("OWASP I9", _OWASP, "Insecure default settings"),
    BaselineItem(
        "OWASP I10", _OWASP, "Lack of physical hardening", False,
        "needs hands on the device (ports, debug headers, tamper seals)",
    ),
    BaselineItem("8259A identification", _NIST, "Device identification"),
    BaselineItem("8259A configuration", _NIST, "Device configuration"),
    BaselineItem("8259A data-protection", _NIST, "Data protection"),
    BaselineItem("8259A interface-access", _NIST, "Logical access to interfaces"),
    BaselineItem("8259A update", _NIST, "Software update"),
    BaselineItem("8259A state-awareness", _NIST, "Cybersecurity state awareness"),
)
# fmt: on

_BY_ID = {item.id: item for item in BASELINE}
_PREFIXES = ("ETSI", "OWASP", "8259A", "NIST")


def item_of(provision: str) -> BaselineItem | None:
    """The baseline item a check's provision belongs to, or None if it names none.

    ``"ETSI 5.3-13"`` -> ETSI 5.3; ``"ETSI 5.13-1"`` -> ETSI 5.13; ``"ETSI 6.1"`` -> ETSI 6.
    """
    text = provision.strip()
    for cut in range(len(text), 0, -1):
        head = text[:cut]
        if head in _BY_ID and (cut == len(text) or text[cut] in "-."):
            return _BY_ID[head]
    return None


@dataclass(frozen=True)
class Coverage:
    """What an audit looked at, item by item (see the module docstring).

    Args:
        assessed: items a check that ran serves, each with the check ids.
        not_assessed: items the network could show, but no check that ran covers.
        not_assessable: items no network audit can judge.
        unknown_provisions: provisions that name one of the three baselines but no item
            of it (a typo in a check; a test keeps this empty). Tags of other documents
            ("CISA TA16-288A") are references, not baseline items, and are not listed.
    """

    assessed: tuple[tuple[BaselineItem, tuple[str, ...]], ...]
    not_assessed: tuple[BaselineItem, ...]
    not_assessable: tuple[BaselineItem, ...]
    unknown_provisions: tuple[str, ...] = ()


def coverage(checks: Iterable[tuple[str, Iterable[str]]]) -> Coverage:
    """Sort the baseline into assessed / not assessed / not assessable.

    Args:
        checks: (check id, provisions) of every check that ran.

    Returns:
        The coverage; items claimed by a check but not assessable from the network
        stay in ``not_assessable`` (a network check cannot judge them).
    """
    served: dict[str, list[str]] = {}
    unknown: list[str] = []
    for check_id, provisions in checks:
        for provision in provisions:
            item = item_of(provision)
            if item is None:
                if provision.startswith(_PREFIXES):
                    unknown.append(provision)
            elif check_id not in served.setdefault(item.id, []):
                served[item.id].append(check_id)
    assessable = [i for i in BASELINE if i.network_assessable]
    return Coverage(
        assessed=tuple((i, tuple(served[i.id])) for i in assessable if i.id in served),
        not_assessed=tuple(i for i in assessable if i.id not in served),
        not_assessable=tuple(i for i in BASELINE if not i.network_assessable),
        unknown_provisions=tuple(dict.fromkeys(unknown)),
    )
