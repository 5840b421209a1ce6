import cv2
import numpy as np
import pytest

from skindoctor.train.data import read_csv, read_folder

from .conftest import HAM, needs_ham


def _write(path, color=(10, 20, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((20, 30, 3), color, np.uint8))


def test_folder_reader_uses_subfolders_as_classes(tmp_path):
    for cls in ("benign", "malignant"):
        for i in range(3):
            _write(tmp_path / cls / f"{i}.png")
    (tmp_path / "notes.txt").write_text("ignored")
    samples = read_folder(tmp_path)
    assert [s.label for s in samples] == ["benign"] * 3 + ["malignant"] * 3
    assert len({s.group for s in samples}) == 6


def test_folder_reader_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_folder(tmp_path / "missing")
    with pytest.raises(ValueError):
        read_folder(tmp_path)


def test_csv_reader_groups_and_paths(tmp_path):
    (tmp_path / "labels.csv").write_text("lesion_id,image_id,dx\nL1,a,mel\nL1,b,mel\nL2,c,nv\n")
    samples = read_csv(tmp_path / "labels.csv")
    assert [s.path.name for s in samples] == ["a.jpg", "b.jpg", "c.jpg"]
    assert samples[0].path.parent == tmp_path / "images"
    assert [s.group for s in samples] == ["L1", "L1", "L2"]


@needs_ham
def test_ham10000_reader_counts_and_boxes(ham_samples):
    from collections import Counter

    assert len(ham_samples) == 10015
    assert Counter(s.label for s in ham_samples) == {"nv": 6705, "mel": 1113, "bkl": 1099, "bcc": 514,
                                                      "akiec": 327, "vasc": 142, "df": 115}
    assert len({s.group for s in ham_samples}) == 7470
    assert all(s.path.is_file() for s in ham_samples[:50])
    x0, y0, x1, y1 = ham_samples[0].box
    assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
    assert (HAM / "images").is_dir()
