"""Safe XML parsing for everything a device or feed sends us.

No DTDs, no entities, no external references (defusedxml), a size cap before the
parser sees a byte, and one error type out: :class:`~campatch.errors.DeviceResponseError`.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from campatch.errors import DeviceResponseError

MAX_XML_BYTES = 1_048_576


def parse_xml(data: bytes, *, what: str, host: str = "", max_bytes: int = MAX_XML_BYTES) -> Element:
    """Parse ``data`` as XML, refusing DTDs, entities and oversized documents.

    Args:
        data: the raw document.
        what: what the document is, for the error message ("ISAPI deviceInfo").
        host: the device it came from.
        max_bytes: largest document accepted.

    Raises:
        DeviceResponseError: too large, hostile (DTD/entity) or malformed.
    """
    if len(data) > max_bytes:
        raise DeviceResponseError(
            f"{what}: {len(data)} bytes of XML exceeds {max_bytes}", host=host
        )
    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as err:
        raise DeviceResponseError(
            f"{what}: refused hostile XML ({type(err).__name__})", host=host
        ) from err
    except (ParseError, ValueError) as err:
        raise DeviceResponseError(f"{what}: malformed XML ({err})", host=host) from err


def local(tag: str) -> str:
    """``"{ns}Model"`` -> ``"Model"``."""
    return tag.rsplit("}", 1)[-1]


def child_text(parent: Element, name: str) -> str | None:
    """Text of the first descendant whose local name is ``name``, stripped; None if absent."""
    for el in parent.iter():
        if local(el.tag) == name:
            return (el.text or "").strip()
    return None


def children_text(parent: Element, names: tuple[str, ...]) -> dict[str, str]:
    """``{name: text}`` for each local name in ``names`` found below ``parent``."""
    wanted = set(names)
    found: dict[str, str] = {}
    for el in parent.iter():
        name = local(el.tag)
        if name in wanted and name not in found:
            found[name] = (el.text or "").strip()
    return found
