"""A PACS query as a batch source: every series that `workstation pacs query NODE --series` with the
same filters lists is one input. The series is retrieved by the task itself, on its worker (WADO-RS
or C-GET, through `core.pacs.cache.fetch_series`), into `<cache>/pacs_cache/<study>/<series>/`, so
a rerun or a task sent again finds it there. An input's content hash stands on the UIDs and the
instance count the server reports: the DICOM UIDs name the content, and a series that gained
instances is run again. Secrets never travel in a task: a worker reads the node's password from
its own environment (`WORKSTATION_PACS_SECRET_<NAME>`) or keyring, as `workstation pacs` does."""
from __future__ import annotations

import hashlib
from pathlib import Path

from workstation.batch.sources import BatchInput, SourceError

KIND = "pacs-series"
FILTERS = ("patient_id", "name", "modality", "date", "accession", "study_uid")


def locator(node, study_uid: str, series_uid: str) -> str:
    """The row's `path`: where the series lives, as a WADO-RS style address."""
    where = node.url if node.kind == "dicomweb" else f"dimse://{node.aet}@{node.host}:{node.port}"
    return f"{where}/studies/{study_uid}/series/{series_uid}"


def series_hash(study_uid: str, series_uid: str, instances: str) -> str:
    return hashlib.sha256(f"dicom-series\x1f{study_uid}\x1f{series_uid}\x1f{instances}".encode()).hexdigest()


def list_series(node_text: str, filters: dict[str, str], cache_dir) -> list[BatchInput]:
    from workstation.core.pacs import PacsError, QueryFilter, resolve_node
    from workstation.core.pacs.cache import cache_root
    from workstation.core.pacs.client import query

    unknown = set(filters) - set(FILTERS)
    if unknown:
        raise SourceError(f"unknown PACS filter {sorted(unknown)[0]!r}")
    try:
        node = resolve_node(node_text)
        rows = query(node, QueryFilter(**{k: v for k, v in filters.items() if v}), series=True)
    except PacsError as exc:
        raise SourceError(str(exc)) from None
    node_fields = dict(node.to_json(), name=node.name)
    inputs = []
    for row in rows:
        study, series = row["StudyInstanceUID"], row["SeriesInstanceUID"]
        if not study or not series:
            continue
        folder = cache_root(cache_dir) / study / series
        item = BatchInput(series, locator(node, study, series), [str(folder)], KIND,
                          content_hash=series_hash(study, series, row.get("NumberOfSeriesRelatedInstances", "")))
        item.pacs = {"node": node_fields, "study_uid": study, "series_uid": series, "cache": str(cache_dir)}
        inputs.append(item)
    inputs.sort(key=lambda i: i.case_id)
    return inputs


def retrieve(item: dict) -> list[str]:
    """On the worker: the series' files in the cache, fetched first when they are not there yet.
    Raises PacsError with the one line to show."""
    from workstation.core.pacs.cache import fetch_series
    from workstation.core.pacs.nodes import Node

    pacs = item["pacs"]
    node = Node(**pacs["node"])
    fetched = fetch_series(node, pacs["study_uid"], pacs["series_uid"], pacs["cache"])
    return sorted(str(p) for p in Path(fetched.folder).glob("*.dcm"))
