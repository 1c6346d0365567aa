"""Helpers shared by the CLI verbs: turning user mistakes into one clear line."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any

import click


@contextlib.contextmanager
def user_errors(*kinds: type[BaseException]) -> Iterator[None]:
    """Report the given exception kinds as one line and exit 1, never with a traceback."""
    try:
        yield
    except kinds as exc:
        raise click.ClickException(str(exc)) from exc


def print_json(value: Any) -> None:
    """Write one JSON document to stdout, for scripting."""
    json.dump(value, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")
