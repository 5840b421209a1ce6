"""The mixed-domain training set: readers, patient-held-out split, domain-balanced sampling."""

import csv
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from skindoctor.train.collection import (
    NONLESION,
    extend_split,
    read_collection,
    read_nonlesion,
    read_pad_masks,
    read_pad_ufes,
    split_collection,
)
from skindoctor.train.data import Sample, read_split

from .conftest import DATA, SPLIT, needs_collection, needs_ham, needs_torch


def _labelled_set(root: Path, rows: list[tuple[str, str, str]]) -> Path:
    (root / "images").mkdir(parents=True)
    with (root / "labels.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["filename", "label", "source_repo", "orig_label", "group", "split", "commit"])
        for name, label, group in rows:
            cv2.imwrite(str(root / "images" / name), np.full((30, 40, 3), 128, np.uint8))
            w.writerow([f"images/{name}", label, "", label, group, "", ""])
    return root


def test_phone_photos_are_grouped_by_patient_and_split_without_leaks(tmp_path):
    rows = [(f"PAT_{p}_{p * 10 + k}_{k}.jpg", ["bcc", "nv", "mel"][p % 3], f"lesion_{p * 10 + k}")
            for p in range(60) for k in range(1 + p % 3)]
    pad = read_pad_ufes(_labelled_set(tmp_path / "pad", rows))
    assert {s.domain for s in pad} == {"phone"}
    assert pad[0].group == "patient_0" and len({s.group for s in pad}) == 60
    split = split_collection(pad)
    owner = {}
    for s in pad:
        assert owner.setdefault(s.group, split[str(s.path)]) == split[str(s.path)], "a patient is in two splits"
    sizes = Counter(split.values())
    assert sizes["val"] > 0 and sizes["test"] > 0 and sizes["train"] > sizes["test"]


def test_more_photos_join_their_patients_part_and_new_patients_get_their_own(tmp_path):
    rows = [(f"PAT_{p}_{p * 10}_{k}.jpg", ["bcc", "nv", "mel"][p % 3], f"lesion_{p * 10}") for p in range(90)
            for k in range(2)]
    pad = read_pad_ufes(_labelled_set(tmp_path / "pad", rows))
    old = [s for s in pad if int(s.group.split("_")[1]) < 60 and s.path.name.endswith("_0.jpg")]
    known = {s.path.name: part for s, part in zip(old, ["train", "val", "test"] * 40)}
    split = extend_split(pad, known)
    assert all(split[str(s.path)] == known[s.path.name] for s in old)  # listed photos keep their part
    first = {s.group: known[s.path.name] for s in old}
    for s in pad:  # a known patient's new photo joins that patient's part
        if s.group in first:
            assert split[str(s.path)] == first[s.group]
    fresh = Counter(split[str(s.path)] for s in pad if s.group not in first)
    assert fresh["train"] > fresh["val"] > 0 and fresh["test"] > 0  # new patients: 60/20/20 by patient
    owner = {}
    for s in pad:
        if s.group not in first:
            assert owner.setdefault(s.group, split[str(s.path)]) == split[str(s.path)]


def test_skin_cut_from_a_patients_photo_goes_where_the_patient_goes(tmp_path):
    rows = [(f"PAT_{p}_{p * 10}_0.jpg", "bcc", f"lesion_{p * 10}") for p in range(30)]
    pad = read_pad_ufes(_labelled_set(tmp_path / "pad", rows))
    known = {s.path.name: part for s, part in zip(pad, ["train", "val", "test"] * 10)}
    skin = [Sample(tmp_path / f"{s.path.stem}_skin.jpg", NONLESION, s.group, domain="phone_skin") for s in pad]
    split = extend_split(pad + skin, known)
    assert all(split[str(k.path)] == known[s.path.name] for s, k in zip(pad, skin))


def test_pad_masks_list_the_primary_annotation_first(tmp_path):
    (tmp_path / "masks").mkdir()
    with (tmp_path / "labels.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "mask_file", "primary"])
        w.writerows([("PAT_1_2_3", "masks/PAT_1_2_3__1.png", 0), ("PAT_1_2_3", "masks/PAT_1_2_3__2.png", 1),
                     ("PAT_4_5_6", "masks/PAT_4_5_6__1.png", 1)])
    masks = read_pad_masks(tmp_path)
    assert [p.name for p in masks["PAT_1_2_3"]] == ["PAT_1_2_3__2.png", "PAT_1_2_3__1.png"]
    assert len(masks["PAT_4_5_6"]) == 1


def test_everyday_photos_become_the_reject_class(tmp_path):
    photos = read_nonlesion(_labelled_set(tmp_path / "n", [("imagenet_cat.jpg", "nonlesion", "imagenet_cat")]))
    assert [(s.label, s.domain) for s in photos] == [(NONLESION, "nonlesion")]


@needs_torch
def test_domain_shares_hold_whatever_the_set_sizes():
    from skindoctor.train.train import class_balance

    samples = ([Sample(Path(f"d{i}"), "nv" if i % 10 else "mel", f"d{i}", domain="dermoscopic") for i in range(5000)]
               + [Sample(Path(f"p{i}"), "bcc" if i % 2 else "mel", f"p{i}", domain="phone") for i in range(100)]
               + [Sample(Path(f"n{i}"), NONLESION, f"n{i}", domain="nonlesion") for i in range(300)])
    classes = ["bcc", "mel", "nv", NONLESION]
    w, loss_w = class_balance(samples, classes, {"dermoscopic": 0.5, "phone": 0.3})
    w = w / w.sum()
    share = {d: sum(x for x, s in zip(w, samples) if s.domain == d) for d in ("dermoscopic", "phone", "nonlesion")}
    assert share == pytest.approx({"dermoscopic": 0.5, "phone": 0.3, "nonlesion": 0.2})
    # inside a domain, classes are drawn ∝ frequency^½: mel (500) vs nv (4500) → 1 : 3
    mel = sum(x for x, s in zip(w, samples) if s.domain == "dermoscopic" and s.label == "mel")
    assert mel / share["dermoscopic"] == pytest.approx(1 / 4)
    drawn = np.array([sum(x for x, s in zip(w, samples) if s.label == c) for c in classes])
    assert float((loss_w.numpy() * drawn).sum()) == pytest.approx(1.0, rel=1e-5)
    assert loss_w[classes.index("bcc")] > loss_w[classes.index("nv")]  # rarer among the draws → heavier


@needs_ham
@needs_collection
def test_shared_collection_split():
    samples = read_collection(DATA)
    domains = Counter(s.domain for s in samples)
    assert domains["dermoscopic"] == 10015 and domains["phone"] == 805 + 513 and domains["nonlesion"] == 1000
    assert not any("isic2018" in str(s.path) for s in samples), "the external test set must never be read"
    phone = [s for s in samples if s.domain == "phone"]
    assert sum(s.box is not None for s in phone) >= 1290  # the hand-drawn masks' boxes (1 302 photos have one)
    assert all(0 <= s.box[0] < s.box[2] <= 1 and 0 <= s.box[1] < s.box[3] <= 1 for s in phone if s.box)
    split = read_split(samples, SPLIT)  # the shipped split covers every training image
    assert all(split[str(s.path)] == "train" for s in samples if s.domain == "dermoscopic-extra")
    patients = {}
    for s in samples:
        if s.domain == "phone":
            patients.setdefault(s.group, set()).add(split[str(s.path)])
    assert all(len(parts) == 1 for parts in patients.values())
    assert {p for parts in patients.values() for p in parts} == {"train", "val", "test"}
