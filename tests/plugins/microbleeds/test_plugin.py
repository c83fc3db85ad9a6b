"""The microbleeds plugin as the host sees it: discovery, shipped weights, outputs that pass the
host's checks, and detection of planted microbleeds on a phantom it was not trained on."""
import numpy as np
import pytest

from plugins.microbleeds import MANIFEST
from plugins.microbleeds.detector import SHIPPED_WEIGHTS, build, merge_overlapping
from workstation.plugin_api import Cancelled, CheckpointMissing, PluginError, Volume, prediction_problems
from workstation.plugin_host import find, load_factory


@pytest.fixture(scope="module")
def detector():
    det = build(None, {"brain_mask": True})
    det.load("cpu")
    return det


def test_discovered_through_the_entry_point():
    entry = find("microbleeds")
    assert entry.error is None, entry.error
    assert (entry.manifest.kind, entry.manifest.task) == ("detector", "detection")
    assert load_factory(entry.manifest) is build


def test_shipped_weights_are_small_and_say_where_they_come_from(detector):
    assert SHIPPED_WEIGHTS.is_file() and SHIPPED_WEIGHTS.stat().st_size <= 10 * 1024 * 1024
    assert len(detector.weights_sha256) == 64
    assert "phantoms" in detector.meta["note"] and detector.meta["train_seed"] != 4242
    assert detector.meta["style"] == "random"  # domain-randomised training phantoms


def test_finds_the_planted_microbleeds_and_returns_the_brain_screened(detector, phantom_1mm):
    [pred] = detector.predict([phantom_1mm.volume])
    assert prediction_problems(MANIFEST, phantom_1mm.volume.array.shape, pred) == []
    brain = pred.heatmap
    assert (brain.target, brain.method) == ("brain", "brain-mask")
    assert brain.array.shape == phantom_1mm.volume.array.shape and set(np.unique(brain.array)) == {0.0, 1.0}
    for les in phantom_1mm.truth["lesions"]:  # every bleed lies in what was screened
        i, j, k = np.round(phantom_1mm.volume.world_to_index(les["centre"])).astype(int)
        assert brain.array[k, j, i] == 1.0
    assert 0.1 < brain.array.mean() < 0.3  # a brain of ~1.4 l in a ~9 l field of view: no scalp, no skull
    strong = [c for c in pred.candidates if c.score >= 0.5]
    centres = np.array([c.centre_mm for c in strong]).reshape(-1, 3)
    lesions = phantom_1mm.truth["lesions"]
    found, used = 0, set()
    for les in lesions:
        dist = np.linalg.norm(centres - les["centre"], axis=1)
        hits = np.flatnonzero(dist <= max(les["diameter_mm"] / 2, 2.0))
        if len(hits):
            found += 1
            used.update(hits.tolist())
            best = strong[int(hits[np.argmin(dist[hits])])]
            assert best.diameter_mm == pytest.approx(les["diameter_mm"], rel=0.5, abs=1.0)
    assert found >= len(lesions) - 1
    # false positives at score >= 0.5 among ~40 vessel, flow-void and skull-base mimics (measured: 6)
    assert len(strong) - len(used) <= 8


def test_overlapping_candidates_merge_to_the_best():
    centres = np.array([[0, 0, 0], [1, 0, 0], [10, 0, 0]], float)
    keep = merge_overlapping(centres, np.array([4.0, 4.0, 4.0]), np.array([0.3, 0.9, 0.5]))
    assert keep.tolist() == [1, 2]


def test_patch_scores_average_the_four_flips():
    detector = build(None, {"stage2": "cnn"})  # the CNN scoring: four flips by default
    detector.load("cpu")
    one_pass = build(None, {"stage2": "cnn", "tta": False})
    one_pass.load("cpu")
    rng = np.random.default_rng(3)
    patches = rng.normal(scale=0.3, size=(5, 2, 20, 20, 20)).astype(np.float32)
    patches[:, 1] = 1.0
    logits = [np.log(p / (1 - p)) for p, _ in
              (one_pass.scores(np.ascontiguousarray(np.flip(patches, f) if f else patches))
               for f in ((), (2,), (3,), (4,)))]
    prob, _ = detector.scores(patches)
    assert np.log(prob / (1 - prob)) == pytest.approx(np.mean(logits, axis=0), abs=1e-3)
    assert not np.allclose(logits[0], logits[1], atol=1e-3)  # the flips do differ for this network


def test_bad_inputs_give_one_line_reasons(detector, tmp_path):
    with pytest.raises(PluginError, match="3D grey volume"):
        detector.predict([Volume(np.zeros((64, 64), np.float32))])
    with pytest.raises(PluginError, match="no head found|no brain found"):
        detector.predict([Volume(np.zeros((40, 40, 40), np.float32))])
    with pytest.raises(CheckpointMissing):
        build(str(tmp_path / "absent.pt"), {}).load("cpu")
    with pytest.raises(Cancelled):
        detector.predict([Volume(np.zeros((32, 32, 32), np.float32))], cancel=lambda: True)
