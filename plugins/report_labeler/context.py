"""A small ConText engine (Harkema et al. 2009): find target phrases and modifier phrases in each
sentence, give every modifier a scope (forward, backward or both, cut at the sentence end, at a
terminating word such as "but", and optionally after a few words), and let the nearest modifier
whose scope covers a target decide it: negated, uncertain or (none) present.

medspaCy's ConText does the same on a spaCy pipeline; it is not used here because installing it
would downgrade this environment's numpy 2 to 1.26 (spaCy < 3.8 via medspaCy's pin) and pull ~45
packages (QuickUMLS, nltk, Cython, ...). This file is plain `re`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

NEGATED, UNCERTAIN, PSEUDO, TERMINATE = "negated", "uncertain", "pseudo", "terminate"
FORWARD, BACKWARD, BOTH = "forward", "backward", "both"


def compile_phrase(pattern: str) -> re.Pattern:
    """A phrase matched on whole words, with any run of spaces in the pattern matching any whitespace."""
    pattern = re.sub(r"(?:\\ | )+", r"\\s+", pattern)
    # no leading look-behind: it would stop `re` from skipping ahead to a literal prefix;
    # `_find` checks the word start instead (about 2x faster on reports)
    return re.compile(rf"(?:{pattern})(?![\w-])", re.IGNORECASE)


@dataclass(frozen=True)
class TargetRule:
    """`findings` may be empty: the phrase then only hides shorter targets inside it ("mass effect").
    `fixed` gives the phrase its own value ("heart size is normal" -> 0) that no modifier changes."""
    pattern: str
    findings: tuple[str, ...]
    fixed: int | None = None
    regex: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "regex", compile_phrase(self.pattern))


@dataclass(frozen=True)
class ModifierRule:
    pattern: str
    category: str
    direction: str = FORWARD
    window: int | None = None  # the scope ends after this many words
    regex: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "regex", compile_phrase(self.pattern))


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str
    rule: object


@dataclass(frozen=True)
class Mention:
    """One target in one sentence, with the value ConText gave it and the modifier that decided it."""
    findings: tuple[str, ...]
    value: int  # 1 present, 0 negated, -1 uncertain
    start: int  # character offsets in the whole report
    end: int
    text: str
    trigger: str | None = None


_ABBREVIATION = re.compile(r"(?:^|[^\w.])(?:vs|e\.g|i\.e|approx|dr|fig|etc|cf|incl|hx)$")
_HEADER = re.compile(r"(?:^|(?<=\s))(?:(?:clinical )?history|indication|reason for (?:exam|study)|comparison|technique|"
                     r"findings|impression|conclusion|summary|opinion)\s*:|(?:^|(?<=\s))\d{1,2}[.)](?=\s)", re.IGNORECASE)


def _sentence_bounds(text: str) -> list[tuple[int, int]]:
    """Sentences as (start, end): ends at . ! ? ; (not inside numbers or after abbreviations), at a
    blank line, before a section header ("Impression:") and before a numbered item ("2. ...")."""
    cuts = {0, len(text)}
    for m in re.finditer(r"[.!?;]+(?=\s|$)", text):
        before = text[max(0, m.start() - 8):m.start()].lower()
        if m.group().startswith(".") and (_ABBREVIATION.search(before) or re.search(r"(?:^|\s)\d{1,2}$", before)):
            continue  # "vs." or the "2." of a numbered list (the list item itself is cut below)
        cuts.add(m.end())
    for m in re.finditer(r"\n\s*\n", text):
        cuts.add(m.end())
    for m in _HEADER.finditer(text):
        cuts.add(m.start())
    points = sorted(cuts)
    out = []
    for a, b in zip(points, points[1:]):
        if text[a:b].strip():
            out.append((a, b))
    return out


def _longest_first(spans: Iterable[Span]) -> list[Span]:
    """Overlapping matches: the longest wins, then the earliest."""
    kept: list[Span] = []
    for s in sorted(spans, key=lambda s: (-(s.end - s.start), s.start)):
        if all(s.end <= k.start or s.start >= k.end for k in kept):
            kept.append(s)
    return sorted(kept, key=lambda s: s.start)


def _find(rules: Sequence, sentence: str, offset: int) -> list[Span]:
    spans = []
    for rule in rules:
        for m in rule.regex.finditer(sentence):
            if m.start() == 0 or not _WORD_CHAR.match(sentence, m.start() - 1):
                spans.append(Span(m.start() + offset, m.end() + offset, m.group(), rule))
    return _longest_first(spans)


_WORD = re.compile(r"\w+")
_WORD_CHAR = re.compile(r"[\w-]")


class ConText:
    """Targets and modifiers are rule lists; `terminate_after_comma` is a regex for what may follow
    a comma to end a scope there (dictated reports splice clauses with commas: "No effusion, small
    pneumothorax")."""

    def __init__(self, targets: Sequence[TargetRule], modifiers: Sequence[ModifierRule],
                 terminate_after_comma: str | None = None, alternative: str | None = None):
        self.targets = list(targets)
        self.modifiers = [m for m in modifiers if m.category != TERMINATE]
        self.terminators = [m for m in modifiers if m.category == TERMINATE]
        self.comma = re.compile(rf",\s*(?=(?:{terminate_after_comma})(?![\w-]))", re.IGNORECASE) if terminate_after_comma else None
        self.alternative = re.compile(rf"^\s*,?\s*(?:{alternative})\s+(?:[\w-]+\s+){{0,3}}$", re.IGNORECASE) if alternative else None

    def mentions(self, text: str) -> list[Mention]:
        out: list[Mention] = []
        for a, b in _sentence_bounds(text):
            out.extend(self._sentence(text, a, b))
        return out

    def _sentence(self, text: str, a: int, b: int) -> list[Mention]:
        sentence = text[a:b]
        targets = _find(self.targets, sentence, a)
        if not targets:
            return []
        # pseudo-triggers only disarm the words inside them: found with the others, then dropped
        modifiers = [m for m in _find(self.modifiers, sentence, a) if m.rule.category != PSEUDO]
        stops = sorted({s.start for s in _find(self.terminators, sentence, a)}
                       | ({m.start() + a for m in self.comma.finditer(sentence)} if self.comma else set()))
        out = []
        for i, t in enumerate(targets):
            rule: TargetRule = t.rule
            if not rule.findings:
                continue
            if rule.fixed is not None:
                out.append(Mention(rule.findings, rule.fixed, t.start, t.end, t.text, None))
                continue
            best = None
            for m in modifiers:
                distance = self._reach(m, t, stops, text, a, b)
                if distance is None:
                    continue
                if best is None or distance < best[0]:
                    best = (distance, m)
            value, trigger = 1, None
            if best is not None:
                trigger = best[1].text
                value = 0 if best[1].rule.category == NEGATED else -1
            if value == 1 and best is None and self._in_alternative(targets, i, text):
                value, trigger = -1, "or"
            out.append(Mention(rule.findings, value, t.start, t.end, t.text, trigger))
        return out

    @staticmethod
    def _reach(m: Span, t: Span, stops: list[int], text: str, a: int, b: int) -> int | None:
        """Characters between modifier and target when the modifier's scope covers the target."""
        rule: ModifierRule = m.rule
        if m.start >= t.start and m.end <= t.end:
            return 0  # "heart is not enlarged": the modifier sits inside the target phrase
        if rule.direction in (FORWARD, BOTH) and t.start >= m.end:
            end = min([s for s in stops if s >= m.end] + [b])
            if t.start < end and _within(rule.window, text[m.end:t.start]):
                return t.start - m.end
        if rule.direction in (BACKWARD, BOTH) and t.end <= m.start:
            start = max([s for s in stops if s < m.start] + [a])
            if t.start >= start and _within(rule.window, text[t.end:m.start]):
                return m.start - t.end
        return None

    def _in_alternative(self, targets: list[Span], i: int, text: str) -> bool:
        """"atelectasis or scarring": either may be the truth, so both are uncertain."""
        if self.alternative is None:
            return False
        neighbours = []
        if i + 1 < len(targets):
            neighbours.append(text[targets[i].end:targets[i + 1].start])
        if i > 0:
            neighbours.append(text[targets[i - 1].end:targets[i].start])
        return any(self.alternative.match(gap) for gap in neighbours)


def _within(window: int | None, between: str) -> bool:
    return window is None or len(_WORD.findall(between)) <= window
