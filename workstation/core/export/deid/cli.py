"""The profile options from the command line's flags (`workstation export ... --deidentify [options]`;
the flags are declared in `workstation/commands/export.py`, which must stay light to import)."""
from __future__ import annotations

import argparse

from workstation.core.export.deid.table import DeidOptions

_FLAGS = ("retain_safe_private", "retain_uids", "retain_device_identity", "retain_institution_identity",
          "retain_patient_characteristics", "clean_descriptors", "clean_structured_content", "clean_graphics")


def profile_options(args: argparse.Namespace) -> DeidOptions | None:
    """The options given, or None; ValueError when one is given without --deidentify."""
    chosen = {name: True for name in _FLAGS if getattr(args, name, False)}
    if getattr(args, "retain_dates", None):
        chosen["retain_dates"] = args.retain_dates
    if chosen and not args.deidentify:
        flag = "--" + next(iter(chosen)).replace("_", "-")
        raise ValueError(f"{flag} only makes sense with --deidentify")
    return DeidOptions(**chosen) if chosen else None
