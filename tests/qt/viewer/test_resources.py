"""resources/: the icons draw, the presets file is complete and sane, the style sheet and the
demo recipe are there, all found through workstation.core.resources."""
from __future__ import annotations

import json

import pytest

from workstation.core import resources
from workstation.qt.viewer import display

ICONS = ("app", "open-file", "open-folder", "open-project", "layout-2d", "layout-mpr", "layout-mpr3d",
         "invert", "reset", "window-level", "series")


@pytest.mark.gui
def test_every_toolbar_icon_draws(qtbot):
    from PySide6.QtGui import QImage

    from workstation.qt.viewer.icons import icon

    for name in ICONS:
        image = icon(name).pixmap(24, 24).toImage().convertToFormat(QImage.Format_ARGB32)
        assert not image.isNull(), name
        opaque = sum(image.pixelColor(x, y).alpha() > 100 for x in range(24) for y in range(24))
        assert 20 < opaque < 24 * 24, (name, opaque)  # a glyph: some ink, not a filled square


def test_presets_cover_the_modalities_and_are_sane():
    data = resources.read_json("presets", "window.json")
    assert {"CT", "MR", "PT", "CR", "DX", "MG", "US", "NM"} <= set(data["modalities"])
    ct = {p["name"]: p["window"] for p in data["modalities"]["CT"] if "window" in p}
    for name in ("brain", "subdural", "stroke", "bone", "lung", "abdomen", "mediastinum", "liver"):
        assert f"CT {name}" in ct
    assert ct["CT brain"] == [40, 80] and ct["CT lung"] == [-600, 1500]
    for modality, entries in list(data["modalities"].items()) + [("default", data["default"])]:
        names = [e["name"] for e in entries]
        assert len(names) == len(set(names)), modality
        for entry in entries:
            kinds = [k for k in ("window", "percentiles", "header") if k in entry]
            assert len(kinds) == 1, entry
            if "window" in entry:
                assert entry["window"][1] > 0, entry
            if "percentiles" in entry:
                low, high = entry["percentiles"]
                assert 0 <= low < high <= 100, entry
    # what the viewer offers is what the file says
    assert [p.name for p in display.presets_for("MG")] == [e["name"] for e in data["modalities"]["MG"]]


def test_style_sheet_and_demo_recipe_are_found():
    style = resources.path("style", "workstation.qss").read_text()
    assert "QToolBar" in style and style.count("{") == style.count("}")
    recipes = json.loads(resources.path("demo", "recipes.json").read_text())
    assert recipes["classification"]["classes"] == ["normal", "pneumonia"]
    with pytest.raises(resources.ResourceError, match="missing"):
        resources.path("icons", "no-such-icon.svg")
