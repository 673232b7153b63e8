"""HostReport parts to JSON-able values and back, for the ``scan_hosts`` history.

Every string a device sent passes :func:`clean` on the way in: PostgreSQL text cannot
hold NUL, and a lone surrogate cannot be encoded as UTF-8. A hostile device must not
be able to make a whole scan unstorable with one odd byte.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from campatch.model import (
    AuthState,
    DeviceClass,
    Field,
    FieldValue,
    HostReport,
    Identity,
    Observation,
    Problem,
    Service,
)

JsonObject = dict[str, Any]


def clean(text: str) -> str:
    """``text`` made storable on every backend (NUL and lone surrogates replaced)."""
    text = text.replace("\x00", "\ufffd")
    return text.encode("utf-8", "replace").decode("utf-8")


def clean_opt(text: str | None) -> str | None:
    """:func:`clean` for an optional value."""
    return None if text is None else clean(text)


def observation_to_json(obs: Observation) -> JsonObject:
    """One observation as a JSON object."""
    return {
        "field": obs.field.value,
        "value": clean(obs.value),
        "source": clean(obs.source),
        "confidence": obs.confidence,
    }


def observation_from_json(data: Mapping[str, Any]) -> Observation:
    """Inverse of :func:`observation_to_json`."""
    return Observation(
        Field(data["field"]), str(data["value"]), str(data["source"]), float(data["confidence"])
    )


def identity_to_json(identity: Identity) -> JsonObject:
    """The folded fields: value, source, confidence and disagreeing observations."""
    return {
        f.value: {
            "value": clean(fv.value),
            "source": clean(fv.source),
            "confidence": fv.confidence,
            "disagreements": [observation_to_json(o) for o in fv.disagreements],
        }
        for f, fv in identity.fields.items()
    }


def identity_from_json(fields: Mapping[str, Any], observations: Sequence[Any]) -> Identity:
    """Rebuild the identity exactly as stored (not re-folded)."""
    chosen = {
        Field(name): FieldValue(
            str(fv["value"]),
            str(fv["source"]),
            float(fv["confidence"]),
            tuple(observation_from_json(o) for o in fv["disagreements"]),
        )
        for name, fv in fields.items()
    }
    return Identity(chosen, tuple(observation_from_json(o) for o in observations))


def services_to_json(services: Sequence[Service]) -> list[JsonObject]:
    """Open services as JSON objects."""
    return [
        {
            "port": s.port,
            "transport": clean(s.transport),
            "protocol": clean(s.protocol),
            "banner": clean(s.banner),
        }
        for s in services
    ]


def services_from_json(data: Sequence[Any]) -> tuple[Service, ...]:
    """Inverse of :func:`services_to_json`."""
    return tuple(
        Service(int(s["port"]), str(s["transport"]), str(s["protocol"]), str(s["banner"]))
        for s in data
    )


def problems_to_json(problems: Sequence[Problem]) -> list[JsonObject]:
    """Problems as JSON objects."""
    return [{"source": clean(p.source), "message": clean(p.message)} for p in problems]


def problems_from_json(data: Sequence[Any]) -> tuple[Problem, ...]:
    """Inverse of :func:`problems_to_json`."""
    return tuple(Problem(str(p["source"]), str(p["message"])) for p in data)


def host_report(
    *,
    address: str,
    device_class: str,
    what: str,
    identity: Mapping[str, Any],
    observations: Sequence[Any],
    services: Sequence[Any],
    drivers: Sequence[Any],
    auth: str,
    problems: Sequence[Any],
) -> HostReport:
    """A HostReport from the stored columns of one ``scan_hosts`` row."""
    return HostReport(
        address=address,
        device_class=DeviceClass(device_class),
        identity=identity_from_json(identity, observations),
        what=what,
        services=services_from_json(services),
        drivers=tuple(str(d) for d in drivers),
        auth=AuthState(auth),
        problems=problems_from_json(problems),
    )
