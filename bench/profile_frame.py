"""Where one 640×480 frame's time goes: cProfile over the live pipeline's per-frame path.

    python bench/profile_frame.py [--frames 300] [--image photo.jpg]   (top functions by own time)
"""

from __future__ import annotations

import argparse
import cProfile
import pstats

import skindoctor
from skindoctor.dev.clips import Segment, frames
from skindoctor.vision.image_io import read_image


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--image", required=True)
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()
    pipeline = skindoctor.load(threads=1)
    clip = list(frames([Segment(read_image(args.image), args.frames / 30)]))
    for f in clip[:20]:
        pipeline.process(f, 0.0)
    prof = cProfile.Profile()
    prof.enable()
    for i, f in enumerate(clip):
        pipeline.process(f, i / 30)
    prof.disable()
    stats = pstats.Stats(prof).sort_stats("tottime")
    total = sum(v[2] for v in stats.stats.values())
    print(f"{len(clip)} frames, {1000 * total / len(clip):.2f} ms per frame (profiled)")
    stats.print_stats(args.top)


if __name__ == "__main__":
    main()
