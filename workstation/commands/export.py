"""`workstation export DIR OUT --format csv|monai|imagefolder|nifti` — a labelled set out of a project."""
from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="export a project's labelled set (csv, MONAI datalist, ImageFolder, NIfTI)",
        description="Write the project's images, truth and predictions to OUT with patient-grouped "
                    "stratified splits and a manifest (sha256 of every file). Never writes outside OUT; "
                    "never replaces an earlier export without --force; a killed export leaves the previous "
                    "set whole. `workstation export verify OUT` checks a set against its manifest "
                    "(exit 0, or 2 listing what differs).")
    p.add_argument("dir", help="project folder")
    p.add_argument("out", help="output folder (new or empty, or an earlier export with --force)")
    p.add_argument("--format", choices=["csv", "monai", "imagefolder", "nifti", "seg", "sr"],
                   help="required, except for `workstation export verify OUT`; seg = DICOM SEG of the masks "
                        "(or accepted findings as spheres), sr = DICOM SR of findings or labels (TID 1500)")
    p.add_argument("--push", metavar="NODE", default=None,
                   help="with --format seg|sr: send what was written to a PACS node (name or URL)")
    p.add_argument("--deidentify", action="store_true",
                   help="DICOM to the whole of PS3.15 Table E.1-1 (basic profile: pseudonyms, no dates, new "
                        "UIDs, no private tags; the options below add to it), other images without their "
                        "metadata, pseudonymous case, patient and file names, a deidentification.json report")
    _add_profile_options(p)
    p.add_argument("--deid-key", metavar="FILE", default=None,
                   help="secret for pseudonyms/dates/UIDs, to link two exports (default: random per export, "
                        "never stored)")
    p.add_argument("--splits", default="0.7,0.15,0.15", help="training,validation,test fractions "
                                                                "(default 0.7,0.15,0.15)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    p.add_argument("--truth", default="final",
                   help="final (default: adjudicated, else newest final label), consensus, original, "
                        "or a reader's name")
    p.add_argument("--plugin", default=None, help="model whose predictions are exported (default: latest used)")
    p.add_argument("--force", action="store_true", help="replace an earlier export in OUT")
    p.add_argument("--json", action="store_true", help="print the manifest (without the file list) as JSON")
    p.set_defaults(func=run)


_PROFILE_FLAGS = (
    ("retain-safe-private", "keep the private attributes of PS3.15 Table E.3.10-1 (and their creators)"),
    ("retain-uids", "keep the original UIDs"),
    ("retain-device-identity", "keep device serial numbers, station names and other device identity"),
    ("retain-institution-identity", "keep institution names, addresses and departments"),
    ("retain-patient-characteristics", "keep sex, age, size, weight, ethnic group, smoking, pregnancy status"),
    ("clean-descriptors", "keep descriptions and comments with the dataset's own identifiers, dates, long "
                          "numbers, e-mail addresses and phone numbers blanked out (best effort)"),
    ("clean-structured-content", "keep structured-report content, cleaned by the same rules"),
    ("clean-graphics", "keep graphic annotations, cleaned (overlay and curve bitmaps are still removed)"),
)


def _add_profile_options(parser) -> None:
    group = parser.add_argument_group("de-identification options (PS3.15 E.3; default: the basic profile alone)")
    group.add_argument("--retain-dates", choices=["full", "modified"], default=None,
                       help="keep dates: full = unchanged, modified = every date of a patient moved back by "
                            "one keyed number of days (intervals survive); default: dates removed or emptied")
    for flag, text in _PROFILE_FLAGS:
        group.add_argument("--" + flag, action="store_true", help=text)


def _fail(message: str) -> int:
    print(f"workstation export: {message}", file=sys.stderr)
    return 2


def run_verify(out: str, as_json: bool) -> int:
    from workstation.core.export import verify_manifest

    problems = verify_manifest(out)
    if as_json:
        print(json.dumps({"out": out, "ok": not problems, "problems": problems}, indent=2))
    else:
        for line in problems:
            print(line)
        if not problems:
            print(f"{out}: every file matches its manifest")
    if problems:
        print(f"workstation export verify: {len(problems)} difference(s) from the manifest", file=sys.stderr)
    return 2 if problems else 0


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    if args.dir == "verify" and not args.format:
        return run_verify(args.out, args.json)
    if not args.format:
        return _fail("--format is required (csv, monai, imagefolder, nifti, seg or sr)")

    from workstation.core.export import ExportError, parse_ratios
    from workstation.core.export.from_project import export_project
    from workstation.core.project import Project, ProjectError

    try:
        splits = parse_ratios(args.splits)
    except ValueError as exc:
        return _fail(str(exc))
    secret = None
    if args.deid_key:
        if not args.deidentify:
            return _fail("--deid-key only makes sense with --deidentify")
        try:
            secret = Path(args.deid_key).read_bytes()
        except OSError as exc:
            return _fail(f"{args.deid_key}: cannot read the key ({exc.strerror})")
        if len(secret) < 16:
            return _fail(f"{args.deid_key}: a key needs at least 16 bytes")
    from workstation.core.export.deid.cli import profile_options

    try:
        deid_options = profile_options(args)
    except ValueError as exc:
        return _fail(str(exc))
    if args.format in ("seg", "sr"):
        return _run_results(args, secret, deid_options)
    if args.push:
        return _fail("--push sends DICOM results: use it with --format seg or sr")
    try:
        with Project.open(args.dir) as project:
            result = export_project(project, args.out, args.format, truth=args.truth, splits=splits,
                                    seed=args.seed, deidentify=args.deidentify, secret=secret,
                                    force=args.force, plugin_id=args.plugin, deid_options=deid_options)
    except (ExportError, ProjectError) as exc:
        return _fail(str(exc))
    manifest = result.manifest
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps({k: v for k, v in manifest.items() if k != "files"}, indent=2))
    else:
        c = manifest["counts"]
        print(f"exported {c['cases']} case(s) of {c['patients']} patient(s) to {result.out} ({args.format}): "
              f"training {c['training']}, validation {c['validation']}, test {c['test']}; "
              f"{len(manifest['files'])} files in manifest.json"
              + (f"; {c['not_exported_without_truth']} case(s) without truth left out"
                 if c["not_exported_without_truth"] else ""))
    return 0


def _run_results(args: argparse.Namespace, secret, deid_options) -> int:
    from workstation.core.export import ExportError
    from workstation.core.export.results import export_results
    from workstation.core.export.results.writer import push
    from workstation.core.pacs import PacsError, resolve_node
    from workstation.core.project import Project, ProjectError

    try:
        node = resolve_node(args.push) if args.push else None
        with Project.open(args.dir) as project:
            result = export_results(project, args.out, args.format, deidentify=args.deidentify, secret=secret,
                                    deid_options=deid_options, force=args.force, plugin_id=args.plugin)
        sent = push(result.files, node) if node else 0
    except (ExportError, ProjectError, PacsError) as exc:
        return _fail(str(exc))
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    summary = {"out": str(result.out), "format": args.format, "files": [str(f) for f in result.files],
               "pushed": sent, "node": node.name if node else None, "warnings": result.warnings}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"wrote {len(result.files)} {args.format.upper()} object(s) to {result.out}"
              + (f"; sent {sent} to {node.name}" if node else ""))
    return 0
