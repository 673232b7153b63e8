"""The still picture simulated cameras hand out at their snapshot URLs.

Each camera personality serves its vendor's snapshot path (see its module docstring)
behind its usual authentication. Device options read here:

- ``snapshot_auth`` (default true): ``false`` lets anyone fetch the picture, the video
  leak campatch's ``snapshot-open`` check reports;
- ``snapshot_fault``: the path answers everyone, without asking for credentials, with
  something that is not a picture: ``"html"`` (200 ``text/html``, a login page, as
  firmware that sends unknown paths to its web UI does) or ``"fake_jpeg"`` (200
  ``image/jpeg`` whose body is that page).

The picture is a tiny but complete baseline JPEG (an 8x8 grey square, a few hundred
bytes), the same for every request of one device: ``FF D8`` ... ``FF D9``.
"""

from __future__ import annotations

import random
import struct

from campatch.sim.device import DeviceSpec
from campatch.sim.http import HttpResponse

COMMENT_BYTES = 256  # the COM segment's size: makes the picture "a few hundred bytes"
_LOGIN_PAGE = "<!DOCTYPE html><html><head><title>Login</title></head><body></body></html>"


def _segment(marker: int, payload: bytes) -> bytes:
    """A JPEG marker segment: ``FF <marker>``, 16-bit length (itself included), payload."""
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _one_code_table(table: int) -> bytes:
    """A Huffman table holding a single 1-bit code for symbol 0 (DC: no difference;
    AC: end of block), all an 8x8 flat block needs."""
    return bytes([table, 1] + [0] * 15 + [0])


def jpeg(seed: str) -> bytes:
    """A valid baseline JPEG of one flat 8x8 grey block, with a comment derived from
    ``seed`` (so each device's picture differs, deterministically)."""
    rng = random.Random(f"snapshot:{seed}")
    comment = bytes(rng.choice(b"0123456789abcdef") for _ in range(COMMENT_BYTES))
    return b"".join(
        [
            b"\xff\xd8",  # SOI
            _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),  # APP0
            _segment(0xFE, comment),  # COM
            _segment(0xDB, bytes([0]) + bytes([1] * 64)),  # DQT 0: all ones
            _segment(0xC0, struct.pack(">BHHB", 8, 8, 8, 1) + bytes([1, 0x11, 0])),  # SOF0
            _segment(0xC4, _one_code_table(0x00)),  # DHT: DC table 0
            _segment(0xC4, _one_code_table(0x10)),  # DHT: AC table 0
            _segment(0xDA, bytes([1, 1, 0x00, 0, 63, 0])),  # SOS: 1 component, Ss..Se 0..63
            b"\x3f",  # DC code 0, EOB code 0, padded with ones
            b"\xff\xd9",  # EOI
        ]
    )


def answers_anyone(spec: DeviceSpec) -> bool:
    """The snapshot path answers without credentials (``snapshot_auth: false`` or a fault)."""
    return not spec.options.get("snapshot_auth", True) or bool(spec.options.get("snapshot_fault"))


def snapshot_response(spec: DeviceSpec) -> HttpResponse:
    """The picture, or what the ``snapshot_fault`` option says to send instead."""
    fault = spec.options.get("snapshot_fault")
    if fault == "html":
        return HttpResponse.text(_LOGIN_PAGE, content_type="text/html")
    if fault == "fake_jpeg":
        return HttpResponse.text(_LOGIN_PAGE, content_type="image/jpeg")
    return HttpResponse(200, jpeg(spec.serial or spec.name), [("Content-Type", "image/jpeg")])
