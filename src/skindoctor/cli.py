"""Command-line interface: ``skindoctor <command>``; thin wrappers over the library."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .errors import SkinDoctorError

DEFAULT_DATA = Path("../shared/data/ham10000")
DEFAULT_WEIGHTS = Path("../shared/weights/mobilenet_v2_imagenet_from_coral_tf1qat.pth")


def _load_samples(args):
    from .train.data import read_csv, read_folder, read_ham10000

    data = Path(args.data)
    if args.csv:
        return read_csv(args.csv, data if data.is_dir() else None, args.image_col, args.label_col, args.group_col)
    if (data / "metadata.csv").is_file():
        return read_ham10000(data)
    return read_folder(data)


def cmd_train(args) -> int:
    from .train.train import TrainConfig, train

    cfg = TrainConfig(out=args.out, weights=None if args.init == "random" else args.weights,
                      size=args.size, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                      seed=args.seed, workers=args.workers, max_steps_per_epoch=args.max_steps)
    best = train(_load_samples(args), cfg, args.split)
    print(best)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="skindoctor", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="fine-tune MobileNetV2 on a lesion dataset (needs the [train] extra)")
    t.add_argument("--data", default=str(DEFAULT_DATA),
                   help="HAM10000 folder (metadata.csv + images/), or a folder with one sub-folder per class")
    t.add_argument("--csv", help="a CSV of image + label instead (HAM10000 metadata columns by default)")
    t.add_argument("--image-col", default="image_id")
    t.add_argument("--label-col", default="dx")
    t.add_argument("--group-col", default="lesion_id", help="column that groups images of one lesion")
    t.add_argument("--weights", default=str(DEFAULT_WEIGHTS), help="local ImageNet MobileNetV2 state dict")
    t.add_argument("--init", choices=["imagenet", "random"], default="imagenet")
    t.add_argument("--out", default="runs/mnv2", help="run folder: checkpoints, log, split (resumes if present)")
    t.add_argument("--split", help="reuse this split CSV instead of making one")
    t.add_argument("--size", type=int, default=160)
    t.add_argument("--epochs", type=int, default=20)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--lr", type=float, default=5e-4)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--workers", type=int, default=1)
    t.add_argument("--max-steps", type=int, help="cap steps per epoch (quick trials)")
    t.set_defaults(func=cmd_train)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(levelname)s %(message)s")
    try:
        return args.func(args)
    except SkinDoctorError as e:
        print(f"skindoctor: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
