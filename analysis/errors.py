"""The analyzer's root error: a user mistake or unusable input, reported as one line."""

from __future__ import annotations


class AnalysisError(Exception):
    """Input that cannot be analyzed; the message names the file, line or key at fault."""
