"""AI Skin Doctor: camera-based skin-lesion triage (a decision aid, not a medical device).

The public API::

    import skindoctor

    pipeline = skindoctor.load()                  # the shipped int8 model (or model_dir=..., variant="fp32")
    analysis = pipeline.analyse(rgb_array)        # one picture: quality, lesion box, analysed square, prediction
    analysis = skindoctor.diagnose("photo.jpg")   # the same, on the shipped model, from a path, bytes or an array

``Pipeline.run(source)`` adds the 3-second hold for a camera or video (``stream.sources.open_source``);
``pipeline.advisor`` gives the care guidance for a result. Every shell (CLI, web app, evaluation,
benchmarks) builds its pipeline with ``load``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["load", "diagnose", "Analysis", "Pipeline", "__version__"]

if TYPE_CHECKING:
    import numpy as np

    from .analysis import Analysis
    from .config import Settings
    from .model_card import ModelCard
    from .stream.pipeline import Pipeline
    from .vision.localize import Localizer


def load(model_dir: str | Path | None = None, variant: str | None = None, threads: int | None = None, *,
         localizer: Localizer | None = None, settings: Settings | None = None,
         card: ModelCard | None = None) -> Pipeline:
    """The pipeline for a model folder (default: the shipped model, or ``SKINDOCTOR_MODEL_DIR``).

    ``variant``: ``int8`` (the card's default) or ``fp32``; ``threads``: ONNX Runtime threads (default 1);
    ``localizer``: anything with ``locate(frame, small)`` (default: the card's choice, ``localizer.default`` —
    the learned localiser for the shipped card; ``SKINDOCTOR_LOCALIZER=learned|colour`` overrides it); ``settings``:
    the hold, LLM and other options (default: from ``SKINDOCTOR_*`` variables); ``card``: a card to use
    instead of the folder's (evaluation re-chooses thresholds on one).
    """
    from .advice.advisor import Advisor
    from .config import get_settings
    from .spec import build_spec
    from .stream.pipeline import Pipeline
    from .vision.classifier import OnnxClassifier
    from .vision.segment import card_localizer

    settings = settings or get_settings()
    threads = threads or settings.threads
    classifier = OnnxClassifier(model_dir or settings.model_dir, variant or settings.model_variant, threads=threads,
                                card=card)
    localizer = localizer or card_localizer(classifier.model_dir, classifier.card, settings.localizer, threads)
    advisor = Advisor.from_settings(classifier.card, settings=settings)
    spec = build_spec(classifier, localizer, advisor, settings.hold_seconds, settings.decide_seconds)
    return Pipeline(classifier, localizer, spec, advisor)


@lru_cache(maxsize=1)
def _shipped() -> Pipeline:
    return load()


def diagnose(image: str | Path | bytes | np.ndarray) -> Analysis:
    """One photo (a path, encoded bytes, or an RGB uint8 array) through the shipped model's photo path."""
    from .vision.image_io import decode_image, read_image

    if isinstance(image, (str, Path)):
        image = read_image(image)
    elif isinstance(image, (bytes, bytearray)):
        image = decode_image(bytes(image), "image")
    return _shipped().analyse(image)


def __getattr__(name: str):
    """``skindoctor.Analysis`` and ``skindoctor.Pipeline`` without importing ONNX Runtime on ``import skindoctor``."""
    if name == "Analysis":
        from .analysis import Analysis

        return Analysis
    if name == "Pipeline":
        from .stream.pipeline import Pipeline

        return Pipeline
    raise AttributeError(f"module 'skindoctor' has no attribute {name!r}")
