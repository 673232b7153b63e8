"""``plan_upgrades``: strategies, upgrade paths and every refusal, on a synthetic catalog."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from campatch.audit.interface import DeviceFacts
from campatch.knowledge.index import KnowledgeBase
from campatch.model import (
    Advisory,
    AffectedProduct,
    AuthState,
    DeviceClass,
    Field,
    FirmwareRelease,
    HostReport,
    Identity,
    Observation,
    Problem,
    Provenance,
    VersionRange,
)
from campatch.patch.plan import DevicePlan, Flag, Plan, SkipReason, Strategy
from campatch.patch.planner import plan_upgrades

SOURCE = Provenance("test", "https://vendor.example/firmware")
MODEL = "DS-2CD2032F-I"


def release(version: str, **kw: object) -> FirmwareRelease:
    """A Hikvision release of MODEL (keywords override any field)."""
    fields: dict[str, object] = {"vendor": "Hikvision", "model": MODEL, "version": version,
                                 "provenance": SOURCE, "sha256": "ab" * 32}  # fmt: skip
    fields.update(kw)
    return FirmwareRelease(**fields)  # type: ignore[arg-type]


def advisory(id: str, fixed: str, **kw: object) -> Advisory:
    """An advisory on every DS-2CD2 camera before ``fixed``."""
    product = AffectedProduct("Hikvision", ("DS-2CD2*",), ranges=(VersionRange(fixed=fixed),))
    fields: dict[str, object] = {"id": id, "title": "flaw", "description": "",
                                 "affected": (product,), "provenance": SOURCE}  # fmt: skip
    fields.update(kw)
    return Advisory(**fields)  # type: ignore[arg-type]


#: V5.4.0 is affected by A (fixed in V5.4.41) and B (fixed in V5.5.0); V5.7.3 needs V5.5.0.
RELEASES = (
    release("V5.4.0 build 160530"),
    release("V5.4.41 build 170312"),
    release("V5.5.0 build 180101", blocks_downgrade=True),
    release("V5.7.3 build 220112", requires=("V5.5.0 build 180101",), breaking=True),
)
ADVISORIES = (advisory("CVE-2099-0001", "V5.4.41"), advisory("CVE-2099-0002", "V5.5.0"))


def camera(
    firmware: str | None = "V5.4.0 build 160530",
    *,
    vendor: str | None = "Hikvision",
    model: str | None = MODEL,
    hardware: str | None = None,
    auth: AuthState = AuthState.ACCEPTED,
    drivers: tuple[str, ...] = ("hikvision",),
    problems: tuple[Problem, ...] = (),
) -> DeviceFacts:
    """A camera's facts as the inventory holds them (None = the field is unknown)."""
    values = {Field.VENDOR: vendor, Field.MODEL: model, Field.FIRMWARE: firmware,
              Field.HARDWARE: hardware}  # fmt: skip
    identity = Identity.of(Observation(f, v, "test", 0.95) for f, v in values.items() if v)
    report = HostReport("192.0.2.10", DeviceClass.CAMERA, identity, drivers=drivers, auth=auth,
                        problems=problems)  # fmt: skip
    return DeviceFacts("mac:00:11:22:33:44:55", report)


def plan_one(
    device: DeviceFacts,
    releases: Sequence[FirmwareRelease] = RELEASES,
    advisories: Sequence[Advisory] = ADVISORIES,
    **kw: object,
) -> DevicePlan:
    knowledge = KnowledgeBase(advisories=advisories, releases=releases)
    plan: Plan = plan_upgrades([device], knowledge, **kw)  # type: ignore[arg-type]
    return plan.devices[0]


def versions(item: DevicePlan) -> list[str]:
    return [r.version for r in item.path]


def reasons(item: DevicePlan) -> list[SkipReason]:
    return [s.reason for s in item.skips]


def test_minimum_fix_steps_up_until_every_advisory_is_fixed() -> None:
    item = plan_one(camera())
    assert item.ready, item.skips
    assert item.target is not None
    assert item.target.version == "V5.5.0 build 180101"  # V5.4.41 still has CVE-2099-0002
    assert versions(item) == ["V5.5.0 build 180101"]
    assert item.fixes == ("CVE-2099-0001", "CVE-2099-0002")
    assert item.unfixed == ()
    assert Flag.BLOCKS_DOWNGRADE in item.flags
    assert item.downtime_s == 600


def test_minimum_fix_rechecks_the_candidate_against_other_advisories() -> None:
    """A release that fixes what affects the device but brings in another flaw is skipped."""
    introduced = AffectedProduct(
        "Hikvision", ("DS-2CD2*",), ranges=(VersionRange(introduced="V5.5.0", fixed="V5.7.0"),)
    )
    new_flaw = advisory("CVE-2099-0003", "", affected=(introduced,))
    item = plan_one(camera(), advisories=(*ADVISORIES, new_flaw))
    assert item.target is not None
    assert item.target.version == "V5.7.3 build 220112"


def test_latest_follows_requires_through_the_intermediate_release() -> None:
    item = plan_one(camera(), strategy=Strategy.LATEST)
    assert item.ready, item.skips
    assert versions(item) == ["V5.5.0 build 180101", "V5.7.3 build 220112"]
    assert item.downtime_s == 1200
    assert {Flag.BREAKING, Flag.BLOCKS_DOWNGRADE} <= set(item.flags)


def test_a_device_past_the_requirement_goes_straight_to_the_target() -> None:
    item = plan_one(camera("V5.5.0 build 180101"), strategy=Strategy.LATEST)
    assert versions(item) == ["V5.7.3 build 220112"]


def test_an_unknown_intermediate_release_is_below_minimum() -> None:
    target = release("V5.7.3 build 220112", requires=("V5.6.0",))
    item = plan_one(camera(), releases=(target,), strategy=Strategy.LATEST)
    assert reasons(item) == [SkipReason.BELOW_MINIMUM]
    assert "D-05" in item.skips[0].safety_case
    assert "V5.6.0" in item.skips[0].detail


def test_already_current_and_no_advisory() -> None:
    assert reasons(plan_one(camera("V5.7.3 build 220112"), strategy=Strategy.LATEST)) == [
        SkipReason.ALREADY_CURRENT
    ]
    assert reasons(plan_one(camera("V5.5.0 build 180101"))) == [SkipReason.ALREADY_CURRENT]


def test_an_image_for_another_hardware_revision_is_never_picked() -> None:
    rev_b = release("V5.9.0 build 230101", hardware="B")
    releases = (*RELEASES, rev_b)
    on_a = plan_one(camera(hardware="A"), releases=releases, strategy=Strategy.LATEST)
    assert on_a.target is not None
    assert on_a.target.version == "V5.7.3 build 220112"
    unknown = plan_one(camera(), releases=releases, strategy=Strategy.LATEST)
    assert unknown.target is not None
    assert unknown.target.version == "V5.7.3 build 220112"  # revision unknown: not the B image
    on_b = plan_one(camera(hardware="B"), releases=releases, strategy=Strategy.LATEST)
    assert on_b.target is not None
    assert on_b.target.version == "V5.9.0 build 230101"


def test_only_releases_for_another_revision_is_a_hardware_mismatch() -> None:
    item = plan_one(camera(hardware="A"), releases=(release("V5.9.0", hardware="B"),))
    assert reasons(item) == [SkipReason.HARDWARE_MISMATCH]
    assert item.skips[0].safety_case == "D-05: the model or hardware does not match"


def test_region_follows_the_installed_release_and_other_regions_are_refused() -> None:
    releases = (
        release("V5.4.0 build 160530", region="china"),
        release("V5.5.0 build 180101", region="international"),
        release("V5.5.1 build 180301", region="china"),
    )
    item = plan_one(camera(), releases=releases, strategy=Strategy.LATEST)
    assert item.region == "china"
    assert item.target is not None
    assert item.target.version == "V5.5.1 build 180301"
    pinned = plan_one(camera(), releases=releases, version="V5.5.0 build 180101")
    assert reasons(pinned) == [SkipReason.REGION_MISMATCH]
    assert "wrong branch" in pinned.skips[0].safety_case


def test_region_unknown_never_gets_a_region_specific_image() -> None:
    releases = (release("V5.5.0 build 180101", region="international"),)
    item = plan_one(camera(), releases=releases, strategy=Strategy.LATEST)
    assert reasons(item) == [SkipReason.REGION_MISMATCH]
    assert "unknown region" in item.skips[0].detail
    assert item.target is None


def test_hardware_unknown_never_gets_a_revision_specific_image() -> None:
    releases = (release("V5.4.0 build 160530"), release("V5.5.0 build 180101", hardware="B"))
    item = plan_one(camera(), releases=releases, strategy=Strategy.LATEST)
    assert reasons(item) == [SkipReason.HARDWARE_MISMATCH]
    assert "unknown hardware revision" in item.skips[0].detail


def test_end_of_life_with_no_newer_image() -> None:
    releases = (release("V5.4.0 build 160530", end_of_life=True),)
    item = plan_one(camera(), releases=releases)
    assert reasons(item) == [SkipReason.END_OF_LIFE]
    assert "end-of-life" in item.skips[0].safety_case
    assert "CVE-2099-0001" in item.skips[0].detail


def test_the_last_release_of_an_end_of_life_model_is_flagged() -> None:
    releases = (release("V5.5.0 build 180101", end_of_life=True),)
    item = plan_one(camera(), releases=releases)
    assert item.ready
    assert Flag.END_OF_LIFE in item.flags


def test_minimum_fix_without_a_fixing_release_takes_the_newest_and_says_what_stays() -> None:
    item = plan_one(camera(), releases=RELEASES[:2])
    assert item.target is not None
    assert item.target.version == "V5.4.41 build 170312"
    assert item.fixes == ("CVE-2099-0001",)
    assert item.unfixed == ("CVE-2099-0002",)


def test_same_version_is_refused_without_allow_reinstall() -> None:
    item = plan_one(camera(), version="V5.4.0 build 160530")
    assert reasons(item) == [SkipReason.REINSTALL_REFUSED]
    assert item.skips[0].safety_case == "D-05: the image is the same as installed"


def test_older_version_is_refused_without_allow_downgrade() -> None:
    item = plan_one(camera("V5.4.41 build 170312"), version="V5.4.0 build 160530")
    assert reasons(item) == [SkipReason.DOWNGRADE_REFUSED]
    assert item.skips[0].safety_case == "D-05: the image is older than installed"
    assert "--allow-downgrade" in item.skips[0].detail


def test_allow_reinstall_and_allow_downgrade_plan_them_with_a_flag() -> None:
    again = plan_one(camera(), version="V5.4.0 build 160530", allow_reinstall=True)
    assert again.ready
    assert Flag.REINSTALL in again.flags
    back = plan_one(camera("V5.4.41 build 170312"), version="V5.4.0 build 160530",
                    allow_downgrade=True)  # fmt: skip
    assert back.ready
    assert Flag.DOWNGRADE in back.flags


def test_a_release_that_blocks_downgrades_refuses_even_with_allow_downgrade() -> None:
    item = plan_one(camera("V5.5.0 build 180101"), version="V5.4.41 build 170312",
                    allow_downgrade=True)  # fmt: skip
    assert reasons(item) == [SkipReason.DOWNGRADE_REFUSED]
    assert "blocks going back" in item.skips[0].detail


def test_unknown_and_unorderable_firmware_are_skipped_never_guessed() -> None:
    unknown = plan_one(camera(None, auth=AuthState.NOT_TRIED))
    assert reasons(unknown) == [SkipReason.FIRMWARE_UNKNOWN]
    assert "campatch creds add 192.0.2.10" in unknown.skips[0].detail
    odd = plan_one(camera("build-of-the-month"))
    assert reasons(odd) == [SkipReason.FIRMWARE_UNORDERABLE]
    nameless = plan_one(camera(model=None))
    assert reasons(nameless) == [SkipReason.IDENTITY_UNKNOWN]


def test_no_release_for_the_model() -> None:
    assert reasons(plan_one(camera(), releases=())) == [SkipReason.NO_RELEASE]


def test_no_credentials_keeps_the_target_for_instructions() -> None:
    item = plan_one(camera(auth=AuthState.REJECTED))
    assert reasons(item) == [SkipReason.NO_CREDENTIALS]
    assert "refused the stored credentials" in item.skips[0].detail
    assert item.target is not None


def test_unreachable_at_the_last_scan() -> None:
    gave_up = Problem("identify", "gave up after 30 s (host deadline)")
    item = plan_one(camera(problems=(gave_up,)))
    assert SkipReason.UNREACHABLE in reasons(item)
    timeout = Problem("hikvision:identify", "http://192.0.2.10/ISAPI: ConnectTimeout")
    assert SkipReason.UNREACHABLE in reasons(plan_one(camera(problems=(timeout,))))


def test_a_refused_login_is_no_credentials_not_unreachable() -> None:
    refused = Problem("hikvision:login", "192.0.2.10: ISAPI refused the stored credential")
    item = plan_one(camera(auth=AuthState.REJECTED, problems=(refused,)))
    assert reasons(item) == [SkipReason.NO_CREDENTIALS]


def test_vendors_without_an_automatic_path_get_manual_instructions() -> None:
    axis = FirmwareRelease("Axis", "M3045-V", "10.12.200", SOURCE)
    device = camera("10.12.114", vendor="Axis", model="M3045-V", drivers=("onvif",))
    item = plan_one(device, releases=(axis,), advisories=(), strategy=Strategy.LATEST)
    assert reasons(item) == [SkipReason.NO_AUTOMATIC_PATH]
    assert item.target == axis
    assert item.downtime_s == 1200
    onvif = camera("2.1.0", vendor="Acme", model="X1", drivers=("onvif",))
    acme = FirmwareRelease("Acme", "X1", "2.2.0", SOURCE)
    assert plan_one(onvif, releases=(acme,), advisories=(), strategy=Strategy.LATEST).ready


@dataclass
class _Image:
    sha256: str


class _Store:
    """A firmware store holding the images of the given versions."""

    def __init__(self, *held: str) -> None:
        self.held = held
        self.asked: list[tuple[str, str, str | None, str | None]] = []

    def find(
        self, vendor: str, model: str, version: str | None = None, hardware: str | None = None
    ) -> list[_Image]:
        self.asked.append((vendor, model, version, hardware))
        return [_Image("AB" * 32)] if version in self.held else []


def test_every_image_of_the_path_must_be_in_the_store() -> None:
    store = _Store("V5.7.3 build 220112")
    item = plan_one(camera(hardware="A"), strategy=Strategy.LATEST, firmware_store=store)
    assert reasons(item) == [SkipReason.NO_IMAGE]
    assert "V5.5.0 build 180101" in item.skips[0].detail
    assert ("Hikvision", MODEL, "V5.5.0 build 180101", "A") in store.asked
    full = _Store("V5.5.0 build 180101", "V5.7.3 build 220112")
    assert plan_one(camera(), strategy=Strategy.LATEST, firmware_store=full).ready
