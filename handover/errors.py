"""The handover package's root error."""

from __future__ import annotations


class HandoverError(Exception):
    """A handover refused or undone; the message says every reason."""

    def __init__(self, message: str, reasons: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.reasons = reasons
