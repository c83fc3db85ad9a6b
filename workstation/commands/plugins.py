"""`workstation plugins [--json] [--enable ID | --disable ID]`: every plugin found through the
`workstation.plugins` entry points, with its manifest and status (enabled, disabled, or error with
the reason). A broken plugin is listed, never fatal. Exit 0; 2 when --enable/--disable names no plugin."""
from __future__ import annotations

import json
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser("plugins", help="list the installed model plugins", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--enable", metavar="ID", help="enable a plugin (stored in the user settings)")
    group.add_argument("--disable", metavar="ID", help="disable a plugin")
    parser.set_defaults(func=run)


def run(args) -> int:
    from workstation.plugin_api import API_VERSION
    from workstation.plugin_host import discover, set_enabled

    entries = discover()
    target = args.enable or args.disable
    if target:
        if target not in {e.id for e in entries}:
            print(f"workstation plugins: no plugin {target!r}", file=sys.stderr)
            return 2
        set_enabled(target, bool(args.enable))
        entries = discover()
    if args.json:
        print(json.dumps({"api_version": API_VERSION, "plugins": [e.to_json() for e in entries]}, indent=2))
        return 0
    if not entries:
        print("no plugins installed")
        return 0
    rows = [("ID", "STATUS", "KIND", "TASK", "INPUT", "VERSION", "FROM")]
    for e in entries:
        m = e.manifest
        spec = f"{m.input.dims}D" if m else ""
        rows.append((e.id, e.status, m.kind if m else "", m.task if m else "", spec, m.version if m else "",
                     e.distribution))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    for e in entries:
        if e.error:
            print(f"{e.id}: {e.error}", file=sys.stderr)
    return 0
