"""The learned lesion localiser: a small segmentation network (ONNX) finds the lesion in the frame.

The frame is shrunk to the card's long side (128 px: the working copy the quality gate already
made; any aspect, the network is fully convolutional), the network gives each pixel a lesion
probability, and the connected region with the most probability becomes the box, mapped back to
frame pixels. No region whose peak reaches the card's presence threshold → no box. An unsure box
(peak below the card's ``confirm_below``) must hold on a second look: the mean of this map and those of
the frame's three mirror images, which on validation photos boxes under half as many everyday photos and
misses no more lesions, at the cost of one batched network run on few frames. A frame of skin where
nothing was found is searched again closer up (``look_wider``: overlapping tiles, each at the network's
input size, in one batched run), so a spot small in a wide picture is not lost to the shrinking; the
classifier then judges the crop like any other. Before the tiles, the part of the frame that holds its skin, when
that is well smaller than the frame (an arm before a wall, a photo on a phone held up to the camera), is looked at
alone: a dark surround around the skin measured as hiding spots the same photo shows uploaded. Trained and
measured by ``skindoctor train-localizer`` (docs/localization.md); the colour localiser stays as the fallback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import ModelError
from ..model_card import LocalizerSpec, ModelCard
from .localize import Box, LesionLocalizer, Localization, Localizer
from .preprocess import MIRRORS, mirror_axes, normalize_batch

log = logging.getLogger(__name__)
MIRROR_AXES = tuple(mirror_axes(*m) for m in MIRRORS)  # the second look's views (axes of an H×W picture)
MIN_INPUT_SIDE = 16  # pixels: the network's input is never smaller on either side
WIDER_GRID = 2  # the closer search's tiles per side
WIDER_OVERLAP = 0.25  # share of a tile's side that neighbouring tiles share


@dataclass(frozen=True)
class LearnedSettings:
    """The learned localiser's numbers (the card's and the search's): what the browser's port runs with."""

    long_side: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    mask_threshold: float
    present_threshold: float
    confirm_below: float | None
    look_closer: bool
    closer_threshold: float | None
    name: str = "learned"
    min_input_side: int = MIN_INPUT_SIDE
    wider_grid: int = WIDER_GRID
    wider_overlap: float = WIDER_OVERLAP

    @classmethod
    def from_card(cls, spec: LocalizerSpec) -> LearnedSettings:
        return cls(spec.long_side, spec.mean, spec.std, spec.mask_threshold, spec.present_threshold,
                   spec.confirm_below, spec.look_closer, spec.closer_threshold)


@dataclass(frozen=True)
class Region:
    """The chosen lesion region on the heat map's grid."""

    box: Box  # in heat-map pixels
    area_fraction: float  # region pixels / heat-map pixels
    peak: float  # highest lesion probability inside it
    mask: np.ndarray  # bool, heat-map sized


def input_shape(width: int, height: int, long_side: int) -> tuple[int, int]:
    """(width, height) of the network's input for a frame: the long side scaled to ``long_side``."""
    f = long_side / max(width, height)
    return max(MIN_INPUT_SIDE, round(width * f)), max(MIN_INPUT_SIDE, round(height * f))


def to_input(frames: list[np.ndarray], spec: LocalizerSpec) -> np.ndarray:
    """RGB uint8 frames of one size → the network's NCHW float input, ``(x/255 - mean) / std``."""
    return normalize_batch(frames, spec.mean, spec.std)


def best_region(prob: np.ndarray, mask_threshold: float) -> Region | None:
    """The connected region above ``mask_threshold`` that holds the most lesion probability."""
    above = (prob >= mask_threshold).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(above, connectivity=8)
    if n < 2:
        return None
    mass = np.bincount(labels.ravel(), weights=prob.ravel(), minlength=n)
    best = 1 + int(np.argmax(mass[1:]))
    x, y, w, h, area = stats[best]
    region = labels == best
    return Region(Box(int(x), int(y), int(x + w), int(y + h)), float(area / prob.size), float(prob[region].max()),
                  region)


def lesion_region(prob: np.ndarray, spec: LocalizerSpec, mirrored: Callable[[], list[np.ndarray]]) -> Region | None:
    """The best region, looked at again when unsure: a region that reaches the presence threshold with a peak below
    ``spec.confirm_below`` is sought again on the mean of ``prob`` and ``mirrored()`` (the maps of the frame's mirror
    images, ``MIRROR_AXES``, each mirrored back), and that region is the answer. A lesion is there when the answer's
    peak reaches the threshold."""
    region = best_region(prob, spec.mask_threshold)
    unsure = (region is not None and spec.confirm_below is not None
              and spec.present_threshold <= region.peak < spec.confirm_below)
    return best_region(np.mean([prob, *mirrored()], axis=0), spec.mask_threshold) if unsure else region


def tiles(width: int, height: int, grid: int = WIDER_GRID, overlap: float = WIDER_OVERLAP) -> list[Box]:
    """``grid`` × ``grid`` equal tiles covering a ``width`` × ``height`` frame, neighbours overlapping by
    ``overlap`` of a tile's side."""
    tw, th = (min(side, round(side / (grid - (grid - 1) * overlap))) for side in (width, height))
    xs = [round(i * (width - tw) / (grid - 1)) for i in range(grid)]
    ys = [round(i * (height - th) / (grid - 1)) for i in range(grid)]
    return [Box(x, y, x + tw, y + th) for y in ys for x in xs]


def contrast(image: np.ndarray, region: np.ndarray) -> float:
    """Colour distance (8-bit Lab, as the colour localiser reports it) between the region and the rest."""
    if region.all() or not region.any():
        return 0.0
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
    inside = region.astype(np.uint8)
    a, b = np.float32(cv2.mean(lab, mask=inside)[:3]), np.float32(cv2.mean(lab, mask=1 - inside)[:3])
    return float(np.sqrt(((a - b) ** 2).sum()))


def card_localizer(model_dir: str | Path, card: ModelCard, choice: str = "auto", threads: int = 1) -> Localizer:
    """The localiser to use: the card's learned one (``learned``, or ``auto`` when the card makes it the
    default and its file is there), else the colour method."""
    if choice == "colour" or (choice == "auto" and not (card.localizer and card.localizer.default)):
        return LesionLocalizer()
    if card.localizer is None:
        raise ModelError("the model card names no learned localiser (train one with `skindoctor train-localizer`)")
    try:
        return SegmentLocalizer(model_dir, card.localizer, threads=threads)
    except FileNotFoundError as e:
        if choice == "learned":
            raise ModelError(str(e)) from None
        log.warning("%s: finding lesions by colour instead", e)
        return LesionLocalizer()


class SegmentLocalizer:
    """``locate(frame)`` → the lesion box from the segmentation network named in the model card."""

    name = LearnedSettings.name

    def __init__(self, model_dir: str | Path, spec: LocalizerSpec, variant: str | None = None, threads: int = 1):
        import onnxruntime as ort

        self.spec, self.variant = spec, variant or spec.variant
        self.settings = LearnedSettings.from_card(spec)
        self.path = path = Path(model_dir) / spec.files[self.variant]
        if not path.is_file():
            raise FileNotFoundError(f"localiser model not found: {path}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.second_looks = 0  # how many times the mirror images were looked at (benchmarks report it)
        self.wider_looks = 0  # how many frames were searched again closer up

    def heatmap(self, frame: np.ndarray, small: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(the frame at the network's input size, lesion probability per pixel of it); ``small``, the
        frame already shrunk the same way (the shared working copy), is used when it has that size."""
        h, w = frame.shape[:2]
        size = input_shape(w, h, self.spec.long_side)
        if small is None or small.shape[1::-1] != size:
            small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        return small, self._probabilities([small])[0]

    def mirrored_heatmaps(self, small: np.ndarray) -> list[np.ndarray]:
        """The maps of ``small``'s (the network's input) mirror images, each mirrored back: one batched run."""
        self.second_looks += 1
        views = [np.ascontiguousarray(np.flip(small, axes)) for axes in MIRROR_AXES]
        return [np.flip(p, axes) for p, axes in zip(self._probabilities(views), MIRROR_AXES)]

    def _probabilities(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """Lesion probability per pixel for same-sized network inputs."""
        logits = self.session.run(None, {self.input_name: to_input(images, self.spec)})[0][:, 0]
        size = images[0].shape[1::-1]
        return [1 / (1 + np.exp(-cv2.resize(x, size, interpolation=cv2.INTER_LINEAR))) for x in logits]

    def locate(self, frame: np.ndarray, small: np.ndarray | None = None) -> Localization:
        """``small``: the shared working copy, the network's input when the card's long side matches it."""
        return self._locate(frame, Box(0, 0, frame.shape[1], frame.shape[0]), small)

    def _locate(self, frame: np.ndarray, part: Box, small: np.ndarray | None = None) -> Localization:
        """``locate`` on ``part`` of the frame looked at alone, the answer in frame pixels."""
        share = part.width * part.height / (frame.shape[0] * frame.shape[1])
        view = np.ascontiguousarray(frame[part.y0:part.y1, part.x0:part.x1])  # the whole frame: no copy
        image, prob = self.heatmap(view, small)
        region = lesion_region(prob, self.spec, lambda: self.mirrored_heatmaps(image))
        if region is None or region.peak < self.spec.present_threshold:
            return Localization(None, region.area_fraction * share if region else 0.0, 0.0)
        return self._found(region, image, part, share)

    def look_wider(self, frame: np.ndarray, skin: Box | None = None) -> Localization:
        """The second search: first ``skin``, the part of the frame that holds its skin (an arm before a wall, a
        photo on a phone held up to the camera), looked at alone as a frame of its own; then the frame as
        overlapping tiles (``tiles``), each at the network's input size, in one batched run: the surest region
        that reaches the card's ``closer_threshold`` (else the presence threshold), or none; no tiles when the
        card's ``look_closer`` is off."""
        if skin is not None:
            found = self._locate(frame, skin)
            if found.box is not None:
                return found
        if not self.spec.look_closer:
            return Localization(None, 0.0, 0.0)
        h, w = frame.shape[:2]
        parts = tiles(w, h)
        size = input_shape(parts[0].width, parts[0].height, self.spec.long_side)
        views = [cv2.resize(frame[t.y0:t.y1, t.x0:t.x1], size, interpolation=cv2.INTER_AREA) for t in parts]
        self.wider_looks += 1
        threshold = self.spec.closer_threshold or self.spec.present_threshold
        best = None
        for view, part, prob in zip(views, parts, self._probabilities(views)):
            region = lesion_region(prob, self.spec, lambda view=view: self.mirrored_heatmaps(view))
            if region is not None and region.peak >= threshold and (best is None or region.peak > best[0].peak):
                best = region, view, part
        if best is None:
            return Localization(None, 0.0, 0.0)
        region, view, part = best
        return self._found(region, view, part, part.width * part.height / (w * h))

    def _found(self, region: Region, image: np.ndarray, part: Box, share: float) -> Localization:
        """The region (on the map of ``image``, the network's view of ``part`` of the frame) in frame pixels;
        ``share``: ``part``'s share of the frame's area."""
        fx, fy = part.width / image.shape[1], part.height / image.shape[0]
        b = region.box
        box = Box(part.x0 + int(b.x0 * fx), part.y0 + int(b.y0 * fy),
                  min(part.x1, part.x0 + int(np.ceil(b.x1 * fx))), min(part.y1, part.y0 + int(np.ceil(b.y1 * fy))))
        return Localization(box, region.area_fraction * share, contrast(image, region.mask))
