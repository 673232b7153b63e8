"""The README's patch walkthrough on the built-in demo fleet, as a new user runs it:
``sim setup``, ``scan``, ``patch --plan``, a real rollout, ``jobs``, ``--instructions``.

The fleet runs in this test's event loop (as ``campatch sim run`` would in another
shell); every command is the real CLI in a child process with its own home.
"""

from __future__ import annotations

import json
from pathlib import Path

from campatch.cli.sim import demo_fleet_path
from campatch.sim.fleet import Fleet
from support import campatch


async def test_readme_walkthrough_plans_rolls_out_and_writes_instructions(
    tmp_path: Path,
) -> None:
    async with Fleet.from_file(demo_fleet_path(), multicast=False) as fleet:
        offset = ["--port-offset", str(fleet.port_map.low_port_offset)]
        code, out, err = await campatch(tmp_path, "sim", "setup")
        assert code == 0, err
        assert "simulator firmware release" in out
        code, _, err = await campatch(tmp_path, "scan", "127.20.0.0/24", "--no-audit",
                                      "--no-multicast", *offset)  # fmt: skip
        assert code == 0, err

        code, out, err = await campatch(tmp_path, "patch", "--plan", "--strategy", "latest",
                                        "--format", "json")  # fmt: skip
        assert code == 0, err
        plan = {d["address"]: d for d in json.loads(out)["devices"]}
        ready = sorted(a for a, d in plan.items() if d["ready"])
        assert ready == ["127.20.0.11", "127.20.0.12", "127.20.0.21", "127.20.0.23",
                         "127.20.0.31"]  # fmt: skip
        assert plan["127.20.0.13"]["skips"][0]["reason"] == "no-release"

        # a script that forgets --yes changes nothing
        code, _, err = await campatch(tmp_path, "patch", "--strategy", "latest", *offset)
        assert code == 2
        assert "--yes" in err
        assert all(d.flash is None or d.flash.counters.upload_requests == 0
                   for d in fleet.devices.values())  # fmt: skip

        code, out, err = await campatch(tmp_path, "patch", "--strategy", "latest", "--yes",
                                        "--poll-interval", "0.3", "--format", "json", *offset)  # fmt: skip
        assert code == 0, err
        rollout = json.loads(out)
        assert rollout["job"]["state"] == "done"
        assert {d["address"]: d["result"] for d in rollout["devices"]} == dict.fromkeys(
            ready, "success"
        )
        lobby = fleet.device("lobby-cam").spec
        assert (lobby.firmware, lobby.build) == ("V5.7.15", "build 230512")

        code, out, err = await campatch(tmp_path, "jobs", "1", "--format", "json", "--events")
        assert code == 0, err
        assert len(json.loads(out)["events"]) > 5 * 4
        code, out, _ = await campatch(tmp_path, "devices", "--format", "json")
        assert "V5.7.15" in out  # the rollout recorded what the devices run now
        code, out, _ = await campatch(tmp_path, "journal", "verify")
        assert code == 0, out

        guide = tmp_path / "steps.md"
        code, _, err = await campatch(tmp_path, "patch", "--instructions", "-o", str(guide))
        assert code == 0, err
        assert "127.20.0.32" in guide.read_text()  # the XiongMai DVR needs the owner
