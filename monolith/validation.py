"""Input validation for request bodies and query strings: small, explicit, per-field details.

A schema maps field names to `Field`s; `validate_body` returns a clean dict or raises
ValidationFailed listing every problem as {"field", "message"}.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import request

from monolith.errors import ValidationFailed

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Field:
    """One expected field: its type and constraints."""

    kind: type = str
    required: bool = False
    min: int | None = None
    max: int | None = None
    max_len: int | None = None
    choices: tuple[str, ...] | None = None
    pattern: re.Pattern[str] | None = None
    nullable: bool = False


def _check(name: str, value: Any, field: Field) -> str | None:
    """Return the problem with one value, or None."""
    if value is None:
        return None if field.nullable else "must not be null"
    if field.kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        return "must be an integer"
    if field.kind is bool and not isinstance(value, bool):
        return "must be true or false"
    if field.kind is str:
        if not isinstance(value, str):
            return "must be a string"
        if not value.strip():
            return "must not be blank"
        if field.max_len is not None and len(value) > field.max_len:
            return f"must be at most {field.max_len} characters"
        if field.pattern is not None and not field.pattern.match(value):
            return "has an invalid format"
    if field.kind is list and not isinstance(value, list):
        return "must be a list"
    if field.choices is not None and value not in field.choices:
        return f"must be one of: {', '.join(field.choices)}"
    if field.kind is int and field.min is not None and value < field.min:
        return f"must be at least {field.min}"
    if field.kind is int and field.max is not None and value > field.max:
        return f"must be at most {field.max}"
    return None


def validate(
    data: Mapping[str, Any], schema: Mapping[str, Field], *, partial: bool = False
) -> dict[str, Any]:
    """Check `data` against `schema`; with partial=True nothing is required (PATCH)."""
    details = []
    for name in data:
        if name not in schema:
            details.append({"field": name, "message": "is not a known field"})
    clean: dict[str, Any] = {}
    for name, field in schema.items():
        if name not in data:
            if field.required and not partial:
                details.append({"field": name, "message": "is required"})
            continue
        problem = _check(name, data[name], field)
        if problem:
            details.append({"field": name, "message": problem})
        else:
            value = data[name]
            clean[name] = value.strip() if isinstance(value, str) else value
    if details:
        raise ValidationFailed("the request has invalid fields", details=details)
    if partial and not clean:
        raise ValidationFailed(
            "the request changes nothing",
            details=[{"field": None, "message": f"give at least one of: {', '.join(schema)}"}],
        )
    return clean


def json_body() -> dict[str, Any]:
    """Return the request's JSON object, or raise a 400 naming what is wrong with it."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationFailed(
            "the request body must be a JSON object",
            code="invalid_json",
            details=[{"field": None, "message": "send Content-Type: application/json"}],
        )
    return data


def validate_body(schema: Mapping[str, Field], *, partial: bool = False) -> dict[str, Any]:
    """Validate the JSON body of the current request."""
    return validate(json_body(), schema, partial=partial)


def query_int(name: str, default: int | None = None, *, min: int = 0, max: int | None = None):
    """Read an integer query parameter, or raise a 400 naming it."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed(
            f"query parameter {name} must be an integer",
            details=[{"field": name, "message": "must be an integer"}],
        ) from None
    if value < min or (max is not None and value > max):
        bounds = f"between {min} and {max}" if max is not None else f"at least {min}"
        raise ValidationFailed(
            f"query parameter {name} is out of range",
            details=[{"field": name, "message": f"must be {bounds}"}],
        )
    return value


def query_choice(name: str, choices: tuple[str, ...], default: str | None = None) -> str | None:
    """Read a query parameter restricted to `choices`."""
    raw = request.args.get(name) or default
    if raw is not None and raw not in choices:
        raise ValidationFailed(
            f"query parameter {name} is invalid",
            details=[{"field": name, "message": f"must be one of: {', '.join(choices)}"}],
        )
    return raw
