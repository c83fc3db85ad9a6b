"""The `workstation` command. Each subcommand lives in `workstation/commands/<name>.py` with
`register(subparsers)`; registering imports nothing heavy (no Qt, VTK or torch)."""
from __future__ import annotations

import argparse
import importlib
import os
import sys

import workstation

COMMAND_MODULES = [
    "info", "open", "project", "label", "evaluate", "metrics", "plugins", "infer",
    "phantom", "detect", "evaluate_detections", "export", "train", "demo", "samples",
    "mine_labels", "evaluate_boxes", "pacs", "batch", "annotate", "measure",
]


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of the one module `only` (a script's `workstation label`
    need not import the other sixteen)."""
    parser = argparse.ArgumentParser(prog="workstation", description=workstation.__doc__)
    parser.add_argument("--version", action="version", version=f"workstation {workstation.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES if only is None else [only]:
        try:
            module = importlib.import_module(f"workstation.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"workstation.commands.{name}":
                continue  # that command is not part of this build yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv in (["--version"], ["-V"]):
        print(f"workstation {workstation.__version__}")
        return 0
    wanted = argv[0].replace("-", "_") if argv else ""
    parser = build_parser(wanted if wanted in COMMAND_MODULES else None)  # a command's name is its module's
    args = parser.parse_args(argv)
    if args.command is None:
        from workstation.commands.open import run_gui  # a bare `workstation` opens an empty window

        return run_gui([])
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("workstation: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0


if __name__ == "__main__":
    sys.exit(main())
