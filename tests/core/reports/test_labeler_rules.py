"""Behaviour of the ConText engine and the labeler on short, targeted inputs."""
import pytest

from plugins.report_labeler import MANIFEST, PLUGIN_ID
from plugins.report_labeler.labeler import aggregate
from plugins.report_labeler.context import Mention, _sentence_bounds
from workstation.plugin_api import Cancelled, PluginError, as_manifest


def test_scope_ends_at_but_and_at_a_sentence_end(labeler):
    assert labeler.label("No effusion but a pneumothorax.") == {"Effusion": 0, "Pneumothorax": 1, "No Finding": 0}
    assert labeler.label("No effusion. Pneumothorax.") == {"Effusion": 0, "Pneumothorax": 1, "No Finding": 0}
    assert labeler.label("No effusion or pneumothorax.") == {"Effusion": 0, "Pneumothorax": 0, "No Finding": 1}


def test_a_backward_trigger_does_not_cross_a_terminator(labeler):
    got = labeler.label("Small effusion, but pneumothorax has been ruled out.")
    assert got == {"Effusion": 1, "Pneumothorax": 0, "No Finding": 0}


def test_the_nearest_modifier_decides(labeler):
    assert labeler.label("No effusion, possible pneumonia.")["Pneumonia"] == -1
    assert labeler.label("Possible pneumonia, no effusion.") == {"Effusion": 0, "Pneumonia": -1, "No Finding": -1}


def test_longest_phrase_wins(labeler):
    assert labeler.label("Pleural thickening.") == {"Pleural_Thickening": 1, "No Finding": 0}
    assert labeler.label("Hydropneumothorax.") == {"Effusion": 1, "Pneumothorax": 1, "No Finding": 0}
    assert labeler.label("Subcutaneous emphysema.") == {}
    assert labeler.label("cannot exclude pneumothorax")["Pneumothorax"] == -1  # not the "not" inside


def test_abbreviations_and_decimals_do_not_end_a_sentence(labeler):
    assert labeler.label("Nodule vs. mass.") == {"Mass": -1, "Nodule": -1, "No Finding": -1}
    assert labeler.label("No 1.5 cm nodule, e.g. a granuloma.") == {"Nodule": 0, "No Finding": 1}
    text = "Impression: 1. Effusion. 2. No edema."
    assert [text[a:b].strip() for a, b in _sentence_bounds(text)] == ["Impression:", "1. Effusion.", "2. No edema."]


def test_several_mentions_of_one_finding_positive_wins_then_uncertain(labeler):
    assert labeler.label("No effusion on the left. Small right effusion.")["Effusion"] == 1
    assert labeler.label("No effusion on the left. Possible right effusion.")["Effusion"] == -1
    assert aggregate([Mention(("Edema",), 0, 0, 1, "e"), Mention(("Edema",), -1, 2, 3, "e")]) == {"Edema": -1, "No Finding": -1}


def test_empty_and_unrelated_text(labeler):
    assert labeler.label("") == {}
    assert labeler.label(None) == {}
    assert labeler.label("Portable AP view. Lines and tubes as before.") == {}


def test_output_uses_chestxray14_names_in_order(labeler):
    got = labeler.label("Hernia, emphysema, cardiomegaly and atelectasis.")
    assert list(got) == ["Atelectasis", "Cardiomegaly", "Emphysema", "Hernia", "No Finding"]


def test_mentions_carry_spans_and_triggers(labeler):
    text = "Findings: no pneumothorax."
    (m,) = labeler.mentions(text)
    assert text[m.start:m.end] == "pneumothorax" and m.value == 0 and m.trigger == "no"


def test_label_many_reports_progress_and_can_be_cancelled(labeler):
    seen = []
    out = labeler.label_many(["Effusion.", "No edema."], progress=seen.append)
    assert out == [{"Effusion": 1, "No Finding": 0}, {"Edema": 0, "No Finding": 1}] and seen == [0.5, 1.0]
    with pytest.raises(Cancelled):
        labeler.label_many(["Effusion."], cancel=lambda: True)
    with pytest.raises(PluginError):
        labeler.predict([])


def test_manifest_is_valid_and_declares_the_kind():
    manifest = as_manifest(MANIFEST)
    assert manifest.id == PLUGIN_ID and manifest.kind == "report_labeler"
    assert manifest.classes[-1] == "No Finding" and len(manifest.classes) == 15


def test_the_plugin_is_discovered_through_its_entry_point_and_built_lazily():
    from workstation.plugin_host import discovery

    (entry,) = [e for e in discovery.discover() if e.id == PLUGIN_ID]
    assert entry.error is None and entry.manifest.kind == "report_labeler"
    labeler = discovery.load_factory(entry.manifest)(checkpoint=None, options={})
    assert labeler.label("No pneumothorax.") == {"Pneumothorax": 0, "No Finding": 1}
