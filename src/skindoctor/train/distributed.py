"""Data-parallel training under ``torchrun``: the process group, a sharded weighted sampler, a global-batch loss.

Every rank draws the same weighted stream of indices and takes its own slice of each global batch, and the loss
is normalised over the global batch, so N ranks with batch B take the steps one process with batch N·B takes.
A plain run (``WORLD_SIZE`` unset or 1) is rank 0 of 1 and none of this touches it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Sampler


@dataclass(frozen=True)
class Context:
    """This process's place in the run."""

    rank: int = 0
    world: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def main(self) -> bool:
        """Rank 0: writes the split, checkpoints and log, validates and calibrates."""
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def broadcast(self, obj):
        """Rank 0's ``obj`` on every rank."""
        if self.world == 1:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def wrap(self, model: nn.Module) -> nn.Module:
        """``model`` for training steps: under DDP when there are several ranks (rank 0's weights win)."""
        if self.world == 1:
            return model
        return DistributedDataParallel(model, device_ids=[self.device] if self.device.type == "cuda" else None)

    def mean(self, value: float) -> float:
        """``value`` averaged over the ranks."""
        if self.world == 1:
            return value
        t = torch.tensor(value, dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return float(t) / self.world


def setup() -> Context:
    """Join torchrun's process group: NCCL and one GPU per process when CUDA is available, else gloo on CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Context()
    if torch.cuda.is_available():
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", device_id=device)
    else:
        device = torch.device("cpu")
        dist.init_process_group("gloo")
    return Context(dist.get_rank(), world, device)


def teardown(ctx: Context) -> None:
    if ctx.world > 1:
        dist.destroy_process_group()


class ShardedWeightedSampler(Sampler[int]):
    """``batches`` batches of ``batch_size`` indices drawn with replacement ∝ ``weights``.

    One stream of ``batches × world × batch_size`` draws, seeded by (seed, epoch), is the same on every rank;
    each rank yields its slice of every global batch. With ``world == 1`` the stream is exactly
    ``WeightedRandomSampler``'s with a generator seeded ``seed * 1000 + epoch``.
    """

    def __init__(self, weights, batches: int, batch_size: int, seed: int, rank: int = 0, world: int = 1):
        self.weights = torch.as_tensor(weights, dtype=torch.double)
        self.batches, self.batch_size, self.seed, self.rank, self.world = batches, batch_size, seed, rank, world
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.batches * self.batch_size

    def __iter__(self):
        gen = torch.Generator().manual_seed(self.seed * 1000 + self.epoch)
        stream = torch.multinomial(self.weights, self.batches * self.world * self.batch_size, True, generator=gen)
        yield from stream.view(self.batches, self.world, self.batch_size)[:, self.rank].flatten().tolist()


class GlobalBatchLoss(nn.Module):
    """Class-weighted cross-entropy whose DDP-averaged gradient is that of the weighted mean over the global batch.

    A per-rank weighted mean would not do: the ranks' sums of class weights differ. Each rank's weighted sum is
    divided by the global batch's weight sum (all-reduced) and multiplied by the world size, which DDP's gradient
    average divides out again.
    """

    def __init__(self, weight: torch.Tensor, label_smoothing: float, world: int):
        super().__init__()
        self.ce = nn.CrossEntropyLoss(weight=weight, label_smoothing=label_smoothing, reduction="sum")
        self.world = world

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        norm = self.ce.weight[target].sum()
        dist.all_reduce(norm)
        return self.ce(logits, target) * (self.world / norm)
