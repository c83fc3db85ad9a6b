"""`workstation pacs node add|list|remove`, `pacs echo NODE`, `pacs query NODE …` — PACS nodes
(DICOMweb or DIMSE) kept in the user settings, and finding studies and series on them. A NODE is a
saved node's name, or a URL: http(s)://host/dicom-web or dimse://AET@HOST:PORT (add ?move=PORT to
retrieve by C-MOVE to our storage SCP on that port instead of C-GET)."""
from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser("pacs", help="PACS nodes, echo and query (DICOMweb or DIMSE)",
                                   description=__doc__)
    sub = parser.add_subparsers(dest="pacs_command", metavar="SUBCOMMAND", required=True)

    node = sub.add_parser("node", help="saved PACS nodes").add_subparsers(dest="node_command", metavar="ACTION",
                                                                         required=True)
    p = node.add_parser("add", help="save a node (secrets are never saved: see --user)")
    p.add_argument("name")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--dicomweb", metavar="URL", help="DICOMweb base URL, e.g. http://pacs:8042/dicom-web")
    where.add_argument("--dimse", metavar="AET@HOST:PORT", help="the PACS's AE title, host and port")
    p.add_argument("--auth", choices=["none", "basic", "bearer"], default=None,
                   help="DICOMweb authentication (default: basic with --user, else none); the password "
                        "or token is read from WORKSTATION_PACS_SECRET_<NAME>, else the OS keyring")
    p.add_argument("--user", default="", help="user name for basic auth (saved; the password is not)")
    p.add_argument("--ca-bundle", default="", metavar="PEM",
                   help="https: the CA certificate(s) to trust for this node (default: the system's)")
    p.add_argument("--calling-aet", default="WORKSTATION", help="our AE title for DIMSE (default WORKSTATION)")
    p.add_argument("--move-port", type=int, default=0, metavar="PORT",
                   help="DIMSE: retrieve by C-MOVE to our storage SCP on this port (the PACS must know our "
                        "calling AE title at this host and port); default: C-GET")
    p.add_argument("--timeout", type=float, default=30.0, help="DIMSE network timeout in seconds")
    p.add_argument("--replace", action="store_true", help="replace a saved node of that name")
    p.set_defaults(func=run_node_add)
    p = node.add_parser("list", help="the saved nodes")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_node_list)
    p = node.add_parser("remove", help="forget a node")
    p.add_argument("name")
    p.set_defaults(func=run_node_remove)

    p = node.add_parser("secret", help="store a node's password or token in the OS keyring (read from the "
                                       "terminal, or from stdin when piped)")
    p.add_argument("name")
    p.set_defaults(func=run_node_secret)

    p = sub.add_parser("echo", help="check that a node answers (C-ECHO, or a QIDO-RS query)")
    p.add_argument("node")
    p.set_defaults(func=run_echo)

    p = sub.add_parser("retrieve", help="retrieve the images of a project's pending PACS cases "
                                        "(added with project add --from-pacs … --defer)")
    p.add_argument("dir")
    p.add_argument("--case", metavar="ID", action="append", default=[], help="only this case (repeatable)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_retrieve)

    p = sub.add_parser("demo-server", help="run a private Orthanc with real DICOM studies and save nodes "
                                           "demo-web, demo-dimse, demo-move that reach it (until Ctrl-C)")
    p.add_argument("--dir", metavar="D", default=None, help="its configuration and storage (default: "
                                                            "<data dir>/pacs-demo)")
    p.add_argument("--json", action="store_true", help="print the nodes as one JSON line")
    p.set_defaults(func=run_demo_server)

    p = sub.add_parser("query", help="find studies (or, with --series, their series) on a node")
    p.add_argument("node")
    add_query_filters(p)
    p.add_argument("--series", action="store_true", help="list series, not studies")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_query)


def add_query_filters(parser) -> None:
    """The filters of `pacs query` (--patient --name --modality --date --accession --study), for any
    command that takes a PACS query; `query_filter(args)` reads them back."""
    parser.add_argument("--patient", default="", metavar="ID")
    parser.add_argument("--name", default="", metavar="PATTERN", help="patient name, DICOM wildcards * and ?")
    parser.add_argument("--modality", default="", help="e.g. MR")
    parser.add_argument("--date", default="", help="YYYYMMDD or YYYYMMDD-YYYYMMDD")
    parser.add_argument("--accession", default="", metavar="N")
    parser.add_argument("--study", default="", metavar="UID")


def query_filter(args):
    """The QueryFilter of the arguments `add_query_filters` made; raises PacsError for a bad one."""
    from workstation.core.pacs import QueryFilter

    return QueryFilter(patient_id=args.patient, name=args.name, modality=args.modality, date=args.date,
                       accession=args.accession, study_uid=args.study)


def _fail(message: str) -> int:
    print(f"workstation pacs: {message}", file=sys.stderr)
    return 2


def run_node_add(args: argparse.Namespace) -> int:
    from workstation.core.pacs import PacsError, add_node
    from workstation.core.pacs.nodes import parse_url

    try:
        node = parse_url(args.dicomweb or f"dimse://{args.dimse}", args.name)
        if args.dimse and not node.kind == "dimse":
            raise PacsError(f"--dimse {args.dimse!r}: give AET@HOST:PORT")
        if args.dicomweb and node.kind != "dicomweb":
            raise PacsError(f"--dicomweb {args.dicomweb!r}: give an http(s) URL")
        node.auth = args.auth or ("basic" if args.user else "none")
        node.username, node.calling_aet, node.timeout_s = args.user, args.calling_aet, args.timeout
        if args.ca_bundle:
            from pathlib import Path

            if not Path(args.ca_bundle).is_file():
                raise PacsError(f"--ca-bundle {args.ca_bundle}: no such file")
            if node.kind != "dicomweb":
                raise PacsError("--ca-bundle applies to DICOMweb nodes (https)")
            node.ca_bundle = str(Path(args.ca_bundle).resolve())
        if args.move_port:
            node.retrieve, node.move_port = "move", args.move_port
        add_node(node, replace=args.replace)
    except PacsError as exc:
        return _fail(str(exc))
    print(f"saved {node.describe()}")
    if node.auth != "none":
        print(f"the {'password' if node.auth == 'basic' else 'token'} is read from {node.secret_env()}, "
              f"else from the OS keyring (service workstation-pacs, name {node.name})")
    return 0


def run_node_list(args: argparse.Namespace) -> int:
    from workstation.core.pacs import list_nodes

    nodes = list_nodes()
    if args.json:
        print(json.dumps({n.name: n.to_json() for n in nodes}, indent=2))
    else:
        for n in nodes:
            print(n.describe())
        if not nodes:
            print("no PACS nodes saved (workstation pacs node add NAME --dicomweb URL | --dimse AET@HOST:PORT)")
    return 0


def run_node_remove(args: argparse.Namespace) -> int:
    from workstation.core.pacs import PacsError, remove_node

    try:
        remove_node(args.name)
    except PacsError as exc:
        return _fail(str(exc))
    print(f"removed node {args.name}")
    return 0


def run_node_secret(args: argparse.Namespace) -> int:
    from workstation.core.pacs import PacsError, resolve_node
    from workstation.core.pacs.nodes import keyring_set

    try:
        node = resolve_node(args.name)
        if node.auth == "none" or "://" in args.name:
            raise PacsError(f"{args.name!r} is not a saved node with basic or bearer auth")
        if sys.stdin.isatty():
            import getpass
            secret = getpass.getpass(f"{'password' if node.auth == 'basic' else 'token'} for {node.name}: ")
        else:
            secret = sys.stdin.readline().rstrip("\n")
        if not secret:
            raise PacsError("nothing given; nothing stored")
        keyring_set(node.name, secret)
    except PacsError as exc:
        return _fail(str(exc))
    print(f"stored the secret of {node.name} in the OS keyring")
    return 0


def run_echo(args: argparse.Namespace) -> int:
    from workstation.core.pacs import PacsError, connect, resolve_node

    try:
        remote = connect(resolve_node(args.node))
        try:
            print(remote.echo())
        finally:
            remote.close()
    except PacsError as exc:
        return _fail(str(exc))
    return 0


def run_demo_server(args: argparse.Namespace) -> int:
    import signal
    import threading
    from pathlib import Path

    from workstation.core import settings
    from workstation.core.pacs import PacsError
    from workstation.core.pacs.demo_server import start_demo

    folder = Path(args.dir) if args.dir else settings.data_dir() / "pacs-demo"
    try:
        server, nodes = start_demo(folder)
    except PacsError as exc:
        return _fail(str(exc))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if args.json:
            print(json.dumps({n.name: n.to_json() for n in nodes}), flush=True)
        else:
            for n in nodes:
                print(f"saved {n.describe()}")
            print(f"Orthanc's own pages: {server.url}/app/explorer.html; Ctrl-C stops it", flush=True)
        while not stop.wait(0.5) and server.process.poll() is None:
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def run_query(args: argparse.Namespace) -> int:
    from workstation.core.pacs import PacsError, resolve_node
    from workstation.core.pacs.client import query

    try:
        rows = query(resolve_node(args.node), query_filter(args), series=args.series)
    except PacsError as exc:
        return _fail(str(exc))
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        base = f"{r['PatientID']:<12} {r['PatientName']:<28} {r['StudyDate']:<8} {r['StudyInstanceUID']}"
        print(base + (f"  {r['Modality']:<3} {r['NumberOfSeriesRelatedInstances']:>4} inst  {r['SeriesInstanceUID']}"
                      if args.series else f"  {r['ModalitiesInStudy']}"))
    print(f"{len(rows)} {'series' if args.series else 'study(ies)'}", file=sys.stderr)
    return 0


def run_project_add(args: argparse.Namespace) -> int:
    """`workstation project add DIR --from-pacs NODE --study UID [--series UID]... [--defer]`"""
    from workstation.core.pacs import PacsError, resolve_node
    from workstation.core.pacs.cache import FetchPlan
    from workstation.core.pacs.deferred import add_deferred
    from workstation.core.pacs.errors import TransferCancelled
    from workstation.core.pacs.to_project import add_from_pacs
    from workstation.core.project import Project, ProjectError

    def fail(message: str) -> int:
        print(f"workstation project: {message}", file=sys.stderr)
        return 2

    if not (args.from_pacs and args.study):
        return fail("--from-pacs NODE and --study UID go together (--series UID to pick series)")
    if args.paths or args.labels or args.predictions or args.reports:
        return fail("--from-pacs adds from the PACS alone; add files, labels or predictions in another call")
    plan = FetchPlan(args.study, list(args.series))
    try:
        node = resolve_node(args.from_pacs)
        with Project.open(args.dir) as project:
            if getattr(args, "defer", False):
                added, already = add_deferred(project, node, plan)
                return _report_deferred(args, node, added, already)
            try:
                added, skipped, fetched = add_from_pacs(project, node, plan, _progress, cancel=lambda: False)
            except KeyboardInterrupt:  # Ctrl-C: the instances that arrived wait in staging for a retry
                raise TransferCancelled("cancelled; the project is unchanged and a retry resumes") from None
    except (PacsError, ProjectError) as exc:
        _end_progress()
        return fail(str(exc))
    _end_progress()
    for line in skipped:
        print(f"skipped {line}", file=sys.stderr)
    result = {"added": [c.case_id for c in added],
              "series": [{"series_uid": f.series_uid, "instances": f.instances, "folder": str(f.folder),
                          "resumed_with": f.reused, "from_cache": f.from_cache} for f in fetched],
              "skipped": skipped}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"added {len(added)} case(s) from {node.name} ({sum(f.instances for f in fetched)} instance(s) in "
              f"{len(fetched)} series)" + (f"; {len(skipped)} skipped (see above)" if skipped else ""))
    return 0


def _progress(fraction: float, text: str) -> None:
    if sys.stderr.isatty():
        print(f"\r{100 * fraction:5.1f}% {text}", end="", file=sys.stderr, flush=True)


def _end_progress() -> None:
    if sys.stderr.isatty():
        print(file=sys.stderr)


def _report_deferred(args, node, added, already) -> int:
    result = {"added": [c.case_id for c in added], "pending": [c.metadata["pacs"]["series_uid"] for c in added],
              "already_cases": already}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"added {len(added)} pending case(s) from {node.name}; their images are retrieved when read "
              f"(the viewer prefetches the next ones) or by `workstation pacs retrieve {args.dir}`"
              + (f"; {len(already)} series were cases already" if already else ""))
    return 0


def run_retrieve(args: argparse.Namespace) -> int:
    """`workstation pacs retrieve DIR [--case ID]...`: the images of a project's pending PACS cases."""
    from workstation.core.pacs import PacsError
    from workstation.core.pacs.cache import fetch_series
    from workstation.core.pacs.deferred import pending
    from workstation.core.project import Project, ProjectError

    results, failures = [], 0
    try:
        with Project.open(args.dir) as project:
            cases = [project.case(c) for c in args.case] if args.case else project.cases()
            todo = [p for p in (pending(project.directory, c) for c in cases) if p is not None]
            for job in todo:
                try:
                    f = fetch_series(job.resolve(), job.study_uid, job.series_uid, project.directory, _progress)
                    _end_progress()
                    results.append({"case_id": job.case_id, "instances": f.instances, "resumed_with": f.reused})
                except PacsError as exc:
                    _end_progress()
                    failures += 1
                    print(f"workstation pacs: {job.case_id}: {exc}", file=sys.stderr)
                    results.append({"case_id": job.case_id, "error": str(exc)})
                except KeyboardInterrupt:
                    _end_progress()
                    return _fail("cancelled; what arrived waits in staging and the next retrieve resumes")
    except ProjectError as exc:
        return _fail(str(exc))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"retrieved {len(results) - failures} of {len(todo)} pending case(s)")
    return 2 if failures else 0
