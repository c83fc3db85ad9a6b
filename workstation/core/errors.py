"""The one root of the application's errors. Every error a user can act on derives from
`WorkstationError`; its `str()` is one line ready for a status bar or stderr, so the CLI and the GUI
catch this class once instead of a list of module errors."""
from __future__ import annotations


class WorkstationError(Exception):
    """A problem the user can act on; `str(err)` is a one-line reason."""
