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
    DefaultLogin,
    DeviceClass,
    Field,
    FieldValue,
    HostReport,
    Identity,
    Observation,
    PortForward,
    Problem,
    SecurityFacts,
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


def _strings(values: Sequence[str] | None) -> list[str] | None:
    return None if values is None else [clean(v) for v in values]


def _tuple(values: Sequence[Any] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(str(v) for v in values)


def _login_to_json(login: DefaultLogin) -> JsonObject:
    return {
        "service": clean(login.service),
        "username": clean(login.username),
        "source": clean(login.source),
        "mirai": login.mirai,
    }


def _forward_to_json(forward: PortForward) -> JsonObject:
    return {
        "router": clean(forward.router),
        "external_port": forward.external_port,
        "internal_port": forward.internal_port,
        "protocol": clean(forward.protocol),
        "description": clean(forward.description),
    }


def security_to_json(facts: SecurityFacts) -> JsonObject:
    """What the probes observed, as a JSON object (None stays null: "not checked")."""
    logins = facts.default_logins
    forwards = facts.port_forwards
    return {
        "rtsp_open": _strings(facts.rtsp_open),
        "snapshot_open": _strings(facts.snapshot_open),
        "onvif_open": facts.onvif_open,
        "web_tls": clean_opt(facts.web_tls),
        "basic_auth_over_http": facts.basic_auth_over_http,
        "default_logins": None if logins is None else [_login_to_json(x) for x in logins],
        "login_attempts": facts.login_attempts,
        "port_forwards": None if forwards is None else [_forward_to_json(f) for f in forwards],
        "upnp_enabled": facts.upnp_enabled,
        "p2p_enabled": facts.p2p_enabled,
        "clock_offset_s": facts.clock_offset_s,
        "accounts": _strings(facts.accounts),
    }


def _opt_bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def security_from_json(data: Mapping[str, Any] | None) -> SecurityFacts:
    """Inverse of :func:`security_to_json`; a missing value (older scans) is "not checked"."""
    if not data:
        return SecurityFacts()
    logins, forwards = data.get("default_logins"), data.get("port_forwards")
    offset = data.get("clock_offset_s")
    return SecurityFacts(
        rtsp_open=_tuple(data.get("rtsp_open")),
        snapshot_open=_tuple(data.get("snapshot_open")),
        onvif_open=_opt_bool(data.get("onvif_open")),
        web_tls=None if data.get("web_tls") is None else str(data["web_tls"]),
        basic_auth_over_http=_opt_bool(data.get("basic_auth_over_http")),
        default_logins=None
        if logins is None
        else tuple(
            DefaultLogin(str(x["service"]), str(x["username"]), str(x["source"]), bool(x["mirai"]))
            for x in logins
        ),
        login_attempts=int(data.get("login_attempts", 0)),
        port_forwards=None
        if forwards is None
        else tuple(
            PortForward(
                str(f["router"]),
                int(f["external_port"]),
                int(f["internal_port"]),
                str(f["protocol"]),
                str(f["description"]),
            )
            for f in forwards
        ),
        upnp_enabled=_opt_bool(data.get("upnp_enabled")),
        p2p_enabled=_opt_bool(data.get("p2p_enabled")),
        clock_offset_s=None if offset is None else float(offset),
        accounts=_tuple(data.get("accounts")),
    )


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
    security: Mapping[str, Any] | None = None,
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
        security=security_from_json(security),
    )
