"""ShopCo's errors and their one JSON shape: {"error": {code, message, details, request_id}}."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger("monolith.errors")


class MonolithError(Exception):
    """Root of ShopCo's own errors (configuration, seeding, migration)."""


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


def error_body(status: int, code: str, message: str, details: list[Any] | None = None):
    """Return the JSON response tuple for an error."""
    body = {
        "error": {
            "code": code,
            "message": message,
            "details": details or [],
            "request_id": g.get("request_id"),
        }
    }
    return jsonify(body), status


def register_error_handlers(app: Flask) -> None:
    """Answer every failure with the JSON error shape, never with HTML or a traceback."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> ResponseReturnValue:
        return error_body(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        code = (exc.name or "error").lower().replace(" ", "_")
        response, status = error_body(exc.code or 500, code, exc.description or exc.name)
        if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return response, status

    @app.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError) -> ResponseReturnValue:
        # A race between the explicit uniqueness check and the insert ends here.
        log.info("integrity error: %s", exc.orig)
        return error_body(409, "conflict", "the change conflicts with existing data")

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError) -> ResponseReturnValue:
        log.error("database error: %s", exc.orig)
        return error_body(503, "database_unavailable", "the database could not serve the request")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> ResponseReturnValue:
        log.exception("unhandled error")
        return error_body(500, "internal_error", "an unexpected error occurred")
