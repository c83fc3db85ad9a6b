"""Patient-grouped stratified splits, and file names from untrusted ids."""
from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from workstation.core.export import grouped_stratified_split, parse_ratios, safe_name


def _cohort(n_patients=300, seed=0):
    """Patients with 1-4 cases each; 20% of patients positive, a few multi-class."""
    rng = np.random.default_rng(seed)
    ids, groups, strata = [], [], []
    for p in range(n_patients):
        cls = rng.choice(["normal", "pneumonia", "effusion"], p=[0.7, 0.2, 0.1])
        for c in range(int(rng.integers(1, 5))):
            ids.append(f"p{p}-c{c}")
            groups.append(f"patient-{p}")
            strata.append([str(cls)])
    return ids, groups, strata


def test_no_patient_in_two_splits_and_proportions_hold():
    ids, groups, strata = _cohort()
    split = grouped_stratified_split(ids, groups, strata, (0.7, 0.15, 0.15), seed=1)
    per_patient = {}
    for case, g in zip(ids, groups):
        per_patient.setdefault(g, set()).add(split[case])
    assert all(len(s) == 1 for s in per_patient.values())
    sizes = Counter(split.values())
    for name, ratio in (("training", 0.7), ("validation", 0.15), ("test", 0.15)):
        assert abs(sizes[name] / len(ids) - ratio) < 0.03, sizes
    overall = Counter(s[0] for s in strata)
    for name in ("training", "validation", "test"):
        share = Counter(s[0] for case, s in zip(ids, strata) if split[case] == name)
        for cls, n in overall.items():
            assert abs(share[cls] / sizes[name] - n / len(ids)) < 0.05, (name, cls, share)


def test_deterministic_for_a_seed():
    ids, groups, strata = _cohort(80)
    a = grouped_stratified_split(ids, groups, strata, seed=7)
    assert a == grouped_stratified_split(ids, groups, strata, seed=7)
    assert a != grouped_stratified_split(ids, groups, strata, seed=8)


def test_multilabel_strata_and_cases_without_patient():
    ids = [f"c{i}" for i in range(40)]
    groups = [None] * 40  # unknown patient: each case is its own group
    strata = [["edema", "mass"] if i % 4 == 0 else ([] if i % 4 == 1 else ["edema"]) for i in range(40)]
    split = grouped_stratified_split(ids, groups, strata, (0.5, 0.5, 0.0))
    assert set(split.values()) == {"training", "validation"}
    masses = Counter(split[c] for c, s in zip(ids, strata) if "mass" in s)
    assert masses["training"] == masses["validation"] == 5


def test_zero_ratio_split_stays_empty():
    ids, groups, strata = _cohort(30)
    assert "test" not in grouped_stratified_split(ids, groups, strata, (0.8, 0.2, 0.0)).values()


@pytest.mark.parametrize("text,expected", [("0.7,0.15,0.15", (0.7, 0.15, 0.15)), ("0.8,0.2", (0.8, 0.2, 0.0)),
                                           ("1,0,0", (1.0, 0.0, 0.0))])
def test_parse_ratios(text, expected):
    assert parse_ratios(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["0.7,0.2,0.2", "a,b,c", "0.5,-0.1,0.6", "0,0.5,0.5", "1,0,0,0"])
def test_parse_ratios_rejects(text):
    with pytest.raises(ValueError, match="splits"):
        parse_ratios(text)


@given(st.text(max_size=200))
def test_safe_name_is_a_plain_name(name):
    safe = safe_name(name)
    assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]*", safe) and len(safe) <= 100
    assert safe not in (".", "..")


@given(st.lists(st.text(min_size=1, max_size=30), min_size=2, max_size=20, unique=True))
def test_safe_name_keeps_different_ids_apart(names):
    assert len({safe_name(n) for n in names}) == len(names)


def test_safe_name_examples():
    assert safe_name("case_01") == "case_01"
    assert safe_name("../../x").startswith("x-") and "/" not in safe_name("../../x")
    assert safe_name("a/b") != safe_name("a_b")
