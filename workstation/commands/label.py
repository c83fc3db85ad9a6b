"""`workstation label DIR CASE_ID LABEL --reader NAME` and `workstation label DIR --from CSV`:
scriptable review through the review session, so a label from a script is decided and audited
exactly as one from the keyboard (confirm when it equals the model's suggestion, else correct).

The CSV has a header with the columns case_id,label and optionally reader, tag, note (empty cells
take the command's --reader / --tag). Every row is checked before anything is written; then the
rows are written one transaction per --batch rows.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import json
import sys

from workstation.core.vocab import Task

TAGS = ("final", "original", "adjudicated")  # the vocabulary's Tag less "report" (mined, not typed)
ACTIONS = ("confirm", "correct", "adjudicate", "import")
CSV_COLUMNS = ("case_id", "label", "reader", "tag", "note")


def register(subparsers) -> None:
    p = subparsers.add_parser("label", help="record a reader's label for one case, or many from a CSV file")
    p.add_argument("dir", help="project folder")
    p.add_argument("case_id", nargs="?")
    p.add_argument("label", nargs="?", help="a class name; multi-label: 'a;b' (empty '' = none); "
                                            "or uncertain / not_assessable")
    p.add_argument("--from", dest="from_csv", metavar="CSV", default=None,
                   help="labels from a CSV file with columns case_id,label[,reader,tag,note] ('-': stdin)")
    p.add_argument("--reader", default=None, help="reader name (default: settings or the OS user)")
    p.add_argument("--tag", default="final", choices=TAGS)
    p.add_argument("--action", default=None, choices=ACTIONS,
                   help="default: confirm when the label equals the model's suggestion, else correct "
                        "(adjudicate for --tag adjudicated)")
    p.add_argument("--note", default=None)
    p.add_argument("--batch", type=int, default=2000, metavar="N", help="rows per transaction with --from")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from workstation.core.errors import WorkstationError

    single = args.case_id is not None or args.label is not None
    if args.from_csv is not None and single:
        return _fail("give either CASE_ID LABEL or --from CSV, not both")
    if args.from_csv is None and (args.case_id is None or args.label is None):
        return _fail("give CASE_ID and LABEL, or --from CSV")
    try:
        return _from_csv(args) if args.from_csv is not None else _single(args)
    except (WorkstationError, OSError) as exc:
        return _fail(str(exc))


def _session(args):
    with _first_import():
        from workstation.core import settings
        from workstation.core.project import Project
        from workstation.core.review.session import ReviewSession

    project = Project.open(args.dir)
    return project, ReviewSession(project, reader=args.reader or settings.default_reader(), auto_advance=False)


@contextlib.contextmanager
def _first_import():
    """A scripted call loads SQLAlchemy and the store once (some 40,000 long-lived objects): no cyclic
    collection while they load, and they are frozen out of every later one. Those passes over the
    heap found nothing to free and cost a third of a call's CPU, most of it in the collections of
    interpreter shutdown (bench_review.py). Only on the first import: a process that already holds
    them (a test, the GUI) keeps its collector as it was."""
    if "sqlalchemy" in sys.modules:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _single(args) -> int:
    project, session = _session(args)
    with project:
        change = session.label(_value(args.label, project.task), args.case_id, tag=args.tag, note=args.note,
                               action=args.action)
    result = {"case_id": change.case_id, "reader": change.reader, "tag": str(change.tag), "value": change.new,
              "action": str(change.action)}
    print(json.dumps(result) if args.json else
          f"{change.case_id}: {change.new!r} ({change.reader}, {change.tag}, {change.action})")
    return 0


def _from_csv(args) -> int:
    import collections
    import time

    start = time.perf_counter()
    project, session = _session(args)
    actions: collections.Counter = collections.Counter()
    session.events.changed.connect(lambda change: actions.update([str(change.action)]))
    with project:
        items = _read_csv(args, project.task)
        n = session.label_many(items, batch_size=args.batch)
    seconds = time.perf_counter() - start
    result = {"stored": n, "actions": dict(sorted(actions.items())), "seconds": round(seconds, 3)}
    if args.json:
        print(json.dumps(result))
    else:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(actions.items())) or "none"
        print(f"{n} label(s) stored from {args.from_csv} ({counts}) in {seconds:.2f} s")
    return 0


def _read_csv(args, task: str) -> list:
    import csv
    import io

    from workstation.core.review.session import LabelItem, ReviewError

    where = "stdin" if args.from_csv == "-" else args.from_csv
    try:
        text = sys.stdin.read() if args.from_csv == "-" else open(args.from_csv, encoding="utf-8-sig").read()
    except OSError as exc:
        raise ReviewError(f"{where}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ReviewError(f"{where}: not a UTF-8 text file") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in ("case_id", "label") if c not in header]
    if missing:
        raise ReviewError(f"{where}: needs a header with the columns case_id,label[,reader,tag,note] "
                          f"(missing {', '.join(missing)})")
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise ReviewError(f"{where}: unknown column(s) {', '.join(unknown)}; expected {','.join(CSV_COLUMNS)}")
    reader.fieldnames = header
    items = []
    for line, row in enumerate(reader, start=2):
        if None in row:
            raise ReviewError(f"{where}:{line}: more cells than columns")
        case_id = (row.get("case_id") or "").strip()
        if not case_id:
            raise ReviewError(f"{where}:{line}: empty case_id")
        tag = (row.get("tag") or "").strip() or args.tag
        if tag not in TAGS:
            raise ReviewError(f"{where}:{line}: unknown tag {tag!r}; expected one of {', '.join(TAGS)}")
        items.append(LabelItem(case_id, _value(row.get("label") or "", task),
                               reader=(row.get("reader") or "").strip() or args.reader, tag=tag,
                               note=(row.get("note") or "").strip() or args.note, action=args.action,
                               where=f"{where}:{line}"))
    return items


def _value(text: str, task: str):
    """A label as typed: multi-label '' is the empty set, 'a;b' a set; the rest as given."""
    text = text.strip()
    if task == Task.MULTILABEL and text == "":
        return []
    return text


def _fail(message: str) -> int:
    print(f"workstation label: {message}", file=sys.stderr)
    return 2
