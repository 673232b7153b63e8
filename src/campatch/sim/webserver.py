"""A simulated plain web server (an intranet box, a NAS front page, a dev server).

``options["flavour"]`` picks nginx (default) or apache, each with its usual
``Server`` header and default page title; ``http_server`` and ``title`` override them.
"""

from __future__ import annotations

import html

from campatch.sim.device import SimDevice, TcpService
from campatch.sim.http import HttpRequest, HttpResponse, serve_http

FLAVOURS = {
    "nginx": ("nginx/1.24.0", "Welcome to nginx!"),
    "apache": ("Apache/2.4.62 (Debian)", "Apache2 Debian Default Page: It works"),
}


class WebServerDevice(SimDevice):
    """A host serving a generic default page on port 80."""

    personality = "webserver"

    def _flavour(self) -> tuple[str, str]:
        server, title = FLAVOURS.get(
            str(self.spec.options.get("flavour", "nginx")), FLAVOURS["nginx"]
        )
        opts = self.spec.options
        return str(opts.get("http_server", server)), str(opts.get("title", title))

    def tcp_services(self) -> list[TcpService]:
        """HTTP on 80."""
        return [TcpService(80, serve_http(self._web, self._flavour()[0]))]

    async def _web(self, request: HttpRequest) -> HttpResponse:
        self.log(f"http {request.method} {request.path}")
        if request.path not in ("/", "/index.html"):
            return HttpResponse.text("<html><body>404 Not Found</body></html>", 404, "text/html")
        title = html.escape(self._flavour()[1])
        page = f"<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
        return HttpResponse.text(page, content_type="text/html")


DEVICE = WebServerDevice
