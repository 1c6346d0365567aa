"""The parity package's errors: one root, and a ValueError for a bad rules file."""

from __future__ import annotations


class ParityError(Exception):
    """Root of every error raised by the comparison engine."""


class RulesError(ParityError, ValueError):
    """A rules file (or rules value) is malformed; the message names the key."""
