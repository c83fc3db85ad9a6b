"""Cohen's and Fleiss' kappa against published figures and scikit-learn."""
import math

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from workstation.core.metrics.agreement import (
    cohen_kappa, cohen_kappa_table, contingency_table, fleiss_kappa, ratings_to_table,
)

SAS_TABLE = [[0, 4, 1], [0, 8, 0], [0, 1, 5]]

# Fleiss (1971): 30 patients, 6 psychiatrists, 5 diagnoses (1 depression, 2 personality disorder,
# 3 schizophrenia, 4 neurosis, 5 other), as the raw ratings in R's irr::diagnoses.
DIAGNOSES = np.array([
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5],
    [2, 2, 2, 4, 4, 4], [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4],
    [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5], [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4],
    [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5], [3, 3, 3, 3, 3, 5],
    [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4],
    [1, 4, 4, 4, 4, 5], [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
])


def test_cohen_unweighted_matches_sas():
    k = cohen_kappa_table(SAS_TABLE)
    assert k.kappa == pytest.approx(0.4842, abs=5e-5)
    assert k.se == pytest.approx(0.1380, abs=5e-5)
    assert k.ci == pytest.approx((0.2137, 0.7547), abs=5e-5)
    assert k.se0 == pytest.approx(0.1484, abs=5e-5)
    assert k.z == pytest.approx(3.2626, abs=5e-5)
    assert k.p_value == pytest.approx(0.0011, abs=5e-5)


def test_cohen_linear_weights_match_sas():
    k = cohen_kappa_table(SAS_TABLE, weights="linear")
    assert k.kappa == pytest.approx(0.4701, abs=5e-5)
    assert k.se == pytest.approx(0.1457, abs=5e-5)
    assert k.ci == pytest.approx((0.1845, 0.7558), abs=5e-5)
    assert k.se0 == pytest.approx(0.1426, abs=5e-5)
    assert k.z == pytest.approx(3.2971, abs=5e-5)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@pytest.mark.parametrize("seed", range(5))
def test_cohen_matches_sklearn_on_random_ratings(weights, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 4, 200)
    b = np.where(rng.random(200) < 0.6, a, rng.integers(0, 4, 200))
    assert cohen_kappa(a, b, weights=weights).kappa == pytest.approx(cohen_kappa_score(a, b, weights=weights))


def test_cohen_from_ratings_equals_table():
    table, cats = contingency_table(["n", "n", "y", "y", "y"], ["n", "y", "y", "y", "n"])
    assert cats == ["n", "y"] and table.tolist() == [[1, 1], [1, 2]]
    assert cohen_kappa(["n", "n", "y", "y", "y"], ["n", "y", "y", "y", "n"]).kappa == pytest.approx(1 / 6)


def test_cohen_edge_cases_are_explained():
    one_category = cohen_kappa([1, 1, 1], [1, 1, 1])
    assert math.isnan(one_category.kappa) and "single category" in one_category.reason
    empty = cohen_kappa_table(np.zeros((2, 2)))
    assert math.isnan(empty.kappa) and empty.n == 0 and empty.reason
    assert cohen_kappa([0, 1], [0, 1]).kappa == 1.0
    assert cohen_kappa_table(SAS_TABLE).to_dict()["reason"] is None
    assert empty.to_dict()["kappa"] is None  # JSON-safe: NaN becomes null


def test_cohen_rejects_bad_input():
    with pytest.raises(ValueError, match="same cases"):
        cohen_kappa([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="square"):
        cohen_kappa_table([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ValueError, match="weights"):
        cohen_kappa([0, 1], [0, 1], weights="cubic")
    with pytest.raises(ValueError, match="not one of the categories"):
        cohen_kappa([0, 1], [0, 2], categories=[0, 1])


def test_fleiss_1971_diagnoses():
    table, cats = ratings_to_table(DIAGNOSES)
    assert cats == [1, 2, 3, 4, 5]
    assert table.sum(0).tolist() == [26, 26, 30, 55, 43]
    k = fleiss_kappa(table)
    assert k.kappa == pytest.approx(0.4302445, abs=1e-7)
    assert k.z == pytest.approx(17.65183, abs=1e-4)  # R irr::kappam.fleiss(diagnoses)
    assert k.n == 30


def test_fleiss_wikipedia_example():
    table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
             [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    assert fleiss_kappa(table).kappa == pytest.approx(0.210, abs=5e-4)


def test_fleiss_two_raters_close_to_scott_pi_and_edge_cases():
    ratings = np.array([[0, 0], [1, 1], [0, 1], [1, 1]])
    table, _ = ratings_to_table(ratings)
    # Two raters: Fleiss' kappa is Scott's pi; pooled p = (3/8, 5/8), po = 3/4
    pe = (3 / 8) ** 2 + (5 / 8) ** 2
    assert fleiss_kappa(table).kappa == pytest.approx((0.75 - pe) / (1 - pe))
    assert math.isnan(fleiss_kappa([[3, 0], [3, 0]]).kappa)
    with pytest.raises(ValueError, match="same number of raters"):
        fleiss_kappa([[3, 0], [1, 1]])
