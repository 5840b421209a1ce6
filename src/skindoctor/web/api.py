"""REST endpoints: diagnose an uploaded photo, stream care advice, the model card, health."""

from __future__ import annotations

import json
from typing import Literal

import numpy as np
from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from .. import __version__, i18n
from ..advice.knowledge import load_knowledge
from ..errors import ImageTooLargeError, InputError
from ..i18n import LANGUAGES
from ..vision.image_io import decode_image
from .schemas import AdviceIn, DiagnoseOut, ErrorOut, QualityOut, heatmap_grid

router = APIRouter(prefix="/api/v1")
ERRORS = {400: {"model": ErrorOut}, 413: {"model": ErrorOut}, 422: {"model": ErrorOut}}


async def read_upload(file: UploadFile, limit: int) -> bytes:
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise ImageTooLargeError(f"{file.filename or 'upload'}: over the {limit / 1e6:.0f} MB upload limit")
    return data


@router.post("/diagnose", response_model=DiagnoseOut, responses=ERRORS)
async def diagnose(request: Request, file: UploadFile = File(..., description="a photo of the skin lesion"),
                   lang: Literal[LANGUAGES] = Query("en")) -> DiagnoseOut:  # type: ignore[valid-type]
    """Quality check, lesion box, calibrated probabilities, top class, urgency and knowledge-base advice."""
    services = request.app.state.services
    data = await read_upload(file, services.settings.max_upload_bytes)
    name = file.filename or "upload"
    image = await run_in_threadpool(decode_image, data, name, services.settings.max_image_pixels,
                                    services.settings.max_upload_bytes)
    analysis = await run_in_threadpool(services.pipeline().analyse, image)
    quality, pred = analysis.quality, analysis.prediction
    out = DiagnoseOut(quality=QualityOut(ok=quality.ok, reason=quality.reason, message=quality.message(lang, "upload")),
                      box=analysis.box.as_list() if analysis.box else None,
                      crop_box=analysis.crop_box.as_list() if analysis.crop_box else None)
    if pred is None:
        return out
    advice, _, _ = services.advisor.knowledge_advice(pred.probs, lang, pred.not_lesion)
    return out.model_copy(update=dict(
        top_class=pred.top_class, name=advice.name, confidence=pred.confidence,
        probabilities={c: float(p) for c, p in zip(pred.classes, pred.probs)}, urgency=advice.urgency,
        advice=advice, heatmap=heatmap_grid(pred)))


@router.post("/advice", responses=ERRORS)
async def advice_stream(request: Request, body: AdviceIn) -> StreamingResponse:
    """NDJSON stream: the knowledge-base advice at once, LLM text as it arrives, then the final advice
    (source ``llm`` if the LLM's answer passed validation, else ``knowledge_base``)."""
    advisor = request.app.state.services.advisor
    codes = [c.code for c in advisor.classes]
    unknown = set(body.probabilities) - set(codes)
    if unknown or not body.probabilities:
        raise InputError(f"probabilities must be given for the model's classes ({', '.join(codes)})")
    probs = np.array([body.probabilities.get(c, 0.0) for c in codes], dtype=float)
    if not np.isfinite(probs).all() or (probs < 0).any() or probs.sum() <= 0:
        raise InputError("probabilities must be finite, non-negative and not all zero")
    probs /= probs.sum()

    candidates = [c for c in body.candidates if c in codes]

    def events():
        for event in advisor.stream(probs, body.lang, body.llm, candidates=candidates):
            if event["type"] == "advice":
                event = {**event, "advice": event["advice"].model_dump()}
            yield json.dumps(event, ensure_ascii=False) + "\n"

    # "no-store" on a streamed fetch makes Chromium report the finished stream as aborted (net::ERR_ABORTED,
    # microsoft/playwright#42742); a POST answer is never cached anyway, so "no-cache, private" says enough.
    return StreamingResponse(events(), media_type="application/x-ndjson", headers={"Cache-Control": "no-cache, private"})


@router.get("/messages/{lang}")
async def messages(request: Request, lang: Literal[LANGUAGES]) -> dict:  # type: ignore[valid-type]
    """Every text the page shows in one language, with each class's plain name and medical term."""
    advisor = request.app.state.services.advisor
    kb = load_knowledge(lang)
    names = {c.code: dict(zip(("name", "plain_name"), advisor.names(c.code, kb))) for c in advisor.classes}
    return {**i18n.table(lang), "classes": names}


@router.get("/config")
async def page_config(request: Request) -> dict:
    """Operator defaults for the page and kiosk (URL parameters override them)."""
    s = request.app.state.services.settings
    return {"lang": s.lang, "hold_seconds": s.hold_seconds, "kiosk_reset_seconds": s.kiosk_reset_seconds,
            "languages": [{"code": code, "name": i18n.table(code)["name"]} for code in LANGUAGES]}


@router.get("/model")
async def model_card(request: Request) -> dict:
    """The model card: classes (with names and malignancy), input contract, temperature, metrics, licence."""
    services = request.app.state.services
    card = services.classifier.card
    return {**card.model_dump(exclude={"training"}), "variant": services.classifier.variant,
            "software_version": __version__, "heatmap": services.classifier.has_cam,
            "class_info": [c.model_dump() for c in card.lesion_classes()]}
