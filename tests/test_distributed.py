"""``skindoctor train`` under torchrun: 2 CPU processes (gloo, loopback) on 40 tiny images, batch-norm frozen.

The ranks end with the same weights, those equal one process's with the same global batch, and a run stopped
after its first epoch and started again ends where the uninterrupted run ends.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from .conftest import needs_torch

pytestmark = needs_torch
ENTRY = Path(__file__).with_name("ddp_entry.py")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """40 random 32×32 images in two class folders and a random MobileNetV2 to start from.

    The classes are unbalanced (26 + 14), so the loss weights differ; file names are unique (a split file keys
    images by name). The network's batch-norm statistics are measured on random inputs: with the identity
    statistics of a fresh one the signal, and the gradients, vanish."""
    import torch
    from torch import nn

    from skindoctor.train.model import MobileNetV2

    root = tmp_path_factory.mktemp("ddp")
    rng = np.random.default_rng(0)
    for cls, n in (("a", 26), ("b", 14)):
        (root / "data" / cls).mkdir(parents=True)
        for i in range(n):
            cv2.imwrite(str(root / "data" / cls / f"{cls}{i}.png"), rng.integers(0, 256, (32, 32, 3), np.uint8))
    torch.manual_seed(0)
    model = MobileNetV2(2).train()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = None  # running statistics = the mean over the batches below
    with torch.no_grad():
        for _ in range(4):
            model(torch.randn(16, 3, 32, 32))
    torch.save({"model": model.state_dict(), "classes": ["a", "b"]}, root / "init.pt")
    return root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _train(setup, out: Path, batch_size: int, ranks: int = 1, stop_epoch: int | None = None, check: bool = True):
    """Train 2 epochs of 3 global batches of 8 into ``out``; the ranks' final weights go to ``out/dump``.

    At the default learning rate (5e-4) these random images train chaotically and float rounding grows past
    1e-5 in 6 steps, hence 1e-4."""
    (out / "dump").mkdir(parents=True, exist_ok=True)
    launch = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={ranks}", "--nnodes=1",
              "--master_addr=127.0.0.1", f"--master_port={_free_port()}"] if ranks > 1 else [sys.executable]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo"}
    if stop_epoch is not None:
        env["STOP_EPOCH"] = str(stop_epoch)
    args = ["train", "--data", str(setup / "data"), "--out", str(out), "--size", "32", "--batch-size", str(batch_size),
            "--epochs", "2", "--lr", "1e-4", "--workers", "0", "--init-checkpoint", str(setup / "init.pt"),
            "--batchnorm", "freeze"]
    r = subprocess.run([*launch, str(ENTRY), str(out / "dump"), *args], capture_output=True, text=True, timeout=300,
                       env=env)
    if check:
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return r


def _last(out: Path) -> dict:
    import torch

    return torch.load(out / "last.pt", weights_only=False)


def _assert_same_weights(a: dict, b: dict, atol: float = 0.0):
    import torch

    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=atol, msg=k)


@pytest.mark.slow
def test_two_ranks_match_one_process_and_resume(setup, tmp_path):
    import torch

    ddp, single, resumed = tmp_path / "ddp", tmp_path / "single", tmp_path / "resumed"
    _train(setup, ddp, batch_size=4, ranks=2)
    ddp_last = _last(ddp)
    assert ddp_last["epoch"] == 1
    # (a) rank 1 ends with the weights rank 0 checkpointed; --out holds only what rank 0 writes
    _assert_same_weights(torch.load(ddp / "dump" / "rank1.pt"), ddp_last["model"])
    assert sorted(p.name for p in ddp.iterdir()) == ["best.pt", "dump", "last.pt", "split.csv", "train.log"]

    # (b) one process with the global batch (8) takes the same steps
    _train(setup, single, batch_size=8)
    _assert_same_weights(_last(single)["model"], ddp_last["model"], atol=1e-5)
    init = torch.load(setup / "init.pt")["model"]
    assert max((ddp_last["model"][k] - init[k]).abs().max() for k in init if k.startswith("features")) > 1e-4
    for a, b in zip(_last(single)["history"], ddp_last["history"], strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-5) and a["lr"] == b["lr"]

    # (c) stopped at the start of epoch 2, then started again: resumes from last.pt on both ranks
    assert _train(setup, resumed, batch_size=4, ranks=2, stop_epoch=1, check=False).returncode != 0
    assert _last(resumed)["epoch"] == 0
    _train(setup, resumed, batch_size=4, ranks=2)
    assert "resumed from" in (resumed / "train.log").read_text()
    _assert_same_weights(_last(resumed)["model"], ddp_last["model"])
    for a, b in zip(_last(resumed)["history"], ddp_last["history"], strict=True):
        assert (a["train_loss"], a["val_score"], a["lr"]) == (b["train_loss"], b["val_score"], b["lr"])


def test_sharded_sampler_splits_one_weighted_stream():
    import torch
    from torch.utils.data import WeightedRandomSampler

    from skindoctor.train.distributed import ShardedWeightedSampler

    w = np.random.default_rng(0).random(50)
    whole = ShardedWeightedSampler(w, batches=5, batch_size=6, seed=3)
    whole.set_epoch(2)
    reference = WeightedRandomSampler(w, 30, replacement=True, generator=torch.Generator().manual_seed(3002))
    assert list(whole) == list(reference)  # a plain run draws exactly what it drew before
    ranks = [ShardedWeightedSampler(w, batches=5, batch_size=2, seed=3, rank=r, world=3) for r in range(3)]
    for s in ranks:
        s.set_epoch(2)
    shards = [list(s) for s in ranks]
    assert all(len(s) == len(shard) == 10 for s, shard in zip(ranks, shards))
    assert [i for k in range(5) for shard in shards for i in shard[2 * k:2 * k + 2]] == list(whole)
