"""Sentence sets for the report labeler, written for this project: `sentences.tsv` (the main set,
written before the engine) and `heldout.tsv` (written after it, scored once before any tuning)."""
import csv
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def load_sentences(name: str) -> list[dict]:
    rows = []
    with open(HERE / name, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            expected = {}
            for part in filter(None, (p.strip() for p in (row["expected"] or "").split(";"))):
                finding, value = part.split("=")
                expected[finding.strip()] = int(value)
            rows.append({"id": row["id"], "category": row["category"], "sentence": row["sentence"],
                         "expected": expected})
    return rows


def score(labeler_label, rows, findings) -> tuple[float, float, list]:
    """(accuracy over (sentence, finding) pairs mentioned by the truth or the labeler, exact-match
    rate per sentence, the rows that differ). Only the findings in `findings` count."""
    right = total = exact = 0
    wrong = []
    for row in rows:
        got = {k: v for k, v in labeler_label(row["sentence"]).items() if k in findings}
        want = {k: v for k, v in row["expected"].items() if k in findings}
        keys = set(got) | set(want)
        right += sum(got.get(k) == want.get(k) for k in keys)
        total += len(keys)
        exact += got == want
        if got != want:
            wrong.append((row["id"], row["sentence"], want, got))
    return right / max(total, 1), exact / len(rows), wrong


@pytest.fixture(scope="session")
def sentences():
    return load_sentences


@pytest.fixture(scope="session")
def scorer():
    return score


@pytest.fixture(scope="session")
def labeler():
    from plugins.report_labeler.labeler import create

    lab = create()
    lab.load("cpu")
    return lab
