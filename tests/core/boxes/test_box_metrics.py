"""Box overlap and localisation metrics against cases worked out by hand."""
import math

import numpy as np
import pytest

from workstation.core.boxes.localisation import Box, boxes_from_heatmap, evaluate, intersection, iobb, iou


def B(x, y, w, h, finding="Nodule", score=None):
    return Box(x, y, w, h, finding=finding, score=score)


def test_identical_boxes_overlap_fully():
    assert iou(B(3, 4, 5, 6), B(3, 4, 5, 6)) == 1.0 and iobb(B(3, 4, 5, 6), B(3, 4, 5, 6)) == 1.0


def test_no_overlap_and_touching_edges_give_zero():
    assert iou(B(0, 0, 10, 10), B(20, 20, 5, 5)) == 0.0
    assert intersection(B(0, 0, 10, 10), B(10, 0, 10, 10)) == 0.0  # shared edge, no area
    assert iobb(B(0, 0, 10, 10), B(0, 10, 10, 10)) == 0.0


def test_nested_boxes_iou_is_the_area_ratio_and_iobb_depends_on_which_is_predicted():
    small, large = B(2, 2, 4, 4), B(0, 0, 10, 10)  # 16 inside 100
    assert iou(small, large) == pytest.approx(0.16)
    assert iobb(small, large) == 1.0  # predicted inside the truth
    assert iobb(large, small) == pytest.approx(0.16)  # predicted around the truth


def test_partial_overlaps():
    assert iou(B(0, 0, 10, 10), B(5, 5, 10, 10)) == pytest.approx(25 / 175)
    assert iobb(B(5, 5, 10, 10), B(0, 0, 10, 10)) == pytest.approx(0.25)
    assert iou(B(0, 0, 4, 2), B(2, 0, 4, 2)) == pytest.approx(1 / 3)
    assert iobb(B(2, 0, 4, 2), B(0, 0, 4, 2)) == pytest.approx(0.5)


def test_invalid_boxes_are_refused():
    for bad in [(0, 0, 0, 5), (0, 0, 5, -1), (math.nan, 0, 1, 1)]:
        with pytest.raises(ValueError):
            B(*bad)


@pytest.fixture
def case():
    truth = {
        "a": [B(0, 0, 10, 10)],
        "b": [B(0, 0, 10, 10), B(100, 100, 20, 20, "Effusion")],
        "c": [B(0, 0, 10, 10, "Effusion")],
        "d": [],
    }
    predicted = {
        "a": [B(2, 2, 4, 4), B(50, 50, 10, 10)],  # nested (IoU .16, IoBB 1) and a miss
        "b": [B(5, 5, 10, 10),  # IoU 1/7, IoBB .25
              B(100, 100, 20, 20, "Effusion"),  # exact
              B(110, 100, 20, 20, "Effusion")],  # IoU 1/3, IoBB .5
        "d": [B(0, 0, 5, 5)],
        "e": [B(0, 0, 5, 5)],  # not in the truth
    }
    return predicted, truth


def test_several_boxes_per_image_by_finding_and_threshold(case):
    result = evaluate(*case)
    nodule, effusion = result.findings["Nodule"], result.findings["Effusion"]
    assert (nodule.images, nodule.truth_boxes, nodule.predicted_boxes) == (2, 2, 3)
    # IoBB: T=0.1 both nodules found; at 0.25 the 0.25 overlap no longer counts (strictly greater)
    assert [nodule.accuracy("iobb", t) for t in (0.1, 0.25, 0.5, 0.75, 0.9)] == [1.0, 0.5, 0.5, 0.5, 0.5]
    assert [nodule.afp("iobb", t) for t in (0.1, 0.25, 0.5, 0.75, 0.9)] == [0.5, 1.0, 1.0, 1.0, 1.0]
    assert [nodule.accuracy("iou", t) for t in (0.1, 0.2)] == [1.0, 0.0]
    assert [nodule.afp("iou", t) for t in (0.1, 0.2)] == [0.5, 1.5]
    assert (effusion.images, effusion.truth_boxes, effusion.predicted_boxes) == (2, 2, 2)
    assert [effusion.accuracy("iobb", t) for t in (0.1, 0.5, 0.9)] == [0.5, 0.5, 0.5]  # image c is missed
    assert [effusion.afp("iobb", t) for t in (0.25, 0.5)] == [0.0, 0.5]
    assert [effusion.afp("iou", t) for t in (0.3, 0.4)] == [0.0, 0.5]
    assert result.overall.accuracy("iobb", 0.25) == 0.5 and result.overall.afp("iobb", 0.25) == 0.5
    assert result.unmatched_images == ["e"] and result.ignored_predictions == 2


def test_all_images_counts_predictions_on_images_without_that_finding(case):
    result = evaluate(*case, all_images=True)
    nodule = result.findings["Nodule"]
    assert (nodule.images, nodule.truth_boxes, nodule.predicted_boxes) == (4, 2, 4)
    assert nodule.afp("iobb", 0.1) == 0.5  # the miss on "a" and the box on the empty image "d"
    assert result.findings["Effusion"].afp("iobb", 0.1) == 0.0 and result.ignored_predictions == 1


def test_one_predicted_box_may_localise_two_truth_boxes():
    truth = {"x": [B(0, 0, 10, 10), B(20, 0, 10, 10)]}
    predicted = {"x": [B(0, 0, 30, 10)]}  # 100 of its 300 on each truth box
    r = evaluate(predicted, truth, iobb_thresholds=(0.25, 0.5)).findings["Nodule"]
    assert r.accuracy("iobb", 0.25) == 1.0 and r.afp("iobb", 0.25) == 0.0
    assert r.accuracy("iobb", 0.5) == 0.0 and r.afp("iobb", 0.5) == 1.0


def test_json_form_lists_every_threshold(case):
    data = evaluate(*case).to_json()
    assert list(data["overall"]["iobb"]) == ["0.1", "0.25", "0.5", "0.75", "0.9"]
    assert list(data["overall"]["iou"]) == ["0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7"]
    assert data["findings"]["Nodule"]["iobb"]["0.25"] == {"accuracy": 0.5, "afp": 1.0, "hits": 1, "false_positives": 2}


@pytest.fixture
def heat():
    rng = np.random.default_rng(0)
    h = rng.uniform(0.0, 0.1, (20, 30))
    h[2:6, 3:9] = 1.0  # 4 x 6 region
    h[10:12, 20:22] = 0.8  # 2 x 2 region
    return h


def test_heatmap_regions_become_boxes_largest_first(heat):
    boxes = boxes_from_heatmap(heat, 0.5, finding="Mass")
    assert [(b.x, b.y, b.w, b.h) for b in boxes] == [(3, 2, 6, 4), (20, 10, 2, 2)]
    assert [b.score for b in boxes] == [1.0, 0.8] and {b.finding for b in boxes} == {"Mass"}
    assert len(boxes_from_heatmap(heat, 0.5, max_boxes=1)) == 1
    assert [(b.x, b.y) for b in boxes_from_heatmap(heat, 0.9, relative=False)] == [(3, 2)]
    assert boxes_from_heatmap(heat, 0.5, min_area=5)[0].area == 24 and len(boxes_from_heatmap(heat, 0.5, min_area=5)) == 1


def test_heatmap_options(heat):
    (big, small) = boxes_from_heatmap(heat[None], 0.5, image_shape=(40, 90))  # a [1, rows, cols] grid
    assert (big.x, big.y, big.w, big.h) == (9, 4, 18, 8)
    diagonal = np.zeros((5, 5))
    diagonal[1, 1] = diagonal[2, 2] = 1.0
    assert len(boxes_from_heatmap(diagonal, 0.5)) == 1  # 8-connected
    assert boxes_from_heatmap(np.ones((4, 4)), 0.5) == []  # flat: nowhere
    with pytest.raises(ValueError):
        boxes_from_heatmap(np.zeros((2, 3, 4)), 0.5)


def test_heatmap_boxes_score_against_truth(heat):
    truth = {"img": [B(3, 2, 6, 4, "Mass")]}
    predicted = {"img": boxes_from_heatmap(heat, 0.5, finding="Mass")}
    r = evaluate(predicted, truth).findings["Mass"]
    assert r.accuracy("iobb", 0.9) == 1.0 and r.afp("iobb", 0.9) == 1.0  # the second region is a false positive
