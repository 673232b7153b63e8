"""A loopback replay of the NVD CVE API 2.0 and the CISA KEV catalog, with fault switches.

The records are the real ones in ``shared/data``, reshaped into the services' JSON:

- ``kev-cameras.json``: its entry objects are verbatim KEV catalog entries; they are
  served as a catalog with the snapshot's ``catalogVersion`` and ``dateReleased``.
- ``camera-cves.json``: each curated CVE becomes an NVD ``vulnerabilities[].cve``
  object (English description, CVSS v3.x metric with NVD as ``Primary``, weaknesses,
  references, ``cisa*`` fields from the KEV data, and ``configurations`` whose
  ``cpeMatch`` carry the curated fixed/affected versions as NVD would:
  per-model ``versionEndExcluding``, ``versionStartIncluding``/``versionEndIncluding``
  ranges, or a ``-`` firmware CPE where no version was stated).

The curated data has no NVD dates, so ``lastModified`` is assigned by the simulator
(record *i* at ``BASE + i * 20`` days) to make incremental windows testable.

Switches (attributes, change them between requests): ``page_size`` (server-side cap of
``resultsPerPage``), ``refuse_429`` (that many 429 replies with ``Retry-After``),
``fail_503`` (that many 503 replies), ``truncate`` (a body cut short of its
``Content-Length``), ``endless`` (a body that never ends), ``wrong_total`` (``totalResults``
one higher than the truth), ``garbage`` (a 200 reply that is not JSON), ``malformed``
(CVE ids whose records are served broken). Every request is recorded.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from campatch.sim.http import HttpRequest, HttpResponse, RawWriter, serve_http
from support import require_service

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
NVD_PATH = "/rest/json/cves/2.0"
KEV_PATH = "/feeds/known_exploited_vulnerabilities.json"
BASE = datetime(2024, 1, 1, tzinfo=UTC)
STEP = timedelta(days=20)

#: Curated vendor name (first word) -> CPE vendor as NVD spells it.
CPE_VENDOR = {
    "amcrest": "amcrest",
    "dahua": "dahuasecurity",
    "d-link": "dlink",
    "tp-link": "tp-link",
    "xiongmai": "xiongmaitech",
}


# --- shared/data -> service JSON ----------------------------------------------------------


def shared_json(name: str) -> Any:
    """A file of ``shared/data`` (beside the checkout, as in CI): fail in CI, skip elsewhere."""
    path = SHARED / name
    require_service(path.is_file(), f"shared data file {path}")
    return json.loads(path.read_text(encoding="utf-8"))


def load_kev_catalog() -> dict[str, Any]:
    """The KEV snapshot's entries as a catalog document."""
    data = shared_json("kev-cameras.json")
    entries = data["vulnerabilities"]
    return {
        "title": "CISA Catalog of Known Exploited Vulnerabilities",
        "catalogVersion": data["source"]["catalogVersion"],
        "dateReleased": data["source"]["dateReleased"],
        "count": len(entries),
        "vulnerabilities": entries,
    }


def load_nvd_records() -> list[dict[str, Any]]:
    """Every curated CVE as an NVD ``vulnerabilities[]`` item, oldest modification first."""
    curated = shared_json("camera-cves.json")
    kev = _kev_by_id()
    return [
        {"cve": _nvd_cve(entry, kev.get(entry["cve_id"], {}), BASE + i * STEP)}
        for i, entry in enumerate(curated["vulnerabilities"])
    ]


def _kev_by_id() -> dict[str, dict[str, str]]:
    data = shared_json("kev-cameras.json")
    found = {
        e["cveID"]: {
            "cisaExploitAdd": e["dateAdded"],
            "cisaActionDue": e["dueDate"],
            "cisaRequiredAction": e["requiredAction"],
            "cisaVulnerabilityName": e["vulnerabilityName"],
        }
        for e in data["vulnerabilities"]
    }
    for e in data["later_additions_seen_in_nvd"]["entries"]:
        found[e["cveID"]] = {k: v for k, v in e.items() if k.startswith("cisa")}
    return found


def _nvd_cve(entry: dict[str, Any], kev: dict[str, str], modified: datetime) -> dict[str, Any]:
    stamp = modified.strftime("%Y-%m-%dT%H:%M:%S.000")
    return {
        "id": entry["cve_id"],
        "sourceIdentifier": "nvd@nist.gov",
        "published": stamp,
        "lastModified": stamp,
        "vulnStatus": "Analyzed",
        "descriptions": [{"lang": "en", "value": entry["description"]}],
        "metrics": _metrics(entry),
        **kev,
        "weaknesses": _weaknesses(entry.get("cwe") or []),
        "configurations": [{"nodes": [_node(entry)]}],
        "references": [{"url": u, "source": "nvd@nist.gov"} for u in entry["sources"]],
    }


def _metrics(entry: dict[str, Any]) -> dict[str, Any]:
    metrics: dict[str, list[dict[str, Any]]] = {}
    for key in ("cvss_v3", "cvss_v3_alternate"):
        cvss = entry.get(key)
        if not cvss:
            continue
        name = "cvssMetricV31" if cvss["version"] == "3.1" else "cvssMetricV30"
        primary = cvss["source"].startswith("NVD")
        metrics.setdefault(name, []).append(
            {
                "source": "nvd@nist.gov" if primary else "cna@example.org",
                "type": "Primary" if primary else "Secondary",
                "cvssData": {
                    "version": cvss["version"],
                    "vectorString": cvss["vector"],
                    "baseScore": cvss["base_score"],
                },
            }
        )
    return metrics


def _weaknesses(cwes: list[str]) -> list[dict[str, Any]]:
    values = [m.group(0) for c in cwes if (m := re.match(r"(CWE-\d+|NVD-CWE-\w+)", c))]
    desc = [{"lang": "en", "value": v} for v in values]
    return [{"source": "nvd@nist.gov", "type": "Primary", "description": desc}] if desc else []


def _node(entry: dict[str, Any]) -> dict[str, Any]:
    return {"operator": "OR", "negate": False, "cpeMatch": list(_cpe_matches(entry))}


def _cpe_matches(entry: dict[str, Any]) -> list[dict[str, Any]]:
    vendor = _cpe_vendor(entry["vendor"])
    fixed = entry.get("first_fixed_versions")
    if isinstance(fixed, dict):
        return [
            _match(vendor, model, "*", versionEndExcluding=version)
            for key, version in fixed.items()
            for model in key.split("/")
        ]
    ranges = re.findall(
        r"(DS-[\w-]+) (V[\d.]+ build \d+) to (V[\d.]+ build \d+)",
        entry.get("affected_versions") or "",
    )
    if ranges:
        return [
            _match(vendor, m, "*", versionStartIncluding=lo, versionEndIncluding=hi)
            for m, lo, hi in ranges
        ]
    named = re.search(
        r"\b(?!CVE-)[A-Za-z]+[\w-]*\d[\w-]*", entry["products"]
    )  # first model-like token
    model = named.group(0) if named else entry["products"].split()[0]
    if isinstance(fixed, str) and re.fullmatch(r"[\d.]+", fixed):
        return [_match(vendor, model, "*", versionEndExcluding=fixed)]
    return [_match(vendor, model, "-")]


def _cpe_vendor(curated: str) -> str:
    first = curated.split()[0].lower()
    return CPE_VENDOR.get(first, re.sub(r"[^a-z0-9-]", "", first))


def _match(vendor: str, model: str, version: str, **bounds: str) -> dict[str, Any]:
    product = re.sub(r"([()/\\])", r"\\\1", model.lower()) + "_firmware"
    criteria = f"cpe:2.3:o:{vendor}:{product}:{version}:*:*:*:*:*:*:*"
    return {"vulnerable": True, "criteria": criteria, **bounds}


# --- the server ---------------------------------------------------------------------------


@dataclass
class FeedSim:
    """The two feeds on ``127.0.0.1``; ``base`` is ``http://127.0.0.1:<port>``."""

    records: list[dict[str, Any]] = field(default_factory=load_nvd_records)
    catalog: dict[str, Any] = field(default_factory=load_kev_catalog)
    page_size: int = 2000
    refuse_429: int = 0
    retry_after: str = "7"
    fail_503: int = 0
    truncate: bool = False
    endless: bool = False
    wrong_total: bool = False
    garbage: bool = False
    malformed: set[str] = field(default_factory=set)
    requests: list[HttpRequest] = field(default_factory=list)
    base: str = ""
    _server: asyncio.Server | None = None

    async def __aenter__(self) -> FeedSim:
        self._server = await asyncio.start_server(serve_http(self._handle, None), "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def nvd_url(self) -> str:
        """The simulated CVE API address."""
        return self.base + NVD_PATH

    @property
    def kev_url(self) -> str:
        """The simulated catalog address."""
        return self.base + KEV_PATH

    def nvd_requests(self) -> list[HttpRequest]:
        """Requests that reached the CVE API."""
        return [r for r in self.requests if r.path == NVD_PATH]

    async def _handle(self, request: HttpRequest) -> HttpResponse | RawWriter:
        self.requests.append(request)
        if fault := self._fault():
            return fault
        if request.path == KEV_PATH:
            return self._body(json.dumps(self.catalog).encode())
        if request.path == NVD_PATH:
            return self._nvd(request.query)
        return HttpResponse(404, b"not found")

    def _fault(self) -> HttpResponse | None:
        if self.refuse_429:
            self.refuse_429 -= 1
            return HttpResponse(429, b"", [("Retry-After", self.retry_after)])
        if self.fail_503:
            self.fail_503 -= 1
            return HttpResponse(503, b"busy")
        return None

    def _body(self, body: bytes) -> HttpResponse | RawWriter:
        if self.garbage:
            return HttpResponse(200, b"<html>maintenance</html>", [("Content-Type", "text/html")])
        if self.truncate:
            return _truncated(body)
        if self.endless:
            return _endless
        return HttpResponse(200, body, [("Content-Type", "application/json")])

    def _nvd(self, query: dict[str, str]) -> HttpResponse | RawWriter:
        if problem := _bad_window(query):
            return HttpResponse(404, problem.encode(), [("message", problem)])
        matching = [r for r in self.records if _matches(r["cve"], query)]
        start = int(query.get("startIndex", "0"))
        size = min(int(query.get("resultsPerPage", "2000")), self.page_size)
        page = [self._served(r) for r in matching[start : start + size]]
        total = len(matching) + (1 if self.wrong_total else 0)
        doc = {
            "resultsPerPage": len(page),
            "startIndex": start,
            "totalResults": total,
            "format": "NVD_CVE",
            "version": "2.0",
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000"),
            "vulnerabilities": page,
        }
        return self._body(json.dumps(doc).encode())

    def _served(self, record: dict[str, Any]) -> dict[str, Any]:
        if record["cve"]["id"] not in self.malformed:
            return record
        broken = copy.deepcopy(record)
        broken["cve"]["descriptions"] = "\x1b[31mnot a list\x1b[0m"
        return broken


def _bad_window(query: dict[str, str]) -> str:
    """NVD's rules for the date filter: both ends, at most 120 days."""
    lo, hi = query.get("lastModStartDate"), query.get("lastModEndDate")
    if lo is None and hi is None:
        return ""
    if lo is None or hi is None:
        return "both lastModStartDate and lastModEndDate are required"
    if _when(hi) - _when(lo) > timedelta(days=120):
        return "the date range must not exceed 120 days"
    return ""


def _when(stamp: str) -> datetime:
    when = datetime.fromisoformat(stamp)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _matches(cve: dict[str, Any], query: dict[str, str]) -> bool:
    if "lastModStartDate" in query:
        modified = _when(cve["lastModified"])
        if not _when(query["lastModStartDate"]) <= modified <= _when(query["lastModEndDate"]):
            return False
    if words := query.get("keywordSearch"):
        text = cve["descriptions"][0]["value"].lower()
        return all(w.lower() in text for w in words.split())
    cpe = query.get("cpeName") or query.get("virtualMatchString")
    if cpe:
        wanted = cpe.split(":")[3:5]
        criteria = (m["criteria"].split(":")[3:5] for m in _all_matches(cve))
        return any(_cpe_part_matches(wanted, c) for c in criteria)
    return True


def _all_matches(cve: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for c in cve["configurations"] for n in c["nodes"] for m in n["cpeMatch"]]


def _cpe_part_matches(wanted: list[str], have: list[str]) -> bool:
    return all(w in ("*", h) for w, h in zip(wanted, have, strict=False))


def _truncated(body: bytes) -> RawWriter:
    async def write(writer: asyncio.StreamWriter) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        writer.write(head.encode() + body[: len(body) // 2])
        await writer.drain()
        writer.close()

    return write


async def _endless(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
    chunk = b'{"vulnerabilities": [' + b" " * 65_536
    try:
        while True:
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        return
    finally:
        writer.close()
