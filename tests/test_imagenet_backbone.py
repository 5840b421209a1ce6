"""The ImageNet backbone loads by name into our torch.nn MobileNetV2 and still sees a cat."""

import numpy as np
import pytest

from .conftest import WEIGHTS, needs_torch, needs_weights

pytestmark = [needs_torch, needs_weights]


def test_loaded_backbone_calls_a_cat_a_cat():
    skimage_data = pytest.importorskip("skimage.data")
    import torch

    from skindoctor.model_card import InputSpec
    from skindoctor.train.model import MobileNetV2, load_imagenet_weights
    from skindoctor.vision.preprocess import center_square, to_tensor

    model = load_imagenet_weights(MobileNetV2(), WEIGHTS).eval()
    labels = (WEIGHTS.parent / "imagenet_labels.txt").read_text().splitlines()[1:]  # line 0: background
    x = torch.from_numpy(to_tensor(center_square(skimage_data.chelsea()), InputSpec(size=224))[None])
    with torch.no_grad():
        top5 = model(x).softmax(1)[0].topk(5).indices.tolist()
    names = [labels[i].lower() for i in top5]
    assert any("cat" in n for n in names[:2]), names


def test_new_head_keeps_backbone_and_rejects_foreign_weights(tmp_path):
    import torch

    from skindoctor.train.model import MobileNetV2, load_imagenet_weights

    model = load_imagenet_weights(MobileNetV2(num_classes=5), WEIGHTS)
    ref = torch.load(WEIGHTS, weights_only=True)
    assert torch.equal(model.features[3].conv[1][0].weight, ref["features.3.conv.1.0.weight"])
    assert model.classifier[1].out_features == 5
    torch.save({"foo": torch.zeros(1), "classifier.1.weight": torch.zeros(1000, 1280)}, tmp_path / "bad.pth")
    with pytest.raises(ValueError):
        load_imagenet_weights(MobileNetV2(), tmp_path / "bad.pth")
    with pytest.raises(FileNotFoundError):
        load_imagenet_weights(MobileNetV2(), tmp_path / "missing.pth")
    assert np.isfinite(model.classifier[1].weight.detach().numpy()).all()
