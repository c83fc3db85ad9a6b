"""Worklist orderings: most uncertain first, model-reader disagreement first."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from workstation.core.review.ordering import (
    disagreement, order_by_score, order_worklist, uncertainty_entropy, uncertainty_margin,
)

IDS = ["a", "b", "c", "d"]


def test_binary_entropy_and_margin_put_half_first():
    p = [0.99, 0.5, 0.2, 0.65]
    assert order_worklist(IDS, p, "binary", "entropy") == ["b", "d", "c", "a"]
    assert order_worklist(IDS, p, "binary", "margin") == ["b", "d", "c", "a"]
    assert uncertainty_entropy([0.5], "binary")[0] == pytest.approx(1.0)
    assert uncertainty_margin([0.5, 1.0], "binary").tolist() == pytest.approx([1.0, 0.0])


def test_multiclass_entropy_and_margin_differ():
    # b: two classes tied (small margin) but low entropy; c: spread over three (high entropy)
    p = np.array([[0.98, 0.01, 0.01], [0.5, 0.5, 0.0], [0.4, 0.3, 0.3], [0.7, 0.2, 0.1]])
    assert order_worklist(IDS, p, "multiclass", "entropy")[0] == "c"
    assert order_worklist(IDS, p, "multiclass", "margin")[0] == "b"
    assert uncertainty_entropy([[1 / 3] * 3], "multiclass")[0] == pytest.approx(1.0)


def test_multilabel_uses_least_certain_label():
    p = np.array([[0.99, 0.01], [0.9, 0.45], [0.6, 0.6], [0.0, 1.0]])
    assert order_worklist(IDS, p, "multilabel", "margin")[:2] == ["b", "c"]
    assert order_worklist(IDS, p, "multilabel", "entropy")[0] == "c"
    assert order_worklist(IDS, p, "multilabel", "entropy")[-1] == "d"


def test_disagreement_first_and_unread_last():
    p = [0.9, 0.1, 0.6, 0.95]
    readers = [1, 1, None, 0]
    assert order_worklist(IDS, p, "binary", "disagreement", readers) == ["d", "b", "a", "c"]
    mc = np.array([[0.8, 0.2], [0.3, 0.7], [0.5, 0.5], [0.1, 0.9]])
    assert disagreement(mc, [0, 0, 1, 1], "multiclass").tolist() == pytest.approx([0.2, 0.7, 0.5, 0.1])
    ml = np.array([[1.0, 0.0], [0.5, 0.5]])
    assert disagreement(ml, [[0, 1], [1, 1]], "multilabel").tolist() == pytest.approx([1.0, 0.5])


def test_missing_predictions_sort_last_and_ties_keep_input_order():
    p = [np.nan, 0.5, 0.5, 0.9]
    assert order_worklist(IDS, p, "binary", "entropy") == ["b", "c", "d", "a"]


def test_bad_input_gives_clear_errors():
    with pytest.raises(ValueError, match="disagreement needs"):
        order_worklist(IDS, [0.1] * 4, "binary", "disagreement")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        uncertainty_entropy([1.5], "binary")
    with pytest.raises(ValueError, match="unknown ordering"):
        order_worklist(IDS, [0.1] * 4, "binary", "random")
    with pytest.raises(ValueError, match="3 case ids"):
        order_by_score(IDS[:3], [1, 2, 3, 4])


@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_binary_scores_bounded_and_symmetric(ps):
    p = np.array(ps)
    for f in (uncertainty_entropy, uncertainty_margin):
        s = f(p, "binary")
        assert np.all((s >= -1e-9) & (s <= 1 + 1e-9))
        np.testing.assert_allclose(s, f(1 - p, "binary"), atol=1e-9)
    # the ordering is a permutation of the ids
    ids = [str(i) for i in range(len(ps))]
    assert sorted(order_worklist(ids, p, "binary", "margin")) == sorted(ids)


def test_order_project_from_a_real_project(tmp_path):
    from workstation.core.project import PredictionRecord, Project

    from workstation.core.review.ordering import order_project

    with Project.create(tmp_path / "p", task="binary", classes=["normal", "pneumonia"]) as project:
        for case_id in ("sure", "coin", "wrong", "unscored"):
            project.add_case([str(tmp_path / f"{case_id}.png")], case_id=case_id)
        project.add_predictions([PredictionRecord(c, {"normal": 1 - p, "pneumonia": p}, "m")
                                 for c, p in (("sure", 0.02), ("coin", 0.55), ("wrong", 0.9))])
        project.set_label("wrong", "normal", reader="alice")
        project.set_label("sure", "normal", reader="alice")
        assert order_project(project, "entropy") == ["coin", "wrong", "sure", "unscored"]
        assert order_project(project, "margin") == ["coin", "wrong", "sure", "unscored"]
        assert order_project(project, "disagreement", truth="alice") == ["wrong", "sure", "coin", "unscored"]
