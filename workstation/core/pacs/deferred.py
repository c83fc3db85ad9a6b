"""PACS cases added before their images: a worklist of many studies is in the project at once (from
the query's answers alone), and each series is retrieved when it is read or prefetched.

Such a case's paths are the files its series will have in the cache,
`pacs_cache/<study>/<series>/<SOPInstanceUID>.dcm` (the instances the server lists when the case is
added), so once retrieved it is a case exactly as a fetched one. The cache creates the series' folder
only once the series is whole (see cache.py): until then the case is *pending*, and its metadata says
where to get it (`pacs`: node, study and series UIDs, `deferred`)."""
from __future__ import annotations

from dataclasses import dataclass

from workstation.core.pacs.cache import FetchPlan, cache_root, series_of
from workstation.core.pacs.client import connect
from workstation.core.pacs.errors import PacsError
from workstation.core.pacs.nodes import Node, resolve_node
from workstation.core.pacs.query import SERIES_FIELDS, row_from_dataset


@dataclass(frozen=True)
class PendingSeries:
    case_id: str
    node: str          # a saved node's name, or the URL it was added from
    study_uid: str
    series_uid: str

    def resolve(self) -> Node:
        return resolve_node(self.node)


def pacs_series_of(case) -> str | None:
    return ((case.metadata or {}).get("pacs") or {}).get("series_uid")


def pending(project_dir, case) -> PendingSeries | None:
    """Where to retrieve the case's images from, while they are not yet in the cache; else None."""
    pacs = (case.metadata or {}).get("pacs") or {}
    if not pacs.get("deferred"):
        return None
    folder = cache_root(project_dir) / pacs["study_uid"] / pacs["series_uid"]
    if folder.is_dir():
        return None
    return PendingSeries(case.case_id, pacs["node"], pacs["study_uid"], pacs["series_uid"])


def deferred_items(node: Node, plan: FetchPlan, project_dir) -> list[dict]:
    """The cases (as `Project.add_cases` items) of the series of `plan`, from the server's answers
    alone; raises PacsError for an unknown study or series. Network only: the project is untouched."""
    remote = connect(node)
    try:
        uids = series_of(node, plan, remote)
        rows = {r["SeriesInstanceUID"]: r for r in
                (row_from_dataset(d, SERIES_FIELDS) for d in remote.find_series(plan.study_uid))}
        studies = remote.find_studies({"StudyInstanceUID": plan.study_uid})
        instances = {uid: remote.list_instances(plan.study_uid, uid) for uid in uids}
    finally:
        remote.close()
    patient = str(studies[0].get("PatientID", "") or "") if studies else ""
    items = []
    for uid in uids:
        row = rows.get(uid, {})
        folder = cache_root(project_dir) / plan.study_uid / uid
        meta = {"series_uid": uid, "modality": row.get("Modality", ""), "kind": "dicom-series",
                "series_description": row.get("SeriesDescription", ""),
                "pacs": {"node": node.name, "study_uid": plan.study_uid, "series_uid": uid, "deferred": True,
                         "instances": len(instances[uid])}}
        paths = [str(folder / f"{sop}.dcm") for sop in instances[uid]]  # where cache.py will put them
        items.append({"paths": paths, "case_id": None, "name": uid, "patient_id": patient or None,
                      "study_id": plan.study_uid, "metadata": {k: v for k, v in meta.items() if v != ""}})
    return items


def add_new(project, items: list[dict]):
    """Add the items whose series is not a case yet; (added cases, series UIDs that were cases already)."""
    known = series_in(project)
    fresh = [i for i in items if i["metadata"]["series_uid"] not in known]
    already = [i["metadata"]["series_uid"] for i in items if i["metadata"]["series_uid"] in known]
    return (project.add_cases(fresh) if fresh else []), already


def add_deferred(project, node: Node, plan: FetchPlan):
    """Add the series of `plan` as pending cases (nothing is retrieved); (added cases, series UIDs
    that were cases already). Raises PacsError for an unknown study or series."""
    items = deferred_items(node, plan, project.directory)
    if not items:
        raise PacsError(f"{node.name}: nothing to add")
    return add_new(project, items)


def series_in(project) -> set[str]:
    """The series UIDs that are cases of the project already (pending, fetched or from files)."""
    found = set()
    for case in project.cases():
        meta = case.metadata or {}
        found.update(uid for uid in (meta.get("series_uid"), pacs_series_of(case)) if uid)
    return found
