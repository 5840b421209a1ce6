"""MobileNetV2 written with torch.nn in torchvision's module layout.

The layout (``features[i]`` blocks with ``conv`` sequences, ``classifier = [Dropout, Linear]``)
lets the shared ImageNet state dict load by name without torchvision itself.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

# (expansion t, output channels c, repeats n, first stride s) — Sandler et al. 2018, table 2.
INVERTED_RESIDUAL_SETTING = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]
IMAGENET_CLASSES = 1000


class ConvBNReLU(nn.Sequential):
    """Conv2d → BatchNorm2d → ReLU6 (torchvision's ``Conv2dNormActivation``)."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1):
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    """Expand (1×1) → depthwise (3×3) → project (1×1, linear), with a skip when shapes match."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        self.use_skip = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(ConvBNReLU(cin, hidden, kernel=1))
        layers += [
            ConvBNReLU(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_skip else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 width 1.0; ``num_classes`` logits."""

    def __init__(self, num_classes: int = IMAGENET_CLASSES, dropout: float = 0.2):
        super().__init__()
        channels = 32
        features: list[nn.Module] = [ConvBNReLU(3, channels, stride=2)]
        for t, c, n, s in INVERTED_RESIDUAL_SETTING:
            for i in range(n):
                features.append(InvertedResidual(channels, c, s if i == 0 else 1, t))
                channels = c
        features.append(ConvBNReLU(channels, 1280, kernel=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(1280, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.classifier(x)


def load_imagenet_weights(model: MobileNetV2, path: str | Path) -> MobileNetV2:
    """Load the ImageNet backbone from a local state dict; the classifier is kept when it fits.

    Raises FileNotFoundError with the path when the weights are not there (never downloads).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ImageNet weights not found: {path}")
    state = torch.load(path, map_location="cpu", weights_only=True)
    head_fits = state["classifier.1.weight"].shape == model.classifier[1].weight.shape
    if not head_fits:
        state = {k: v for k, v in state.items() if not k.startswith("classifier.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    expected_missing = set() if head_fits else {"classifier.1.weight", "classifier.1.bias"}
    if set(missing) != expected_missing or unexpected:
        raise ValueError(f"{path} does not match MobileNetV2: missing={missing} unexpected={unexpected}")
    return model


def freeze_batchnorm_statistics(model: nn.Module) -> None:
    """Put every BatchNorm in eval mode (use stored statistics) while the rest trains.

    The shared weights have BN folded into the convolutions (mean 0, var 1 − eps): batch statistics
    would renormalise and wreck the backbone, so BN stays a learnable per-channel affine.
    """
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()


@torch.no_grad()
def restore_batchnorm_statistics(model: nn.Module, batches) -> int:
    """Measure each BatchNorm's real input statistics and rewrite it so its function is unchanged.

    The shared ImageNet weights have BN folded into the convolutions (stored mean 0, var 1 − eps), so
    batch statistics would renormalise every layer and wreck the network. With the measured mean m
    and variance v, ``γ' = γ·√(v+ε)/s₀`` and ``β' = β + γ·(m − m₀)/s₀`` (s₀ = √(v₀+ε)) give the same
    output in eval mode, and BN can then train normally with batch statistics. Returns the number
    of layers rewritten.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    sums = {id(m): [0.0, 0.0, 0] for m in bns}

    def hook(module, inputs, _output):
        x = inputs[0].double().transpose(0, 1).flatten(1)
        acc = sums[id(module)]
        acc[0] = acc[0] + x.sum(1)
        acc[1] = acc[1] + (x * x).sum(1)
        acc[2] += x.shape[1]

    handles = [m.register_forward_hook(hook) for m in bns]
    was_training = model.training
    model.eval()
    try:
        for x in batches:
            model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    for m in bns:
        s1, s2, n = sums[id(m)]
        mean = s1 / n
        var = (s2 / n - mean * mean).clamp_min(0)
        s0 = (m.running_var.double() + m.eps).sqrt()
        w, b = m.weight.double(), m.bias.double()
        m.bias.copy_(b + w * (mean - m.running_mean.double()) / s0)
        m.weight.copy_(w * (var + m.eps).sqrt() / s0)
        m.running_mean.copy_(mean)
        m.running_var.copy_(var)
    return len(bns)


def separable(cin: int, cout: int) -> nn.Sequential:
    """Depthwise 3×3 then pointwise 1×1, each with BatchNorm and ReLU6."""
    return nn.Sequential(ConvBNReLU(cin, cin, groups=cin), ConvBNReLU(cin, cout, kernel=1))


class LesionSegmenter(nn.Module):
    """A lesion heat map from a whole camera frame: one logit per pixel at a quarter of the input's size.

    MobileNetV2's first 14 blocks (ImageNet weights; strides 4, 8 and 16) and a small top-down decoder
    that upsamples the deepest features and merges the shallower ones (an FPN-style path). Fully
    convolutional, so any frame shape runs; the product feeds frames with a 160-pixel long side.
    """

    def __init__(self, width: int = 48):
        super().__init__()
        features = MobileNetV2().features
        self.stem, self.mid, self.deep = features[:4], features[4:7], features[7:14]  # 24, 32, 96 channels
        self.lateral = nn.ModuleList([ConvBNReLU(c, width, kernel=1) for c in (96, 32, 24)])
        self.fuse = nn.ModuleList([separable(width, width) for _ in range(2)])
        self.head = nn.Conv2d(width, 1, 1)

    def load_backbone(self, imagenet_weights: str | Path) -> LesionSegmenter:
        """ImageNet weights for the backbone blocks (the decoder starts fresh)."""
        full = load_imagenet_weights(MobileNetV2(), imagenet_weights).features
        for part, blocks in ((self.stem, full[:4]), (self.mid, full[4:7]), (self.deep, full[7:14])):
            part.load_state_dict(blocks.state_dict())
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f4 = self.stem(x)
        f8 = self.mid(f4)
        y = self.lateral[0](self.deep(f8))
        for fuse, lateral, skip in zip(self.fuse, self.lateral[1:], (f8, f4)):
            y = nn.functional.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = fuse(y + lateral(skip))
        return self.head(y)
