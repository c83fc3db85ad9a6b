"""`workstation samples [--json] [--no-download] [--list]`: prepare and list the real sample images
(pydicom-data DICOMs, the nilearn MNI152 brain, 16 labelled chest X-rays fetched once from PyPI).
Exit 0 when every sample is ready, 2 otherwise (one line per missing sample on stderr)."""
from __future__ import annotations

import json
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser("samples", help="prepare and list the real sample images", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON list")
    parser.add_argument("--no-download", action="store_true",
                        help="do not fetch the chest X-rays from PyPI (list them only if already cached)")
    parser.add_argument("--list", action="store_true", help="only list what is ready; prepare nothing")
    parser.set_defaults(func=run)


def run(args) -> int:
    from workstation.core.io import samples
    items = samples.catalogue(prepare=not args.list, download=not args.no_download)
    if args.json:
        print(json.dumps(items, indent=2))
    else:
        width = max(len(i["name"]) for i in items)
        for item in items:
            print(f"{item['name']:{width}s}  {item['path'] or '(not ready)'}")
    missing = [i for i in items if i["error"]]
    for item in missing:
        print(f"workstation samples: {item['name']}: {item['error']}", file=sys.stderr)
    return 2 if missing else 0
