"""JSON-ready summaries of a project for the CLI (`project status`, `project cases`)."""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from workstation.core.project.records import NOT_ASSESSABLE, UNCERTAIN
from workstation.core.vocab import Tag, Task


def status(project) -> dict[str, Any]:
    case_ids = project.case_ids()
    finals = project.labels(tag="final") + project.labels(tag="adjudicated")
    labelled = {lab.case_id for lab in finals}
    per_reader: dict[str, int] = Counter(lab.reader for lab in project.labels(tag="final"))
    truth = project.truth("final")
    per_class = Counter()
    for value in truth.values():
        for name in (value if isinstance(value, list) else [value]):
            per_class[name] += 1
    current: dict[str, Any] = {}
    for lab in sorted(finals, key=lambda lab: (lab.tag == Tag.ADJUDICATED, lab.updated_at)):
        current[lab.case_id] = lab.value
    states = Counter(v for v in current.values() if v in (UNCERTAIN, NOT_ASSESSABLE))
    preds = project.latest_predictions()
    return {
        "directory": str(project.directory),
        "task": project.task,
        "classes": project.classes,
        "database": project.db_url,
        "cases": len(case_ids),
        "labelled": len(labelled),
        "unlabelled": len(case_ids) - len(labelled),
        "per_class": {c: per_class.get(c, 0) for c in project.classes},
        "uncertain": states.get(UNCERTAIN, 0),
        "not_assessable": states.get(NOT_ASSESSABLE, 0),
        "per_reader": dict(sorted(per_reader.items())),
        "readers": project.readers(),
        "original_labels": len({lab.case_id for lab in project.labels(tag="original")}),
        "with_predictions": len(preds),
        "plugins": project.prediction_plugins(),
        "adjudicated": len({lab.case_id for lab in project.labels(tag="adjudicated")}),
        "taxonomy": _taxonomy(project),
    }


def _taxonomy(project) -> dict[str, Any] | None:
    """The tree, its levels and the final labels per inner node (labels per leaf are per_class)."""
    tree = project.taxonomy
    if tree is None:
        return None
    at_nodes = Counter(v for v in project.truth("final", nodes=True).values() if v in tree.inner_nodes)
    return {"tree": tree.to_json(), "levels": tree.level_names,
            "per_node": {n: at_nodes.get(n, 0) for n in tree.inner_nodes}}


def cases(project) -> list[dict[str, Any]]:
    labels: dict[str, dict] = defaultdict(lambda: defaultdict(dict))
    for lab in project.labels():
        labels[lab.case_id][lab.reader][lab.tag] = {"value": lab.value, "note": lab.note,
                                                    "updated_at": lab.updated_at}
    candidates: dict[str, dict] = defaultdict(dict)
    if project.task == Task.DETECTION:
        for lab in project.labels(candidates=True):
            candidates[lab.case_id].setdefault(lab.reader, {})[lab.candidate_id] = lab.value
    preds: dict[str, dict] = defaultdict(dict)
    for plugin in project.prediction_plugins():
        for case_id, record in project.latest_predictions(plugin).items():
            preds[case_id][plugin] = {k: v for k, v in record.to_json().items() if k != "case_id"}
    out = []
    for case in project.cases():
        entry = {"case_id": case.case_id, "paths": case.paths, "patient_id": case.patient_id,
                 "study_id": case.study_id, "metadata": case.metadata,
                 "labels": {r: dict(t) for r, t in labels.get(case.case_id, {}).items()},
                 "predictions": preds.get(case.case_id, {})}
        if project.task == Task.DETECTION:
            entry["candidate_decisions"] = candidates.get(case.case_id, {})
        out.append(entry)
    return out
