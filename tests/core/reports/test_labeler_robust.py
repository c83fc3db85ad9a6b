"""Any text: the labeler never fails and answers only with known names and 1/0/-1."""
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.report_labeler.labeler import create
from plugins.report_labeler.vocabulary import FINDINGS, NO_FINDING

LABELER = create()
WORDS = ["no", "not", "possible", "effusion", "pneumothorax", "but", "cannot", "exclude", ",", ".", ";", "vs.",
         "heart", "size", "is", "normal", "enlarged", "mass", "effect", "or", "without", "ruled", "out", "\n\n",
         "Impression:", "1.", "nodule", "may", "represent", "atelectasis", "change", "in"]


@settings(max_examples=300)
@given(st.one_of(st.text(max_size=300), st.lists(st.sampled_from(WORDS), max_size=40).map(" ".join)))
def test_any_text(text):
    out = LABELER.label(text)
    assert set(out) <= set(FINDINGS) | {NO_FINDING}
    assert set(out.values()) <= {1, 0, -1}
    assert (NO_FINDING in out) == bool(LABELER.mentions(text))
    for m in LABELER.mentions(text):
        assert text[m.start:m.end] == m.text
