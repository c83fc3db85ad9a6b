"""Series fetched from a PACS become cases exactly as files do (a series is a case); the case
remembers where it came from (node, study and series UIDs) in its metadata."""
from __future__ import annotations

from workstation.core.pacs.cache import Fetched, FetchPlan, Progress, fetch
from workstation.core.pacs.deferred import series_in
from workstation.core.pacs.errors import PacsError
from workstation.core.pacs.nodes import Node


def add_from_pacs(project, node: Node, plan: FetchPlan, progress: Progress | None = None, cancel=None):
    """Fetch then add; (added cases, skipped lines, fetched series). The project is changed only
    after every series has arrived whole."""
    fetched: list[Fetched] = fetch(node, plan, project.directory, progress, cancel)
    if not fetched:
        raise PacsError(f"{node.name}: nothing to add")
    added, skipped = add_fetched(project, node.name, [(plan.study_uid, f) for f in fetched])
    return added, skipped, fetched


def add_fetched(project, node_name: str, fetched: list[tuple[str, Fetched]]):
    """Cases of series already in the cache, (study UID, Fetched) pairs, skipping series that are
    cases already (fetched, pending or from files); (added cases, skipped lines)."""
    from workstation.core.project.discover import find_cases

    known = {str(p) for case in project.cases() for p in case.paths}
    series_known = series_in(project)
    items, skipped = [], []
    for study_uid, f in fetched:
        if f.series_uid in series_known:
            continue
        found, problems = find_cases([str(f.folder)])
        skipped += problems
        for case in found:
            if any(str(p) in known for p in case.paths):
                continue  # this series is a case already
            meta = {**case.metadata, "pacs": {"node": node_name, "study_uid": study_uid, "series_uid": f.series_uid}}
            items.append({"paths": case.paths, "case_id": None, "patient_id": case.patient_id,
                          "study_id": case.study_id, "metadata": meta, "name": case.name})
    return (project.add_cases(items) if items else []), skipped
