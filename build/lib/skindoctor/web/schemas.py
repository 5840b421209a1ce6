"""Pydantic models of the HTTP API's requests and errors (results: ``skindoctor.results``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ..i18n import LANGUAGES


class AdviceIn(BaseModel):
    probabilities: dict[str, float] = Field(description="class code → calibrated probability")
    candidates: list[str] = Field([], description="classes of one outcome the live hold alternated between")
    lang: Literal[LANGUAGES] = "en"  # type: ignore[valid-type]
    llm: bool = True


class ErrorOut(BaseModel):
    error: str
    detail: str
