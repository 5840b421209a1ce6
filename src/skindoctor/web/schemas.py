"""Pydantic models of the HTTP API (they make the OpenAPI document at /docs)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ..advice.advisor import Advice
from ..i18n import LANGUAGES


class QualityOut(BaseModel):
    ok: bool
    reason: str
    message: str


class DiagnoseOut(BaseModel):
    quality: QualityOut
    box: list[int] | None = Field(None, description="lesion box [x0, y0, x1, y1] in image pixels")
    crop_box: list[int] | None = Field(None, description="the square analysed (the lesion with a margin), in image pixels")
    heatmap: list[list[float]] | None = Field(
        None, description="where the network saw evidence for the top class: a coarse grid over the crop, 0..1")
    top_class: str | None = None
    name: str | None = None
    confidence: float | None = None
    probabilities: dict[str, float] | None = None
    urgency: Literal["routine", "weeks", "prompt"] | None = None
    advice: Advice | None = None


class AdviceIn(BaseModel):
    probabilities: dict[str, float] = Field(description="class code → calibrated probability")
    candidates: list[str] = Field([], description="classes of one outcome the live hold alternated between")
    lang: Literal[LANGUAGES] = "en"  # type: ignore[valid-type]
    llm: bool = True


class ErrorOut(BaseModel):
    error: str
    detail: str


def heatmap_grid(prediction, class_index: int | None = None) -> list[list[float]] | None:
    """A prediction's class activation map as rows of 0..1 values (None when the model has none)."""
    m = prediction.heatmap(class_index)
    return None if m is None else [[round(float(v), 3) for v in row] for row in m]
