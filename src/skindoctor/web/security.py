"""Security for a kiosk and phones on the LAN, or behind a proxy: security headers on every answer, a Host
allow-list (against DNS rebinding), a same-origin check for WebSockets and state-changing requests, the optional
access token (CORS preflights carry none), per-client and upload concurrency, and a time limit for a request
to start its answer."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import re
import socket
from http.cookies import SimpleCookie

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse

from ..config import Settings
from ..errors import SkinDoctorError

log = logging.getLogger(__name__)
CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    # with the opener policy, makes the page cross-origin isolated: the in-browser model may use several threads
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cache-Control": "no-store",
}
DOCS_PATHS = ("/docs",)  # Swagger UI (self-hosted) sets inline styles: its own policy, scripts still 'self' only
DOCS_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
OPEN_PATHS = ("/healthz",)  # for probes of a proxy or orchestrator: any Host, no token, no per-client limit
# the page's own files: a page load asks for a dozen modules at once, each a quick read of a packaged file, so they
# are not counted against the per-client limit (which keeps one address from taking every analysis worker)
UNCOUNTED_PREFIX = "/static/"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
TOKEN_COOKIE = "skindoctor_token"
LOOPBACK_NAMES = {"localhost"}
ANY_ADDRESS = ("0.0.0.0", "::", "")
HOST_HEADER = re.compile(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?")


def is_loopback(host: str) -> bool:
    """Whether listening on ``host`` keeps the service on this machine."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_policy(host: str, expose: bool, token: str | None) -> str | None:
    """The network policy for ``serve``: a warning to print for a deliberate non-loopback address, None on
    loopback; ``SkinDoctorError`` for a non-loopback address without ``expose``."""
    if is_loopback(host):
        return None
    if not expose:
        raise SkinDoctorError(f"refusing to listen on {host}: that exposes the service to the network. "
                              "Add --expose (and preferably --token) if that is what you want.")
    return (f"WARNING: listening on {host}: anyone on the network can reach this service"
            + ("" if token else " (no --token set: no access control)"))


def allowed_host_names(settings: Settings) -> set[str]:
    """Host names (not addresses) the app answers to: ``localhost``, the name listened on, this machine's names
    when listening on every address, and ``settings.allowed_hosts``."""
    names = {"localhost", *(h.lower().strip("[]") for h in settings.allowed_hosts)}
    if settings.host in ANY_ADDRESS:
        names |= {socket.gethostname().lower(), socket.gethostname().lower() + ".local"}
    elif not _is_address(settings.host):
        names.add(settings.host.lower())
    return names


def host_allowed(host_header: str, names: set[str], exposed: bool) -> bool:
    """A Host header naming an allowed name, or an address (loopback ones only unless ``exposed``). A page that
    rebinds its own DNS name to this machine still sends its name, so it is refused."""
    m = HOST_HEADER.fullmatch(host_header)
    if not m:
        return False
    host = m[1].lower().strip("[]")
    if host in names or "*" in names:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return exposed or address.is_loopback


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def token_ok(supplied: bytes | None, expected: str | None) -> bool:
    """Constant-time comparison of bytes: whatever a client sends, it compares and never raises."""
    return expected is None or (supplied is not None and hmac.compare_digest(supplied, expected.encode()))


def request_token(conn: HTTPConnection) -> bytes | None:
    """The token a request carries: its Bearer header (the bytes sent), else ``?token=``, else the cookie."""
    auth = conn.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip().encode("latin-1")
    token = conn.query_params.get("token") or conn.cookies.get(TOKEN_COOKIE)
    return token.encode("utf-8", "surrogatepass") if token else None


class SecurityMiddleware:
    """The checks above, as pure ASGI middleware around HTTP requests and WebSockets alike."""

    def __init__(self, app, settings: Settings, upload_paths: tuple[str, ...] = ()):
        self.app, self.settings, self.upload_paths = app, settings, upload_paths
        self.host_names = allowed_host_names(settings)
        self.exposed = not is_loopback(settings.host)
        self.in_flight: dict[str, int] = {}  # requests and live sessions in progress, per client address
        self.uploads = asyncio.Semaphore(settings.max_concurrent_uploads)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        conn = HTTPConnection(scope)
        send = self._secured(conn, send)
        if scope["path"] in OPEN_PATHS:
            return await self.app(scope, receive, send)
        refusal = self._refusal(conn)
        if refusal:
            return await JSONResponse(*refusal)(scope, receive, send)
        if scope["path"].startswith(UNCOUNTED_PREFIX) and scope["type"] == "http":
            return await self._timed(scope, receive, send)
        client = conn.client.host if conn.client else ""
        if self.in_flight.get(client, 0) >= self.settings.max_client_requests:
            log.warning("requests refused (503): %d in progress from one client is the limit",
                        self.settings.max_client_requests)
            return await JSONResponse({"error": "busy", "detail": "too many requests at once from this address; "
                                       "try again shortly"}, 503, {"Retry-After": "5"})(scope, receive, send)
        self.in_flight[client] = self.in_flight.get(client, 0) + 1
        try:
            if scope["type"] == "websocket":
                await self.app(scope, receive, send)
            else:
                await self._timed(scope, receive, send)
        finally:
            self.in_flight[client] -= 1
            if not self.in_flight[client]:
                del self.in_flight[client]

    def _refusal(self, conn: HTTPConnection) -> tuple[dict, int] | None:
        """Why a request is refused (its JSON answer and status), or None."""
        if not host_allowed(conn.headers.get("host", ""), self.host_names, self.exposed):
            return {"error": "bad_host", "detail": "this server does not answer to that Host name"}, 400
        origin = conn.headers.get("origin")
        if origin is not None and (conn.scope["type"] == "websocket" or conn.scope["method"] not in SAFE_METHODS) \
                and origin.lower() not in self._own_origins(conn):
            return {"error": "forbidden", "detail": "cross-origin request refused"}, 403
        if conn.scope.get("method") != "OPTIONS" and not token_ok(request_token(conn), self.settings.access_token):
            return {"error": "unauthorized", "detail": "access token required"}, 401
        return None

    def _own_origins(self, conn: HTTPConnection) -> set[str]:
        host = conn.headers.get("host", "").lower()
        return {f"http://{host}", f"https://{host}", *(o.lower() for o in self.settings.cors_origins)}

    async def _timed(self, scope, receive, send):
        """The app, with ``request_timeout`` for it to start answering (uploads wait for a slot within it)."""
        try:
            async with asyncio.timeout(self.settings.request_timeout) as limit:
                async def started(message):
                    if message["type"] == "http.response.start":
                        limit.reschedule(None)
                    await send(message)

                if scope["path"] in self.upload_paths:
                    async with self.uploads:
                        await self.app(scope, receive, started)
                else:
                    await self.app(scope, receive, started)
        except TimeoutError:
            await JSONResponse({"error": "timeout", "detail": f"request took longer than "
                                f"{self.settings.request_timeout:.0f} s"}, 504)(scope, receive, send)

    def _secured(self, conn: HTTPConnection, send):
        """``send`` adding the security headers, and the token cookie when a valid ``?token=`` authorised this."""
        docs = conn.scope["path"].startswith(DOCS_PATHS)
        query_token = conn.query_params.get("token")
        cookie = None
        if self.settings.access_token and query_token and "authorization" not in conn.headers \
                and token_ok(query_token.encode("utf-8", "surrogatepass"), self.settings.access_token):
            jar = SimpleCookie()
            jar[TOKEN_COOKIE] = self.settings.access_token
            jar[TOKEN_COOKIE].update({"path": "/", "httponly": True, "samesite": "Strict",
                                      "secure": conn.url.scheme in ("https", "wss")})
            cookie = jar[TOKEN_COOKIE].OutputString()

        async def secured(message):
            if message["type"] in ("http.response.start", "websocket.http.response.start"):
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                for k, v in HEADERS.items():
                    headers.setdefault(k, v)
                if docs:
                    headers["Content-Security-Policy"] = DOCS_CSP
                if cookie:
                    headers.append("Set-Cookie", cookie)
            await send(message)

        return secured
