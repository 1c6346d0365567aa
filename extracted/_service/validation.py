"""Field rules for request bodies (pure: no Flask, no I/O).

A schema maps field names to `Field`s; `validate` returns a clean dict or raises
ValidationFailed listing every problem as {"field", "message"}, with the monolith's words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from extracted._service.errors import ValidationFailed


@dataclass(frozen=True)
class Field:
    """One expected field: its type and constraints."""

    kind: type = str
    required: bool = False
    min: int | None = None
    max: int | None = None
    max_len: int | None = None
    pattern: re.Pattern[str] | None = None
    nullable: bool = False


def problem(value: Any, field: Field) -> str | None:
    """Return what is wrong with one value, or None."""
    if value is None:
        return None if field.nullable else "must not be null"
    if field.kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be an integer"
        if field.min is not None and value < field.min:
            return f"must be at least {field.min}"
        if field.max is not None and value > field.max:
            return f"must be at most {field.max}"
    if field.kind is bool and not isinstance(value, bool):
        return "must be true or false"
    if field.kind is list and not isinstance(value, list):
        return "must be a list"
    if field.kind is str:
        return _text_problem(value, field)
    return None


def _text_problem(value: Any, field: Field) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if not value.strip():
        return "must not be blank"
    if field.max_len is not None and len(value) > field.max_len:
        return f"must be at most {field.max_len} characters"
    if field.pattern is not None and not field.pattern.match(value):
        return "has an invalid format"
    return None


def validate(
    data: Mapping[str, Any], schema: Mapping[str, Field], *, partial: bool = False
) -> dict[str, Any]:
    """Check `data` against `schema`; with partial=True nothing is required (PATCH)."""
    details = [
        {"field": name, "message": "is not a known field"} for name in data if name not in schema
    ]
    clean: dict[str, Any] = {}
    for name, field in schema.items():
        if name not in data:
            if field.required and not partial:
                details.append({"field": name, "message": "is required"})
            continue
        value = data[name]
        if (message := problem(value, field)) is not None:
            details.append({"field": name, "message": message})
        else:
            clean[name] = value.strip() if isinstance(value, str) else value
    if details:
        raise ValidationFailed("the request has invalid fields", details=details)
    if partial and not clean:
        raise ValidationFailed(
            "the request changes nothing",
            details=[{"field": None, "message": f"give at least one of: {', '.join(schema)}"}],
        )
    return clean
