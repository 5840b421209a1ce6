"""REST endpoints: diagnose an uploaded photo (``uploads``: the one route with a large body), stream care
advice, the model card, health."""

from __future__ import annotations

import json
from typing import Literal

import numpy as np
from fastapi import APIRouter, File, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from .. import __version__, i18n
from ..advice.knowledge import class_names, load_knowledge
from ..errors import ImageTooLargeError, InputError
from ..i18n import LANGUAGES
from ..results import AnalysisOut, analysis_out
from ..vision.image_io import decode_scaled
from .schemas import AdviceIn, ErrorOut
from .services import ServicesDep

router = APIRouter(prefix="/api/v1")
uploads = APIRouter(prefix="/api/v1")
ERRORS = {400: {"model": ErrorOut}, 413: {"model": ErrorOut}, 422: {"model": ErrorOut}}


async def read_upload(file: UploadFile, limit: int) -> bytes:
    """The upload's bytes (its in-memory file is released: one copy stays, until decoded)."""
    data = await file.read(limit + 1)
    await file.close()
    if len(data) > limit:
        raise ImageTooLargeError(f"{file.filename or 'upload'}: over the {limit / 1e6:.0f} MB upload limit")
    return data


@uploads.post("/diagnose", response_model=AnalysisOut, responses=ERRORS)
async def diagnose(services: ServicesDep, file: UploadFile = File(..., description="a photo of the skin lesion"),
                   lang: Literal[LANGUAGES] = Query("en")) -> AnalysisOut:  # type: ignore[valid-type]
    """Quality check, lesion box, calibrated probabilities, top classes, urgency and knowledge-base advice."""
    settings = services.settings
    data = await read_upload(file, settings.max_upload_bytes)
    image, scale = await run_in_threadpool(decode_scaled, data, file.filename or "upload", settings.max_image_pixels,
                                           settings.max_upload_bytes, settings.max_decoded_pixels,
                                           settings.max_decode_bytes)
    del data
    analysis = await run_in_threadpool(services.pipeline.analyse, image)
    return in_file_pixels(analysis_out(analysis, services.advisor, lang), scale)


def in_file_pixels(out: AnalysisOut, scale: float) -> AnalysisOut:
    """The boxes in the uploaded photo's pixels (it was analysed shrunk by ``1 / scale``)."""
    if scale == 1.0:
        return out
    return out.model_copy(update={k: [round(v * scale) for v in box] if box else box
                                  for k, box in (("box", out.box), ("crop_box", out.crop_box))})


@router.post("/advice", responses=ERRORS)
async def advice_stream(services: ServicesDep, body: AdviceIn) -> StreamingResponse:
    """NDJSON stream: the knowledge-base advice at once, LLM text as it arrives, then the final advice
    (source ``llm`` if the LLM's answer passed validation, else ``knowledge_base``)."""
    advisor = services.advisor
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
    return StreamingResponse(events(), media_type="application/x-ndjson",
                             headers={"Cache-Control": "no-cache, private"})


@router.get("/messages/{lang}")
async def messages(services: ServicesDep, lang: Literal[LANGUAGES]) -> dict:  # type: ignore[valid-type]
    """Every text the page shows in one language, with each class's plain name and medical term and the words
    for each urgency level (``uncertain`` too)."""
    advisor = services.advisor
    kb = load_knowledge(lang)
    names = {c.code: dict(zip(("name", "plain_name"), advisor.names(c.code, kb))) for c in advisor.classes}
    urgency = {**kb.urgency_labels, "uncertain": kb.uncertain_label}
    return {**i18n.table(lang), "classes": names, "urgency_labels": urgency}


@router.get("/config")
async def page_config(services: ServicesDep) -> dict:
    """Operator defaults for the page and kiosk (URL parameters override them)."""
    s = services.settings
    return {"lang": s.lang, "hold_seconds": s.hold_seconds, "kiosk_reset_seconds": s.kiosk_reset_seconds,
            "languages": [{"code": code, "name": i18n.table(code)["name"]} for code in LANGUAGES]}


@router.get("/model")
async def model_card(services: ServicesDep) -> dict:
    """The model card: classes (with names and malignancy), input contract, temperature, metrics, licence."""
    card = services.classifier.card
    return {**card.model_dump(exclude={"training"}), "variant": services.classifier.variant,
            "software_version": __version__, "heatmap": services.classifier.has_cam,
            "class_info": [{"code": c.code, "can_be_malignant": c.can_be_malignant,
                            "names": {lang: class_names(c, lang)[0] for lang in LANGUAGES}}
                           for c in card.lesion_classes()]}
