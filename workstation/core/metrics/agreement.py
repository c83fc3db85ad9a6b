"""Agreement between readers: Cohen's kappa (optionally weighted) and Fleiss' kappa.

Cohen's standard errors follow Fleiss, Cohen & Everitt (1969), the same as SAS PROC FREQ
(`ASE` and `ASE under H0`); Fleiss' kappa's SE under H0 follows Fleiss, Nee & Landis (1979), as in
R's irr::kappam.fleiss. An undefined kappa (one category only, no cases) is NaN with a reason.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

WEIGHTINGS = (None, "linear", "quadratic")


@dataclass(frozen=True)
class Kappa:
    kappa: float            # NaN when undefined (see reason)
    se: float               # asymptotic standard error
    se0: float              # standard error under H0: kappa = 0
    ci: tuple[float, float]  # 95% Wald interval kappa +- 1.96 se
    z: float                # kappa / se0
    p_value: float          # two-sided, H0: kappa = 0
    n: int                  # cases (Cohen) or subjects (Fleiss)
    observed: float         # observed (weighted) agreement
    expected: float         # chance-expected (weighted) agreement
    reason: str | None = None

    def __float__(self) -> float:
        return float(self.kappa)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ci"] = list(self.ci)
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}


def _undefined(n: int, reason: str, observed=math.nan, expected=math.nan) -> Kappa:
    nan = math.nan
    return Kappa(nan, nan, nan, (nan, nan), nan, nan, n, observed, expected, reason)


def agreement_weights(k: int, weights: str | None) -> np.ndarray:
    """k x k agreement weights (1 on the diagonal): identity, linear (Cicchetti-Allison) or
    quadratic (Fleiss-Cohen)."""
    if weights not in WEIGHTINGS:
        raise ValueError(f"weights must be None, 'linear' or 'quadratic', not {weights!r}")
    if weights is None or k < 2:
        return np.eye(k)
    d = np.abs(np.subtract.outer(np.arange(k), np.arange(k))) / (k - 1)
    return 1.0 - (d if weights == "linear" else d**2)


def contingency_table(rater_a, rater_b, categories=None) -> tuple[np.ndarray, list]:
    """Cross-table of two readers' ratings of the same cases (rows: rater_a)."""
    a, b = np.asarray(rater_a), np.asarray(rater_b)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"the two readers need ratings of the same cases: got shapes {a.shape} and {b.shape}")
    cats = list(categories) if categories is not None else sorted(set(a.tolist()) | set(b.tolist()))
    index = {c: i for i, c in enumerate(cats)}
    try:
        ia = np.fromiter((index[v] for v in a.tolist()), dtype=np.intp, count=a.size)
        ib = np.fromiter((index[v] for v in b.tolist()), dtype=np.intp, count=b.size)
    except KeyError as exc:
        raise ValueError(f"rating {exc.args[0]!r} is not one of the categories {cats}") from None
    k = len(cats)
    table = np.bincount(ia * k + ib, minlength=k * k).reshape(k, k)
    return table, cats


def cohen_kappa_table(table, weights: str | None = None) -> Kappa:
    """Cohen's kappa of a k x k contingency table (rows: reader A, columns: reader B). Ordered
    categories matter only for weighted kappa."""
    t = np.asarray(table, dtype=float)
    if t.ndim != 2 or t.shape[0] != t.shape[1]:
        raise ValueError(f"a kappa table must be square, got shape {t.shape}")
    if (t < 0).any():
        raise ValueError("a kappa table cannot hold negative counts")
    n = t.sum()
    if n == 0:
        return _undefined(0, "no cases rated by both readers")
    w = agreement_weights(t.shape[0], weights)
    p = t / n
    row, col = p.sum(1), p.sum(0)
    po = float((w * p).sum())
    pe = float((w * np.outer(row, col)).sum())
    if math.isclose(pe, 1.0):
        return _undefined(int(n), "chance agreement is 1 (both readers used a single category)", po, pe)
    kappa = (po - pe) / (1 - pe)
    wi = w @ col          # mean weight of row category i against reader B's distribution
    wj = row @ w          # ... of column category j against reader A's
    spread = wi[:, None] + wj[None, :]
    var = ((p * (w - spread * (1 - kappa)) ** 2).sum() - (kappa - pe * (1 - kappa)) ** 2) / (n * (1 - pe) ** 2)
    var0 = ((np.outer(row, col) * (w - spread) ** 2).sum() - pe**2) / (n * (1 - pe) ** 2)
    return _finish(kappa, var, var0, int(n), po, pe)


def cohen_kappa(rater_a, rater_b, weights: str | None = None, categories=None) -> Kappa:
    """Cohen's kappa between two readers' ratings of the same cases. For weighted kappa the
    categories are taken in `categories` order (default: sorted)."""
    table, _ = contingency_table(rater_a, rater_b, categories)
    return cohen_kappa_table(table, weights)


def _finish(kappa, var, var0, n, po, pe) -> Kappa:
    se = math.sqrt(max(float(var), 0.0))
    se0 = math.sqrt(max(float(var0), 0.0))
    z = kappa / se0 if se0 > 0 else math.nan
    p = math.erfc(abs(z) / math.sqrt(2)) if not math.isnan(z) else math.nan
    h = 1.959963984540054 * se
    return Kappa(float(kappa), se, se0, (kappa - h, kappa + h), z, p, n, float(po), float(pe))


def ratings_to_table(ratings, categories=None) -> tuple[np.ndarray, list]:
    """subjects x raters category codes -> subjects x categories counts."""
    r = np.asarray(ratings)
    if r.ndim != 2:
        raise ValueError(f"ratings must be subjects x raters, got shape {r.shape}")
    cats = list(categories) if categories is not None else sorted(set(r.ravel().tolist()))
    counts = np.stack([(r == c).sum(1) for c in cats], axis=1) if cats else np.zeros((len(r), 0), int)
    if (counts.sum(1) != r.shape[1]).any():
        raise ValueError(f"some ratings are not among the categories {cats}")
    return counts, cats


def fleiss_kappa(table) -> Kappa:
    """Fleiss' kappa from a subjects x categories table of counts; every subject must have been
    rated by the same number of raters (at least 2). `se` and `ci` use the standard error under
    H0 (Fleiss, Nee & Landis 1979), as R's irr does."""
    t = np.asarray(table, dtype=float)
    if t.ndim != 2:
        raise ValueError(f"Fleiss' table must be subjects x categories, got shape {t.shape}")
    n_sub = t.shape[0]
    if n_sub == 0:
        return _undefined(0, "no subjects")
    m = t.sum(1)
    if not np.allclose(m, m[0]):
        raise ValueError("Fleiss' kappa needs the same number of raters for every subject")
    m = float(m[0])
    if m < 2:
        return _undefined(n_sub, "Fleiss' kappa needs at least two raters per subject")
    pj = t.sum(0) / (n_sub * m)
    p_i = ((t**2).sum(1) - m) / (m * (m - 1))
    po, pe = float(p_i.mean()), float((pj**2).sum())
    if math.isclose(pe, 1.0):
        return _undefined(n_sub, "all raters used a single category", po, pe)
    kappa = (po - pe) / (1 - pe)
    pq = pj * (1 - pj)
    var0 = 2 / (pq.sum() ** 2 * n_sub * m * (m - 1)) * (pq.sum() ** 2 - (pq * (1 - 2 * pj)).sum())
    # Fleiss' kappa has no simple closed-form SE away from H0: se is the null SE, as in irr.
    return _finish(kappa, var0, var0, n_sub, po, pe)
