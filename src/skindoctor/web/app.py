"""The FastAPI app: routers for pages and health (``pages``), the REST API (``api``), the live WebSocket
(``live``); error handlers, security middleware, request-body limits, static files, and the memory and
connection settings applied at start."""

from __future__ import annotations

import ctypes
import importlib.util
import logging
from contextlib import asynccontextmanager
from http.client import responses
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartParser

from .. import __version__
from ..config import Settings, get_settings
from ..errors import SkinDoctorError
from . import api, live, ondevice, pages
from .security import HEADERS, SecurityMiddleware
from .server import STATE_KEY, connection_limits, limit_flood_logging
from .services import Services

log = logging.getLogger(__name__)
M_ARENA_MAX = -8  # glibc's mallopt parameter
SWAGGER_UI = Path(importlib.util.find_spec("fastapi_offline").origin).parent / "static"  # Swagger UI 5 (MIT)
JSON_BODY_BYTES = 64 * 1024  # the API's JSON requests are a few hundred bytes
MULTIPART_BYTES = 64 * 1024  # an upload's multipart framing beyond the file itself


def limit_malloc_arenas(arenas: int) -> bool:
    """Cap glibc's per-thread malloc arenas (each worker thread otherwise gets its own, and keeps it)."""
    try:
        return ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, arenas) == 1
    except (OSError, AttributeError):  # not glibc: nothing to cap
        return False


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """The app (from the environment's settings when none are given: the factory each worker process calls)."""
    settings = settings or get_settings()
    services = services or Services.load(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Memory under load: work is CPU-bound on a few cores, so a few worker threads (not anyio's 40), each
        # sharing a few malloc arenas, keep the server's RSS flat (docs/reliability.md).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        limit_malloc_arenas(settings.malloc_arenas)
        limit_flood_logging()
        yield {STATE_KEY: connection_limits(settings)}  # read by the server's connection guard

    app = FastAPI(title="AI Skin Doctor", version=__version__, docs_url=None, redoc_url=None, lifespan=lifespan,
                  description="Skin-lesion triage: a decision aid, not a medical device.")
    app.state.services = services
    # a request body is limited before it is parsed (Content-Length, then a running count): an upload fits in
    # memory whole, so it never spills to a temporary file and an image never touches the disk
    upload_bytes = settings.max_upload_bytes + MULTIPART_BYTES
    MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, upload_bytes + 1)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])
    # outermost of ours: every answer, CORS preflights included, gets the security headers
    app.add_middleware(SecurityMiddleware, settings=settings, upload_paths=tuple(r.path for r in api.uploads.routes))

    @app.exception_handler(SkinDoctorError)
    async def product_error(request: Request, exc: SkinDoctorError):
        return JSONResponse({"error": type(exc).__name__, "detail": str(exc)}, status_code=exc.http_status)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return JSONResponse({"error": responses.get(exc.status_code, "Error"), "detail": exc.detail},
                            status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)  # answered outside the middleware: carries the security headers itself
    async def server_error(request: Request, exc: Exception):
        return JSONResponse({"error": "InternalError", "detail": "internal server error"}, status_code=500,
                            headers=HEADERS)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()))
        return JSONResponse({"error": "InvalidRequest", "detail": f"{where}: {first.get('msg', 'invalid request')}"},
                            status_code=422)

    app.include_router(pages.router)
    app.include_router(api.router, max_body_size=JSON_BODY_BYTES)
    app.include_router(api.uploads, max_body_size=upload_bytes, form_limits={"max_files": 1, "max_fields": 0})
    app.include_router(live.router)
    app.include_router(ondevice.router)
    app.mount("/docs/assets", StaticFiles(directory=SWAGGER_UI), name="docs-assets")
    app.mount("/static", StaticFiles(directory=pages.STATIC), name="static")
    return app
