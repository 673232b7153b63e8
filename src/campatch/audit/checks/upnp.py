"""``upnp-port-forward``: the router forwards an internet port to this device.

Reads ``SecurityFacts.port_forwards`` (the router probe's UPnP IGD mappings whose
internal client is this device, SAFETY B-03) and ``upnp_enabled`` (the device's own
UPnP switch, reported as context).
"""

from __future__ import annotations

from collections.abc import Iterable

from campatch.audit.interface import AuditContext, DeviceFacts
from campatch.model import Finding, PortForward, Severity


class UpnpPortForwardCheck:
    """Router port mappings that make the device reachable from the internet."""

    id = "upnp-port-forward"
    title = "Reachable from the internet through a router port forward"
    severity = Severity.HIGH
    provisions = ("ETSI 5.6-1", "ETSI 5.6-2", "OWASP I2", "OWASP I9", "CISA TA16-288A")

    def run(self, device: DeviceFacts, ctx: AuditContext) -> Iterable[Finding]:
        """One finding per mapping that points at the device."""
        for forward in device.report.security.port_forwards or ():
            yield self._finding(device, forward)

    def _finding(self, device: DeviceFacts, forward: PortForward) -> Finding:
        upnp = device.report.security.upnp_enabled
        why = " The device's own UPnP switch is on, so it likely asked for it." if upnp else ""
        label = f" ({forward.description})" if forward.description else ""
        return Finding(
            check=self.id,
            severity=self.severity,
            title=(
                f"the router forwards external port {forward.external_port} to this camera's "
                f"port {forward.internal_port}: it is reachable from the internet"
            ),
            evidence=(
                f"router {forward.router} UPnP mapping {forward.protocol} "
                f"{forward.external_port} -> {device.report.address}:{forward.internal_port}"
                f"{label}.{why}"
            ),
            remediation=(
                f"Delete the mapping of port {forward.external_port} on router {forward.router}, "
                "turn off UPnP on the camera (and on the router if nothing needs it), and use "
                "the vendor's app or a VPN for remote viewing."
            ),
            provisions=self.provisions,
        )


CHECKS = (UpnpPortForwardCheck(),)
