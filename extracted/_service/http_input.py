"""Reading the current request: its JSON body and query parameters, with the monolith's 400s."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import request

from extracted._service.errors import ValidationFailed
from extracted._service.validation import Field, validate

MAX_PER_PAGE = 100


@dataclass(frozen=True)
class PageRequest:
    """Which page a list request asks for."""

    page: int = 1
    per_page: int = 20

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def answer(self, items: list[Any], total: int) -> dict[str, Any]:
        """The list envelope every paginated endpoint answers."""
        return {"items": items, "page": self.page, "per_page": self.per_page, "total": total}


def json_body() -> dict[str, Any]:
    """Return the request's JSON object, or raise the 400 naming what is wrong with it."""
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


def query_int(
    name: str, default: int | None = None, *, min: int = 0, max: int | None = None
) -> int | None:
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


def query_choice(name: str, choices: tuple[str, ...]) -> str | None:
    """Read a query parameter restricted to `choices`."""
    raw = request.args.get(name) or None
    if raw is not None and raw not in choices:
        raise ValidationFailed(
            f"query parameter {name} is invalid",
            details=[{"field": name, "message": f"must be one of: {', '.join(choices)}"}],
        )
    return raw


def page_request() -> PageRequest:
    """Read ?page= and ?per_page= (1..100)."""
    page = query_int("page", 1, min=1)
    per_page = query_int("per_page", 20, min=1, max=MAX_PER_PAGE)
    assert page is not None and per_page is not None
    return PageRequest(page, per_page)
