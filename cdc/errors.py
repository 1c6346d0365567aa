"""The root of every error the CDC package raises on purpose."""

from __future__ import annotations


class CdcError(Exception):
    """A CDC operation failed for a reason the user can act on; the message says which."""


class PoisonEvent(CdcError):
    """An event cannot be applied (undecodable, unmapped, rejected by the target schema)."""
