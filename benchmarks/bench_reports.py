"""Report labeler throughput: full ConText labelling against the obvious baseline, the same
vocabulary matched as bare keywords (no negation, uncertainty or scope), on the same reports.

    .venv/bin/python benchmarks/bench_reports.py [N_REPORTS]
"""
from __future__ import annotations

import csv
import random
import sys
import time
from pathlib import Path

from plugins.report_labeler.labeler import create
from plugins.report_labeler.vocabulary import target_rules

SENTENCES = Path(__file__).resolve().parents[1] / "tests" / "core" / "reports" / "sentences.tsv"


def reports(n: int, seed: int = 0) -> list[str]:
    with open(SENTENCES, newline="") as fh:
        sentences = [r["sentence"] for r in csv.DictReader(fh, delimiter="\t")]
    rng = random.Random(seed)
    return [" ".join(rng.sample(sentences, 6)) for _ in range(n)]  # ~6-sentence reports


def keywords(text: str, rules) -> dict[str, int]:
    return {f: 1 for r in rules if r.findings for f in r.findings if r.regex.search(text)}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    texts = reports(n)
    labeler, rules = create(), target_rules()
    t0 = time.perf_counter()
    for t in texts:
        keywords(t, rules)
    t_kw = time.perf_counter() - t0
    t0 = time.perf_counter()
    labeler.label_many(texts)
    t_ctx = time.perf_counter() - t0
    words = sum(len(t.split()) for t in texts) / n
    print(f"{n} reports, {words:.0f} words each on average")
    print(f"keyword baseline : {n / t_kw:8.0f} reports/s")
    print(f"ConText labeler  : {n / t_ctx:8.0f} reports/s  ({t_ctx / t_kw:.1f}x the baseline's time)")
    print(f"100,000 reports  : {100_000 * t_ctx / n:.0f} s with the labeler")


if __name__ == "__main__":
    main()
