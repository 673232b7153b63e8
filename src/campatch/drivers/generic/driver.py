"""The generic driver: recognises hosts that are not cameras, so reports can say what they are.

It makes no requests of its own: the banner pass (HTTP ``GET /``, SSH/telnet
greetings) and discovery (SSDP device type, UPnP description) already hold what
it needs. It abstains whenever anything points at a camera, NVR or DVR, and its
scores stay modest unless the evidence is specific (a UPnP IGD or printer type,
IPP/JetDirect ports), so a camera driver that recognises the host always wins.
"""

from __future__ import annotations

from collections.abc import Sequence

from campatch.discovery.interface import DiscoverySource
from campatch.drivers.generic.models import classify, host_view, server_observations
from campatch.drivers.interface import Banners, Fingerprint, ProbeContext
from campatch.model import Candidate, Confidence, Credential, DeviceClass, Field, Observation

UPNP_SOURCE = "upnp:description"


class GenericDriver:
    """Classifies printers, routers, SSH-only hosts and plain web servers.

    Attributes:
        name: ``"generic"``.
        priority: consulted after the vendor drivers and ONVIF (a fallback).
    """

    name = "generic"
    priority = 90

    async def fingerprint(
        self, candidate: Candidate, banners: Banners, ctx: ProbeContext
    ) -> Fingerprint | None:
        """A NOT_CAMERA verdict with what the host is, or None to abstain; never raises."""
        replies = list(banners.http.values())
        view = host_view(
            candidate,
            servers=banners.server_headers(),
            bodies=[r.body for r in replies if "html" in r.header("Content-Type").lower()],
            realms=banners.realms(),
            text_banners=dict(banners.text),
            rtsp=bool(banners.rtsp),
        )
        verdict = classify(view)
        if verdict is None:
            return None
        what, score = verdict
        return Fingerprint(
            driver=self.name,
            score=score,
            device_class=DeviceClass.NOT_CAMERA,
            observations=tuple(self._observations(candidate, banners)),
            what=what,
        )

    def _observations(self, candidate: Candidate, banners: Banners) -> list[Observation]:
        """Banner facts, plus UPnP notes that the candidate carries as notes only."""
        found = server_observations(banners.server_headers())
        notes = candidate.notes
        for field_, key in ((Field.VENDOR, "upnp_manufacturer"), (Field.MODEL, "upnp_model")):
            if notes.get(key):
                found.append(Observation(field_, notes[key], UPNP_SOURCE, Confidence.DISCOVERY))
        have = set(candidate.observations)
        return [o for o in dict.fromkeys(found) if o not in have]

    async def identify(
        self, candidate: Candidate, credential: Credential, ctx: ProbeContext
    ) -> Sequence[Observation]:
        """Nothing: campatch does not log in to non-cameras, so no credential is spent."""
        return []

    def discovery_sources(self) -> Sequence[DiscoverySource]:
        """None of its own (SSDP is a general source, listed by the pipeline)."""
        return []
