"""Every HTTP response of the app: the same security headers, and only for hosts we serve.

The browser page's protections (its Content-Security-Policy, no framing, no MIME sniffing)
must hold for ``/static/index.html`` as much as for ``/``, so they are added to every
response here rather than route by route. Requests whose ``Host`` the server does not
answer to are refused before any route runs: that is what stops DNS rebinding (see
:func:`~desktopchat.server.web.admission.host_allowed`).
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desktopchat.server.web.admission import host_allowed

# The page's script and styles are files of its own origin; nothing inline may run, so a
# message that smuggles markup in can at worst show as text.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class HttpGuard:
    """ASGI middleware: refuse unknown hosts (400), add :data:`SECURITY_HEADERS`.

    WebSocket connections pass through: their admission hook checks the host too, and
    refuses with a close code a browser can read.
    """

    def __init__(self, app: ASGIApp, allowed_names: frozenset[str]) -> None:
        self.app = app
        self.allowed_names = allowed_names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not host_allowed(Headers(scope=scope).get("host"), self.allowed_names):
            response = PlainTextResponse("host not allowed", status_code=400)
            await response(scope, receive, self._with_headers(send))
            return
        await self.app(scope, receive, self._with_headers(send))

    @staticmethod
    def _with_headers(send: Send) -> Send:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        return send_with_headers
