"""Several readers: agreement between their final labels and the cases that need adjudication.

Agreement uses Cohen's kappa for two readers (cases both labelled) and Fleiss' kappa for three or
more (cases every reader labelled: Fleiss needs the same number of ratings per case). States
(uncertain, not assessable) are left out. Multi-label sets count as one category per exact set.
Adjudication is stored as tag "adjudicated" under the adjudicating reader's own name, so the
audit trail says who decided, and that person's own reading (tag "final") stays apart.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from workstation.core.project.values import canonical, is_class_label


@dataclass
class Agreement:
    readers: list[str]
    method: str | None            # "cohen" | "fleiss" | None (fewer than two readers)
    n_cases: int
    kappa: Any = None             # workstation.core.metrics.agreement.Kappa
    pairwise: dict[str, Any] = field(default_factory=dict)  # "a|b" -> Kappa, for three or more readers

    def summary(self) -> str:
        if self.method is None:
            return "agreement needs labels from two readers"
        k = self.kappa
        if k is None or k.kappa != k.kappa:
            reason = getattr(k, "reason", None) or "undefined"
            return f"{'Cohen' if self.method == 'cohen' else 'Fleiss'} κ undefined ({reason}; n={self.n_cases})"
        name = "Cohen's" if self.method == "cohen" else "Fleiss'"
        return f"{name} κ = {k.kappa:.3f} (95% CI {k.ci[0]:.3f}–{k.ci[1]:.3f}, n={self.n_cases}, " \
               f"{len(self.readers)} readers)"


def reader_labels(project) -> dict[str, dict[str, Any]]:
    """{case_id: {reader: value}} of the readers' own final labels."""
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    for lab in project.labels(tag="final"):
        out[lab.case_id][lab.reader] = lab.value
    return out


def agreement(project, readers: list[str] | None = None) -> Agreement:
    from workstation.core.metrics.agreement import cohen_kappa, fleiss_kappa

    by_case = reader_labels(project)
    if readers is None:
        readers = sorted({r for labels in by_case.values() for r in labels})
    usable = {c: {r: canonical(v) for r, v in labels.items()
                  if r in readers and is_class_label(v, project.task, project.classes)}
              for c, labels in by_case.items()}
    if len(readers) < 2:
        return Agreement(readers, None, 0)
    categories = sorted({v for labels in usable.values() for v in labels.values()})
    if len(readers) == 2:
        a, b = readers
        cases = [c for c, labels in usable.items() if a in labels and b in labels]
        kappa = cohen_kappa([usable[c][a] for c in cases], [usable[c][b] for c in cases],
                            categories=categories) if cases else None
        return Agreement(readers, "cohen", len(cases), kappa)
    cases = [c for c, labels in usable.items() if all(r in labels for r in readers)]
    table = [[sum(usable[c][r] == cat for r in readers) for cat in categories] for c in cases]
    kappa = fleiss_kappa(table) if cases else None
    pairwise = {}
    for i, a in enumerate(readers):
        for b in readers[i + 1:]:
            both = [c for c, labels in usable.items() if a in labels and b in labels]
            if both:
                pairwise[f"{a}|{b}"] = cohen_kappa([usable[c][a] for c in both], [usable[c][b] for c in both],
                                                   categories=categories)
    return Agreement(readers, "fleiss", len(cases), kappa, pairwise)


@dataclass
class Disagreement:
    case_id: str
    labels: dict[str, Any]        # reader -> value
    adjudicated: Any = None       # the adjudicated value, once there is one
    adjudicator: str | None = None


def disagreements(project, include_resolved: bool = True) -> list[Disagreement]:
    """Cases whose readers' final labels differ, in project case order."""
    by_case = reader_labels(project)
    resolved = {}
    for lab in project.labels(tag="adjudicated"):
        if lab.case_id not in resolved or lab.updated_at > resolved[lab.case_id].updated_at:
            resolved[lab.case_id] = lab
    out = []
    for case_id in project.case_ids():
        labels = by_case.get(case_id, {})
        if len({canonical(v) for v in labels.values()}) < 2:
            continue
        done = resolved.get(case_id)
        if done is not None and not include_resolved:
            continue
        out.append(Disagreement(case_id, dict(sorted(labels.items())), done.value if done else None,
                                done.reader if done else None))
    return out


def adjudicate(project, case_id: str, value, adjudicator: str, note: str | None = None):
    """Record the adjudicated label (tag "adjudicated", under the adjudicator's name; undoable)."""
    return project.set_label(case_id, value, reader=adjudicator, tag="adjudicated", action="adjudicate", note=note)
