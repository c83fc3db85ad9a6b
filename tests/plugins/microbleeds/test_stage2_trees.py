"""Stage 2's boosted trees: exported without pickle, predicting exactly as scikit-learn; the
features they read, and the shipped file."""
import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from plugins.microbleeds.detector import SHIPPED_TREES, build
from plugins.microbleeds.features import CENTRE, feature_matrix, features
from plugins.microbleeds.context import CONTEXT_FEATURES
from plugins.microbleeds.trees import TreeEnsemble
from workstation.plugin_api import CheckpointMissing, PluginError


def test_exported_trees_predict_exactly_as_scikit_learn(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 6))
    x[rng.random(x.shape) < 0.02] = np.nan  # missing values take the side the fit chose
    y = ((x[:, 0] + np.nan_to_num(x[:, 1]) * x[:, 2] > 0.3) ^ (rng.random(3000) < 0.1)).astype(int)
    clf = HistGradientBoostingClassifier(max_iter=60, random_state=0).fit(x, y)
    TreeEnsemble.from_sklearn(clf, [f"f{i}" for i in range(6)]).save(tmp_path / "t.npz", "{}")
    trees = TreeEnsemble.load(tmp_path / "t.npz")
    test = rng.normal(size=(500, 6))
    test[::7, 1] = np.nan
    assert np.allclose(trees.decision_function(test), clf.decision_function(test), atol=1e-9)
    assert np.allclose(trees.predict_proba(test), clf.predict_proba(test)[:, 1], atol=1e-9)
    assert trees.names == tuple(f"f{i}" for i in range(6))


def test_the_weights_file_holds_no_pickle():
    with np.load(SHIPPED_TREES, allow_pickle=False) as z:  # raises if any array needs pickle
        assert {"baseline", "offsets", "feature", "threshold", "value", "names"} <= set(z.files)
    trees = TreeEnsemble.load(SHIPPED_TREES)
    patch_measurements = set(features(np.zeros((1, 2, 20, 20, 20))))
    assert len(trees.offsets) > 20 and set(trees.names) == patch_measurements | set(CONTEXT_FEATURES)
    assert SHIPPED_TREES.stat().st_size < 2_000_000


def _patch_with(shape: str, rng, drop=0.6):
    """A flat noisy brain patch with a dark ball (3 mm) or a dark tube (1.6 mm, 16 mm long) at the centre."""
    log = (0.02 * rng.standard_normal((20, 20, 20))).astype(np.float32)
    g = np.indices((20, 20, 20)) - CENTRE
    if shape == "ball":
        inside = (g ** 2).sum(0) <= 1.5 ** 2
    else:
        inside = ((g[1] ** 2 + g[2] ** 2) <= 0.8 ** 2) & (np.abs(g[0]) <= 8)
    log[inside] += np.log(1 - drop)
    return np.stack([log, np.ones_like(log)])


def test_features_tell_a_ball_from_a_tube_in_any_orientation():
    rng = np.random.default_rng(1)
    ball, tube = _patch_with("ball", rng), _patch_with("tube", rng)
    turned = np.ascontiguousarray(np.transpose(tube, (0, 3, 1, 2)))  # the tube along another axis
    f = features(np.stack([ball, tube, turned]))
    assert f["elong"][0] < 1.6 and f["elong"][1] > 3 and f["elong"][2] > 3
    assert f["hr_1"][0] > 0.3 and abs(f["hr_1"][1]) < 0.2  # a ball curves three ways, a tube two
    assert f["elong"][1] == pytest.approx(f["elong"][2], rel=0.05)
    assert f["cnr0"][0] > 10 and f["noise"][0] == pytest.approx(0.02 / 0.6 * 0.95, rel=0.3)
    m = feature_matrix(np.stack([ball]), ["cnr0", "elong"])
    assert m.shape == (1, 2) and m[0, 0] == f["cnr0"][0]


def test_a_dark_notch_open_to_the_outside_of_the_brain_reads_as_such():
    rng = np.random.default_rng(2)
    ball = _patch_with("ball", rng)
    notch = ball.copy()
    notch[1, :, :, 13:] = 0.0  # the brain ends 3 mm from the centre
    notch[0, :, :, 14:] = -2.5  # the dark space beyond it (bone)
    notch[0, 9:12, 9:12, 10:14] = np.log(0.4)  # the focus runs into it
    f = features(np.stack([ball, notch]))
    assert f["dark_outside"][0] == 0 and f["dark_outside"][1] > 0.3
    assert f["brain_depth"][0] == 10 and f["brain_depth"][1] == pytest.approx(3.0)


def test_stage2_options_and_missing_trees(tmp_path):
    with pytest.raises(PluginError, match="stage2 must be one of"):
        build(None, {"stage2": "forest"})
    det = build(None, {"trees": str(tmp_path / "none.npz")})
    with pytest.raises(CheckpointMissing, match="stage-2 trees"):
        det.load("cpu")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(PluginError, match="cannot read the stage-2 trees"):
        build(None, {"trees": str(tmp_path / "bad.npz")}).load("cpu")
    (tmp_path / "cut.npz").write_bytes(SHIPPED_TREES.read_bytes()[:1000])  # a truncated copy
    with pytest.raises(PluginError, match="cannot read the stage-2 trees"):
        build(None, {"trees": str(tmp_path / "cut.npz")}).load("cpu")
    trees, cnn = build(None, {}), build(None, {"stage2": "cnn"})
    trees.load("cpu"), cnn.load("cpu")
    assert trees.weights_sha256 != cnn.weights_sha256 and len(trees.weights_sha256) == 64
