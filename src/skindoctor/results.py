"""The one serialised form of a result, shared by the REST API, the live WebSocket and ``diagnose --json``.

Pydantic models (they make the OpenAPI document) and the two functions that fill them: ``analysis_out``
for one picture, ``frame_out`` for one frame of a stream. Care guidance is attached here and only here:
the knowledge base's, unless the caller brings an LLM-worded one.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from .advice.advisor import Advice, Advisor
from .advice.knowledge import load_knowledge
from .analysis import Analysis
from .stream.pipeline import FrameResult
from .vision.classifier import Prediction


class QualityOut(BaseModel):
    ok: bool
    reason: str = Field(description="a key of the message tables' quality section, e.g. blurry")
    message: str = Field(description="what to tell the person, in the asked language")


class TopClassOut(BaseModel):
    code: str = Field(serialization_alias="class")
    name: str
    probability: float


class AnalysisOut(BaseModel):
    quality: QualityOut
    box: list[int] | None = Field(None, description="lesion box [x0, y0, x1, y1] in image pixels")
    crop_box: list[int] | None = Field(
        None, description="the square analysed (the lesion with a margin), in image pixels")
    heatmap: list[list[float]] | None = Field(
        None, description="where the network saw evidence for the top class: a coarse grid over the crop, 0..1")
    top_class: str | None = None
    name: str | None = Field(None, description="the top class's medical term, in the asked language")
    confidence: float | None = None
    probabilities: dict[str, float] | None = None
    top_k: list[TopClassOut] = []
    urgency: Literal["routine", "weeks", "prompt"] | None = None
    advice: Advice | None = None


class UndecidedOut(BaseModel):
    reason: str = Field(description="why nothing was confirmed in time: a gate reason, changing or unsure")
    rivals: list[str]
    message: str


class HoldOut(BaseModel):
    phase: Literal["searching", "holding", "confirmed"]
    progress: float
    candidate: str | None
    confidence: float | None = Field(None, description="the hold's mean confidence so far (the card's figure)")
    undecided: UndecidedOut | None = None


class DiagnosisOut(BaseModel):
    """A confirmed result: the hold's outcome (``stream.confirm.Confirmation``) with the frame's box and advice.
    ``code`` is the class that led the confirmed outcome; the advice names the likeliest class of the hold's mean,
    which may be another (the page shows the advice's)."""

    code: str
    name: str = Field(description="``code``'s medical term, in the asked language")
    confidence: float = Field(description="``code``'s mean probability over the hold")
    probabilities: dict[str, float]
    box: list[int] | None
    crop_box: list[int] | None
    t: float
    held_seconds: float
    not_lesion: float
    candidates: list[str]
    heatmap: list[list[float]] | None
    advice: Advice


class FrameOut(AnalysisOut):
    type: Literal["frame"] = "frame"
    t: float
    width: int | None = Field(None, description="the frame's size in pixels")
    height: int | None = None
    hold: HoldOut
    diagnosis: DiagnosisOut | None = None
    stats: dict | None = None


def heatmap_grid(prediction: Prediction, class_index: int | None = None) -> list[list[float]] | None:
    """A prediction's class activation map as rows of 0..1 values (None when the model has none)."""
    m = prediction.heatmap(class_index)
    return None if m is None else [[round(float(v), 3) for v in row] for row in m]


def _rounded(x: float, digits: int | None) -> float:
    return float(x) if digits is None else round(float(x), digits)


def analysis_out(analysis: Analysis, advisor: Advisor, lang: str, context: str = "upload", top_k: int = 3,
                 advice: bool = True, digits: int | None = None) -> AnalysisOut:
    """One picture's result; ``context`` words the quality message for an ``upload`` or a live camera
    (``quality``); ``advice``: attach the knowledge base's care guidance (and urgency) to a diagnosis."""
    q, pred = analysis.quality, analysis.prediction
    out = AnalysisOut(quality=QualityOut(ok=q.ok, reason=q.reason, message=q.message(lang, context)),
                      box=analysis.box.as_list() if analysis.box else None,
                      crop_box=analysis.crop_box.as_list() if analysis.crop_box else None)
    if pred is None:
        return out
    kb = load_knowledge(lang)
    out.top_class, out.name = pred.top_class, advisor.names(pred.top_class, kb)[0]
    out.confidence = _rounded(pred.confidence, digits)
    out.probabilities = {c: _rounded(p, digits) for c, p in zip(pred.classes, pred.probs)}
    out.top_k = [TopClassOut(code=c, name=advisor.names(c, kb)[0], probability=p) for c, p in pred.top_k(top_k)]
    if advice:
        out.advice = advisor.knowledge_advice(pred.probs, lang, pred.not_lesion)[0]
        out.urgency, out.heatmap = out.advice.urgency, heatmap_grid(pred)
    return out


def frame_out(result: FrameResult, advisor: Advisor, lang: str, size: tuple[int, int] | None = None,
              advice: Advice | None = None) -> FrameOut:
    """One frame of a stream: the picture's result, the hold, and on the confirming frame the diagnosis
    with its care guidance (``advice`` when the caller had it worded by the LLM, else the knowledge base's)."""
    classes, hold, analysis = result.classes, result.hold, result.analysis
    base = analysis_out(analysis, advisor, lang, context="quality", advice=False, digits=4)
    undecided = None
    if hold.undecided:
        rivals = [classes[i] for i in hold.rivals]
        undecided = UndecidedOut(reason=hold.undecided, rivals=rivals,
                                 message=advisor.undecided_message(hold.undecided, rivals, lang))
    hold_out = HoldOut(phase=hold.phase, progress=round(hold.progress, 3),
                       candidate=classes[hold.candidate] if hold.candidate is not None else None,
                       confidence=round(hold.confidence, 4) if hold.confidence is not None else None,
                       undecided=undecided)
    if size is None and result.frame is not None:
        size = (result.frame.shape[1], result.frame.shape[0])
    diagnosis = None
    if (c := result.confirmation) is not None:
        candidates = [classes[i] for i in c.candidates]
        advice = advice or advisor.knowledge_advice(c.probs, lang, c.not_lesion, candidates)[0]
        pred = analysis.prediction
        code = classes[c.class_index]
        diagnosis = DiagnosisOut(
            code=code, name=advisor.names(code, load_knowledge(lang))[0], confidence=c.confidence,
            probabilities={k: float(v) for k, v in zip(classes, c.probs)}, box=base.box, crop_box=base.crop_box,
            t=c.t, held_seconds=c.held_seconds, not_lesion=c.not_lesion, candidates=candidates,
            heatmap=heatmap_grid(pred, c.class_index) if pred else None, advice=advice)
    return FrameOut(**dict(base), t=round(result.t, 3), width=size[0] if size else None,
                    height=size[1] if size else None, hold=hold_out,
                    diagnosis=diagnosis, stats=result.stats or None)
