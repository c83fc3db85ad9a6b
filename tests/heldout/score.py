"""Score `workstation detect` output on the held-out phantoms, per variant.

`python -m tests.heldout.score OUT` reads OUT/VARIANT/truth.json and OUT/VARIANT/pred.json for every
variant folder, and prints sensitivity at <= 1 FP/subject (with its FP/subject and threshold), CPM,
both with 95 % bootstrap CIs over subjects, sensitivity by size (2-4, 4-6, 6-10 mm) and by region at
that operating point, any-score sensitivity, and how many false positives lie outside the brain.
The hit rule is the project's (workstation.core.metrics.detection): within max(radius, 2 mm), one
hit per bleed. Writes OUT/report.json. Exit 0, or 2 when a folder lacks its files."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

SIZES = ((2, 4), (4, 6), (6, 10.001))
REGIONS = ("lobar", "deep", "infratentorial")


def _match(truth: dict, pred: dict):
    from workstation.core.metrics.detection import match_subject
    vols = {str(v["id"]): v for v in pred["volumes"]}
    out = []
    for s in truth["subjects"]:
        vol = vols.get(s["id"])
        if vol is None or vol.get("error"):
            raise ValueError(f"subject {s['id']}: {'no detections' if vol is None else vol['error']}")
        cands = vol.get("candidates") or []
        m = match_subject([c["centre"] for c in cands], [c["score"] for c in cands],
                          [les["centre"] for les in s["lesions"]], [les["diameter_mm"] for les in s["lesions"]], s["id"])
        out.append((s, cands, m))
    return out


def _op(matches, max_fp=1.0):
    from workstation.core.metrics.detection import cpm, froc_curve, sensitivity_at
    curve = froc_curve([m for _, _, m in matches])
    sens, fp, thr = sensitivity_at(curve, max_fp)
    return sens, fp, thr, cpm(curve)[0]


def _outside_brain(points, brain_of):
    if brain_of is None or not len(points):
        return 0
    return int(np.sum(~brain_of(np.asarray(points, float))))


def score_variant(truth: dict, pred: dict, bootstrap=1000, brain_of=None) -> dict:
    matches = _match(truth, pred)
    sens, fp, thr, cpm_value = _op(matches)
    rng = np.random.default_rng(0)
    draws = []
    for _ in range(bootstrap):
        sample = [matches[i] for i in rng.integers(0, len(matches), len(matches))]
        draws.append(_op(sample)[::3])
    draws = np.array(draws) if draws else np.zeros((0, 2))
    ci = {k: [float(np.quantile(draws[:, i], 0.025)), float(np.quantile(draws[:, i], 0.975))]
          for i, k in enumerate(("sensitivity_at_1fp", "cpm"))} if len(draws) else {}
    lesions, found, any_found, fps, fps_out, n_cands = [], [], [], 0, 0, 0
    for s, cands, m in matches:
        lesions += s["lesions"]
        found += list(np.nan_to_num(m.lesion_scores, nan=-np.inf) >= thr)
        any_found += list(np.isfinite(m.lesion_scores))
        n_cands += len(cands)
        fp_pts = [c["centre"] for c, h in zip(cands, m.hit_lesion) if h < 0 and c["score"] >= thr]
        fps += len(fp_pts)
        fps_out += _outside_brain(fp_pts, brain_of)
    diam = np.array([les["diameter_mm"] for les in lesions])
    found = np.array(found, bool)

    def rate(mask):
        return {"n": int(mask.sum()), "sensitivity": float(found[mask].mean()) if mask.any() else None}

    all_cands = [c["centre"] for _, cands, _ in matches for c in cands]
    return {"n_subjects": len(matches), "n_lesions": len(lesions), "sensitivity_at_1fp": sens,
            "fp_per_subject": fp, "threshold": None if thr == float("inf") else thr, "cpm": cpm_value, "ci": ci,
            "by_size": {f"{lo:g}-{hi:.0f}": rate((diam >= lo) & (diam < hi)) for lo, hi in SIZES},
            "by_region": {r: rate(np.array([les["region"] == r for les in lesions])) for r in REGIONS},
            "sensitivity_any_score": float(np.mean(any_found)) if any_found else None,
            "candidates_per_subject": n_cands / max(len(matches), 1),
            "candidates_outside_brain": _outside_brain(all_cands, brain_of),
            "fp_at_op_outside_brain": fps_out, "fp_at_op": fps}


def _brain_lookup():
    try:
        from tests.heldout.base import load_base
    except ImportError:
        return None
    base = load_base()

    def inside(pts):
        idx = np.rint(base.world_to_index(pts)).astype(int)
        ok = np.all((idx >= 0) & (idx < base.brain.shape), axis=1)
        res = np.zeros(len(pts), bool)
        res[ok] = base.brain[tuple(idx[ok].T)]
        return res
    return inside


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m tests.heldout.score OUT", file=sys.stderr)
        return 2
    out = Path(argv[0])
    brain_of = _brain_lookup()
    report = {}
    for folder in sorted(p for p in out.iterdir() if (p / "truth.json").exists()):
        try:
            truth = json.loads((folder / "truth.json").read_text())
            pred = json.loads((folder / "pred.json").read_text())
            report[folder.name] = score_variant(truth, pred, brain_of=brain_of)
        except (OSError, ValueError, KeyError) as exc:
            print(f"heldout score: {folder.name}: {exc}".splitlines()[0], file=sys.stderr)
            return 2
    (out / "report.json").write_text(json.dumps(report, indent=1))
    print(f"{'variant':9s} {'sens@<=1FP [95% CI]':24s} {'FP/subj':>7s} {'CPM [95% CI]':22s} {'any':>5s} "
          f"{'2-4':>5s} {'4-6':>5s} {'6-10':>5s} {'lobar':>5s} {'deep':>5s} {'infra':>5s} {'cand/s':>6s} {'out%':>5s}")

    def f(v):
        return "  -  " if v is None else f"{v:5.2f}"
    for name, r in report.items():
        ci_s, ci_c = r["ci"].get("sensitivity_at_1fp", [np.nan] * 2), r["ci"].get("cpm", [np.nan] * 2)
        n_out = r["candidates_outside_brain"] / max(r["candidates_per_subject"] * r["n_subjects"], 1) * 100
        print(f"{name:9s} {r['sensitivity_at_1fp']:.3f} [{ci_s[0]:.2f}, {ci_s[1]:.2f}]       {r['fp_per_subject']:7.2f} "
              f"{r['cpm']:.3f} [{ci_c[0]:.2f}, {ci_c[1]:.2f}]     {f(r['sensitivity_any_score'])} "
              + " ".join(f(v["sensitivity"]) for v in r["by_size"].values()) + " "
              + " ".join(f(v["sensitivity"]) for v in r["by_region"].values())
              + f" {r['candidates_per_subject']:6.1f} {n_out:5.1f}")
    n_les = {name: r["n_lesions"] for name, r in report.items()}
    print(f"bleeds per variant: {sorted(set(n_les.values()))}; size/region columns: sensitivity at the <= 1 FP/subject "
          "threshold; any: at any score; out%: candidates outside the brain mask. Full report: report.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
