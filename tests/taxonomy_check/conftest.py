"""An independent check of issue 18 (class hierarchies), written from the issue text and the user
docs only: its own trees and prediction files, its own per-level metrics (taxonomy_reference.py),
and the real `workstation` command run as a subprocess (taxonomy_checks.py).

The suite runs with --import-mode=importlib, where sibling modules are not importable by plain
name: this folder goes on sys.path, and its helper modules have names no other folder uses."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
