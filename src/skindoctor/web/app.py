"""The FastAPI app: routers for pages and health (``pages``), the REST API (``api``), the live WebSocket
(``live``); error handlers, security middleware, static files, and the memory settings applied at start."""

from __future__ import annotations

import ctypes
import importlib.util
import logging
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.formparsers import MultiPartParser

from .. import __version__
from ..config import Settings, get_settings
from ..errors import SkinDoctorError
from . import api, live, ondevice, pages
from .security import SecurityMiddleware
from .services import Services

log = logging.getLogger(__name__)
M_ARENA_MAX = -8  # glibc's mallopt parameter
SWAGGER_UI = Path(importlib.util.find_spec("fastapi_offline").origin).parent / "static"  # Swagger UI 5 (MIT)


def limit_malloc_arenas(arenas: int) -> bool:
    """Cap glibc's per-thread malloc arenas (each worker thread otherwise gets its own, and keeps it)."""
    try:
        return ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, arenas) == 1
    except (OSError, AttributeError):  # not glibc: nothing to cap
        return False


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    settings = settings or get_settings()
    services = services or Services.load(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Memory under load: work is CPU-bound on a few cores, so a few worker threads (not anyio's 40), each
        # sharing a few malloc arenas, keep the server's RSS flat (docs/reliability.md).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        limit_malloc_arenas(settings.malloc_arenas)
        yield

    app = FastAPI(title="AI Skin Doctor", version=__version__, docs_url=None, redoc_url=None, lifespan=lifespan,
                  description="Skin-lesion triage: a decision aid, not a medical device.")
    app.state.services = services
    # uploads stay in memory up to the upload limit: an image never touches the disk
    MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, settings.max_upload_bytes + 1024 * 1024)
    app.add_middleware(SecurityMiddleware, settings=settings)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])

    @app.exception_handler(SkinDoctorError)
    async def product_error(request: Request, exc: SkinDoctorError):
        return JSONResponse({"error": type(exc).__name__, "detail": str(exc)}, status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()))
        return JSONResponse({"error": "InvalidRequest", "detail": f"{where}: {first.get('msg', 'invalid request')}"},
                            status_code=422)

    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(live.router)
    app.include_router(ondevice.router)
    app.mount("/docs/assets", StaticFiles(directory=SWAGGER_UI), name="docs-assets")
    app.mount("/static", StaticFiles(directory=pages.STATIC), name="static")
    return app
