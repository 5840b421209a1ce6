"""Pages and health: the camera page (/), the kiosk (/kiosk), the offline API docs (/docs), /healthz."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from .services import ServicesDep

STATIC = Path(__file__).parent / "static"
router = APIRouter()


@router.get("/healthz")
async def healthz(services: ServicesDep) -> dict:
    """Up, with what runs; ``worker`` is the answering process (one of ``serve --workers N``)."""
    clf = services.classifier
    localizer = services.pipeline.localizer
    return {"status": "ok", "model": clf.card.name, "variant": clf.variant, "classes": len(clf.classes),
            "localizer": getattr(localizer, "name", type(localizer).__name__), "live_sessions": services.live_sessions,
            "worker": os.getpid()}


@router.get("/", include_in_schema=False)
async def index():
    return FileResponse(STATIC / "index.html")


@router.get("/kiosk", include_in_schema=False)
async def kiosk():
    return FileResponse(STATIC / "index.html")


@router.get("/docs", include_in_schema=False)
async def api_docs():
    """Swagger UI from the fastapi-offline package's files: works offline, under our CSP (no inline script)."""
    return FileResponse(STATIC / "docs.html")
