"""The report labeler object the plugin host builds: `label(text)` gives, for each finding the report
mentions, 1 (present), 0 (negated) or -1 (uncertain), as CheXpert reports them."""
from __future__ import annotations

from typing import Callable, Iterable, Sequence

from workstation.plugin_api import Cancelled, PluginError

from .context import ConText, Mention
from .modifiers import ALTERNATIVE, COMMA_CLAUSE, modifier_rules
from .vocabulary import FINDINGS, NO_FINDING, NORMAL, target_rules

# Several mentions of one finding: a positive one wins, then an uncertain one (CheXpert's order).
_RANK = {1: 2, -1: 1, 0: 0}


class ReportLabeler:
    kind = "report_labeler"
    classes = FINDINGS + (NO_FINDING,)
    weights_sha256 = ""

    def __init__(self) -> None:
        self.engine = ConText(target_rules(), modifier_rules(), terminate_after_comma=COMMA_CLAUSE,
                              alternative=ALTERNATIVE)

    def load(self, device: str = "cpu") -> None:
        """Rules need no device and no weights."""

    def mentions(self, text: str) -> list[Mention]:
        """Every finding phrase found, with its value and the trigger that decided it (for display)."""
        return self.engine.mentions(text or "")

    def label(self, text: str) -> dict[str, int]:
        """Only the findings the report mentions, in ChestX-ray14 order, then "No Finding"."""
        return aggregate(self.mentions(text))

    def label_many(self, texts: Sequence[str], progress: Callable[[float], None] | None = None,
                   cancel: Callable[[], bool] | None = None) -> list[dict[str, int]]:
        out = []
        for n, text in enumerate(texts):
            if cancel is not None and cancel():
                raise Cancelled("report labelling cancelled")
            out.append(self.label(text))
            if progress is not None:
                progress((n + 1) / len(texts))
        return out

    def predict(self, batch, progress=None, cancel=None):
        raise PluginError("a report labeler reads report text: call label(text) or label_many(texts)")


def aggregate(mentions: Iterable[Mention]) -> dict[str, int]:
    """"No Finding" is mentioned when any finding or a normal-study statement is: 0 when a finding
    is present, else -1 when one is uncertain, else 1."""
    values: dict[str, int] = {}
    mentioned = False
    for m in mentions:
        mentioned = True
        for finding in m.findings:
            if finding == NORMAL:
                continue
            if finding not in values or _RANK[m.value] > _RANK[values[finding]]:
                values[finding] = m.value
    out = {f: values[f] for f in FINDINGS if f in values}
    if mentioned:
        present = set(out.values())
        out[NO_FINDING] = 0 if 1 in present else -1 if -1 in present else 1
    return out


def create(checkpoint=None, options=None) -> ReportLabeler:
    """The plugin factory; a rule-based labeler takes no checkpoint."""
    return ReportLabeler()
