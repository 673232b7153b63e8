"""Generate (and serve) the benchmark fleet: hundreds of simulated devices across a /22.

Usage::

    python bench/fleet_gen.py generate out.json [--devices 560] [--network 127.30.0.0/22]
    python bench/fleet_gen.py serve out.json       # runs the fleet until SIGTERM or Ctrl-C

The generated file is a normal fleet file (``campatch sim run --fleet out.json`` serves
it too) with two extra top-level keys the simulator ignores:

- ``credentials``: what the owner has put in the vault (per host, plus one shared
  password for a whole site range), and
- ``truth``: per address, what the device really is (vendor, model, firmware, whether
  it is a camera/NVR/DVR and whether its credentials are known), the ground truth the
  benchmark checks campatch's and nmap's answers against.

The mix is deterministic for a given seed: Hikvision cameras, NVRs and DVRs; Dahua
and its OEM brands Amcrest and Lorex; generic ONVIF cameras (Milesight, Uniview, Axis,
Hanwha, Reolink) and XiongMai-style devices with ONVIF on 8899 and telnet open; and
about 15 % hosts that are not cameras (printers, routers, SSH-only servers, plain web
servers). Every /24 has its router at .1, the rest of the addresses are scattered, and
about 45 % of the /22 stays empty. Serials and MACs are invented and unique; models and
firmware strings have the shape of real ones.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import os
import random
import signal
import string
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_NETWORK = "127.30.0.0/22"
DEFAULT_DEVICES = 560
DEFAULT_SEED = 20240522
CREDENTIAL_SHARE = 0.85  # cameras whose password the owner has put in the vault
READY = "FLEET-READY"
HIK_FACTORY_PASSWORD = "12345"  # noqa: S105 - old Hikvision firmware's default, simulated

# (model, device_type, [(firmware, build)], server header) -- Hikvision
HIK_CAMERAS = [
    ("DS-2CD2143G2-I", "IPCamera", [("V5.7.3", "build 220112"), ("V5.7.11", "build 221116")], "Webs"),
    ("DS-2CD2043G2-I", "IPCamera", [("V5.7.3", "build 220112"), ("V5.6.5", "build 211117")], "Webs"),
    ("DS-2CD2387G2-LU", "IPCamera", [("V5.7.12", "build 230213")], "Webs"),
    ("DS-2CD2T47G2-L", "IPCamera", [("V5.7.0", "build 210902")], "Webs"),
    ("DS-2CD2142FWD-I", "IPCamera", [("V5.5.0", "build 170725"), ("V5.4.5", "build 170124")], "App-webs/"),
    ("DS-2CD2032-I", "IPCamera", [("V5.4.5", "build 170124"), ("V5.3.0", "build 150513")], "App-webs/"),
    ("DS-2DE4425IW-DE", "IPCamera", [("V5.6.15", "build 210204")], "Webs"),
    ("DS-2CD2347G2-LU", "IPCamera", [("V5.7.3", "build 220112")], "Webs"),
]  # fmt: skip
HIK_RECORDERS = [
    ("DS-7608NI-K2", "NVR", [("V4.61.005", "build 210831")], "DNVRS-Webs"),
    ("DS-7616NI-I2/16P", "NVR", [("V4.30.085", "build 201120")], "DNVRS-Webs"),
    ("DS-7732NI-K4", "NVR", [("V4.62.210", "build 220805")], "DNVRS-Webs"),
    ("DS-7208HQHI-K1", "DVR", [("V4.31.102", "build 220524")], "DVRDVS-Webs"),
    ("iDS-7204HUHI-M1/S", "DVR", [("V4.50.100", "build 210820")], "DVRDVS-Webs"),
]  # fmt: skip
HIK_OUIS = ["44:19:b6", "c0:56:e3", "bc:ad:28", "4c:bd:8f"]

# (brand, model, device_type (the Dahua base model), [(firmware, build)], class)
DAHUA_FAMILY = [
    ("", "IPC-HDW5831R-ZE", "IPC-HDW5831R-ZE", [("2.800.0000016.0.R", "2020-06-05")], "camera"),
    ("", "IPC-HFW2431S-S-S2", "IPC-HFW2431S-S-S2", [("2.800.0000000.8.R", "2020-11-12")], "camera"),
    ("", "IPC-HDBW2431E-S-S2", "IPC-HDBW2431E-S-S2", [("2.800.0000000.8.R", "2020-11-12")], "camera"),
    ("", "IPC-HFW5442E-ZE", "IPC-HFW5442E-ZE", [("2.820.0000000.14.R", "2021-03-30")], "camera"),
    ("", "SD49225XA-HNR", "SD49225XA-HNR", [("2.812.0000000.3.R", "2021-08-16")], "camera"),
    ("", "NVR4108HS-8P-4KS2", "NVR4108HS-8P-4KS2", [("4.001.0000000.3.R", "2022-03-14")], "nvr"),
    ("", "NVR5216-16P-I", "NVR5216-16P-I", [("4.001.0000000.6.R", "2022-06-20")], "nvr"),
    ("", "XVR5108HS-I3", "XVR5108HS-I3", [("4.001.0000000.5.R", "2022-04-08")], "dvr"),
]  # fmt: skip
AMCREST = [
    ("Amcrest", "IP8M-2496EB", "IPC-HDW2831T", [("2.800.0000000.25.R", "2021-07-19")], "camera"),
    ("Amcrest", "IP4M-1041B", "IPC-HDW4431C-A", [("2.800.0000000.19.R", "2020-09-02")], "camera"),
    ("Amcrest", "IP5M-T1179EW", "IPC-HFW2531T", [("2.800.0000000.30.R", "2022-01-10")], "camera"),
    ("Amcrest", "NV4108E-HS", "NVR4108HS-4KS2", [("4.000.0000000.4.R", "2021-05-11")], "nvr"),
]  # fmt: skip
LOREX = [
    ("Lorex", "LNB8005", "IPC-HFW4831E", [("2.800.0000000.12.R", "2020-12-01")], "camera"),
    ("Lorex", "E892AB", "IPC-HDW3849H", [("2.820.0000000.5.R", "2021-09-09")], "camera"),
    ("Lorex", "N841A8", "NVR4108HS-8P-4KS2", [("4.001.0000000.3.R", "2022-03-14")], "nvr"),
    ("Lorex", "N862A6", "NVR5216-16P-4KS2", [("4.001.0000000.7.R", "2022-08-01")], "nvr"),
]  # fmt: skip
DAHUA_OUIS = {
    "": ["14:a7:8b", "3c:ef:8c", "e0:50:8b"],
    "Amcrest": ["9c:8e:cd"],
    "Lorex": ["00:65:1e"],
}

# (vendor, model, hardware, [firmware], device_type, onvif_port, oui)
ONVIF_CAMERAS = [
    ("Milesight", "MS-C2963-PB", "V1.2", ["45.7.0.79", "45.7.0.81"], "IPCamera", 80, "1c:c3:16"),
    ("Milesight", "MS-C5364-PB", "V1.0", ["45.7.0.81"], "IPCamera", 80, "1c:c3:16"),
    ("Uniview", "IPC322LB-SF28-A", "A", ["IPC_G6103-B0005P05D1805"], "IPCamera", 80, "48:ea:63"),
    ("Uniview", "IPC2124LB-SF40KM-G", "A", ["IPC_G6201-B0012P30D2010"], "IPCamera", 80, "48:ea:63"),
    ("AXIS", "P3245-LVE", "", ["10.12.114"], "IPCamera", 80, "ac:cc:8e"),
    ("AXIS", "M3106-L Mk II", "", ["9.80.3.8"], "IPCamera", 80, "ac:cc:8e"),
    ("Hanwha Techwin", "XNV-6080R", "", ["2.10.02_20211115"], "IPCamera", 80, "00:09:18"),
    ("Reolink", "RLC-810A", "IPC_523128M8MP", ["v3.1.0.956_22041503"], "IPCamera", 8000, "ec:71:db"),
]  # fmt: skip
XIONGMAI = [
    ("XiongMai", "AHB7008T-MH", "", ["V4.02.R11.34500140.10001.130800.0000"], "DVR"),
    ("XiongMai", "HI3516EV200_50H20L", "", ["V5.00.R02.000529B2.10010.040400.0020000"], "IPCamera"),
    ("XiongMai", "NBD7024T-Q", "", ["V4.02.R11.A6380140.10010.130700.0000"], "NVR"),
]  # fmt: skip

PRINTERS = [
    ("HP", "LaserJet Pro M404dn"),
    ("HP", "OfficeJet Pro 9010 series"),
    ("Brother", "HL-L2350DW"),
]
ROUTERS = [("NETGEAR", "R7000"), ("TP-Link", "Archer C7"), ("ASUS", "RT-AX88U")]
SSH_BANNERS = [
    "SSH-2.0-OpenSSH_9.2p1 Debian-2",
    "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6",
    "SSH-2.0-dropbear_2022.83",
]

# Share of each kind in the fleet (sums to 1; non-cameras 15 %).
MIX = {
    "hik-camera": 0.30, "hik-recorder": 0.06,
    "dahua": 0.17, "amcrest": 0.07, "lorex": 0.06,
    "onvif": 0.14, "xiongmai": 0.05,
    "printer": 0.045, "sshd": 0.045, "webserver": 0.045, "router": 0.015,
}  # fmt: skip


@dataclass
class _Gen:
    rng: random.Random
    serials: set[str] = field(default_factory=set)
    macs: set[str] = field(default_factory=set)

    def unique(self, seen: set[str], make: Any) -> str:
        while True:
            value = make()
            if value not in seen:
                seen.add(value)
                return str(value)

    def mac(self, oui: str) -> str:
        return self.unique(
            self.macs, lambda: oui + "".join(f":{self.rng.randrange(256):02x}" for _ in range(3))
        )

    def serial(self, make: Any) -> str:
        return self.unique(self.serials, make)

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def password(self) -> str:
        return self.chars(string.ascii_letters + string.digits, 10) + self.rng.choice("!#%+-")


def generate(
    n_devices: int = DEFAULT_DEVICES, network: str = DEFAULT_NETWORK, seed: int = DEFAULT_SEED
) -> dict[str, Any]:
    """The fleet file content: ``devices``, ``credentials`` and ``truth`` (see module doc)."""
    try:
        net = ipaddress.IPv4Network(network)
    except ValueError as err:
        raise SystemExit(f"not an IPv4 network: {network} ({err})") from None
    if not net.subnet_of(ipaddress.IPv4Network("127.0.0.0/8")):
        raise SystemExit(f"the benchmark only runs on loopback, not {network}")
    rng = random.Random(seed)
    gen = _Gen(rng)
    sites = list(net.subnets(new_prefix=24)) if net.prefixlen <= 24 else [net]
    routers = [next(iter(s.hosts())) for s in sites]
    others = [a for s in sites for a in list(s.hosts())[1:]]
    if n_devices > len(routers) + len(others):
        raise SystemExit(f"{n_devices} devices do not fit in {network}")
    kinds = _kinds(n_devices - len(routers), rng)
    addresses = sorted(rng.sample(others, len(kinds)))
    rng.shuffle(kinds)
    # The last site is one installer's: every camera there shares one password (a range credential).
    shared_site = sites[-1]
    shared_password = gen.password()
    devices: list[dict[str, Any]] = []
    truth: dict[str, dict[str, Any]] = {}
    credentials: list[dict[str, str]] = []
    plan = [("router", a) for a in routers] + list(zip(kinds, addresses, strict=True))
    for i, (kind, address) in enumerate(plan):
        spec, fact = _device(kind, str(address), i, gen)
        if fact["video"]:
            in_shared = address in shared_site
            known = in_shared or rng.random() < CREDENTIAL_SHARE
            fact["credentials_known"] = known
            password = shared_password if in_shared and known else gen.password()
            if known and not in_shared and kind.startswith("hik") and rng.random() < 0.05:
                password = (
                    HIK_FACTORY_PASSWORD  # still on the factory password, and the owner knows it
                )
            spec["users"] = {"admin": password}
            if known and not in_shared:
                credentials.append(
                    {"scope": str(address), "username": "admin", "password": password}
                )
        devices.append(spec)
        truth[str(address)] = fact
    credentials.append(
        {"scope": str(shared_site), "username": "admin", "password": shared_password}
    )
    return {
        "network": str(net),
        "seed": seed,
        "devices": devices,
        "credentials": credentials,
        "truth": truth,
    }


def _kinds(n: int, rng: random.Random) -> list[str]:
    counts = {k: int(n * share) for k, share in MIX.items()}
    names = list(MIX)
    while sum(counts.values()) < n:
        counts[rng.choice(names)] += 1
    return [k for k, c in counts.items() for _ in range(c)]


def _device(kind: str, address: str, i: int, gen: _Gen) -> tuple[dict[str, Any], dict[str, Any]]:
    rng = gen.rng
    name = f"{kind}-{i:04d}"
    spec: dict[str, Any] = {"name": name, "address": address}
    if kind in ("hik-camera", "hik-recorder"):
        model, dtype, firmwares, server = rng.choice(
            HIK_CAMERAS if kind == "hik-camera" else HIK_RECORDERS
        )
        firmware, build = rng.choice(firmwares)
        day = build.split()[-1]
        spec |= {
            "personality": "hikvision", "model": model, "firmware": firmware, "build": build,
            "device_type": dtype, "server_header": server,
            "mac": gen.mac(rng.choice(HIK_OUIS)),
            "serial": gen.serial(lambda: f"{model}20{day}CCWR{gen.chars(string.ascii_uppercase, 1)}{gen.chars(string.digits, 8)}"),
        }  # fmt: skip
        if rng.random() < 0.3:
            spec["hardware"] = "1.0"
        return spec, _fact("Hikvision", model, firmware, dtype, spec)
    if kind in ("dahua", "amcrest", "lorex"):
        family = {"dahua": DAHUA_FAMILY, "amcrest": AMCREST, "lorex": LOREX}[kind]
        brand, model, dtype, firmwares, cls = rng.choice(family)
        firmware, build = rng.choice(firmwares)
        alnum = string.ascii_uppercase + string.digits
        make_serial = {
            "": lambda: gen.chars(alnum, 15),
            "Amcrest": lambda: "AMC" + gen.chars("0123456789ABCDEF", 14),
            "Lorex": lambda: "ND0" + gen.chars(string.digits, 11),
        }[brand]
        spec |= {
            "personality": "dahua", "brand": brand, "model": model, "firmware": firmware,
            "build": build, "device_type": dtype, "serial": gen.serial(make_serial),
            "mac": gen.mac(rng.choice(DAHUA_OUIS[brand])),
        }  # fmt: skip
        if rng.random() < 0.5:
            spec["hardware"] = "1.00"
        return spec, _fact(brand or "Dahua", model, firmware, cls, spec)
    if kind == "onvif":
        vendor, model, hardware, versions, dtype, port, oui = rng.choice(ONVIF_CAMERAS)
        mac = gen.mac(oui)
        spec |= {
            "personality": "onvif", "vendor": vendor, "model": model, "hardware": hardware,
            "firmware": rng.choice(versions), "device_type": dtype, "mac": mac,
            "serial": gen.serial(lambda: mac.replace(":", "").upper() if vendor == "AXIS" else gen.chars("0123456789ABCDEF", 12)),
            "onvif_port": port,
        }  # fmt: skip
        return spec, _fact(vendor, model, spec["firmware"], dtype, spec)
    if kind == "xiongmai":
        vendor, model, hardware, versions, dtype = rng.choice(XIONGMAI)
        spec |= {
            "personality": "onvif", "vendor": vendor, "model": model, "firmware": rng.choice(versions),
            "device_type": dtype, "serial": gen.serial(lambda: gen.chars("0123456789abcdef", 16)),
            "mac": gen.mac("00:12:31"), "onvif_port": 8899, "telnet": True,
            "telnet_users": {"root": "xc3511"}, "http_server": "uc-httpd 1.0.0",
            "rtsp_server": "H264DVR 1.0", "onvif_open_info": rng.random() < 0.3,
        }  # fmt: skip
        return spec, _fact(vendor, model, spec["firmware"], dtype, spec)
    if kind == "printer":
        vendor, model = rng.choice(PRINTERS)
        spec |= {
            "personality": "printer", "vendor": vendor, "model": model,
            "serial": gen.serial(lambda: "VNB" + gen.chars(string.ascii_uppercase + string.digits, 7)),
            "ssdp": rng.random() < 0.5,
        }  # fmt: skip
    elif kind == "router":
        vendor, model = rng.choice(ROUTERS)
        spec |= {"personality": "router", "vendor": vendor, "model": model, "ssdp": True}
    elif kind == "sshd":
        spec |= {"personality": "sshd", "ssh_banner": rng.choice(SSH_BANNERS)}
    elif kind == "webserver":
        spec |= {"personality": "webserver", "flavour": rng.choice(["nginx", "apache"])}
    else:
        raise ValueError(kind)
    return spec, {
        "kind": kind, "video": False, "class": "not_camera",
        "vendor": spec.get("vendor", ""), "model": spec.get("model", ""), "firmware": "",
    }  # fmt: skip


#: UDP discovery each personality answers: WS-Discovery, and SADP (Hikvision) or DHIP (Dahua).
DISCOVERY_PORTS = {"hikvision": [3702, 37020], "dahua": [3702, 37810], "onvif": [3702]}


def _fact(
    vendor: str, model: str, firmware: str, dtype: str, spec: dict[str, Any]
) -> dict[str, Any]:
    upper = dtype.upper()
    cls = (
        "nvr"
        if upper.startswith("NVR")
        else "dvr"
        if upper.startswith(("DVR", "XVR"))
        else "camera"
    )
    if dtype in ("camera", "nvr", "dvr"):
        cls = dtype
    return {
        "kind": spec["name"].rsplit("-", 1)[0], "video": True, "class": cls, "vendor": vendor,
        "model": model, "firmware": firmware, "serial": spec["serial"], "mac": spec["mac"],
        "udp": DISCOVERY_PORTS[spec["personality"]],
    }  # fmt: skip


def summarize(fleet: dict[str, Any]) -> str:
    """One line per kind: how many devices, how many with known credentials."""
    truth = fleet["truth"].values()
    kinds = Counter(t["kind"] for t in truth)
    known = Counter(t["kind"] for t in truth if t.get("credentials_known"))
    cams = sum(1 for t in truth if t["video"])
    lines = [f"{len(fleet['truth'])} devices on {fleet['network']}, {cams} cameras/NVRs/DVRs"]
    lines += [
        f"  {k:<13} {n:>4}  (credentials known: {known[k]})" for k, n in sorted(kinds.items())
    ]
    return "\n".join(lines)


# -- serving ------------------------------------------------------------------------


async def serve(path: Path, *, until_stdin_closes: bool = False) -> None:
    """Run the fleet in this process; print READY (and the port offset) once bound.

    It runs until SIGTERM/SIGINT, or, with ``until_stdin_closes``, until its standard
    input reaches end of file (so it cannot outlive a parent that dies).
    """
    from campatch.sim.fleet import Fleet  # imported here: `generate` needs no campatch

    fleet = Fleet.from_file(path)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if until_stdin_closes:

        def on_stdin() -> None:
            if not os.read(sys.stdin.fileno(), 4096):
                stop.set()

        loop.add_reader(sys.stdin.fileno(), on_stdin)
    async with fleet:
        print(
            f"{READY} devices={len(fleet.devices)} offset={fleet.port_map.low_port_offset}",
            flush=True,
        )
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    """``generate`` a fleet file or ``serve`` one."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate", help="write a fleet file")
    g.add_argument("out", type=Path)
    g.add_argument("--devices", type=int, default=DEFAULT_DEVICES)
    g.add_argument("--network", default=DEFAULT_NETWORK)
    g.add_argument("--seed", type=int, default=DEFAULT_SEED)
    s = sub.add_parser("serve", help="run a fleet file until SIGTERM or Ctrl-C")
    s.add_argument("fleet", type=Path)
    s.add_argument("--until-stdin-closes", action="store_true", help="also stop at end of stdin")
    args = parser.parse_args(argv)
    if args.command == "generate":
        fleet = generate(args.devices, args.network, args.seed)
        args.out.write_text(json.dumps(fleet, indent=1))
        print(summarize(fleet))
    else:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(args.fleet, until_stdin_closes=args.until_stdin_closes))


if __name__ == "__main__":
    main()
