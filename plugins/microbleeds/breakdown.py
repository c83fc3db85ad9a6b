"""Sensitivity by size and region of a `workstation detect` result against a truth index, at the
best operating point with at most `--max-fp` false positives per subject; stage-1 sensitivity
when the detections were run with `--min-score 0` (every screened candidate listed).

    .venv/bin/python -m plugins.microbleeds.breakdown PRED.json TRUTH.json [--max-fp 1]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

SIZES = ((2, 4), (4, 6), (6, 10.01))


def _bootstrap_ci(matches, max_fp: float, n: int = 1000, seed: int = 0) -> list[float]:
    """95 % percentile CI of the sensitivity at <= max_fp FP/subject, resampling subjects."""
    from workstation.core.metrics.detection import froc_curve, sensitivity_at

    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n):
        pick = [matches[i] for i in rng.integers(len(matches), size=len(matches))]
        if sum(m.n_lesions for m in pick):
            values.append(sensitivity_at(froc_curve(pick), max_fp)[0])
    return [round(float(v), 3) for v in np.percentile(values, [2.5, 97.5])]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pred", type=Path)
    parser.add_argument("truth", type=Path)
    parser.add_argument("--max-fp", type=float, default=1.0)
    args = parser.parse_args(argv)
    from workstation.core.metrics.detection import evaluate, match_subject, sensitivity_at

    pred = {str(v["id"]): v.get("candidates") or [] for v in json.loads(args.pred.read_text())["volumes"]}
    subjects = json.loads(args.truth.read_text())["subjects"]
    matches, rows = [], []
    for s in subjects:
        cands = pred[str(s["id"])]
        les = s["lesions"]
        m = match_subject([c["centre"] for c in cands], [c["score"] for c in cands],
                          [x["centre"] for x in les], [x["diameter_mm"] for x in les], str(s["id"]))
        matches.append(m)
        rows += [{"region": x.get("region", "?"), "d": float(x["diameter_mm"]), "score": float(v)}
                 for x, v in zip(les, m.lesion_scores)]
    report = evaluate(matches, threshold=0.5, bootstrap=1000)
    sens, fp, thr = sensitivity_at(report.froc, args.max_fp)
    found = lambda sel: f"{sum(np.isfinite(r['score']) and r['score'] >= thr for r in sel)}/{len(sel)}"  # noqa: E731
    out = {"subjects": len(subjects), "lesions": len(rows), "cpm": round(report.cpm, 3),
           "ci_cpm": report.to_json()["ci"].get("cpm"),
           f"sensitivity_at_<={args.max_fp:g}fp": round(sens, 3), "fp_per_subject": round(fp, 3),
           "ci_sensitivity": _bootstrap_ci(matches, args.max_fp), "threshold": thr,
           "by_size": {f"{lo}-{hi:g} mm": found([r for r in rows if lo <= r["d"] < hi]) for lo, hi in SIZES},
           "by_region": {g: found([r for r in rows if r["region"] == g]) for g in sorted({r["region"] for r in rows})}}
    out["screened"] = f"{sum(np.isfinite(r['score']) for r in rows)}/{len(rows)}"
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
