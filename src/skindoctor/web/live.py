"""Live sessions over a WebSocket: the page sends camera frames, the pipeline answers each.

Protocol: the client sends one JPEG/PNG/WebP frame as a binary message and waits for the answer
before sending the next (backpressure: never more than one frame in flight). Text messages are
JSON commands: ``{"type": "reset"}``, ``{"type": "config", "lang": "ko"}``. Answers are JSON:
``{"type": "frame", ...}`` per analysed frame (with ``diagnosis`` and advice when confirmed),
``{"type": "skipped"}`` when frames come faster than the analysis rate, ``{"type": "error"}``.
Each frame answer carries the hold (progress, leading candidate, the hold's mean confidence — the figure the
card will show — and ``undecided`` with a message once no result came within ``decide`` seconds); the one that
confirms carries the diagnosis, its advice, the analysed square and the heat map. Query parameters: ``lang``,
``hold`` (seconds to hold, 0.5–30), ``decide`` (seconds before saying why there is no result, 3–120); other
values are refused with 422. The security middleware checks Host, Origin and token first.
Frames are decoded in memory and dropped after analysis; nothing is stored.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from .. import i18n
from ..errors import InputError, SkinDoctorError
from ..results import frame_out
from ..vision.image_io import decode_image
from .services import Services, ServicesDep

log = logging.getLogger(__name__)
router = APIRouter()
MAX_BAD_MESSAGES = 20
SECONDS = {"hold": (0.5, 30.0), "decide": (3.0, 120.0)}  # the range each query parameter may take


@router.websocket("/api/v1/live")
async def live(ws: WebSocket, services: ServicesDep, lang: str = "en", hold: str | None = None,
               decide: str | None = None):
    settings = services.settings
    try:
        hold_seconds, decide_seconds = _seconds("hold", hold), _seconds("decide", decide)
    except InputError as e:
        await ws.send_denial_response(JSONResponse({"error": "InvalidRequest", "detail": str(e)}, status_code=422))
        return
    if not services.try_open_live():
        await ws.send_denial_response(JSONResponse(
            {"error": "busy", "detail": "too many live sessions; try again shortly"}, status_code=503,
            headers={"Retry-After": "10"}))
        return
    try:
        await ws.accept()
        lang = i18n.language(lang)
        pipeline = services.live_pipeline(hold_seconds, decide_seconds)
        min_interval, last = 1.0 / settings.live_max_rate, 0.0
        bad = 0
        while True:
            try:
                msg = await asyncio.wait_for(ws.receive(), timeout=settings.live_idle_timeout)
            except TimeoutError:
                await ws.close(code=1000, reason="idle timeout")
                return
            if msg["type"] == "websocket.disconnect":
                return
            if msg.get("text") is not None:
                reply = _command(msg["text"], pipeline)
                if reply.get("lang"):
                    lang = reply["lang"]
                bad += reply["type"] == "error"
                await ws.send_json(reply)
            elif msg.get("bytes") is not None:
                now = time.monotonic()
                if now - last < min_interval:
                    await ws.send_json({"type": "skipped"})
                    continue
                last = now
                try:
                    if len(msg["bytes"]) > settings.max_frame_bytes:
                        raise SkinDoctorError(f"frame over the {settings.max_frame_bytes // 1024} KB limit")
                    result = await run_in_threadpool(_analyse, pipeline, services, msg["bytes"], now, lang)
                    await ws.send_json(result)
                except SkinDoctorError as e:
                    bad += 1
                    await ws.send_json({"type": "error", "message": str(e)})
            if bad > MAX_BAD_MESSAGES:
                await ws.close(code=1003, reason="too many malformed messages")
                return
    except WebSocketDisconnect:
        return
    finally:
        services.close_live()


def _seconds(name: str, raw: str | None) -> float | None:
    """A query parameter in seconds, within its range (``InputError`` if not a finite number in it)."""
    if raw is None:
        return None
    low, high = SECONDS[name]
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not low <= value <= high:  # NaN compares false: refused too; infinities are out of range
        raise InputError(f"{name}: expected a number of seconds from {low:g} to {high:g}")
    return value


def _analyse(pipeline, services: Services, data: bytes, t: float, lang: str) -> dict:
    s = services.settings
    image = decode_image(data, "frame", s.max_image_pixels, s.max_frame_bytes, s.max_decoded_pixels, s.max_decode_bytes)
    result = pipeline.process(image, t)
    size = (image.shape[1], image.shape[0])
    return frame_out(result, services.advisor, lang, size).model_dump(mode="json", by_alias=True)


def _command(text: str, pipeline) -> dict:
    try:
        cmd = json.loads(text)
        kind = cmd["type"]
    except (json.JSONDecodeError, KeyError, TypeError):
        return {"type": "error", "message": "malformed command: expected JSON with a 'type'"}
    if kind == "reset":
        pipeline.reset()
        return {"type": "reset"}
    if kind == "config" and cmd.get("lang") in i18n.LANGUAGES:
        return {"type": "config", "lang": cmd["lang"]}
    return {"type": "error", "message": f"unknown command {str(kind)[:40]!r}"}
