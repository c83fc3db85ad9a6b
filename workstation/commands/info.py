"""`workstation info PATH... [--json]`: every image or series found under the paths, with geometry
and value statistics, and every file or folder refused, with the reason. Exit 0 when everything was
read, 2 when anything was refused (one line per refusal on stderr; with --json also in the
"refused" list)."""
from __future__ import annotations

import json
import math
import sys

FIELDS = ("path", "kind", "size", "spacing", "origin", "direction", "dtype", "modality", "min", "max",
          "mean", "frames", "series_uid", "description", "warnings")


def register(subparsers) -> None:
    parser = subparsers.add_parser("info", help="list the images and series in files or folders",
                                   description=__doc__)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image file or folder (searched recursively)")
    parser.add_argument("--json", action="store_true", help="print one JSON list instead of text")
    parser.set_defaults(func=run)


def describe(volume) -> dict:
    """The `info` record of one Volume (JSON-ready; statistics ignore NaN/Inf, null when none)."""
    lo, hi, mean, _ = volume.stats()
    paths = volume.sources
    if len(paths) > 1:
        import os

        path = os.path.commonpath([str(p.parent) for p in paths])
    else:
        path = str(paths[0]) if paths else ""
    return {
        "path": path,
        "kind": volume.kind,
        "size": list(volume.size),
        "spacing": [float(v) for v in volume.spacing],
        "origin": [float(v) for v in volume.origin],
        "direction": [float(v) for v in volume.direction.ravel()],
        "dtype": str(volume.array.dtype),
        "modality": volume.modality,
        "min": _finite(lo),
        "max": _finite(hi),
        "mean": _finite(mean),
        "frames": int(volume.frames),
        "series_uid": volume.series_uid,
        "description": volume.description,
        "warnings": list(volume.warnings),
    }


def run(args) -> int:
    import warnings

    from workstation.core.io import ImageReadError, ReadCancelled, read

    # pydicom warns (two lines each) about harmless header oddities; stderr is for refusals only
    warnings.simplefilter("ignore")
    records, refused = [], []
    for path in args.paths:
        errors: list = []
        try:
            volumes = read(path, errors=errors)
        except (ImageReadError, ReadCancelled) as exc:  # read() with an errors list rarely raises
            errors.append(exc)
            volumes = []
        except Exception as exc:  # noqa: BLE001 - one bad path must not hide the others
            errors.append(ImageReadError(path, f"unexpected {type(exc).__name__}: {exc}"))
            volumes = []
        if not volumes and not errors:
            errors.append(ImageReadError(path, "no images found"))
        records.extend((describe(v), v.is_rgb) for v in volumes)
        refused.extend(_refusal(e, path) for e in errors)
    if args.json:
        print(json.dumps({"images": [record for record, _ in records], "refused": refused}, indent=2))
    else:
        for record, rgb in records:
            print(_text(record, rgb))
    for item in refused:
        print(f"workstation info: {item['path']}: {item['reason']}", file=sys.stderr)
    return 2 if refused else 0


def _refusal(error, given) -> dict:
    path = getattr(error, "path", given)
    reason = getattr(error, "reason", None) or " ".join(str(error).split())
    return {"path": str(path), "reason": reason}


def _finite(value: float):
    return float(value) if value is not None and math.isfinite(value) else None


def _text(r: dict, rgb: bool) -> str:
    def nums(values, digits=6):
        return " ".join(f"{v:.{digits}g}" for v in values)

    stats = "no finite values" if r["min"] is None else f"min {r['min']:.6g}  max {r['max']:.6g}  mean {r['mean']:.6g}"
    lines = [
        r["path"],
        f"  {r['kind']}  {'x'.join(str(s) for s in r['size'])}  {r['dtype']}{' RGB' if rgb else ''}  "
        f"{r['modality'] or '-'}  "
        f"frames {r['frames']}  {r['description']}".rstrip(),
        f"  spacing {nums(r['spacing'])} mm  origin {nums(r['origin'], 6)} mm (LPS)",
        f"  direction {nums(r['direction'], 4)}",
        f"  {stats}",
    ]
    if r["series_uid"]:
        lines.append(f"  series {r['series_uid']}")
    lines.extend(f"  warning: {w}" for w in r["warnings"])
    return "\n".join(lines) + "\n"
