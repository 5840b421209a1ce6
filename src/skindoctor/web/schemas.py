"""Pydantic models of the HTTP API (they make the OpenAPI document at /docs)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ..advice.advisor import Advice


class QualityOut(BaseModel):
    ok: bool
    reason: str
    message: str


class DiagnoseOut(BaseModel):
    quality: QualityOut
    box: list[int] | None = Field(None, description="lesion box [x0, y0, x1, y1] in image pixels")
    top_class: str | None = None
    name: str | None = None
    confidence: float | None = None
    probabilities: dict[str, float] | None = None
    urgency: Literal["routine", "weeks", "prompt"] | None = None
    advice: Advice | None = None


class AdviceIn(BaseModel):
    probabilities: dict[str, float] = Field(description="class code → calibrated probability")
    lang: Literal["en", "ko"] = "en"
    llm: bool = True


class ErrorOut(BaseModel):
    error: str
    detail: str
