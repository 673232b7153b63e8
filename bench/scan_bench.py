"""Scan benchmark: campatch against ``nmap -sV`` on a simulated /22 of cameras and other hosts.

Usage::

    make bench                                   # or: .venv/bin/python bench/scan_bench.py
    .venv/bin/python bench/scan_bench.py --devices 560 --runs 3 --nmap-timeout 0   # nmap to the end

What it does (all traffic stays on loopback, 127.0.0.0/8):

1. generates a fleet (``bench/fleet_gen.py``): by default 560 devices scattered over
   127.30.0.0/22, 85 % cameras/NVRs/DVRs of many vendors, 15 % other hosts, with the
   ground truth of every device and the credentials its owner knows;
2. starts the simulator in a process of its own and waits until it listens;
3. fills a credential vault in a throw-away ``CAMPATCH_HOME`` (the OS keyring is
   never touched) and runs the real CLI, ``campatch scan <net> --format json
   --no-store``, in a subprocess (``--runs`` times; the fastest and the median count);
4. runs ``nmap -sV -Pn -n -T4`` over the same addresses and the ports campatch probes
   (``config.CAMERA_TCP_PORTS``);
5. checks both answers against the ground truth and prints wall time, the ratio,
   peak RSS (``wait4`` of each child) and how many devices each identified to model
   and firmware; writes ``bench/results/scan-<date>.json`` and ``.md``.

It prints figures; it is not a timed test and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import ipaddress
import json
import os
import platform
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import defusedxml.ElementTree as SafeET

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fleet_gen

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
TARGET_RATIO = 20.0
VIDEO_CLASSES = frozenset({"camera", "nvr", "dvr"})
# The same isolation for every child: a throw-away home, no OS keyring, plain output.
CHILD_ENV = {
    "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    "NO_COLOR": "1",
    "TERM": "dumb",
    "COLUMNS": "120",
}


def log(message: str) -> None:
    """Progress on stderr, so stdout stays the figures."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- running children and measuring them --------------------------------------------


def udp_receive_drops() -> int:
    """UDP datagrams this machine dropped for want of receive buffer (``RcvbufErrors``)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        rows = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines()]
        head, values = (r for r in rows if r[0] == "Udp:")
        return int(values[head.index("RcvbufErrors")])
    return 0


@dataclass
class Measured:
    """One child process: wall time, peak RSS, CPU time, exit status, UDP drops meanwhile."""

    command: list[str]
    wall_s: float
    peak_rss_mib: float
    cpu_user_s: float
    cpu_sys_s: float
    returncode: int
    timed_out: bool
    udp_receive_drops: int


def run_measured(
    command: Sequence[str],
    *,
    stdout: Path,
    stderr: Path,
    env: dict[str, str] | None = None,
    timeout_s: float | None = None,
) -> Measured:
    """Run ``command``; measure its wall time and its own peak RSS (``wait4``, not RUSAGE_CHILDREN).

    On timeout the child gets SIGTERM (then SIGKILL) and ``timed_out`` is set.
    """
    drops = udp_receive_drops()
    with stdout.open("wb") as out, stderr.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        pidfd = os.pidfd_open(proc.pid)
        try:
            ready, _, _ = select.select([pidfd], [], [], timeout_s)
            timed_out = not ready
            if timed_out:
                proc.terminate()
                if not select.select([pidfd], [], [], 10.0)[0]:
                    proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - started
        finally:
            os.close(pidfd)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return Measured(
        command=list(command),
        wall_s=wall,
        peak_rss_mib=usage.ru_maxrss / 1024,  # Linux reports KiB
        cpu_user_s=usage.ru_utime,
        cpu_sys_s=usage.ru_stime,
        returncode=proc.returncode,
        timed_out=timed_out,
        udp_receive_drops=udp_receive_drops() - drops,
    )


@contextlib.contextmanager
def simulator(fleet_file: Path, workdir: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """Run the fleet in its own process; yield (low port offset, process) once it listens."""
    log_path = workdir / "simulator.log"
    with log_path.open("wb") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(BENCH_DIR / "fleet_gen.py"),
                "serve",
                str(fleet_file),
                "--until-stdin-closes",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
        )
    assert proc.stdout is not None
    assert proc.stdin is not None
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 180.0)
        line = proc.stdout.readline().decode() if ready else ""
        if not line.startswith(fleet_gen.READY):
            raise SystemExit(f"simulator did not start: {line!r}; see {log_path}")
        offset = int(line.split("offset=")[1])
        log(f"simulator listening ({line.strip()})")
        yield offset, proc
    finally:
        proc.stdin.close()  # the simulator stops when its stdin closes
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- campatch ------------------------------------------------------------------------


def fill_vault(home: Path, credentials: list[dict[str, str]]) -> None:
    """Put the owner's credentials into the vault of ``home`` (key file, no OS keyring)."""
    os.environ["CAMPATCH_HOME"] = str(home)
    os.environ.update(CHILD_ENV)
    from campatch.inventory.credentials import CredentialScope, open_vault
    from campatch.model import Credential, Secret

    vault = open_vault(use_keyring=False)
    for c in credentials:
        vault.add(
            CredentialScope.parse(c["scope"]), Credential(c["username"], Secret(c["password"]))
        )


def campatch_command(mode: str, network: str, offset: int, fleet_file: Path) -> list[str]:
    """The scanner's command line: the real CLI, or run_scan in a process of its own."""
    if mode == "cli":
        exe = Path(sys.executable).with_name("campatch")
        # Identification only, as the "See" benchmark asks; the audit's factory-password
        # check is paced to under one login per second per device on purpose.
        cmd = [str(exe), "scan", network, "--format", "json", "--no-store", "--no-audit"]
    else:
        cmd = [sys.executable, __file__, "--api-worker", str(fleet_file), "--network", network]
    return [*cmd, "--port-offset", str(offset)] if offset else cmd


def api_worker(fleet_file: Path, network: str, offset: int) -> None:
    """``run_scan`` with an in-memory credential lookup; prints the scan's JSON."""
    from campatch.config import PortMap, Settings
    from campatch.model import Credential, Secret
    from campatch.pipeline import run_scan
    from campatch.report.json import scan_to_json

    creds = json.loads(fleet_file.read_text())["credentials"]

    class Lookup:
        def for_host(self, address: str, vendor: str | None) -> list[Credential]:
            ip = ipaddress.ip_address(address)
            return [
                Credential(c["username"], Secret(c["password"]))
                for c in creds
                if ip in ipaddress.ip_network(c["scope"])
            ]

    settings = Settings(port_map=PortMap(low_port_offset=offset))
    result, _ = asyncio.run(run_scan([network], settings=settings, credentials=Lookup()))
    print(scan_to_json(result))


@dataclass
class Verdict:
    """How one tool's answer compares with the ground truth."""

    hosts_reported: int = 0
    video_reported: int = 0
    model_and_firmware: int = 0  # cameras with both right
    model_and_firmware_with_credentials: int = 0
    model_and_firmware_without_credentials: int = 0
    model_only: int = 0  # right model, firmware missing or wrong
    vendor_named: int = 0
    serial_and_mac: int = 0  # cameras whose serial number and MAC are both right
    class_exact: int = 0  # cameras reported as exactly camera, NVR or DVR as they are
    missed_cameras: int = 0  # a camera not reported as camera/NVR/DVR
    false_positives: int = 0  # a non-camera reported as camera/NVR/DVR
    phantom_hosts: int = 0  # reported at an address where nothing lives
    non_cameras_classified: int = 0  # non-cameras reported as not_camera
    discovery_answers: dict[str, str] = field(default_factory=dict)  # UDP port -> "got / expected"
    wrong_values: list[dict[str, str]] = field(default_factory=list)
    missing_with_credentials: list[dict[str, str]] = field(default_factory=list)


def _norm(value: str | None) -> str:
    return " ".join((value or "").split()).casefold()


def judge_campatch(report: dict[str, Any], truth: dict[str, dict[str, Any]]) -> Verdict:
    """Compare campatch's scan JSON with the ground truth."""
    v = Verdict()
    hosts = {h["address"]: h for h in report["hosts"]}
    v.hosts_reported = len(hosts)
    for address, host in hosts.items():
        fact = truth.get(address)
        video = host["class"] in VIDEO_CLASSES
        v.video_reported += video
        if fact is None:
            v.phantom_hosts += 1
        elif not fact["video"]:
            v.false_positives += video
            v.non_cameras_classified += host["class"] == "not_camera"
    expected: dict[int, int] = {}
    answered: dict[int, int] = {}
    for address, fact in truth.items():
        if not fact["video"]:
            continue
        host = hosts.get(address)
        udp = {s["port"] for s in (host or {}).get("services", []) if s["transport"] == "udp"}
        for port in fact.get("udp", []):
            expected[port] = expected.get(port, 0) + 1
            answered[port] = answered.get(port, 0) + (port in udp)
        ident = {k: f.get("value") for k, f in (host or {}).get("identity", {}).items()}
        if host is None or host["class"] not in VIDEO_CLASSES:
            v.missed_cameras += 1
        model_ok = _norm(ident.get("model")) == _norm(fact["model"])
        firmware_ok = _norm(ident.get("firmware")) == _norm(fact["firmware"])
        v.vendor_named += _norm(fact["vendor"]) in _norm(
            f"{ident.get('vendor')} {ident.get('brand')}"
        )
        serial_ok = _norm(ident.get("serial")) == _norm(fact["serial"])
        v.serial_and_mac += serial_ok and _norm(ident.get("mac")) == _norm(fact["mac"])
        v.class_exact += host is not None and host["class"] == fact["class"]
        known = bool(fact.get("credentials_known"))
        if model_ok and firmware_ok:
            v.model_and_firmware += 1
            v.model_and_firmware_with_credentials += known
            v.model_and_firmware_without_credentials += not known
            continue
        v.model_only += model_ok
        for name, ok in (("model", model_ok), ("firmware", firmware_ok)):
            if not ok and ident.get(name):
                v.wrong_values.append(
                    {
                        "address": address,
                        "field": name,
                        "expected": fact[name],
                        "got": str(ident[name]),
                    }
                )
        if known:
            v.missing_with_credentials.append(
                {
                    "address": address,
                    "kind": fact["kind"],
                    "model": str(ident.get("model")),
                    "firmware": str(ident.get("firmware")),
                    "auth": str((host or {}).get("auth")),
                    "class": str((host or {}).get("class")),
                }
            )
    names = {3702: "ws-discovery", 37020: "sadp", 37810: "dhip"}
    v.discovery_answers = {
        names.get(p, str(p)): f"{answered[p]} / {n}" for p, n in sorted(expected.items())
    }
    return v


# -- nmap ----------------------------------------------------------------------------


def nmap_version() -> str:
    """``nmap --version``'s first line, or "" when nmap is missing."""
    if shutil.which("nmap") is None:
        return ""
    out = subprocess.run(["nmap", "--version"], capture_output=True, text=True, check=False)
    return out.stdout.splitlines()[0] if out.stdout else ""


def nmap_command(
    addresses_file: Path, ports: Sequence[int], xml_out: Path, extra: Sequence[str] = ()
) -> list[str]:
    """``nmap -sV`` over the addresses file and ports, XML to ``xml_out`` (progress to stdout)."""
    port_list = ",".join(str(p) for p in ports)
    return [
        "nmap", "-sV", "-Pn", "-n", "-T4", "-p", port_list, "-iL", str(addresses_file),
        "-oX", str(xml_out), "--stats-every", "60s", *extra,
    ]  # fmt: skip


def judge_nmap(xml_file: Path, truth: dict[str, dict[str, Any]]) -> Verdict:
    """Compare nmap's XML with the ground truth (a partial file is read as far as it goes)."""
    v = Verdict()
    for address, services in _nmap_hosts(xml_file).items():
        fact = truth.get(address)
        if not services:
            continue
        v.hosts_reported += 1
        text = _norm(" ".join(services))
        camera_like = any(
            w in text for w in ("webcam", "camera", "dvr", "nvr", "hikvision", "dahua")
        )
        v.video_reported += camera_like
        if fact is None:
            v.phantom_hosts += 1
            continue
        if not fact["video"]:
            v.false_positives += camera_like
            continue
        model_ok = _norm(fact["model"]) in text
        firmware_ok = _norm(fact["firmware"]) in text
        v.vendor_named += _norm(fact["vendor"]) in text
        if model_ok and firmware_ok:
            v.model_and_firmware += 1
            v.model_and_firmware_with_credentials += bool(fact.get("credentials_known"))
            v.model_and_firmware_without_credentials += not fact.get("credentials_known")
        else:
            v.model_only += model_ok
    return v


def _nmap_hosts(xml_file: Path) -> dict[str, list[str]]:
    """Address -> one text per open port (service name, product, version, extra info, CPEs)."""
    try:
        root: ET.Element | None = SafeET.parse(xml_file).getroot()
    except (ET.ParseError, OSError):
        root = None
    if root is None:
        root = _partial_nmap_xml(xml_file)
    hosts: dict[str, list[str]] = {}
    for host in root.iter("host"):
        addr = host.find("address")
        if addr is None:
            continue
        texts = []
        for port in host.iter("port"):
            state = port.find("state")
            if state is None or state.get("state") != "open":
                continue
            svc = port.find("service")
            parts = [] if svc is None else [
                svc.get(k, "") for k in ("name", "product", "version", "extrainfo", "devicetype", "ostype")
            ] + [c.text or "" for c in svc.iter("cpe")]  # fmt: skip
            texts.append(" ".join(p for p in parts if p))
        hosts[addr.get("addr", "")] = texts
    return hosts


def _partial_nmap_xml(xml_file: Path) -> ET.Element:
    """The complete ``<host>`` elements of an nmap XML file cut short by a timeout."""
    text = xml_file.read_text(errors="replace") if xml_file.exists() else ""
    body = (
        text[text.find("<host") : text.rfind("</host>") + len("</host>")]
        if "</host>" in text
        else ""
    )
    return SafeET.fromstring(f"<nmaprun>{body}</nmaprun>")


# -- the run -------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem_kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
    commit = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True, check=False
    ).stdout.strip()  # fmt: skip
    from campatch import __version__

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": _os_name(),
        "python": platform.python_version(),
        "nmap": nmap_version(),
        "campatch": __version__,
        "commit": commit,
        "root": os.geteuid() == 0,
    }


def _os_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    return platform.system()


def scanner_mode(requested: str) -> str:
    """``cli`` when the campatch CLI runs here, else the in-process API (``auto``)."""
    if requested != "auto":
        return requested
    exe = Path(sys.executable).with_name("campatch")
    ok = exe.exists() and subprocess.run(
        [str(exe), "scan", "--help"], capture_output=True, check=False
    ).returncode == 0  # fmt: skip
    if not ok:
        log("campatch CLI not usable here; scanning through run_scan in a subprocess instead")
    return "cli" if ok else "api"


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Generate, serve, scan with both tools, judge; the figures as one mapping."""
    from campatch.config import CAMERA_TCP_PORTS, PortMap
    from campatch.discovery.targets import resolve_targets

    host = machine()  # before anything runs: the commit being measured
    workdir = Path(tempfile.mkdtemp(prefix="campatch-bench-"))
    log(f"work directory {workdir}")
    fleet = fleet_gen.generate(args.devices, args.network, args.seed)
    fleet_file = workdir / "fleet.json"
    fleet_file.write_text(json.dumps(fleet, indent=1))
    truth: dict[str, dict[str, Any]] = fleet["truth"]
    print(fleet_gen.summarize(fleet), flush=True)
    home = workdir / "home"
    fill_vault(home, fleet["credentials"])
    log(f"vault filled: {len(fleet['credentials'])} credentials")
    env = {**os.environ, **CHILD_ENV, "CAMPATCH_HOME": str(home)}
    mode = scanner_mode(args.scanner)
    addresses = asyncio.run(resolve_targets([args.network]))
    (workdir / "addresses.txt").write_text("".join(f"{a}\n" for a in addresses))

    campatch_runs: list[Measured] = []
    verdicts: list[Verdict] = []
    nmap_run: Measured | None = None
    nmap_verdict: Verdict | None = None
    nmap_done = 0
    with simulator(fleet_file, workdir) as (offset, _sim):
        port_map = PortMap(low_port_offset=offset)
        cmd = campatch_command(mode, args.network, offset, fleet_file)
        for i in range(args.runs):
            out = workdir / f"campatch-{i}.json"
            log(f"campatch run {i + 1}/{args.runs}: {' '.join(cmd)}")
            m = run_measured(cmd, stdout=out, stderr=workdir / f"campatch-{i}.err", env=env, timeout_s=args.campatch_timeout)  # fmt: skip
            if m.returncode != 0 or m.timed_out:
                raise SystemExit(
                    f"campatch failed ({m.returncode}); see {workdir}/campatch-{i}.err"
                )
            campatch_runs.append(m)
            verdicts.append(judge_campatch(json.loads(out.read_text()), truth))
            log(
                f"  {m.wall_s:.1f} s, {m.peak_rss_mib:.0f} MiB, model+firmware {verdicts[-1].model_and_firmware}"
            )
        if not args.skip_nmap:
            if not nmap_version():
                raise SystemExit(
                    "nmap is not installed: run `sh scripts/system-deps.sh nmap` (or use --skip-nmap)"
                )
            ports = sorted({port_map.actual(p) for p in CAMERA_TCP_PORTS})
            xml_out = workdir / "nmap.xml"
            cmd_n = nmap_command(workdir / "addresses.txt", ports, xml_out, args.nmap_args.split())
            timeout = args.nmap_timeout or None
            log(f"nmap: {' '.join(cmd_n)} (timeout {f'{timeout:g} s' if timeout else 'none'})")
            nmap_run = run_measured(cmd_n, stdout=workdir / "nmap.out", stderr=workdir / "nmap.err", env=env, timeout_s=timeout)  # fmt: skip
            nmap_verdict = judge_nmap(xml_out, truth)
            nmap_done = len(_nmap_hosts(xml_out))
            log(
                f"  {nmap_run.wall_s:.1f} s{' (timed out)' if nmap_run.timed_out else ''}, {nmap_run.peak_rss_mib:.0f} MiB"
            )

    best = min(range(len(campatch_runs)), key=lambda i: campatch_runs[i].wall_s)
    walls = [m.wall_s for m in campatch_runs]
    median_wall = statistics.median(walls)
    cams = sum(1 for t in truth.values() if t["video"])
    known = sum(1 for t in truth.values() if t["video"] and t.get("credentials_known"))
    result: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": host,
        "fleet": {
            "network": args.network,
            "addresses": len(addresses),
            "devices": len(truth),
            "cameras_nvrs_dvrs": cams,
            "non_cameras": len(truth) - cams,
            "credentials_known": known,
            "seed": args.seed,
            "kinds": dict(sorted(_count(t["kind"] for t in truth.values()).items())),
            "tcp_ports": list(CAMERA_TCP_PORTS),
            "port_offset": port_map.low_port_offset,
        },
        "campatch": {
            "mode": mode,
            "command": campatch_runs[best].command,
            "runs": [asdict(m) for m in campatch_runs],
            "wall_s_best": walls[best],
            "wall_s_median": median_wall,
            "peak_rss_mib": max(m.peak_rss_mib for m in campatch_runs),
            "verdict": asdict(verdicts[best]),
            "verdicts_per_run": [
                {"model_and_firmware": v.model_and_firmware, "false_positives": v.false_positives}
                for v in verdicts
            ],
        },
    }
    if nmap_run is not None and nmap_verdict is not None:
        ratio = nmap_run.wall_s / median_wall
        # nmap finishes hosts group by group (64 addresses here), in address order: a run
        # stopped early has done whole groups, so its pace extrapolates to the full range.
        extrapolated = (
            nmap_run.wall_s * len(addresses) / nmap_done
            if nmap_run.timed_out and nmap_done
            else None
        )
        result["nmap"] = {
            "command": nmap_run.command,
            "run": asdict(nmap_run),
            "wall_s": nmap_run.wall_s,
            "timed_out": nmap_run.timed_out,
            "addresses_completed": nmap_done,
            "extrapolated_wall_s": extrapolated,
            "peak_rss_mib": nmap_run.peak_rss_mib,
            "verdict": asdict(nmap_verdict),
        }
        result["ratio"] = {
            "nmap_over_campatch_median": round(ratio, 1),
            "nmap_over_campatch_best": round(nmap_run.wall_s / walls[best], 1),
            "extrapolated_over_campatch_median": round(extrapolated / median_wall, 1)
            if extrapolated
            else None,
            "lower_bound": nmap_run.timed_out,
            "target": TARGET_RATIO,
            "met": ratio >= TARGET_RATIO
            and verdicts[best].model_and_firmware_with_credentials == known,
        }
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        log(f"kept {workdir}")
    return result


def _count(items: Iterator[str] | Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


# -- output --------------------------------------------------------------------------


def table(result: dict[str, Any]) -> str:
    """The figures as a Markdown table (printed, and written next to the JSON)."""
    f, c, n = result["fleet"], result["campatch"], result.get("nmap")
    cv = c["verdict"]
    nv = n["verdict"] if n else {}
    bound = "≥ " if result.get("ratio", {}).get("lower_bound") else ""

    def nm(key: str, fmt: str = "{}") -> str:
        return fmt.format(nv[key]) if n else "not run"

    n_wall = f"{bound}{n['wall_s']:.1f} s" if n else "not run"
    if n and n["timed_out"]:
        n_wall += f" (stopped after {n['addresses_completed']} of {f['addresses']} addresses"
        n_wall += (
            f"; at that pace ≈ {n['extrapolated_wall_s']:.0f} s)"
            if n["extrapolated_wall_s"]
            else ")"
        )
    rows = [
        ("devices (cameras/NVRs/DVRs + others)", f"{f['devices']} ({f['cameras_nvrs_dvrs']} + {f['non_cameras']}) on {f['network']}", ""),
        ("addresses x TCP ports probed", f"{f['addresses']} x {len(f['tcp_ports'])}", "same"),
        ("wall time", f"{c['wall_s_median']:.1f} s (median of {len(c['runs'])}, best {c['wall_s_best']:.1f} s)", n_wall),
        ("peak RSS", f"{c['peak_rss_mib']:.0f} MiB", f"{n['peak_rss_mib']:.0f} MiB" if n else "not run"),
        ("CPU time (user+sys)", _cpu(c["runs"][0]), _cpu(n["run"]) if n else "not run"),
        ("identified to model + firmware", f"{cv['model_and_firmware']} / {f['cameras_nvrs_dvrs']}", nm("model_and_firmware", "{} / " + str(f["cameras_nvrs_dvrs"]))),
        ("  of those with known credentials", f"{cv['model_and_firmware_with_credentials']} / {f['credentials_known']}", nm("model_and_firmware_with_credentials", "{} / " + str(f["credentials_known"]))),
        ("  of those without credentials", f"{cv['model_and_firmware_without_credentials']} / {f['cameras_nvrs_dvrs'] - f['credentials_known']}", nm("model_and_firmware_without_credentials", "{} / " + str(f["cameras_nvrs_dvrs"] - f["credentials_known"]))),
        ("right model, no/wrong firmware", str(cv["model_only"]), nm("model_only")),
        ("vendor named", f"{cv['vendor_named']} / {f['cameras_nvrs_dvrs']}", nm("vendor_named", "{} / " + str(f["cameras_nvrs_dvrs"]))),
        ("serial number and MAC right", f"{cv['serial_and_mac']} / {f['cameras_nvrs_dvrs']}", "-"),
        ("class exact (camera / NVR / DVR)", f"{cv['class_exact']} / {f['cameras_nvrs_dvrs']}", "-"),
        ("wrong model/firmware values", str(len(cv["wrong_values"])), "-"),
        ("UDP discovery answers received", ", ".join(f"{k} {v}" for k, v in cv["discovery_answers"].items()), "-"),
        ("UDP datagrams dropped during the scans (rcvbuf)", " / ".join(str(r["udp_receive_drops"]) for r in c["runs"]), "-"),
        ("cameras not reported as camera/NVR/DVR", str(cv["missed_cameras"]), "-"),
        ("non-cameras reported as camera (false pos.)", str(cv["false_positives"]), nm("false_positives")),
        ("non-cameras classified as not-camera", f"{cv['non_cameras_classified']} / {f['non_cameras']}", "-"),
        ("hosts reported where nothing lives", str(cv["phantom_hosts"]), nm("phantom_hosts")),
    ]  # fmt: skip
    lines = ["| | campatch | nmap -sV |", "| --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c_} |" for a, b, c_ in rows]
    if "ratio" in result:
        r = result["ratio"]
        lines.append(
            f"\n**nmap -sV / campatch wall time: {bound}{r['nmap_over_campatch_median']}x** "
            f"(best run {bound}{r['nmap_over_campatch_best']}x; target {r['target']:g}x with every "
            f"camera whose credentials are known identified: {'met' if r['met'] else 'NOT met'})"
        )
        if r.get("extrapolated_over_campatch_median"):
            lines.append(
                f"nmap was stopped early; at its pace over the addresses it finished, the full "
                f"range would take ≈ {r['extrapolated_over_campatch_median']}x campatch's time."
            )
        if n and n["timed_out"]:
            lines.append("nmap's figures cover only the addresses it finished.")
    return "\n".join(lines)


def _cpu(run: dict[str, Any]) -> str:
    return f"{run['cpu_user_s'] + run['cpu_sys_s']:.1f} s"


def machine_line(m: dict[str, Any]) -> str:
    """One line describing the machine."""
    return (
        f"{m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, {m['os']}, kernel {m['kernel']}, "
        f"Python {m['python']}, {m['nmap'] or 'no nmap'}, campatch {m['campatch']} ({m['commit']})"
    )


def write_results(result: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """``scan-<date>.json`` (every figure) and ``scan-<date>.md`` (the table)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = result["date"][:10]
    json_path, md_path = out_dir / f"scan-{stamp}.json", out_dir / f"scan-{stamp}.md"
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    md_path.write_text(
        f"# Scan benchmark, {result['date']}\n\n{machine_line(result['machine'])}\n\n{table(result)}\n"
    )
    return json_path, md_path


def main(argv: list[str] | None = None) -> None:
    """Parse the options and run the benchmark (or the hidden API worker)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--devices",
        type=int,
        default=fleet_gen.DEFAULT_DEVICES,
        help="simulated devices (default %(default)s)",
    )
    parser.add_argument(
        "--network",
        default=fleet_gen.DEFAULT_NETWORK,
        help="loopback range to fill (default %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=fleet_gen.DEFAULT_SEED, help="fleet generator seed"
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="campatch scans to run (default %(default)s)"
    )
    parser.add_argument(
        "--scanner",
        choices=["auto", "cli", "api"],
        default="auto",
        help="campatch CLI or run_scan in a subprocess",
    )
    parser.add_argument(
        "--campatch-timeout", type=float, default=600.0, help="seconds per campatch scan"
    )
    parser.add_argument(
        "--nmap-timeout",
        type=float,
        default=720.0,
        help="stop nmap after this many seconds, 0 = never; the ratio is then a lower bound (default %(default)s)",
    )
    parser.add_argument(
        "--nmap-args", default="", help="extra nmap options, e.g. '--min-hostgroup 1024' (recorded)"
    )
    parser.add_argument("--skip-nmap", action="store_true", help="only run campatch")
    parser.add_argument(
        "--out-dir", type=Path, default=RESULTS_DIR, help="where to write the figures"
    )
    parser.add_argument(
        "--no-record", action="store_true", help="print only, write no result files"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the work directory (fleet, outputs, logs)"
    )
    parser.add_argument("--api-worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port-offset", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)  # fmt: skip
    if args.api_worker:
        api_worker(args.api_worker, args.network, args.port_offset)
        return
    if args.devices < 1 or args.runs < 1:
        parser.error("--devices and --runs must be positive")
    result = run(args)
    print()
    print(machine_line(result["machine"]))
    print(table(result))
    cv = result["campatch"]["verdict"]
    for wrong in cv["wrong_values"][:20]:
        print(
            f"  wrong {wrong['field']} at {wrong['address']}: expected {wrong['expected']!r}, got {wrong['got']!r}"
        )
    for miss in cv["missing_with_credentials"][:20]:
        print(f"  not identified despite credentials: {miss}")
    if not args.no_record:
        paths = write_results(result, args.out_dir)
        print(
            f"\nwritten: {', '.join(str(p.relative_to(REPO)) if p.is_relative_to(REPO) else str(p) for p in paths)}"
        )


if __name__ == "__main__":
    main()
