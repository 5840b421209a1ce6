"""Real lesion photos the shipped model recognises steadily in camera-like frames (chosen, not hand-picked:
the first test-split images of a class whose rendered frame the pipeline classifies with confidence)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from skindoctor.dev.clips import Segment, render
from skindoctor.train.data import load_rgb


@lru_cache(maxsize=4)
def steady_lesions(pipeline_key, samples_key, classes: tuple[str, ...]):
    pipeline, samples = pipeline_key.value, samples_key.value
    found = {}
    for s in samples:
        if s.label not in classes or s.label in found:
            continue
        img = load_rgb(s.path)
        rng = np.random.default_rng(0)
        ok = True
        for t in (0.0, 0.4, 0.8, 1.2):
            pred = pipeline.analyse(render(Segment(img, 1.0), t, rng)).prediction
            if pred is None or pred.top_class != s.label or pred.confidence < 0.75:
                ok = False
                break
        if ok:
            found[s.label] = img
        if len(found) == len(classes):
            return found
    raise AssertionError(f"no steady test images found for {classes}: {list(found)}")


class Key:
    """Hashable wrapper so lru_cache can key on session objects by identity."""

    def __init__(self, value):
        self.value = value

    def __hash__(self):
        return id(self.value)

    def __eq__(self, other):
        return self.value is other.value
