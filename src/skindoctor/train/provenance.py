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


COLLECTION = {
    **HAM10000,
    "phone_photos": "PAD-UFES-20 (1 318 smartphone clinical photos: the partial copy and its 'more' folder): "
                    "Pacheco A. G. C. et al., "
                    "'PAD-UFES-20: a skin lesion dataset composed of patient data and clinical images collected "
                    "from smartphones', Data in Brief 32 (2020) 106221, doi:10.17632/zr7vgbcyr2.1; CC BY 4.0; split "
                    "by patient (train/val/test 60/20/20; a patient of an earlier split keeps its part).",
    "phone_masks": "3 018 hand-drawn lesion masks for 1 302 of the phone photos, by students of the IT University "
                   "of Copenhagen's First Year Project / Projects in Data Science courses (2023–2026), from their "
                   "public repositories (mainly SamuelJ-hub/2025-FYP-Final, sanderengel/fyp2023, "
                   "BenjaminSLS/Medical-Imaging, Kristoffer0202/projects_in_datascience, Katyatkachuk, "
                   "poopiboi/Iguana_PIDS; no licence stated, used as research annotations): the lesion's box for "
                   "training crops, skin cut beside the lesion, and the localiser.",
    "nonlesion_photos": "1 000 everyday photos, one per ImageNet-1k class (ILSVRC-2012; research/non-commercial "
                        "terms), the 'not a lesion' class; split 60/20/20.",
    "extra_dermoscopic": "Training only: 324 ISIC archive dermoscopic images with ISIC 2019 ground-truth labels "
                         "(isic9_180; CC BY-NC) and 14 619 ISIC 2019/2020 images outside HAM10000 and the ISIC 2018 "
                         "test set (isic2019_extra, official labels, SCC counted as akiec, mostly 84-px thumbnails; "
                         "CC BY-NC 4.0: BCN_20000 © Hospital Clínic de Barcelona, MSK, ISIC 2020).",
    "external_test": "ISIC 2018 Task 3 official test set (1 512 images, CC BY-NC 4.0): evaluation only — never used to "
                     "train, select a checkpoint or choose a threshold.",
}
COLLECTION_LICENSE = {
    **HAM10000_LICENSE,
    "license": HAM10000_LICENSE["license"] + " The phone photos (PAD-UFES-20) are CC BY 4.0 (attribution); the "
               "everyday photos are ImageNet images under research-only terms, which also rules out commercial use "
               "of these weights.",
}


def card_extra(data_dir: Path) -> dict:
    """Provenance/licence for a model trained on ``data_dir`` (the shared collection, or HAM10000 alone)."""
    if (data_dir / "ham10000").is_dir():
        return {"provenance": COLLECTION, "license": COLLECTION_LICENSE}
    if (data_dir / "metadata.csv").is_file() and "ham10000" in data_dir.name.lower():
        return {"provenance": HAM10000, "license": HAM10000_LICENSE}
    return {"provenance": {"data": f"user dataset at {data_dir.name}"},
            "license": {"license": "as the training data's licence",
                        "intended_use": HAM10000_LICENSE["intended_use"]}}
