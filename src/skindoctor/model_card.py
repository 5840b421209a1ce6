"""The model contract, written once in ``models/model_card.json`` and read by every consumer.

It names the ONNX files (the classifier's and the learned localiser's), the class order, the input
contract (size and normalisation, shared by training, evaluation and every runtime consumer), the
calibration temperature, the malignancy threshold chosen on validation data, metrics, provenance
and licence. The shipped model's folder is found by ``default_models_dir``: inside the installed
package, else the source checkout's ``models/``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, Field, ValidationError

from .errors import ModelError
from .labels import LesionClass, resolve_classes

CARD_NAME = "model_card.json"


def default_models_dir() -> Path:
    """The shipped model: package data of an installed wheel, or ``models/`` of a source checkout."""
    here = Path(__file__).resolve().parent
    candidates = (here / "models", here.parents[1] / "models")
    return next((c for c in candidates if (c / CARD_NAME).is_file()), candidates[0])


class InputSpec(BaseModel, frozen=True):
    """The image contract: a crop resized to ``size``² and scaled to ``(x/255 - mean) / std``, RGB, NCHW."""

    size: int
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    layout: str = "NCHW"
    color: str = "RGB"
    resize: str = "cv2.INTER_AREA (down) / INTER_LINEAR (up)"


class LocalizerSpec(BaseModel, frozen=True):
    """The learned lesion localiser: a segmentation network run on the whole frame (``vision.segment``)."""

    files: dict[str, str] = Field(description="variant (fp32, int8) → ONNX file name beside the card")
    variant: str = "int8"
    long_side: int = 160  # the frame is shrunk so its long side is this many pixels, aspect kept
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    mask_threshold: float = 0.5  # lesion probability from which a pixel belongs to the lesion
    present_threshold: float = Field(0.5, description="peak probability a region needs to count as a lesion "
                                                      "(chosen on validation frames)")
    confirm_below: float | None = Field(None, description="a box whose peak is below this is kept only if it holds on "
                                                        "the mean of this map and those of the frame's mirror images "
                                                        "(None: never looked at twice)")
    look_closer: bool = Field(False, description="search a frame of skin where nothing was found again as tiles "
                                                 "(turn it on only when validation photos show it pays)")
    closer_threshold: float | None = Field(None, description="peak probability a region found by the closer look "
                                                           "(the frame's tiles) needs (None: the presence threshold)")
    default: bool = Field(False, description="used unless SKINDOCTOR_LOCALIZER says otherwise; turn it on only when "
                                             "the classifier does at least as well on its crops, per domain, on "
                                             "validation photos (bench/localizer_choice.py)")
    metrics: dict[str, Any] = {}


class ModelCard(BaseModel):
    name: str
    architecture: str = "MobileNetV2 (width 1.0)"
    files: dict[str, str] = Field(description="variant (fp32, int8) → ONNX file name beside the card")
    default_variant: str = "int8"
    torch_weights: str | None = Field(None,
                                      description="PyTorch checkpoint beside the card (for fine-tuning, benchmarks)")
    classes: list[str | dict]
    input: InputSpec
    temperature: float = 1.0
    temperatures: dict[str, float] | None = Field(
        None, description="calibration per kind of picture ('dermoscopic', 'camera'), mixed for each crop by the "
                          "network's 'dermoscopic' output; None: 'temperature' for every picture")
    malignant_threshold: float | None = Field(
        None, description="summed probability of can-be-malignant classes above which a doctor is advised")
    reject_class: str | None = Field(
        None, description="the output that means 'not a skin lesion' (everyday photo, skin without a spot)")
    reject_threshold: float = Field(
        0.5, description="P(reject_class) from which the answer is 'no lesion found' instead of a diagnosis")
    doubt_threshold: float | None = Field(
        None, description="P(reject_class) from which a lesion answer is marked uncertain (the picture looks "
                          "unlike the lesions the model was trained on)")
    not_skin_threshold: float | None = Field(
        None, description="P(no skin) (the network's 'skin' output) from which a lesion crop, or a picture turned "
                          "away as holding no lesion, is told it does not look like skin (None: the model has no such "
                          "output)")
    views: int = Field(
        1, ge=1, le=4, validation_alias=AliasChoices("views", "photo_views"),  # cards before views held live too
        description="a crop, of a photo or of a live frame alike, is classified as this many of its mirror images "
                    "(as it is, left-right, upside-down, both) and the probabilities averaged")
    localizer: LocalizerSpec | None = Field(
        None, description="the learned lesion localiser; without it, or unless it is the default, the colour "
                          "localiser finds the lesion")
    metrics: dict[str, Any] = {}
    training: dict[str, Any] = {}
    provenance: dict[str, Any] = {}
    license: dict[str, Any] = {}

    def output_codes(self) -> list[str]:
        """Every output of the network, in order (the lesion classes and the reject class, if any)."""
        return [c if isinstance(c, str) else c["code"] for c in self.classes]

    def lesion_classes(self) -> list[LesionClass]:
        """The diagnostic classes (every output but the reject class), in output order."""
        return resolve_classes([c for c, code in zip(self.classes, self.output_codes()) if code != self.reject_class])

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / CARD_NAME
        path.write_text(json.dumps(self.model_dump(), indent=2, ensure_ascii=False) + "\n")
        return path


def load_card(directory: str | Path | None = None) -> ModelCard:
    """Read and validate ``model_card.json`` in ``directory``; ModelError naming the file if unusable."""
    path = Path(directory or default_models_dir()) / CARD_NAME
    try:
        return ModelCard.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise ModelError(f"model card not found: {path}") from None
    except (ValidationError, ValueError) as e:
        raise ModelError(f"model card {path} is invalid: {str(e).splitlines()[0]}") from None
