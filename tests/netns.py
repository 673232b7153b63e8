"""Run a Python script inside a fresh user + network namespace (multicast on loopback).

Multicast discovery tests (mDNS, WS-Discovery, SSDP, SADP, DHIP) need a link that
carries multicast and no route to any real network. ``unshare -Urn`` gives exactly
that, for root and, where user namespaces are enabled, for unprivileged users too:
a namespace whose only interface is ``lo``, brought up with MULTICAST and routes
for 224.0.0.0/4 (and ff00::/8 where IPv6 exists). Inside it the script is root of
the namespace, so the simulator binds the vendors' real low ports.

Usage in a test::

    from netns import json_result, run_in_netns

    SCRIPT = '''
    import asyncio, json
    from campatch.sim.fleet import Fleet
    ...
    print(json.dumps(result))        # the last stdout line is the result
    '''

    @pytest.mark.netns                # skipped (or failed in CI) without namespaces
    def test_finds_camera() -> None:
        assert json_result(run_in_netns(SCRIPT))["addresses"] == ["127.0.0.5"]

The script runs with the repository root as working directory and this folder on
``sys.path``, so it may import helpers from ``tests/``. Its stdout and stderr are
captured; :func:`json_result` puts stderr into the assertion message on failure.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from support import require_service

__all__ = [
    "NETNS_SETUP",
    "arun_in_netns",
    "json_result",
    "netns_available",
    "netns_unavailable_reason",
    "require_netns",
    "run_in_netns",
]

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent

#: Shell run inside the namespace before the script: lo up, multicast on, group routes.
#: The IPv6 route is best effort (a kernel without IPv6 still gets IPv4 multicast).
NETNS_SETUP = (
    "ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo"
    " && { ip -6 route add multicast ff00::/8 dev lo table local 2>/dev/null || true; }"
)


def _command(script: str) -> list[str]:
    unshare = shutil.which("unshare") or "unshare"
    body = f'{NETNS_SETUP} && exec "$0" -c "$1"'
    return [unshare, "-Urn", "sh", "-c", body, sys.executable, textwrap.dedent(script)]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(TESTS_DIR), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_in_netns(script: str, *, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with this interpreter inside a new user + network namespace.

    Args:
        script: Python source (dedented automatically).
        timeout: seconds before the script is killed.

    Raises:
        subprocess.TimeoutExpired: the script ran longer than ``timeout``.

    Returns:
        The finished process (text stdout/stderr captured, returncode not checked).
    """
    return subprocess.run(
        _command(script),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
        env=_env(),
        check=False,
    )


async def arun_in_netns(
    script: str,
    *,
    timeout: float = 30,  # noqa: ASYNC109 - the same signature as run_in_netns
) -> subprocess.CompletedProcess[str]:
    """:func:`run_in_netns` for async tests: does not block the event loop.

    Raises:
        TimeoutError: the script ran longer than ``timeout`` (it is killed).
    """
    cmd = _command(script)
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
        env=_env(),
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return subprocess.CompletedProcess(cmd, proc.returncode, out.decode(), err.decode())


def json_result(proc: subprocess.CompletedProcess[str]) -> Any:
    """The JSON value on the last non-empty stdout line of a successful script.

    Raises:
        AssertionError: the script failed or printed no JSON (stderr is in the message).
    """
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        raise AssertionError(
            f"netns script exited {proc.returncode}\n--- stdout\n{proc.stdout}"
            f"\n--- stderr\n{proc.stderr}"
        )
    try:
        return json.loads(lines[-1])
    except ValueError as err:
        raise AssertionError(f"netns script printed no JSON last line: {lines[-1]!r}") from err


@functools.cache
def netns_unavailable_reason() -> str:
    """Why a namespace cannot be created here, or ``""`` if it can (probed once)."""
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            return f"'{tool}' is not installed"
    try:
        proc = run_in_netns("pass", timeout=10)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"unshare -Urn failed: {err}"
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        return f"unshare -Urn failed (user namespaces disabled?): {detail[0]}"
    return ""


def netns_available() -> bool:
    """True if a user + network namespace with multicast on lo can be created."""
    return not netns_unavailable_reason()


def require_netns() -> None:
    """Fail in CI (env ``CI`` set), skip elsewhere, when namespaces are unavailable."""
    reason = netns_unavailable_reason()
    require_service(not reason, f"a user+network namespace ({reason})")
