"""FROC inputs of a detection project: the detector's candidates against one reader's decisions.

Truth: the reader's lesions — candidates confirmed plus those the reader added (centre and
diameter in world mm). Predictions: the detector's candidates with their scores (newest prediction
per case). A case counts as a subject once the reader has decided at least one of its candidates
(or added one); candidates still "proposed" in such a case are left out (their truth is not known
yet) and counted as pending. Matching and FROC come from `workstation.core.metrics.detection`.
"""
from __future__ import annotations

from workstation.core.vocab import ACCEPTED_STATES, DECIDED_STATES, CandidateState

DEFAULT_DIAMETER_MM = 4.0


def froc_inputs(project, reader: str | None = None, plugin_id: str | None = None):
    """(subject matches, {"pending", "cases_with_predictions"}) from the project's latest
    predictions (of `plugin_id`, else of any detector) and `reader`'s decisions (None: the newest
    decision of any reader)."""
    from workstation.core.metrics import detection

    matches, pending, n_cases = [], 0, 0
    for case_id, record in sorted(project.latest_predictions(plugin_id).items()):
        n_cases += 1
        decisions = project.candidate_states(case_id, reader=reader)
        if not decisions:
            continue
        candidates = {str(c["id"]): c for c in (record.candidates or [])}
        lesions, sizes = [], []
        for cid, d in decisions.items():
            if d["state"] not in ACCEPTED_STATES:
                continue
            source = d if d.get("centre") is not None else candidates.get(cid)
            if source is None:
                continue
            lesions.append(source["centre"])
            sizes.append(d.get("diameter") or source.get("diameter_mm") or DEFAULT_DIAMETER_MM)
        state = {cid: decisions.get(cid, {}).get("state", CandidateState.PROPOSED) for cid in candidates}
        decided = [c for cid, c in candidates.items() if state[cid] in DECIDED_STATES]
        pending += sum(1 for cid in candidates if state[cid] == CandidateState.PROPOSED)
        matches.append(detection.match_subject([c["centre"] for c in decided], [c["score"] for c in decided],
                                               lesions, sizes, subject_id=case_id))
    return matches, {"pending": pending, "cases_with_predictions": n_cases}


def froc_report(project, reader: str | None = None, plugin_id: str | None = None, threshold: float = 0.5,
                bootstrap: int = 0, seed: int = 0) -> dict:
    """The detector against the reader, as the FROC tab and `workstation metrics` show it:
    {"n_subjects", "n_lesions", "pending", "cases_with_predictions", "report" (a DetectionReport,
    or None), "reason" (why there is no report, else None)}."""
    from workstation.core.metrics import detection

    matches, summary = froc_inputs(project, reader, plugin_id)
    n_lesions = sum(m.n_lesions for m in matches)
    out = {"n_subjects": len(matches), "n_lesions": n_lesions, **summary, "report": None, "reason": None}
    if not matches:
        out["reason"] = (f"{summary['cases_with_predictions']} case(s) with detector output and none reviewed; "
                         "confirm or reject candidates to build the reader's truth")
    elif n_lesions == 0:
        out["reason"] = (f"{len(matches)} reviewed case(s) but no confirmed or added lesion yet: "
                         "sensitivity is undefined")
    else:
        out["report"] = detection.evaluate(matches, threshold=threshold, bootstrap=bootstrap, seed=seed)
    return out
