"""The segmentation tab of the metrics panel lists Dice and HD95 of two readers' saved masks, as
`metrics --json` does, and asks for a refresh when a mask changes."""
from __future__ import annotations

import math

import pytest

from workstation.core.segmentation import store
from workstation.core.segmentation.brush import sphere_mask
from workstation.core.segmentation.grid import Grid


def test_tab_lists_reader_pairs(qtbot, mni_project):
    from workstation.core.project import Project
    from workstation.core.review.session import ReviewSession
    from workstation.core.segmentation.agreement import segmentation_section
    from workstation.qt.metrics.segmentation_tab import SegmentationTab

    project = Project.open(mni_project)
    grid = Grid.of(store.case_volume(project, "brain"))
    store.save_mask(project, "brain", "ann", "lesion", sphere_mask(grid, (0.0, -20.0, 10.0), 8.0), grid)
    store.save_mask(project, "brain", "bob", "lesion", sphere_mask(grid, (4.0, -20.0, 10.0), 8.0), grid)
    session = ReviewSession(project, reader="ann")
    tab = SegmentationTab(session)
    qtbot.addWidget(tab)
    tab.show()
    qtbot.waitExposed(tab)
    assert tab.table.rowCount() == 1
    cells = [tab.table.item(0, c).text() for c in range(tab.table.columnCount())]
    (row,) = segmentation_section(project)
    assert cells[:4] == ["brain", "lesion", "ann", "bob"] and cells[4] == f"{row['dice']:.3f}"
    overlap = math.pi * (4 * 8 + 4) * (2 * 8 - 4) ** 2 / 12
    assert row["dice"] == pytest.approx(overlap / (4 / 3 * math.pi * 8 ** 3), abs=0.02)
    store.save_mask(project, "brain", "bob", "lesion", grid.empty(), grid)
    qtbot.waitUntil(lambda: "Refresh" in tab.status.text(), timeout=5000)
    tab.recompute()
    assert tab.table.item(0, 5).text() == "∞"
    session.set_project(None)
    project.close()


def test_tab_beside_the_other_metrics_in_the_window(qtbot, seg_window):
    panel = seg_window.panels["metrics_panel"]
    tab = seg_window.panels["segmentation_tab"]
    titles = [panel.tabs.tabText(i) for i in range(panel.tabs.count())]
    assert "Segmentation" in titles and panel.tabs.widget(titles.index("Segmentation")) is tab
    seg = seg_window.panels["segmentation_panel"]
    project = seg_window.session.project
    grid = seg.editor.grid
    seg.add_segment("lesion")
    store.save_mask(project, "brain", "bob", "lesion", sphere_mask(grid, (0.0, -20.0, 10.0), 6.0), grid)
    seg.radius.setValue(6.0)
    seg.editor.begin()
    seg.dab((0.0, -20.0, 10.0))
    seg.editor.end()
    with qtbot.waitSignal(seg.saved, timeout=20000):  # written off the GUI thread
        seg.save()
    tab.recompute()
    assert tab.table.rowCount() == 1 and tab.table.item(0, 4).text() == "1.000"
