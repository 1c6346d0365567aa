"""HTTP errors with the monolith's one JSON shape: {"error": {code, message, details, request_id}}.

The shape, the codes and the messages are part of the contract a service inherits from
the endpoints it replaces, so they are the same as ShopCo's (monolith/errors.py). A copy
on purpose, like validation.py's messages: a service never imports the monolith it
replaces (it is deployed without it); tests/extracted compares the two on every endpoint.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, jsonify
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger("extracted.errors")


class ServiceError(Exception):
    """Root of the services' own errors (configuration, migration, mapping)."""


class ApiError(Exception):
    """An error answered to the client with a status, a stable code and details."""

    status = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, code: str | None = None, details: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or type(self).code
        self.details = details or []


class ValidationFailed(ApiError):
    status = 400
    code = "validation_failed"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class Unprocessable(ApiError):
    status = 422
    code = "unprocessable"


def not_found(kind: str, ident: object) -> NotFound:
    """Build the 404 for a missing entity, naming it."""
    return NotFound(f"{kind} {ident} does not exist", details=[{"entity": kind, "id": ident}])


def error_body(
    status: int, code: str, message: str, details: list[Any] | None = None
) -> tuple[Response, int]:
    """Return the JSON response tuple for an error."""
    error = {"code": code, "message": message, "details": details or []}
    return jsonify({"error": {**error, "request_id": g.get("request_id")}}), status


def register_error_handlers(app: Flask) -> None:
    """Answer every failure with the JSON error shape, never with HTML or a traceback."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> tuple[Response, int]:
        return error_body(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int]:
        code = (exc.name or "error").lower().replace(" ", "_")
        response, status = error_body(exc.code or 500, code, exc.description or exc.name)
        allowed = getattr(exc, "valid_methods", None)
        if exc.code == 405 and allowed:
            response.headers["Allow"] = ", ".join(allowed)
        return response, status

    @app.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError) -> tuple[Response, int]:
        # A race between an explicit uniqueness check and the insert ends here.
        log.info("integrity error: %s", exc.orig)
        return error_body(409, "conflict", "the change conflicts with existing data")

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError) -> tuple[Response, int]:
        log.error("database error: %s", exc.orig)
        return error_body(503, "database_unavailable", "the database could not serve the request")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("unhandled error")
        return error_body(500, "internal_error", "an unexpected error occurred")
