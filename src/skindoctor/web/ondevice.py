"""What the page's on-device mode needs to run the whole product in the browser, and the service worker.

``/api/v1/ondevice`` is the bundle: the server's own pipeline spec (``skindoctor.spec``: every number of every
stage, so the browser decides exactly as the server would), the model files, each class's urgency, and the
knowledge base (the words) of every language. ``/sw.js`` is the service worker, with the list of files to keep
for offline use and a version that changes with any of them.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, Response

from .. import __version__
from ..advice.knowledge import load_knowledge
from ..i18n import LANGUAGES
from ..vision.image_io import MIN_SIDE
from . import browser_runtime
from .pages import STATIC
from .services import Services, ServicesDep

router = APIRouter()
RUNTIME_URL = "/static/vendor/onnxruntime-web/"
MODEL_URL = "/api/v1/ondevice/files/"
PAGES = ("/", "/kiosk")
WORKER = Path(__file__).parent / "service_worker.js"  # a template: /sw.js fills in its file list and version


@lru_cache(maxsize=8)
def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def model_files(services: Services) -> dict[str, Path]:
    """The ONNX files the browser may fetch: the classifier's variant in use and, if used, the localiser's."""
    clf, localizer = services.classifier, services.pipeline.localizer
    files = {"classifier": clf.path}
    if services.pipeline.spec.localizer is not None and getattr(localizer, "path", None) is not None:
        files["localizer"] = localizer.path
    return files


def _url(name: str, path: Path) -> str:
    return f"{MODEL_URL}{name}?sha256={file_digest(path)[:16]}"  # a new file is a new URL: caches cannot go stale


def bundle(services: Services) -> dict:
    """Everything the browser's pipeline reads: the pipeline spec as it is, the model files' URLs, the classes and
    the words; ``available`` is false when it cannot run there (no runtime, or a localiser of one's own)."""
    clf, pipeline, settings = services.classifier, services.pipeline, services.settings
    files = model_files(services)
    return {
        "available": browser_runtime.installed() and pipeline.spec.localizer is not None,
        "runtime": {"url": RUNTIME_URL, "version": browser_runtime.VERSION},
        "model": {"name": clf.card.name, "variant": clf.variant, "url": _url("classifier", clf.path)},
        "localizer_url": _url("localizer", files["localizer"]) if "localizer" in files else None,
        "spec": pipeline.spec.as_dict(),
        "classes": [{"code": c.code, "can_be_malignant": c.can_be_malignant, "urgency": c.urgency,
                     "names": {lang: c.name(lang) for lang in LANGUAGES}} for c in clf.card.lesion_classes()],
        "knowledge": {lang: load_knowledge(lang).model_dump(exclude={"llm"}) for lang in LANGUAGES},
        "max_rate": settings.live_max_rate,
        "max_image_pixels": settings.max_image_pixels,
        "min_image_side": MIN_SIDE,
    }


def static_files() -> list[Path]:
    """The page's own static files (the runtime under ``vendor/`` is versioned by its pinned release)."""
    return sorted(p for p in STATIC.rglob("*") if p.is_file() and "vendor" not in p.parts)


def offline_assets(info: dict, static: list[Path]) -> list[str]:
    """What the service worker keeps: the pages, static files, the tables the page reads, model and runtime."""
    files = [f"/static/{p.relative_to(STATIC).as_posix()}" for p in static]
    api = ["/api/v1/config", "/api/v1/model", "/api/v1/ondevice", *(f"/api/v1/messages/{lang}" for lang in LANGUAGES)]
    models = [info["model"]["url"]] + ([info["localizer_url"]] if info["localizer_url"] else [])
    runtime = [RUNTIME_URL + name for name in browser_runtime.FILES] if info["available"] else []
    return [*PAGES, *files, *api, *models, *runtime]


def worker_version(info: dict, static: list[Path], assets: list[str]) -> str:
    """Changes whenever a kept file may have: the software, the static files, the model files, the settings."""
    h = hashlib.sha256(__version__.encode() + WORKER.read_bytes())
    for p in static:
        h.update(p.as_posix().encode() + p.read_bytes())
    h.update(json.dumps(info, sort_keys=True, default=str).encode())
    h.update("\n".join(assets).encode())
    return h.hexdigest()[:16]


@router.get("/api/v1/ondevice")
async def ondevice_bundle(services: ServicesDep) -> dict:
    """The pipeline spec, rules and texts the page's on-device mode runs with (docs/guide.md, "On the phone")."""
    return bundle(services)


@router.get("/api/v1/ondevice/files/{name}", include_in_schema=False)
async def ondevice_file(services: ServicesDep, name: str) -> FileResponse:
    files = model_files(services)
    if name not in files:
        raise HTTPException(404, f"no model file {name!r} (have: {', '.join(files)})")
    return FileResponse(files[name], media_type="application/octet-stream",
                        headers={"Cache-Control": "public, max-age=31536000, immutable"})


@router.get("/sw.js", include_in_schema=False)
async def service_worker(services: ServicesDep) -> Response:
    """The service worker, at the site's root so it serves every page; its file list and version filled in."""
    info, static = bundle(services), static_files()
    assets = offline_assets(info, static)
    script = WORKER.read_text(encoding="utf-8")
    script = script.replace("__VERSION__", worker_version(info, static, assets))
    script = script.replace("__ASSETS__", json.dumps(assets))
    return Response(script, media_type="text/javascript", headers={"Cache-Control": "no-cache"})
