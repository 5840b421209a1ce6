"""Security for a kiosk and a phone on the LAN: headers, optional access token, CORS only if set."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse

from ..errors import SkinDoctorError

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


LOOPBACK_NAMES = {"localhost"}


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


def _token_ok(supplied: str | None, expected: str | None) -> bool:
    return expected is None or (supplied is not None and hmac.compare_digest(supplied, expected))


def request_token(request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.query_params.get("token") or request.cookies.get("skindoctor_token")


def websocket_allowed(ws, settings) -> bool:
    return _token_ok(request_token(ws), settings.access_token)


class SecurityMiddleware(BaseHTTPMiddleware):
    def __init__(self, app, settings):
        super().__init__(app)
        self.settings = settings

    async def dispatch(self, request: Request, call_next):
        open_paths = ("/healthz",)
        if self.settings.access_token and request.url.path not in open_paths \
                and not _token_ok(request_token(request), self.settings.access_token):
            return JSONResponse({"error": "unauthorized", "detail": "access token required"}, status_code=401)
        try:
            async with asyncio.timeout(self.settings.request_timeout):
                response = await call_next(request)
        except TimeoutError:
            response = JSONResponse({"error": "timeout", "detail": f"request took longer than "
                                     f"{self.settings.request_timeout:.0f} s"}, status_code=504)
        for k, v in HEADERS.items():
            response.headers.setdefault(k, v)
        if request.url.path.startswith(DOCS_PATHS):
            response.headers["Content-Security-Policy"] = DOCS_CSP
        if self.settings.access_token and request.query_params.get("token"):
            response.set_cookie("skindoctor_token", request.query_params["token"], httponly=True, samesite="strict")
        return response
