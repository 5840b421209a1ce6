"""Restoring real batch-norm statistics keeps the network's function and makes BN trainable."""

import pytest

from .conftest import needs_torch

pytestmark = needs_torch


def test_restored_statistics_keep_the_output_and_match_batch_statistics():
    import torch

    from skindoctor.train.model import MobileNetV2, restore_batchnorm_statistics

    torch.manual_seed(0)
    model = MobileNetV2(4).eval()
    for m in model.modules():  # folded BN, as in the shared ImageNet weights: identity statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.zero_()
            m.running_var.fill_(1 - m.eps)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    x = torch.rand(16, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        before = model.features(x)
        assert restore_batchnorm_statistics(model, [x[:8], x[8:]]) == 52
        after = model.features(x)
        model.train()
        with_batch_stats = model.features(x)  # BN now normalises with this batch's statistics: same function
    scale = before.abs().max()
    assert torch.allclose(before, after, atol=1e-4 * scale)
    assert torch.allclose(with_batch_stats, after, atol=2e-2 * scale)
    first = model.features[0][1]
    assert first.running_var.mean() != pytest.approx(1.0, abs=1e-3)
