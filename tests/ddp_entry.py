"""Test-only entry for tests/test_distributed.py: ``python ddp_entry.py DUMP_DIR <skindoctor args>``.

Runs the ``skindoctor`` CLI (alone or under torchrun) with dropout off — N ranks cannot draw the masks one
process draws for the whole batch — and saves each rank's final weights to ``DUMP_DIR/rank<R>.pt``.
With ``STOP_EPOCH=E`` every rank stops at the start of epoch E (0-based), as if killed there.
"""

import os
import sys

import torch

from skindoctor import cli
from skindoctor.train import train

models = []
_build, _getitem = train.build_model, train.LesionDataset.__getitem__


def _build_model(*args, **kwargs):
    model = _build(*args, **kwargs)
    model.classifier[0].p = 0.0
    models.append(model)
    return model


def _getitem_or_stop(self, i):
    if self.train and self.epoch >= int(os.environ["STOP_EPOCH"]):
        raise SystemExit(f"stopped at epoch {self.epoch}")
    return _getitem(self, i)


if __name__ == "__main__":
    train.build_model = _build_model
    if "STOP_EPOCH" in os.environ:
        train.LesionDataset.__getitem__ = _getitem_or_stop
    rc = cli.main(sys.argv[2:])
    torch.save(models[-1].state_dict(), os.path.join(sys.argv[1], f"rank{os.environ.get('RANK', '0')}.pt"))
    sys.exit(rc)
