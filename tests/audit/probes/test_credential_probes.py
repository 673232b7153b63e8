"""Default credentials (SAFETY B-01) and owner-credential settings, on loopback simulators."""

from __future__ import annotations

import dataclasses

import pytest
from probe_support import Vault, identified, knowledge

from campatch.audit.checks.accounts import CHECKS as ACCOUNT_CHECKS
from campatch.audit.checks.credentials import CHECKS as CREDENTIAL_CHECKS
from campatch.audit.interface import AuditContext, DeviceFacts
from campatch.audit.probes.security import DEVICE_SAYS_DEFAULT, assess_host, device_key
from campatch.model import Credential, DefaultLogin, HostReport, Secret
from support import probe_context

HIK_DEFAULT = {"personality": "hikvision", "users": {"admin": "12345"}}
HIK_UNIQUE = {"personality": "hikvision", "users": {"admin": "Unique-Pass-77"}}
HIK_WEAK = {"personality": "hikvision", "users": {"admin": "short1"}}  # isRiskPassword
B01_PROVISIONS = {"ETSI 5.1-1", "OWASP I1", "8259A interface-access"}


def _findings(report: HostReport, checks, declared=None) -> list:
    ctx = AuditContext(knowledge=knowledge(), declared_accounts=declared or {})
    facts = DeviceFacts(device_key(report), report)
    return [f for c in checks for f in c.run(facts, ctx)]


async def _run(fleet_of, limits, ledger, options, devices, owner=None) -> list[HostReport]:
    async with (
        fleet_of(devices, multicast=False, clock=options.clock) as fleet,
        probe_context(limits, fleet.port_map) as ctx,
    ):
        out = []
        for name, dev in fleet.devices.items():
            vault = Vault({dev.spec.address: owner[name]} if owner and name in owner else {})
            candidate, report = await identified(fleet, name, ctx, vault)
            out.append(
                await assess_host(
                    candidate, report, ctx, knowledge(), ledger, credentials=vault, options=options
                )
            )
        for dev in fleet.devices.values():
            assert dev.lockout.lock_events == 0
        return out


@pytest.mark.safety("B-01")
async def test_b01_default_unique_and_device_flagged_passwords(
    fleet_of, limits, ledger, options
) -> None:
    owner = {"dev12": Credential("admin", Secret("short1"))}
    default, unique, weak = await _run(
        fleet_of, limits, ledger, options, [HIK_DEFAULT, HIK_UNIQUE, HIK_WEAK], owner
    )
    assert default.security.default_logins == (
        DefaultLogin("http", "admin", "bundle:default-credentials"),
    )
    assert unique.security.default_logins == ()
    assert weak.security.default_logins == (DefaultLogin("http", "admin", DEVICE_SAYS_DEFAULT),)
    found = {r.address: _findings(r, CREDENTIAL_CHECKS) for r in (default, unique, weak)}
    assert [len(found[r.address]) for r in (default, unique, weak)] == [1, 0, 1]
    for finding in found[default.address] + found[weak.address]:
        assert finding.severity.value == "critical"
        assert set(finding.provisions) >= B01_PROVISIONS
        assert "12345" not in finding.evidence + finding.title  # never the password
    # D-01 still holds: the unique device took at most 3 failures, nothing was locked.
    assert unique.security.login_attempts <= 3


@pytest.mark.safety("B-01")
async def test_b01_mirai_telnet_only_with_the_explicit_option(
    fleet_of, limits, ledger, options
) -> None:
    telnet_cam = {**HIK_UNIQUE, "telnet": True, "telnet_users": {"root": "xc3511"}}
    (plain,) = await _run(fleet_of, limits, ledger, options, [telnet_cam])
    assert plain.security.default_logins == ()
    assert plain.security.login_attempts == 3  # the whole budget went on http/onvif/rtsp
    options.clock.advance(1800 + 61)  # the vendor window (and margin) passes
    mirai = dataclasses.replace(options, mirai=True)
    (opted,) = await _run(fleet_of, limits, ledger, mirai, [telnet_cam])
    assert opted.security.default_logins == (
        DefaultLogin("telnet", "root", "bundle:mirai", mirai=True),
    )
    (finding,) = _findings(opted, CREDENTIAL_CHECKS)
    assert "Mirai" in finding.evidence
    assert "CISA TA16-288A" in finding.provisions


async def test_owner_credential_reads_accounts_upnp_and_p2p(
    fleet_of, limits, ledger, options
) -> None:
    hik = {"personality": "hikvision", "users": {"admin": "Owner-Pass-1", "installer": "x"}}
    hik.update(upnp_enabled=True, p2p_enabled=True)
    dahua = {"personality": "dahua", "users": {"admin": "Owner-Pass-2"}}
    onvif = {
        "personality": "onvif",
        "vendor": "Acme",
        "model": "C1",
        "users": {"admin": "Owner-Pass-3", "svc": "y"},
    }
    owner = {
        "dev10": Credential("admin", Secret("Owner-Pass-1")),
        "dev11": Credential("admin", Secret("Owner-Pass-2")),
        "dev12": Credential("admin", Secret("Owner-Pass-3")),
    }
    h, d, o = await _run(fleet_of, limits, ledger, options, [hik, dahua, onvif], owner)
    assert (h.security.accounts, h.security.upnp_enabled, h.security.p2p_enabled) == (
        ("admin", "installer"),
        True,
        True,
    )
    assert (d.security.accounts, d.security.upnp_enabled, d.security.p2p_enabled) == (
        ("admin",),
        False,
        False,
    )
    assert o.security.accounts == ("admin", "svc")
    declared = {"*": ("admin",)}
    assert [f.title for f in _findings(h, ACCOUNT_CHECKS, declared)] == [
        "1 account(s) you did not declare: 'installer'"
    ]
    assert _findings(d, ACCOUNT_CHECKS, declared) == []


async def test_no_owner_credential_leaves_settings_unchecked(
    fleet_of, limits, ledger, options
) -> None:
    (report,) = await _run(fleet_of, limits, ledger, options, [HIK_UNIQUE])
    assert report.security.accounts is None
    assert report.security.upnp_enabled is None
    assert _findings(report, ACCOUNT_CHECKS, {"*": ("admin",)}) == []
