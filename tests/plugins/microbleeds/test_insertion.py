"""The training-time bleed insertion: its geometry, its noise, and where it may draw a bleed."""
import numpy as np
import pytest

from plugins.microbleeds.insertion import CENTRE, bleed_profile, draw_bleed, draw_into, inserted_batch, noise_level, site


def flat_patch(rng, sigma=0.05, brain=True):
    log = (sigma * rng.standard_normal((20, 20, 20))).astype(np.float32)
    mask = np.ones((20, 20, 20), np.float32) if brain else np.zeros((20, 20, 20), np.float32)
    return np.stack([log, mask])


def round_bleed(d, drop=0.5, edge=0.15):
    return {"d": d, "drop": drop, "edge": edge, "bloom": 0.0, "axes": np.ones(3), "rot": np.eye(3),
            "shift": np.zeros(3)}


@pytest.mark.parametrize("d", [2.0, 4.0, 8.0])
def test_profile_is_one_at_the_centre_and_half_at_the_stated_radius(d):
    f = bleed_profile(round_bleed(d), sub=5)
    assert f[CENTRE, CENTRE, CENTRE] == pytest.approx(1.0, abs=0.12 if d < 3 else 0.02)
    assert f[0, 0, 0] == pytest.approx(0.0, abs=1e-6)
    # the integral of a sigmoid ball of radius R and edge width w: 4/3 pi (R^3 + pi^2 w^2 R)
    r, w = d / 2, 0.15
    assert f.sum() == pytest.approx(4 / 3 * np.pi * (r ** 3 + np.pi ** 2 * w ** 2 * r), rel=0.05)


def test_drawn_bleed_drops_the_centre_by_its_drop_and_keeps_the_noise():
    rng = np.random.default_rng(0)
    patch = flat_patch(rng, sigma=0.04)
    out = draw_into(patch, round_bleed(8.0, drop=0.6), rng)
    centre = out[0, CENTRE - 1:CENTRE + 2, CENTRE - 1:CENTRE + 2, CENTRE - 1:CENTRE + 2]
    assert float(np.exp(centre.mean())) == pytest.approx(0.4, abs=0.05)
    # linear-domain noise inside the bleed stays that of the background (not scaled down by 0.4)
    inner = np.exp(out[0, CENTRE - 2:CENTRE + 3, CENTRE - 2:CENTRE + 3, CENTRE - 2:CENTRE + 3])
    assert inner.std() == pytest.approx(0.04, rel=0.25)
    assert noise_level(patch[0], patch[1] > 0.5) == pytest.approx(0.04, rel=0.1)
    assert np.array_equal(out[1], patch[1])  # the brain mask is untouched
    far = (slice(0, 3),) * 3
    assert np.allclose(out[0][far], patch[0][far], atol=1e-4)


def test_sites_parenchyma_csf_and_edge():
    rng = np.random.default_rng(1)
    patch = flat_patch(rng)
    assert site(patch[0], patch[1] > 0.5, 3.0) == "parenchyma"
    csf = patch.copy()
    rr = np.sqrt(((np.indices((20, 20, 20)) - CENTRE) ** 2).sum(0))
    csf[0][rr <= 6] = 0.3  # a pool of CSF around the centre
    assert site(csf[0], csf[1] > 0.5, 3.0) == "csf"
    edge = patch.copy()
    edge[1][:, :, CENTRE + 2:] = 0  # the brain ends 2 mm from the centre
    assert site(edge[0], edge[1] > 0.5, 4.0) is None
    assert site(patch[0], np.zeros((20, 20, 20), bool), 3.0) is None


def test_inserted_batch_labels_parenchyma_positive_and_csf_negative():
    rng = np.random.default_rng(2)
    parenchyma = np.stack([flat_patch(rng) for _ in range(4)])
    csf = parenchyma.copy()
    rr = np.sqrt(((np.indices((20, 20, 20)) - CENTRE) ** 2).sum(0))
    csf[:, 0][:, rr <= 9] = 0.3
    x = np.concatenate([parenchyma, csf]).astype(np.float16)
    xs, ys, ds = inserted_batch(x, np.arange(len(x)), 5, 3, rng)
    assert list(ys).count(1.0) == 5 and list(ys).count(0.0) == 3
    assert np.all((ds[ys > 0] >= 2) & (ds[ys > 0] <= 10)) and np.all(ds[ys == 0] == 0)
    assert xs.shape == (8, 2, 20, 20, 20) and xs.dtype == np.float32
    for patch, label in zip(xs, ys):  # each carries a dark focus at its centre
        assert patch[0, CENTRE, CENTRE, CENTRE] < (0.3 if label == 0 else 0.0) - 0.05


def test_draws_cover_the_stated_ranges():
    rng = np.random.default_rng(3)
    draws = [draw_bleed(rng) for _ in range(2000)]
    d = np.array([b["d"] for b in draws])
    assert d.min() >= 1.2 and d.max() <= 10 and 0.3 < np.mean(d < 3) < 0.4
    drop = np.array([b["drop"] for b in draws])
    assert drop.min() >= 0.2 and drop.max() <= 0.85
