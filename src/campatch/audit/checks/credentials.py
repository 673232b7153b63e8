"""``default-credentials``: the device accepted a factory or botnet-list password.

Reads ``SecurityFacts.default_logins`` (filled by the credential probe, SAFETY B-01).
Critical: anyone on the network, and any botnet scanning it, can log in.
"""

from __future__ import annotations

from collections.abc import Iterable

from campatch.audit.interface import AuditContext, DeviceFacts
from campatch.model import DefaultLogin, Finding, Severity

DEVICE_SAYS_DEFAULT = "device:isDefaultPassword"  # the probe's source for the device's own flag
MIRAI_ALERT = "https://www.cisa.gov/news-events/alerts/2016/10/14/heightened-ddos-threat-posed-mirai-and-other-botnets"


class DefaultCredentialsCheck:
    """Factory or botnet-list credentials that the device accepted."""

    id = "default-credentials"
    title = "Factory default password accepted"
    severity = Severity.CRITICAL
    provisions = ("ETSI 5.1-1", "OWASP I1", "8259A interface-access")

    def run(self, device: DeviceFacts, ctx: AuditContext) -> Iterable[Finding]:
        """One finding per accepted (service, account)."""
        logins = device.report.security.default_logins or ()
        for login in dict.fromkeys(logins):
            yield self._finding(device, login)

    def _finding(self, device: DeviceFacts, login: DefaultLogin) -> Finding:
        where = f"over {login.service}"
        if login.source == DEVICE_SAYS_DEFAULT:
            evidence = f"the device reports that the password of {login.username!r} is its default or a weak one"
        else:
            evidence = f"the device accepted the factory password of {login.username!r} {where} (list: {login.source})"
        provisions: tuple[str, ...] = self.provisions
        references: tuple[str, ...] = ()
        if login.mirai:
            evidence += "; this password is on the Mirai botnet's scanning list"
            provisions = (*provisions, "CISA TA16-288A")
            references = (MIRAI_ALERT,)
        return Finding(
            check=self.id,
            severity=self.severity,
            title=f"Default password for {login.username!r} accepted {where}",
            evidence=evidence,
            remediation=(
                f"Set a unique, strong password for {login.username!r} on this device now, "
                "then store it with 'campatch creds add'."
            ),
            references=references,
            provisions=provisions,
        )


CHECKS = (DefaultCredentialsCheck(),)
