"""Properties that hold for any boxes: symmetry, bounds, invariance, monotone thresholds."""
from hypothesis import given, settings
from hypothesis import strategies as st

from workstation.core.boxes.localisation import Box, evaluate, iobb, iou

coord = st.floats(-100, 100, allow_nan=False)
size = st.floats(0.5, 50, allow_nan=False)
boxes = st.builds(Box, coord, coord, size, size, st.sampled_from(["A", "B"]))


@given(boxes, boxes, coord, coord)
def test_overlap_bounds_symmetry_and_translation(a, b, dx, dy):
    assert abs(iou(a, b) - iou(b, a)) < 1e-12
    assert 0.0 <= iou(a, b) <= min(iobb(a, b), iobb(b, a)) + 1e-12 <= 1.0 + 1e-12
    shift = lambda box: Box(box.x + dx, box.y + dy, box.w, box.h, box.finding)  # noqa: E731
    assert abs(iou(shift(a), shift(b)) - iou(a, b)) < 1e-6


@settings(max_examples=50)
@given(st.dictionaries(st.sampled_from("pqrs"), st.lists(boxes, max_size=4), min_size=1),
       st.dictionaries(st.sampled_from("pqrst"), st.lists(boxes, max_size=4)))
def test_accuracy_falls_and_false_positives_rise_with_the_threshold(truth, predicted):
    result = evaluate(predicted, truth, iou_thresholds=(0.1, 0.3, 0.5, 0.7), iobb_thresholds=(0.1, 0.25, 0.5, 0.75, 0.9))
    for scores in list(result.findings.values()) + [result.overall]:
        for measure, ts in (("iou", (0.1, 0.3, 0.5, 0.7)), ("iobb", (0.1, 0.25, 0.5, 0.75, 0.9))):
            hits = [scores.hits[measure][t] for t in ts]
            fps = [scores.false_positives[measure][t] for t in ts]
            assert hits == sorted(hits, reverse=True) and fps == sorted(fps)
            assert all(0 <= h <= scores.truth_boxes for h in hits) and all(0 <= f <= scores.predicted_boxes for f in fps)
        # IoBB >= IoU for every pair, so at the same threshold IoBB finds at least as many
        assert scores.hits["iobb"][0.1] >= scores.hits["iou"][0.1]
        assert scores.hits["iobb"][0.5] >= scores.hits["iou"][0.5]
