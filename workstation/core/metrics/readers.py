"""Agreement between a project's readers: Cohen's kappa for each pair on the cases both labelled,
Fleiss' kappa on the cases every reader labelled (binary and multi-class tasks)."""
from __future__ import annotations

from itertools import combinations

from . import agreement
from .report import clean


def reader_agreement(project, readers: list[str] | None = None) -> dict:
    if project.task not in ("binary", "multiclass"):
        return {"reason": f"reader agreement is computed for binary and multi-class tasks, not {project.task}"}
    readers = list(readers if readers is not None else project.readers())
    labels = {r: project.truth(r) for r in readers}  # each reader's own final class labels
    readers = [r for r in readers if labels[r]]
    classes = project.classes
    weights = "linear" if project.task == "multiclass" and len(classes) > 2 else None
    pairs = []
    for a, b in combinations(readers, 2):
        common = [c for c in labels[a] if c in labels[b]]
        k = agreement.cohen_kappa([labels[a][c] for c in common], [labels[b][c] for c in common],
                                  categories=classes)
        entry = {"readers": [a, b], "n": len(common), "kappa": k.kappa, "kappa_ci": list(k.ci), "reason": k.reason}
        if weights:
            entry["kappa_linear"] = agreement.cohen_kappa([labels[a][c] for c in common],
                                                          [labels[b][c] for c in common], "linear", classes).kappa
        pairs.append(entry)
    out = {"readers": readers, "cohen": pairs}
    if len(readers) >= 3:
        common = [c for c in labels[readers[0]] if all(c in labels[r] for r in readers[1:])]
        table, _ = agreement.ratings_to_table([[labels[r][c] for r in readers] for c in common], classes) \
            if common else ([], classes)
        f = agreement.fleiss_kappa(table) if common else None
        out["fleiss"] = ({"n": len(common), "kappa": f.kappa, "z": f.z, "p_value": f.p_value, "reason": f.reason}
                         if f else {"n": 0, "kappa": None, "reason": "no case was labelled by every reader"})
    return clean(out)
