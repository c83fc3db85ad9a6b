"""After the detector runs again on a reviewed case (issue 7), the candidate dock keeps each decision
on its focus, lists decisions whose focus the new run did not find as "not in the latest run", and
the FROC tab counts a confirmed microbleed the new run missed as a miss."""
from __future__ import annotations

import numpy as np
import pytest

from workstation.core.project import PredictionRecord
from workstation.qt.metrics.froc_tab import froc_inputs


@pytest.mark.gui
def test_rerun_keeps_decisions_on_their_foci(qtbot, review_window):
    w, panel = review_window, review_window.candidates_panel
    project, cands = w.project, w.candidates  # microbleeds-0..2 true microbleeds, -3 and -4 mimics
    project.set_candidate_state("ph0", "microbleeds-0", "confirmed", "alice")
    project.set_candidate_state("ph0", "microbleeds-1", "confirmed", "alice")
    project.set_candidate_state("ph0", "microbleeds-3", "rejected", "alice")

    shift = np.array([0.6, -0.5, 0.4])
    rerun = [dict(c, centre=list(np.add(c["centre"], shift)), score=c["score"] - 0.05)
             for c in (cands[4], cands[2], cands[0])]  # reordered; microbleeds-1 and -3 not found
    rerun.append(dict(cands[0], centre=list(np.add(cands[0]["centre"], [12.0, 0.0, 0.0])), score=0.5))
    for n, c in enumerate(rerun):
        c["id"] = f"microbleeds-{n}"  # numbered by position, as the plugin host's sink does
    project.add_predictions([PredictionRecord("ph0", {}, "microbleeds", "1.0.0", "0" * 64, "cpu",
                                              candidates=rerun)])
    qtbot.waitUntil(lambda: len(panel.rows) == 6, timeout=10000)  # 4 in the run + 2 earlier decisions

    rows = {r["id"]: r for r in panel.rows}
    assert rows["microbleeds-0"]["state"] == "confirmed" and rows["microbleeds-0"]["score"] is not None
    assert np.allclose(rows["microbleeds-0"]["centre"], np.add(cands[0]["centre"], shift))
    earlier = {cid for cid, r in rows.items() if r.get("earlier")}
    assert earlier == {"microbleeds-1", "microbleeds-3"}
    assert np.allclose(rows["microbleeds-1"]["centre"], cands[1]["centre"])
    texts = {panel.table.item(n, 3).text() for n, r in enumerate(panel.rows) if r.get("earlier")}
    assert texts == {"microbleed (not in the latest run)", "mimic (not in the latest run)"}
    assert "2 decision(s) on foci not in the latest run" in panel.note.text()
    fresh = [r for cid, r in rows.items() if r["score"] is not None and r["state"] == "proposed"]
    assert len(fresh) == 3 and not {r["id"] for r in fresh} & {"microbleeds-1", "microbleeds-2",
                                                                  "microbleeds-3"}

    matches, summary = froc_inputs(project, reader="alice")
    (match,) = matches
    assert match.n_lesions == 2 and np.isnan(match.lesion_scores).sum() == 1  # microbleeds-1 missed
    assert summary["pending"] == 3
