"""``viewer-app-outdated``: the owner's phone and PC viewer apps against the app catalog.

The owner declares the apps they use (``AuditContext.owner_apps``: (name, platform) ->
installed version). An app older than the catalog's latest release for that platform
is a medium finding naming the latest version and where to get it (the catalog's version is
the latest *known* as of its source's date, hence "or later"); a version campatch
cannot order is a POSSIBLE finding; an app the catalog does not know gives nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

from campatch.audit.checks._common import finding
from campatch.audit.interface import AuditContext
from campatch.knowledge.versions import Ordering, Scheme, compare, parse_version
from campatch.model import DeviceFindings, Severity, ViewerApp

__all__ = ["APP_CHECKS", "ViewerAppOutdated", "app_key"]


def app_key(name: str, platform: str) -> str:
    """The pseudo device key of an app finding: ``"app:<name>:<platform>"``."""
    return f"app:{name.casefold()}:{platform.casefold()}"


def _catalog(ctx: AuditContext) -> dict[tuple[str, str], ViewerApp]:
    return {(a.name.casefold(), a.platform.casefold()): a for a in ctx.knowledge.apps()}


class ViewerAppOutdated:
    """A viewer app the owner uses is older than its latest release."""

    id: str = "viewer-app-outdated"
    title: str = "viewer app behind its latest release"
    severity: Severity = Severity.MEDIUM
    provisions: tuple[str, ...] = ("ETSI 5.3-1", "OWASP I3", "OWASP I5")

    def run_apps(self, ctx: AuditContext) -> Iterator[DeviceFindings]:
        """One finding per outdated (or not comparable) app the catalog knows."""
        catalog = _catalog(ctx)
        for (name, platform), installed in sorted(ctx.owner_apps.items()):
            app = catalog.get((name.casefold(), platform.casefold()))
            if app is not None:
                yield from self._compare(app, installed)

    def _compare(self, app: ViewerApp, installed: str) -> Iterator[DeviceFindings]:
        where = app.url or app.provenance.url or f"the {app.platform} app store"
        order = compare(
            parse_version(Scheme.GENERIC, installed),
            parse_version(Scheme.GENERIC, app.latest_version),
        )
        if order in (Ordering.EQUAL, Ordering.GREATER):
            return
        unsure = order is Ordering.UNKNOWN
        found = finding(
            self,
            title=f"{app.name} on {app.platform} is {'possibly ' if unsure else ''}outdated",
            evidence=f"installed {installed}; latest {app.latest_version}"
            + (f" released {app.released}" if app.released else "")
            + f" (source {app.provenance.source})",
            remediation=f"Update {app.name} on {app.platform} to {app.latest_version} or later"
            + (f" (latest known as of {app.provenance.retrieved})" if app.provenance.retrieved else "")
            + f" from {where}.",
            confirm_by=f"check the version of {app.name} in its About screen" if unsure else "",
        )  # fmt: skip
        yield DeviceFindings(app_key(app.name, app.platform), "", (found,))


APP_CHECKS = (ViewerAppOutdated(),)
