"""The one error a PACS operation raises: its message is the one line a user sees."""
from __future__ import annotations


class PacsError(Exception):
    pass


class TransferCancelled(PacsError):
    pass
