"""`workstation project init|add|status|cases|audit` — review projects from the command line."""
from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser("project", help="create and inspect review projects")
    sub = parser.add_subparsers(dest="project_command", metavar="ACTION", required=True)

    p = sub.add_parser("init", help="create a project folder")
    p.add_argument("dir")
    p.add_argument("--task", required=True, choices=["binary", "multiclass", "multilabel", "detection"])
    p.add_argument("--classes", default=None,
                   help="comma-separated class names (binary: negative,positive); with --taxonomy, the leaves")
    p.add_argument("--taxonomy", metavar="TREE.json", default=None,
                   help="multiclass: a class hierarchy, nested JSON objects whose leaves ({}) are the classes "
                        "(see docs/readme/taxonomy.md)")
    p.add_argument("--db", default=None, help="database URL (default: SQLite file in the folder), "
                                               "e.g. postgresql://user@host/dbname")
    p.add_argument("--readers", default="", help="comma-separated reader names (optional)")
    p.add_argument("--app-role", default=None, metavar="ROLE",
                   help="PostgreSQL: --db names the owner, who runs the migrations; the project then connects "
                        "as ROLE, which may add labels and audit rows but cannot alter the schema or the audit")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_init)

    p = sub.add_parser("add", help="add images (a folder case by case; a DICOM series is one case)")
    p.add_argument("dir")
    p.add_argument("paths", nargs="*", metavar="PATH")
    p.add_argument("--follow-symlinks", action="store_true",
                   help="also add files that symbolic links lead to outside the folders given")
    p.add_argument("--headers-only", action="store_true",
                   help="check only the headers of new files, not their pixel data (fast, for an archive "
                        "already checked; by default every image is read whole and damaged ones are refused)")
    p.add_argument("--labels", help="CSV with case_id or path, and label (multi-label: ';'-separated)")
    p.add_argument("--labels-tag", default="original", choices=["original", "final"],
                   help="tag for imported labels (default original)")
    p.add_argument("--labels-reader", default="import", help="reader name for imported labels")
    p.add_argument("--predictions", help="CSV with case_id or path, and p_<class> columns")
    p.add_argument("--plugin-id", help="plugin id recorded for imported predictions (default csv:<file>)")
    p.add_argument("--reports", help="CSV with case_id or path, and report (DICOM SR beside cases is read too)")
    p.add_argument("--from-pacs", metavar="NODE", default=None,
                   help="fetch from a PACS node (name or URL) into DIR/pacs_cache, then add (a series is a case)")
    p.add_argument("--study", metavar="UID", default=None, help="with --from-pacs: the study to fetch")
    p.add_argument("--series", metavar="UID", action="append", default=[],
                   help="with --from-pacs: only this series (repeatable; default: every series of the study)")
    p.add_argument("--defer", action="store_true",
                   help="with --from-pacs: add the series as cases now, retrieve their images when read "
                        "(prefetched in the viewer) or with `workstation pacs retrieve DIR`")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_add)

    for name, helptext in (("status", "counts of cases, labels, readers"),
                           ("cases", "every case with its labels and latest predictions")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("dir")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=run_status if name == "status" else run_cases)

    p = sub.add_parser("audit", help="the audit trail of label changes")
    p.add_argument("dir")
    p.add_argument("--case", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_audit)

    p = sub.add_parser("verify", help="check the audit's hash chain and that every label equals the audit's "
                                      "last word for it (exit 2 listing what differs)")
    p.add_argument("dir")
    p.add_argument("--expect-head", default=None, metavar="HASH",
                   help="the chain's head hash recorded earlier (a rewrite of the whole chain is caught only so)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_verify)


def _fail(message: str) -> int:
    print(f"workstation project: {message}", file=sys.stderr)
    return 2


def _open(directory):
    from workstation.core.project import Project

    return Project.open(directory)


def _query(directory, read):
    """(read(project), None) on the opened project, or (None, the one-line reason) when it fails."""
    from workstation.core.project import ProjectError

    try:
        with _open(directory) as project:
            return read(project), None
    except ProjectError as exc:
        return None, str(exc)


def run_init(args: argparse.Namespace) -> int:
    from workstation.core.project import Project, ProjectError

    from workstation.core.taxonomy import Taxonomy, TaxonomyError

    if args.classes is None and args.taxonomy is None:
        return _fail("give --classes, or --taxonomy TREE.json (its leaves are the classes)")
    classes = [c.strip() for c in (args.classes or "").split(",") if c.strip()]
    readers = [r.strip() for r in args.readers.split(",") if r.strip()]
    try:
        taxonomy = Taxonomy.load(args.taxonomy) if args.taxonomy else None
        with Project.create(args.dir, args.task, classes, db_url=args.db, readers=readers,
                            app_role=args.app_role, taxonomy=taxonomy) as project:
            classes = project.classes
            info = {"directory": str(project.directory), "task": project.task, "classes": classes,
                    "database": project.db_url}
            if taxonomy is not None:
                info["taxonomy"] = {"levels": taxonomy.level_names, "nodes": len(taxonomy.nodes)}
    except (ProjectError, TaxonomyError) as exc:
        return _fail(str(exc))
    from workstation.core.project.server_roles import split_password

    if split_password(args.db)[1]:
        print("workstation project: the database password was used but not saved; give it next time with "
              "PGPASSWORD, ~/.pgpass or a libpq service file", file=sys.stderr)
    print(json.dumps(info, indent=2) if args.json else
          f"created {info['task']} project {info['directory']} ({', '.join(classes)}; {info['database']})")
    return 0


def run_add(args: argparse.Namespace) -> int:
    if args.from_pacs or args.study or args.series:
        from workstation.commands.pacs import run_project_add

        return run_project_add(args)
    from workstation.core.project import ProjectError
    from workstation.core.project.discover import find_cases
    from workstation.core.project.importing import import_labels, import_predictions

    try:
        with _open(args.dir) as project:
            found, skipped = find_cases(args.paths, follow_symlinks=args.follow_symlinks,
                                        verify=not args.headers_only)
            added = project.add_cases([{"paths": f.paths, "case_id": None, "patient_id": f.patient_id,
                                        "study_id": f.study_id, "metadata": f.metadata,
                                        "name": f.name} for f in found]) if found else []
            n_labels = n_preds = 0
            problems = list(skipped)
            if args.labels:
                n_labels, more = import_labels(project, args.labels, args.labels_reader, args.labels_tag)
                problems += more
            if args.predictions:
                n_preds, more = import_predictions(project, args.predictions, args.plugin_id)
                problems += more
            from workstation.core.reports.importing import import_reports

            n_reports, more = import_reports(project, args.reports)
            problems += more
    except ProjectError as exc:
        return _fail(str(exc))
    for line in problems:
        print(f"skipped {line}", file=sys.stderr)
    result = {"added": [c.case_id for c in added], "labels": n_labels, "predictions": n_preds,
              "reports": n_reports, "skipped": problems}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"added {len(added)} case(s), {n_labels} label(s), {n_preds} prediction(s), {n_reports} report(s)"
              + (f"; {len(problems)} skipped (see above)" if problems else ""))
    return 0 if not problems or added or n_labels or n_preds or n_reports else 1


def run_status(args: argparse.Namespace) -> int:
    from workstation.core.project.summary import status

    info, error = _query(args.dir, status)
    if error:
        return _fail(error)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(f"{info['directory']}: {info['task']} ({', '.join(info['classes'])}), {info['database']}")
        print(f"  {info['cases']} cases, {info['labelled']} labelled, {info['unlabelled']} unlabelled, "
              f"{info['with_predictions']} with predictions")
        print("  per class: " + ", ".join(f"{k} {v}" for k, v in info["per_class"].items()))
        if info["per_reader"]:
            print("  per reader: " + ", ".join(f"{k} {v}" for k, v in info["per_reader"].items()))
        if info.get("taxonomy"):
            print(f"  taxonomy: levels {', '.join(info['taxonomy']['levels'])}; labels at inner nodes: "
                  + ", ".join(f"{k} {v}" for k, v in info["taxonomy"]["per_node"].items()))
    return 0


def run_cases(args: argparse.Namespace) -> int:
    from workstation.core.project.summary import cases

    rows, error = _query(args.dir, cases)
    if error:
        return _fail(error)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            labels = "; ".join(f"{r}: {t['final']['value']}" for r, t in row["labels"].items() if "final" in t)
            print(f"{row['case_id']}\t{len(row['paths'])} file(s)\t{labels or '-'}")
    return 0


def run_audit(args: argparse.Namespace) -> int:
    def trail(project):
        if args.case is not None:
            project.case(args.case)  # an unknown case is an error, not an empty trail
        return [e.to_json() for e in project.audit(args.case)]

    entries, error = _query(args.dir, trail)
    if error:
        return _fail(error)
    if args.json:
        print(json.dumps(entries, indent=2))
    else:
        for e in entries:
            print(f"{e['at']}  {e['case_id']}{'/' + e['candidate_id'] if e['candidate_id'] else ''}  "
                  f"{e['reader']}  {e['tag']}  {e['action']}: {e['old_value']!r} -> {e['new_value']!r}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    result, error = _query(args.dir, lambda project: project.verify(args.expect_head))
    if error:
        return _fail(error)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    elif result.ok:
        print(f"{args.dir}: {result.rows} audit rows chained, {result.labels} labels agree with the audit; "
              f"head {result.head}")
    else:
        for finding in result.findings:
            print(finding.line())
    if not result.ok:
        print(f"workstation project verify: {len(result.findings)} problem(s) found", file=sys.stderr)
    return 0 if result.ok else 2
