"""Provenance and licence text carried by every model card we produce."""

from __future__ import annotations

from pathlib import Path

HAM10000 = {
    "data": "HAM10000 (10 015 dermatoscopic images, 7 classes): Tschandl P., Rosendahl C., Kittler H., "
            "'The HAM10000 dataset, a large collection of multi-source dermatoscopic images of common "
            "pigmented skin lesions', Sci. Data 5, 180161 (2018), doi:10.7910/DVN/DBW86T; used downscaled "
            "to 200 × 150 px; split by lesion_id (train/val/test 70/15/15, stratified, seed 0).",
    "pretrained": "ImageNet MobileNetV2 1.0/224 from google-coral/test_data (mobilenet_v2_1.0_224_quant.tflite, "
                  "commit 104342d2d3480b3e66203073dac24f4e2dbb4c41, Apache-2.0), dequantised to a float "
                  "PyTorch state dict.",
}
HAM10000_LICENSE = {
    "license": "CC BY-NC-SA 4.0 — the weights are trained on HAM10000 and inherit its terms: attribution, "
               "non-commercial use only, share-alike. For other use, retrain with `skindoctor train` on data you "
               "are licensed to use (for example AI-Hub's Korean skin-tumour set).",
    "intended_use": "A decision aid for triage of skin lesions; not a medical device and not a diagnosis.",
}


def card_extra(data_dir: Path) -> dict:
    """Provenance/licence for a model trained on ``data_dir`` (HAM10000 text when it is HAM10000)."""
    if (data_dir / "metadata.csv").is_file() and "ham10000" in data_dir.name.lower():
        return {"provenance": HAM10000, "license": HAM10000_LICENSE}
    return {"provenance": {"data": f"user dataset at {data_dir.name}"},
            "license": {"license": "as the training data's licence",
                        "intended_use": HAM10000_LICENSE["intended_use"]}}
