"""`workstation annotate DIR CASE_ID --reader NAME --segment NAME (--sphere X,Y,Z,R | --mask FILE |
--from-candidates [PLUGIN]) [--erase]`: edit a reader's segmentation from a script, saved as a new
audited version exactly as a brush stroke in the viewer is (world LPS mm)."""
from __future__ import annotations

import argparse
import json
import re
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser("annotate", help="paint or erase a reader's segment (sphere in world mm, or a mask file)")
    p.add_argument("dir", help="project folder")
    p.add_argument("case_id")
    p.add_argument("--reader", required=True)
    p.add_argument("--segment", required=True, help="segment name (made when new)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--sphere", metavar="X,Y,Z,R", help="a sphere: centre in world LPS mm and radius in mm")
    what.add_argument("--mask", metavar="FILE", help="a mask image on the case's grid (.nii.gz, .nrrd)")
    what.add_argument("--from-candidates", metavar="PLUGIN", nargs="?", const="", default=None,
                      help="the case's latest detector candidates as spheres (also stored as the model's mask)")
    p.add_argument("--min-score", type=float, default=0.0, help="with --from-candidates")
    p.add_argument("--erase", action="store_true", help="remove instead of paint")
    p.add_argument("--colour", default=None, help="#rrggbb for a new segment")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
    # "--sphere -12,5,30,4": a coordinate list that starts with a minus is a value, not an option
    p._negative_number_matcher = re.compile(r"^-\.?\d")


def numbers(text: str, n: int, what: str) -> list[float]:
    import math

    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"{what} needs {n} numbers separated by commas, got {text!r}") from None
    if len(values) != n or not all(math.isfinite(v) for v in values):
        raise ValueError(f"{what} needs {n} finite numbers separated by commas, got {text!r}")
    return values


def run(args: argparse.Namespace) -> int:
    from workstation.core.errors import WorkstationError

    try:
        result = _annotate(args)
    except (WorkstationError, OSError, ValueError) as exc:
        print(f"workstation annotate: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(f"{result['case_id']} {result['segment']} ({result['reader']}): {result['voxels']} voxels, "
              f"{result['volume_mm3']:.1f} mm³, sha256 {result['sha256'][:16]}")
    return 0


def _annotate(args) -> dict:
    """Edited and saved through the review session, as the viewer's brush strokes are (audited with
    the reader, the time and the version before)."""
    from workstation.core.project import Project
    from workstation.core.review.session import ReviewSession
    from workstation.core.segmentation import from_model, store
    from workstation.core.segmentation.editor import SegmentationEditor
    from workstation.core.segmentation.grid import Grid

    sphere = numbers(args.sphere, 4, "--sphere") if args.sphere else None
    if sphere and sphere[3] <= 0:
        raise ValueError(f"--sphere needs a positive radius, got {sphere[3]:g}")
    with Project.open(args.dir) as project:
        session = ReviewSession(project, reader=args.reader)
        segment = store.add_segment(project, args.segment, args.colour).name
        volume = store.case_volume(project, args.case_id)
        grid = Grid.of(volume)
        editor = SegmentationEditor(grid, volume.array, store.load_masks(project, args.case_id, args.reader))
        if sphere:
            editor.dab(segment, sphere[:3], sphere[3], erase=args.erase)
        elif args.mask:
            editor.paint_mask(segment, store.read_mask_file(args.mask, grid), erase=args.erase)
        else:
            plugin, spheres = from_model.candidate_spheres(project, args.case_id, args.from_candidates or None,
                                                           args.min_score)
            model_mask = from_model.spheres_mask(grid, spheres)
            session.save_segment(args.case_id, segment, model_mask, grid, reader=from_model.model_reader(plugin),
                                 source=f"model:{plugin}")
            editor.paint_mask(segment, model_mask, erase=args.erase)
        source = "reader" if args.from_candidates is None else "model-assisted"
        change = session.save_segment(args.case_id, segment, editor.mask(segment), grid, source=source)
    saved = change.new
    return {"case_id": args.case_id, "reader": args.reader, "segment": segment, "voxels": saved["voxels"],
            "volume_mm3": saved["volume_mm3"], "sha256": saved["sha256"], "file": saved["file"],
            "previous_sha256": (change.old or {}).get("sha256")}
