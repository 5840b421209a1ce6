"""Fine-tune MobileNetV2 on lesion images: resumable, checkpointed, logged, calibrated.

Run in the background on a CPU; every epoch writes ``last.pt`` (resume point) and, when the
validation score improves, ``best.pt``. The score is the mean over domains (dermoscopic, phone,
non-lesion…) of each domain's balanced accuracy, so a small phone set counts as much as a large
dermoscopic one. Sampling gives each domain a fixed share of every batch. At the end the
temperature is fitted on the (mixed-domain) validation split and stored in ``best.pt``.

Under ``torchrun`` it trains data-parallel (``distributed.py``): ``batch_size`` is per process, the global batch
is the world size times it, and rank 0 alone writes the split, log and checkpoints, validates and calibrates.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score
from torch import nn
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler
from tqdm import tqdm

from ..model_card import InputSpec
from ..vision.preprocess import center_square, normalize, to_tensor
from . import distributed
from .augment import augment
from .collection import NONLESION, extend_split, split_collection
from .data import Sample, append_split, load_images, split_by_group, split_names, write_split
from .model import MobileNetV2, freeze_batchnorm_statistics, load_imagenet_weights, restore_batchnorm_statistics

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    out: str = "runs/mnv2"
    weights: str | None = "../shared/weights/mobilenet_v2_imagenet_from_coral_tf1qat.pth"
    size: int = 160
    epochs: int = 20
    batch_size: int = 32
    lr: float = 5e-4
    weight_decay: float = 0.02
    warmup_epochs: float = 1.0
    seed: int = 0
    workers: int = 1
    max_steps_per_epoch: int | None = None  # for smoke tests
    steps_per_epoch: int | None = None  # default: one pass over the training images
    class_order: list[str] = field(default_factory=list)
    init_checkpoint: str | None = None  # start from a trained checkpoint (its matching classes' head rows kept)
    batchnorm: str = "restore"  # "restore": measure real BN statistics, then train BN; "freeze": keep folded BN
    label_smoothing: float = 0.1
    # share of each batch per domain (domains not listed share what is left in proportion to their size)
    domain_shares: dict[str, float] = field(default_factory=lambda: {
        "dermoscopic": 0.28, "dermoscopic-extra": 0.15, "phone": 0.3, "nonlesion": 0.12, "plain_skin": 0.07,
        "phone_skin": 0.08})


class LesionDataset(Dataset):
    """Cached images → augmented (train) or centre-cropped (eval) model inputs."""

    def __init__(self, images, samples, class_index, spec: InputSpec, train: bool, seed: int = 0):
        self.images, self.samples, self.class_index = images, samples, class_index
        self.spec, self.train, self.seed = spec, train, seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        s = self.samples[i]
        if self.train:
            rng = np.random.default_rng((self.seed, self.epoch, i))
            x = normalize(augment(self.images[i], self.spec.size, rng, s.box, s.label == NONLESION), self.spec)
        else:
            x = to_tensor(center_square(self.images[i]), self.spec)
        return torch.from_numpy(x), self.class_index[s.label]


def _worker_init(_):
    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def build_model(classes: list[str], weights: str | None, init_checkpoint: str | None = None) -> MobileNetV2:
    """ImageNet backbone, or a trained checkpoint whose head rows are kept for the classes it knows."""
    model = MobileNetV2(len(classes))
    if init_checkpoint:
        ck = torch.load(init_checkpoint, map_location="cpu", weights_only=False)
        state = {k: v for k, v in ck["model"].items() if not k.startswith("classifier.")}
        model.load_state_dict(state, strict=False)
        head = model.classifier[1]
        with torch.no_grad():
            head.weight.mul_(0.1)
            head.bias.zero_()
            for i, code in enumerate(ck["classes"]):
                if code in classes:
                    head.weight[classes.index(code)] = ck["model"]["classifier.1.weight"][i]
                    head.bias[classes.index(code)] = ck["model"]["classifier.1.bias"][i]
    elif weights:
        load_imagenet_weights(model, weights)
    return model


@torch.no_grad()
def predict_logits(model: nn.Module, loader: DataLoader) -> tuple[np.ndarray, np.ndarray]:
    model.eval()
    device = next(model.parameters()).device
    logits, labels = [], []
    for x, y in loader:
        logits.append(model(x.to(device).contiguous(memory_format=torch.channels_last)).cpu())
        labels.append(y)
    return torch.cat(logits).numpy(), torch.cat(labels).numpy()


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Temperature scaling (Guo et al. 2017): the T minimising validation NLL of softmax(z / T)."""
    z, y = torch.from_numpy(logits).double(), torch.from_numpy(labels).long()
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200)

    def closure():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(z / log_t.exp(), y)
        loss.backward()
        return loss

    opt.step(closure)
    return float(log_t.detach().exp())


def class_balance(samples: list[Sample], classes: list[str],
                  domain_shares: dict[str, float] | None = None) -> tuple[np.ndarray, torch.Tensor]:
    """Per-sample sampling weights and per-class loss weights.

    Each domain gets its share of the draws (``domain_shares``; unlisted domains split the rest by
    size); inside a domain a class is drawn ∝ frequency^½. The loss weights are ∝ (share of the
    class among the draws)^-½. Together they balance the classes fully in expectation, while the
    sampler alone would repeat the few rare images too often and the loss alone would see them too
    rarely — and a small phone set is not drowned by a large dermoscopic one.
    """
    domains = Counter(s.domain for s in samples)
    shares = {d: (domain_shares or {}).get(d) for d in domains}
    if all(v is None for v in shares.values()):
        shares = {d: n / len(samples) for d, n in domains.items()}
    known = sum(v for v in shares.values() if v is not None)
    rest = [d for d, v in shares.items() if v is None]
    for d in rest:
        shares[d] = max(0.0, 1 - known) * domains[d] / sum(domains[r] for r in rest)
    total = sum(shares.values())
    counts = Counter((s.domain, s.label) for s in samples)
    sample_w = np.empty(len(samples))
    for d in domains:
        in_domain = {lbl: n for (dom, lbl), n in counts.items() if dom == d}
        norm = sum(n ** 0.5 for n in in_domain.values())
        for i, s in enumerate(samples):
            if s.domain == d:
                sample_w[i] = shares[d] / total * in_domain[s.label] ** 0.5 / norm / in_domain[s.label]
    drawn = np.array([sum(w for w, s in zip(sample_w, samples) if s.label == c) for c in classes])
    loss_w = np.where(drawn > 0, np.maximum(drawn, 1e-12) ** -0.5, 0.0)
    loss_w = loss_w / (loss_w * drawn).sum()
    return sample_w, torch.tensor(loss_w, dtype=torch.float32)


def domain_score(logits: np.ndarray, labels: np.ndarray, domains: list[str]) -> tuple[float, dict[str, float]]:
    """Mean over domains of each domain's balanced accuracy (over the classes present in it)."""
    pred, domains_arr = logits.argmax(1), np.array(domains)
    per = {d: float(balanced_accuracy_score(labels[domains_arr == d], pred[domains_arr == d]))
           for d in sorted(set(domains))}
    return float(np.mean(list(per.values()))), per


def train(samples: list[Sample], cfg: TrainConfig, split_file: str | Path | None = None) -> Path:
    """Train (or resume) and return the path of the calibrated ``best.pt``."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = distributed.setup()
    handler = _log_to(out / "train.log") if ctx.main else None
    try:
        return _train(samples, cfg, out, split_file, ctx)
    finally:
        if handler:
            logging.getLogger().removeHandler(handler)
            handler.close()
        distributed.teardown(ctx)


def _train(samples: list[Sample], cfg: TrainConfig, out: Path, split_file: str | Path | None,
           ctx: distributed.Context) -> Path:
    torch.manual_seed(cfg.seed + ctx.rank)  # ranks differ in dropout only: DDP starts them all from rank 0's weights
    # the reject class, when present, is the last output
    classes = cfg.class_order or sorted({s.label for s in samples}, key=lambda c: (c == NONLESION, c))
    class_index = {c: i for i, c in enumerate(classes)}
    spec = InputSpec(size=cfg.size)

    if not ctx.main:
        ctx.barrier()  # rank 0 writes or extends the split file first: one writer
    split_path = Path(split_file) if split_file else out / "split.csv"
    if split_path.is_file():  # images new to it join their group's part, or a part of their own group's
        known = split_names(split_path)
        split = extend_split(samples, known, cfg.seed)
        new = [s for s in samples if s.path.name not in known]
        if new:
            append_split(new, split, split_path)
            log.info("split %s: %d new images added", split_path, len(new))
    else:
        split = split_collection(samples, seed=cfg.seed) if len({s.domain for s in samples}) > 1 \
            else split_by_group(samples, seed=cfg.seed)
        write_split(samples, split, split_path)
    if ctx.main:
        ctx.barrier()
    split = ctx.broadcast(split)  # rank 0's: the file keys images by name alone, and names may repeat
    parts = {k: [s for s in samples if split[str(s.path)] == k] for k in ("train", "val", "test")}
    log.info("split %s: %s", split_path, {k: len(v) for k, v in parts.items()})

    t0 = time.time()
    train_ds = LesionDataset(load_images(parts["train"]), parts["train"], class_index, spec, True, cfg.seed)
    val_ds = LesionDataset(load_images(parts["val"]), parts["val"], class_index, spec, False)
    log.info("decoded %d images in %.1f s", len(train_ds) + len(val_ds), time.time() - t0)

    sample_w, loss_w = class_balance(parts["train"], classes, cfg.domain_shares)
    log.info("loss weights %s", dict(zip(classes, loss_w.tolist())))
    batch = cfg.batch_size * ctx.world  # the global batch; steps (and the schedule) count global batches
    steps = cfg.steps_per_epoch or len(train_ds) // batch
    if cfg.max_steps_per_epoch:
        steps = min(steps, cfg.max_steps_per_epoch)
    sampler = distributed.ShardedWeightedSampler(sample_w, steps, cfg.batch_size, cfg.seed, ctx.rank, ctx.world)
    # forkserver: a worker forked from a process whose OpenMP pool already ran can deadlock
    train_dl = DataLoader(train_ds, cfg.batch_size, sampler=sampler, num_workers=cfg.workers,
                          worker_init_fn=_worker_init, drop_last=True,
                          multiprocessing_context="forkserver" if cfg.workers else None)
    val_dl = DataLoader(val_ds, 64, num_workers=0)

    model = build_model(classes, cfg.weights, cfg.init_checkpoint).to(ctx.device, memory_format=torch.channels_last)
    val_domains = [s.domain for s in parts["val"]]
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total = cfg.epochs * steps
    warm = max(1, int(cfg.warmup_epochs * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: min((k + 1) / warm, 0.5 * (1 + np.cos(np.pi * min(1.0, (k - warm) / max(1, total - warm))))))
    criterion = (nn.CrossEntropyLoss(weight=loss_w, label_smoothing=cfg.label_smoothing) if ctx.world == 1
                 else distributed.GlobalBatchLoss(loss_w, cfg.label_smoothing, ctx.world)).to(ctx.device)
    start_epoch, best = 0, -1.0
    history: list[dict] = []
    last = out / "last.pt"
    if last.is_file():
        ck = torch.load(last, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        start_epoch, best, history = ck["epoch"] + 1, ck["best"], ck["history"]
        log.info("resumed from %s at epoch %d (best val score %.4f)", last, start_epoch, best)
    elif cfg.batchnorm == "restore" and (cfg.weights or cfg.init_checkpoint):
        calib = DataLoader(train_ds, batch, sampler=WeightedRandomSampler(
            sample_w, 20 * batch, replacement=True, generator=torch.Generator().manual_seed(cfg.seed)),
            num_workers=0)
        n = restore_batchnorm_statistics(
            model, (x.to(ctx.device).contiguous(memory_format=torch.channels_last) for x, _ in calib))
        log.info("restored real statistics in %d BatchNorm layers (%d images)", n, 20 * batch)
    net = ctx.wrap(model)

    for epoch in range(start_epoch, cfg.epochs):
        net.train()
        if cfg.batchnorm == "freeze" and (cfg.weights or cfg.init_checkpoint):
            freeze_batchnorm_statistics(model)  # folded BN: keep its identity statistics
        train_ds.epoch = epoch
        sampler.set_epoch(epoch)
        running, seen, t0 = 0.0, 0, time.time()
        bar = tqdm(train_dl, total=steps, desc=f"epoch {epoch + 1}/{cfg.epochs}", mininterval=10,
                   disable=None if ctx.main else True)
        for x, y in bar:
            x, y = x.to(ctx.device).contiguous(memory_format=torch.channels_last), y.to(ctx.device)
            loss = criterion(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            running += loss.item() * len(y)
            seen += len(y)
            bar.set_postfix(loss=f"{running / seen:.3f}")
        running = ctx.mean(running)  # each rank holds its share of every global batch's loss
        if ctx.main:
            logits, labels = predict_logits(model, val_dl)
            score, per_domain = domain_score(logits, labels, val_domains)
            acc = float((logits.argmax(1) == labels).mean())
            row = {"epoch": epoch + 1, "train_loss": running / max(seen, 1), "val_acc": acc,
                   "val_bacc": float(balanced_accuracy_score(labels, logits.argmax(1))), "val_score": score,
                   "val_bacc_by_domain": per_domain, "seconds": time.time() - t0, "lr": sched.get_last_lr()[0]}
            history.append(row)
            log.info(json.dumps(row))
            meta = {"classes": classes, "input": spec.model_dump(mode="json"), "config": asdict(cfg),
                    "history": history}
            if score > best:
                best = score
                torch.save({"model": model.state_dict(), **meta, "epoch": epoch + 1}, out / "best.pt")
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                        "scheduler": sched.state_dict(), "epoch": epoch, "best": best,
                        "history": history}, last)
        ctx.barrier()  # the others wait for the checkpoints

    best_path = out / "best.pt"
    if ctx.main:
        ck = torch.load(best_path, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        logits, labels = predict_logits(model, val_dl)
        ck["temperature"] = fit_temperature(logits, labels)
        ck["history"] = history
        torch.save(ck, best_path)
        log.info("best epoch %d, val score %.4f, temperature %.3f", ck["epoch"], best, ck["temperature"])
    ctx.barrier()
    return best_path


def load_checkpoint(path: str | Path) -> tuple[MobileNetV2, dict]:
    """A trained checkpoint → (model in eval mode, its metadata)."""
    ck = torch.load(path, map_location="cpu", weights_only=False)
    model = MobileNetV2(len(ck["classes"]))
    model.load_state_dict(ck["model"])
    return model.eval(), {k: v for k, v in ck.items() if k != "model"}


def _log_to(path: Path) -> logging.Handler:
    """Log this run to its own file (the handler is removed when the run ends)."""
    root = logging.getLogger()
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler
