"""`workstation phantom OUT [--n N] [--seed S] [--resolution R] [--style clinical|random] [--json]`: write SWI-like
microbleed phantoms built on the MNI152 brain: per volume NAME.nii.gz (the image), NAME_labels.nii.gz
(microbleed ids) and NAME.json (ground truth: microbleeds and mimics, centres in world mm LPS), and
OUT/truth.json, the index `workstation evaluate-detections` reads. Same seed, same phantoms.
Exit 0 on success, 2 on bad arguments or an unwritable folder."""
from __future__ import annotations

import json
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser("phantom", help="write synthetic microbleed phantoms with ground truth",
                                   description=__doc__)
    parser.add_argument("out", metavar="OUT", help="output folder (created if missing)")
    parser.add_argument("--n", type=int, default=10, help="number of volumes (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="series seed (default 0)")
    parser.add_argument("--resolution", choices=("1mm", "0.5x0.5x2mm", "0.45x0.45x2.5mm", "1x1x3mm"), default=None,
                        help="voxel size for every volume (default: each volume draws one)")
    parser.add_argument("--style", choices=("clinical", "random"), default="clinical",
                        help="clinical (skull, SNR 15-40; default) or random (the training domain randomisation)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    parser.set_defaults(func=run)


def run(args) -> int:
    if args.n < 1:
        print("workstation phantom: --n must be at least 1", file=sys.stderr)
        return 2
    from workstation.core.phantoms import generate

    def progress(done: int, total: int) -> None:
        if not args.json:
            print(f"phantom {done}/{total}", file=sys.stderr)

    try:
        index = generate(args.out, args.n, args.seed, args.resolution, progress=progress, style=args.style)
    except OSError as exc:
        print(f"workstation phantom: cannot write {args.out}: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"workstation phantom: {exc}", file=sys.stderr)
        return 2
    data = json.loads(index.read_text())
    subjects = data["subjects"]
    summary = {"out": str(index.parent), "truth": str(index), "seed": args.seed, "volumes": len(subjects),
               "microbleeds": sum(len(s["lesions"]) for s in subjects),
               "images": [str(index.parent / s["image"]) for s in subjects]}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"wrote {summary['volumes']} phantoms with {summary['microbleeds']} microbleeds to {summary['out']}")
    return 0
