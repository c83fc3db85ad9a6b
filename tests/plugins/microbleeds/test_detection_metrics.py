"""Detection metrics: hand-worked cases (double hits, a hit on no lesion, a subject without lesions,
the 2 mm minimum radius) and agreement with MONAI's FROC functions on the same inputs."""
import numpy as np
import pytest
from monai.metrics.froc import compute_fp_tp_probs_nd, compute_froc_curve_data, compute_froc_score

from workstation.core.metrics.detection import (
    CPM_FP_RATES, at_threshold, cpm, evaluate, froc_curve, match_subject, sensitivity_at,
)


def _hand_subjects():
    # subject a: lesion 0 (6 mm) hit twice (0.9, 0.8), lesion 1 (4 mm) hit once (0.4), one FP (0.7)
    a = match_subject([[1, 0, 0], [0, 1, 0], [30, 1, 0], [20, 0, 0]], [0.9, 0.8, 0.4, 0.7],
                      [[0, 0, 0], [30, 0, 0]], [6.0, 4.0], "a")
    # subject b: no lesion, two false positives
    b = match_subject([[5, 5, 5], [9, 9, 9]], [0.6, 0.2], np.zeros((0, 3)), [], "b")
    # subject c: one lesion nobody found; a candidate 2.5 mm away misses a 2 mm lesion (radius >= 2)
    c = match_subject([[2.5, 0, 0]], [0.95], [[0, 0, 0]], [2.0], "c")
    return [a, b, c]


def test_double_hits_count_once_and_are_not_false_positives():
    a, b, c = _hand_subjects()
    assert list(a.hit_lesion) == [0, 0, 1, -1]
    assert a.lesion_scores.tolist() == [0.9, 0.4]
    assert a.fp_scores.tolist() == [0.7]
    assert b.n_lesions == 0 and b.fp_scores.tolist() == [0.6, 0.2]
    assert np.isnan(c.lesion_scores[0]) and c.fp_scores.tolist() == [0.95]


def test_minimum_radius_is_two_mm():
    near = match_subject([[1.9, 0, 0]], [0.5], [[0, 0, 0]], [1.0])
    far = match_subject([[2.1, 0, 0]], [0.5], [[0, 0, 0]], [1.0])
    big = match_subject([[4.9, 0, 0]], [0.5], [[0, 0, 0]], [10.0])
    assert near.hit_lesion[0] == 0 and far.hit_lesion[0] == -1 and big.hit_lesion[0] == 0


def test_operating_point_by_hand():
    subjects = _hand_subjects()
    op = at_threshold(subjects, 0.5)
    # found: lesion a0 (0.9); missed: a1 (0.4 < 0.5), c0; FPs >= 0.5: a 0.7, b 0.6, c 0.95
    assert (op["tp"], op["fp"], op["fn"]) == (1, 3, 2)
    assert op["sensitivity"] == pytest.approx(1 / 3)
    assert op["precision"] == pytest.approx(1 / 4)
    assert op["f1"] == pytest.approx(2 * (1 / 3) * (1 / 4) / (1 / 3 + 1 / 4))
    assert op["fp_per_subject"] == pytest.approx(1.0)


def test_froc_by_hand():
    curve = froc_curve(_hand_subjects())
    # thresholds: 0.95 (fp c) 0.9 (tp) 0.7 (fp) 0.6 (fp) 0.4 (tp) 0.2 (fp)
    assert curve.thresholds.tolist() == [0.95, 0.9, 0.7, 0.6, 0.4, 0.2]
    assert np.allclose(curve.fp_per_subject * 3, [1, 1, 2, 3, 3, 4])
    assert np.allclose(curve.sensitivity * 3, [0, 1, 1, 1, 2, 2])
    assert sensitivity_at(curve, 1.0) == pytest.approx((2 / 3, 1.0, 0.4))
    assert sensitivity_at(curve, 0.2)[0] == 0.0


def _random_case(rng, n_subjects=12):
    """Lesions as labelled spheres on a 1 mm grid and integer-voxel candidates, so that MONAI's
    mask lookup and our world-mm radius test decide the same hits."""
    subjects, masks, cands = [], [], []
    zz, yy, xx = np.mgrid[:40, :40, :40]
    for s in range(n_subjects):
        n_les = int(rng.integers(0, 5))
        centres = rng.integers(6, 34, size=(n_les, 3)).astype(float)
        diam = rng.uniform(2, 9, size=n_les)
        mask = np.zeros((40, 40, 40), int)
        for m, (c, d) in enumerate(zip(centres, diam)):
            r = max(d / 2, 2.0)
            inside = (xx - c[0]) ** 2 + (yy - c[1]) ** 2 + (zz - c[2]) ** 2 <= r * r
            mask[inside & (mask == 0)] = m + 1
        n_c = int(rng.integers(0, 15))
        pts = rng.integers(0, 40, size=(n_c, 3))
        if n_les:  # some near-lesion candidates, so there are hits and double hits
            near = centres[rng.integers(0, n_les, size=4)] + rng.integers(-1, 2, size=(4, 3))
            pts = np.concatenate([pts, near.astype(int)])
        scores = np.round(rng.uniform(0.01, 1, size=len(pts)), 6)
        # drop candidates inside two overlapping spheres: MONAI assigns a voxel to one label only
        dist = np.linalg.norm(pts[:, None, :] - centres[None], axis=2)
        ok = (dist <= np.maximum(diam / 2, 2.0)[None]).sum(axis=1) <= 1
        pts, scores = pts[ok], scores[ok]
        subjects.append(match_subject(pts, scores, centres, diam, str(s)))
        masks.append(mask)
        cands.append((pts, scores))
    return subjects, masks, cands


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_froc_and_cpm_agree_with_monai(seed):
    rng = np.random.default_rng(seed)
    subjects, masks, cands = _random_case(rng)
    fp_all, tp_all, n_targets = [], [], 0
    for mask, (pts, scores), subj in zip(masks, cands, subjects):
        if len(pts) == 0:
            n_targets += int(mask.max())
            tp_all.append(np.zeros(int(mask.max()), np.float32))
            continue
        # MONAI indexes the mask in array order; our centres are (x, y, z) -> mask[z, y, x]
        fp, tp, n = compute_fp_tp_probs_nd(scores.astype(np.float32), pts[:, ::-1], mask)
        fp_all.append(fp)
        tp_all.append(tp)
        n_targets += n
        assert sorted(fp.tolist()) == pytest.approx(sorted(subj.fp_scores.tolist()))
        assert tp.tolist() == pytest.approx(np.nan_to_num(subj.lesion_scores).tolist())
    fp_all, tp_all = np.concatenate(fp_all), np.concatenate(tp_all)
    assert n_targets == sum(s.n_lesions for s in subjects)
    assert (tp_all == 0).any(), "the comparison needs a missed lesion (MONAI skips the lowest threshold)"
    m_fps, m_sens = compute_froc_curve_data(fp_all, tp_all, n_targets, len(subjects))
    curve = froc_curve(subjects)
    # MONAI lists thresholds ascending and ends with the (0, 0) point
    assert np.allclose(m_fps[:-1][::-1], curve.fp_per_subject, atol=1e-6)
    assert np.allclose(m_sens[:-1][::-1], curve.sensitivity, atol=1e-6)
    m_cpm = compute_froc_score(m_fps, m_sens, eval_thresholds=CPM_FP_RATES)
    assert cpm(curve)[0] == pytest.approx(float(m_cpm), abs=1e-9)


def test_bootstrap_intervals_bracket_the_estimate():
    rng = np.random.default_rng(5)
    subjects, _, _ = _random_case(rng, n_subjects=30)
    report = evaluate(subjects, threshold=0.5, bootstrap=300, seed=1)
    data = report.to_json()
    for key in ("sensitivity", "precision", "f1", "fp_per_subject", "cpm"):
        lo, hi = data["ci"][key]
        assert lo <= data[key] <= hi and lo < hi, key
    assert data["n_subjects"] == 30 and len(data["cpm_sensitivities"]) == 7
    assert data["froc"][0]["threshold"] == max(p["threshold"] for p in data["froc"])


def test_mismatched_inputs_are_refused():
    with pytest.raises(ValueError, match="scores"):
        match_subject([[0, 0, 0]], [0.1, 0.2], [[0, 0, 0]], [3])
    with pytest.raises(ValueError, match="not finite"):
        match_subject([[np.nan, 0, 0]], [0.1], [[0, 0, 0]], [3])
