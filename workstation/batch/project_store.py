"""`--project DIR`: the batch's ok rows also become predictions of a review project (through
`Project.add_predictions`, which the worklist and the live metrics listen to). An input that is
already a case (same file or series folder) gets its prediction; any other becomes a new case."""
from __future__ import annotations

import json
from pathlib import Path


class ProjectStore:
    """Call `store` on the thread that owns the project (the GUI thread for the dock's project)."""

    def __init__(self, project, owned: bool = False) -> None:
        from workstation.plugin_host.project_sink import case_path

        self.project, self.owned = project, owned
        self.by_path = {str(case_path(self.project.directory, c.paths).resolve()): c.case_id
                        for c in self.project.cases()}
        self.taken = set(self.by_path.values())
        self.stored = 0

    @classmethod
    def open(cls, directory) -> "ProjectStore":
        from workstation.core.project import Project

        return cls(Project.open(directory), owned=True)

    def close(self) -> None:
        if self.owned:
            self.project.close()

    def _case_ids(self, rows: list[dict], files: dict[str, list[str]]) -> list[str]:
        missing, wheres = [], []
        for row in rows:
            where, paths = _local(row, files)
            wheres.append(where)
            if where not in self.by_path:
                wanted = row["case_id"] if row["case_id"] not in self.taken else None
                missing.append((where, dict(paths=paths, case_id=wanted)))
                self.taken.add(wanted)
                self.by_path[where] = ""  # filled below
        if missing:
            added = self.project.add_cases([item for _, item in missing])
            for (where, _), case in zip(missing, added):
                self.by_path[where] = case.case_id
                self.taken.add(case.case_id)
        return [self.by_path[where] for where in wheres]

    def store(self, rows: list[dict], files: dict[str, list[str]]) -> int:
        """Store the ok rows; returns how many. Raises ValueError when the model does not fit the
        project (other classes)."""
        from workstation.core.project import PredictionRecord

        rows = [r for r in rows if r["status"] == "ok"]
        if not rows:
            return 0
        records = []
        for row, case_id in zip(rows, self._case_ids(rows, files)):
            body = json.loads(row["prediction"])
            probabilities = body.get("probabilities") or {}
            if probabilities and sorted(probabilities) != sorted(self.project.classes):
                raise ValueError(f"the model's classes {sorted(probabilities)} are not the project's "
                                 f"{sorted(self.project.classes)}")
            candidates = [dict(c, id=f"{row['plugin_id']}-{n}") for n, c in enumerate(body.get("candidates") or [])]
            records.append(PredictionRecord(
                case_id=case_id, probabilities=probabilities, plugin_id=row["plugin_id"],
                plugin_version=row["plugin_version"], weights_sha256=row["weights_sha256"], device=row["device"],
                created_at=row["created_at"], candidates=candidates or None, heatmap_path=None))
        self.project.add_predictions(records)
        self.stored += len(records)
        return len(records)


def _local(row: dict, files: dict[str, list[str]]) -> tuple[str, list[str]]:
    """(the case's one path as `case_path` gives it, the case's files). A PACS series' row names the
    server; its files are in the cache folder the task retrieved it to."""
    local = files.get(row["key"]) or [row["path"]]
    if len(local) == 1 and Path(local[0]).is_dir():
        folder = Path(local[0])
        names = sorted(str(p) for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
        one = names[0] if len(names) == 1 else folder
        return str(Path(one).resolve()), names or [str(folder)]
    return str(Path(row["path"]).resolve()), local


def project_source(project, path) -> Path:
    """A batch source CSV (case_id, path) of every case of `project`, for sending "all cases" to a
    cluster: each row's path is the case's file or series folder, so its rows map back to the case."""
    import csv

    from workstation.plugin_host.project_sink import case_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_id", "path"])
        for case in project.cases():
            writer.writerow([case.case_id, str(case_path(project.directory, case.paths).resolve())])
    tmp.replace(path)
    return path
