"""``unexpected-accounts``: the device has accounts the owner did not declare.

Reads ``SecurityFacts.accounts`` (read with the owner's credential) and compares them
with ``AuditContext.declared_accounts`` for the device's key, else for ``"*"``. No
declaration means nothing to compare with: no finding.
"""

from __future__ import annotations

from collections.abc import Iterable

from campatch.audit.interface import AuditContext, DeviceFacts
from campatch.model import Finding, Severity


class UnexpectedAccountsCheck:
    """Accounts on the device beyond the ones the owner declared."""

    id = "unexpected-accounts"
    title = "Unexpected user accounts on the device"
    severity = Severity.MEDIUM
    provisions = ("OWASP I1", "8259A interface-access")

    def run(self, device: DeviceFacts, ctx: AuditContext) -> Iterable[Finding]:
        """One finding listing every undeclared account."""
        accounts = device.report.security.accounts
        declared = ctx.declared_accounts.get(device.key, ctx.declared_accounts.get("*"))
        if accounts is None or declared is None:
            return
        known = {a.casefold() for a in declared}
        extra = [a for a in accounts if a.casefold() not in known]
        if not extra:
            return
        names = ", ".join(repr(a) for a in extra)
        yield Finding(
            check=self.id,
            severity=self.severity,
            title=f"{len(extra)} account(s) you did not declare: {names}",
            evidence=(
                f"device accounts: {', '.join(accounts)}; declared: {', '.join(declared) or 'none'}"
            ),
            remediation=(
                f"Check who created {names}; delete the accounts nobody needs and change the "
                "remaining passwords. If they are yours, add them to the declared accounts."
            ),
            provisions=self.provisions,
        )


CHECKS = (UnexpectedAccountsCheck(),)
