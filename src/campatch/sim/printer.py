"""A simulated network printer: embedded web server, IPP, JetDirect and (optionally) SSDP.

- HTTP 80: the embedded web server's status page with the printer's model in the
  title and the ``Server`` header of HP's embedded server (``HP HTTP Server; <model>
  - <product>; Serial Number: <serial>``), overridable with ``http_server``/``title``.
- IPP 631 (RFC 8010/8011): ``Get-Printer-Attributes`` answered with make-and-model,
  name, state and URI; other operations get ``server-error-operation-not-supported``.
  ``GET`` on 631 shows the same page as port 80.
- JetDirect 9100: accepts print data (bounded, discarded) and answers the PJL
  ``@PJL INFO ID`` query with the model, as HP printers do.
- SSDP when ``spec.ssdp``: ``urn:schemas-upnp-org:device:Printer:1``.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import struct

from campatch.sim.device import SimDevice, TcpService, UdpService
from campatch.sim.http import HttpRequest, HttpResponse, serve_http
from campatch.sim.ssdp import DESCRIPTION_PATH, ssdp_service, upnp_description

PRINTER_TYPE = "urn:schemas-upnp-org:device:Printer:1"
IPP_PORT = 631
JETDIRECT_PORT = 9100
MAX_PRINT_JOB = 4 * 1024 * 1024
IDLE_TIMEOUT_S = 30.0
_OP_GET_PRINTER_ATTRIBUTES = 0x000B
_STATUS_OK, _STATUS_NOT_SUPPORTED, _STATUS_BAD_REQUEST = 0x0000, 0x0501, 0x0400
_TAG_OPERATION, _TAG_END, _TAG_PRINTER = 0x01, 0x03, 0x04
_CHARSET, _LANGUAGE, _TEXT, _NAME, _KEYWORD, _URI, _ENUM = 0x47, 0x48, 0x41, 0x42, 0x44, 0x45, 0x23
_PRINTER_STATE_IDLE = 3


def ipp_attribute(tag: int, name: str, value: bytes) -> bytes:
    """One IPP attribute: value tag, name length, name, value length, value."""
    raw = name.encode()
    return struct.pack(">BH", tag, len(raw)) + raw + struct.pack(">H", len(value)) + value


def ipp_response(request: bytes, attributes: list[tuple[int, str, bytes]]) -> bytes:
    """The IPP reply to ``request``: printer attributes for Get-Printer-Attributes."""
    if len(request) < 8:
        return struct.pack(">BBHI", 2, 0, _STATUS_BAD_REQUEST, 0) + bytes([_TAG_END])
    major, minor, operation, request_id = struct.unpack(">BBHI", request[:8])
    status = _STATUS_OK if operation == _OP_GET_PRINTER_ATTRIBUTES else _STATUS_NOT_SUPPORTED
    out = bytearray(struct.pack(">BBHI", major or 2, minor, status, request_id))
    out.append(_TAG_OPERATION)
    out += ipp_attribute(_CHARSET, "attributes-charset", b"utf-8")
    out += ipp_attribute(_LANGUAGE, "attributes-natural-language", b"en")
    if status == _STATUS_OK:
        out.append(_TAG_PRINTER)
        for tag, name, value in attributes:
            out += ipp_attribute(tag, name, value)
    out.append(_TAG_END)
    return bytes(out)


class PrinterDevice(SimDevice):
    """An office printer (HP-style by default)."""

    personality = "printer"

    @property
    def model_name(self) -> str:
        """The printer's marketing name, e.g. "HP OfficeJet Pro 9010 series"."""
        spec = self.spec
        vendor = spec.brand or spec.vendor or "HP"
        return f"{vendor} {spec.model}".strip() if spec.model else f"{vendor} LaserJet"

    def tcp_services(self) -> list[TcpService]:
        """Web on 80, IPP on 631, JetDirect on 9100."""
        web = serve_http(self._web, self._server_header())
        return [
            TcpService(80, web),
            TcpService(IPP_PORT, serve_http(self._ipp, self._server_header())),
            TcpService(JETDIRECT_PORT, self._jetdirect),
        ]

    def udp_services(self) -> list[UdpService]:
        """SSDP as a UPnP printer when the spec asks for it."""
        if not self.spec.ssdp:
            return []
        return [
            ssdp_service(
                self,
                device_type=PRINTER_TYPE,
                location_port=80,
                server="Linux/3.14 UPnP/1.0 HP-Printer/1.0",
            )
        ]

    def _server_header(self) -> str:
        configured = self.spec.options.get("http_server")
        if configured:
            return str(configured)
        product = self.spec.hardware or "3UK83B"
        return f"HP HTTP Server; {self.model_name} - {product}; Serial Number: {self.spec.serial}"

    def _page(self) -> HttpResponse:
        title = str(self.spec.options.get("title", self.model_name))
        body = (
            f"<html><head><title>{html.escape(title)}</title></head><body>"
            f"<h1>{html.escape(self.model_name)}</h1><p>Status: Ready</p>"
            "<p>Supplies: Black 80%</p></body></html>"
        )
        return HttpResponse.text(body, content_type="text/html; charset=utf-8")

    async def _web(self, request: HttpRequest) -> HttpResponse:
        self.log(f"http {request.method} {request.path}")
        if request.path == DESCRIPTION_PATH and self.spec.ssdp:
            return HttpResponse(
                200, upnp_description(self, PRINTER_TYPE), [("Content-Type", "text/xml")]
            )
        if request.path in ("/", "/index.html", "/hp/device/DeviceStatus/Index"):
            return self._page()
        return HttpResponse.text("Not Found", 404)

    async def _ipp(self, request: HttpRequest) -> HttpResponse:
        self.log(f"ipp {request.method} {request.path}")
        if request.method == "GET":
            return self._page()
        if request.method != "POST" or request.header("Content-Type") != "application/ipp":
            return HttpResponse.text("Bad Request", 400)
        body = ipp_response(request.body, self._ipp_attributes())
        return HttpResponse(200, body, [("Content-Type", "application/ipp")])

    def _ipp_attributes(self) -> list[tuple[int, str, bytes]]:
        uri = f"ipp://{self.spec.address}:{IPP_PORT}/ipp/print"
        return [
            (_URI, "printer-uri-supported", uri.encode()),
            (_NAME, "printer-name", self.spec.name.encode()),
            (_TEXT, "printer-make-and-model", self.model_name.encode()),
            (_ENUM, "printer-state", struct.pack(">i", _PRINTER_STATE_IDLE)),
            (_KEYWORD, "printer-state-reasons", b"none"),
            (_TEXT, "printer-info", self.model_name.encode()),
        ]

    async def _jetdirect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received = 0
        tail = b""
        try:
            while received < MAX_PRINT_JOB:
                chunk = await asyncio.wait_for(reader.read(4096), IDLE_TIMEOUT_S)
                if not chunk:
                    break
                received += len(chunk)
                # keep a short tail so a query split across two reads is still seen
                window, tail = tail + chunk, (tail + chunk)[-32:]
                if b"@PJL INFO ID" in window.upper():
                    tail = b""
                    writer.write(b'@PJL INFO ID\r\n"' + self.model_name.encode() + b'"\r\n\x0c')
                    await writer.drain()
        except (ConnectionError, TimeoutError):
            pass
        finally:
            self.log(f"jetdirect {received} bytes")
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


DEVICE = PrinterDevice
