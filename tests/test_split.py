from collections import Counter
from pathlib import Path

from skindoctor.train.data import Sample, read_split, split_by_group, write_split

from .conftest import SPLIT, needs_ham


def _synthetic(n_groups=300):
    samples = []
    for g in range(n_groups):
        label = ["a", "b", "c"][g % 3] if g % 10 else "rare"
        for k in range(1 + g % 3):
            samples.append(Sample(Path(f"img_{g}_{k}.jpg"), label, f"lesion{g}"))
    return samples


def _check_disjoint(samples, split):
    owner = {}
    for s in samples:
        part = split[str(s.path)]
        assert owner.setdefault(s.group, part) == part, f"lesion {s.group} is in two splits"


def test_split_keeps_lesions_together_and_is_stratified_and_reproducible(tmp_path):
    samples = _synthetic()
    split = split_by_group(samples, seed=3)
    _check_disjoint(samples, split)
    sizes = Counter(split.values())
    assert 0.6 < sizes["train"] / len(samples) < 0.8
    for part in ("val", "test"):
        labels = {s.label for s in samples if split[str(s.path)] == part}
        assert labels == {"a", "b", "c", "rare"}
    assert split_by_group(samples, seed=3) == split
    write_split(samples, split, tmp_path / "split.csv")
    assert read_split(samples, tmp_path / "split.csv") == split


@needs_ham
def test_shipped_split_has_no_lesion_in_two_splits(ham_samples):
    split = read_split(ham_samples, SPLIT)
    _check_disjoint(ham_samples, split)
    sizes = Counter(split.values())
    assert sum(sizes.values()) == 10015
    assert all(sizes[p] > 1000 for p in ("val", "test"))
