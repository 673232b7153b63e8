"""The versioned JSON form of a scan (``campatch scan --format json``).

The shape is described by ``schemas/scan-v1.schema.json`` (JSON Schema 2020-12), which
a test validates real output against. Additive changes keep ``version`` 1; anything
that removes or renames a key bumps it.

When the devices were assessed, the document also carries ``findings`` (worst first)
and ``coverage`` (baseline items assessed / not assessed / not assessable); when they
were not (``scan --no-audit``) both keys are absent, which is not the same as an empty
``findings`` list. ``campatch audit --format json`` writes the same shape with
``format`` ``"campatch-audit"``: the inventory's latest view of each device, assessed.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from campatch import __version__
from campatch.audit.result import AuditResult
from campatch.model import DeviceClass, Field, FieldValue, HostReport, ScanResult
from campatch.report.findings import coverage_to_dict, finding_to_dict

SCHEMA_ID = "https://campatch.dev/schemas/scan-v1.schema.json"
FORMAT_VERSION = 1


def scan_schema() -> dict[str, Any]:
    """The JSON Schema of :func:`scan_to_dict` output."""
    text = resources.files("campatch.report").joinpath("schemas/scan-v1.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def scan_to_dict(
    result: ScanResult, assessment: AuditResult | None = None, *, kind: str = "campatch-scan"
) -> dict[str, Any]:
    """A JSON-able mapping of ``result`` (see the module docstring for versioning).

    Args:
        result: the scan (or, for ``campatch audit``, the inventory's latest view).
        assessment: the audit of its devices; None leaves ``findings``/``coverage`` out.
        kind: the ``format`` value, ``"campatch-scan"`` or ``"campatch-audit"``.
    """
    doc = _document(result, kind)
    if assessment is not None:
        doc["findings"] = [finding_to_dict(d, f) for d, f in assessment.pairs()]
        doc["coverage"] = coverage_to_dict(assessment.coverage)
        doc["problems"] += [{"source": p.source, "message": p.message} for p in assessment.problems]
    return doc


def _document(result: ScanResult, kind: str) -> dict[str, Any]:
    return {
        "$schema": SCHEMA_ID,
        "format": kind,
        "version": FORMAT_VERSION,
        "tool": {"name": "campatch", "version": __version__},
        "scan_id": result.scan_id,
        "started_at": result.started_at.isoformat(),
        "finished_at": result.finished_at.isoformat(),
        "targets": list(result.targets),
        "summary": _summary(result),
        "hosts": [_host(h) for h in result.hosts],
        "changes": [
            {
                "kind": c.kind.value,
                "device": c.device_key,
                "address": c.address,
                "before": c.before,
                "after": c.after,
            }
            for c in result.changes
        ],
        "problems": [{"source": p.source, "message": p.message} for p in result.problems],
    }


def scan_to_json(
    result: ScanResult, assessment: AuditResult | None = None, *, kind: str = "campatch-scan"
) -> str:
    """:func:`scan_to_dict` as indented JSON text."""
    return json.dumps(scan_to_dict(result, assessment, kind=kind), indent=2, sort_keys=False)


def _summary(result: ScanResult) -> dict[str, int]:
    video = [h for h in result.hosts if h.device_class.is_video_device]
    return {
        "hosts": len(result.hosts),
        "video_devices": len(video),
        "identified_with_firmware": sum(1 for h in video if h.identity.get(Field.FIRMWARE)),
        "not_cameras": sum(1 for h in result.hosts if h.device_class is DeviceClass.NOT_CAMERA),
        "unknown": sum(1 for h in result.hosts if h.device_class is DeviceClass.UNKNOWN),
    }


def _field(fv: FieldValue) -> dict[str, Any]:
    return {
        "value": fv.value,
        "source": fv.source,
        "confidence": round(fv.confidence, 2),
        "disagreements": [
            {"value": o.value, "source": o.source, "confidence": round(o.confidence, 2)}
            for o in fv.disagreements
        ],
    }


def _host(h: HostReport) -> dict[str, Any]:
    return {
        "address": h.address,
        "class": h.device_class.value,
        "what": h.what,
        "device_key": h.identity.key,
        "identity": {f.value: _field(fv) for f, fv in h.identity.fields.items()},
        "services": [
            {"port": s.port, "transport": s.transport, "protocol": s.protocol} for s in h.services
        ],
        "drivers": list(h.drivers),
        "auth": h.auth.value,
        "problems": [{"source": p.source, "message": p.message} for p in h.problems],
    }
