"""Write the framing test sets that `skindoctor evaluate --data` scores through the product's photo path.

``widefield_test``: the PAD-UFES-20 test split's lesions pasted small into other test patients' painted-out photos
(``skindoctor.dev.widefield``); ``phone_bare_skin_test``: those painted-out photos themselves (label ``nolesion``).

    python bench/widefield_sets.py [--out runs/eval-sets] [--n 300]
    skindoctor evaluate --data runs/eval-sets/widefield_test --name widefield_test
    skindoctor evaluate --data runs/eval-sets/phone_bare_skin_test --name phone_bare_skin_test
"""

from __future__ import annotations

import argparse
from pathlib import Path

from skindoctor.dev.widefield import bare_frames, phone_set, wide_frames, write_set


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--split", default="models/split.csv")
    ap.add_argument("--part", default="test")
    ap.add_argument("--n", type=int, default=300, help="wide-field frames")
    ap.add_argument("--out", default="runs/eval-sets")
    args = ap.parse_args()
    data, split, out = Path(args.data), Path(args.split), Path(args.out)
    phones = phone_set(data, split, args.part)
    print(write_set(wide_frames(phones, args.n), out / f"widefield_{args.part}"))
    print(write_set(bare_frames(phones), out / f"phone_bare_skin_{args.part}"))


if __name__ == "__main__":
    main()
