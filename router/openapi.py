"""The admin API's OpenAPI 3.1 document, served at /openapi.json."""

from __future__ import annotations

from typing import Any

_ERROR = {"$ref": "#/components/responses/Error"}
_KEY = {"name": "key", "in": "path", "required": True, "schema": {"type": "string"},
        "description": "route id or path template"}  # fmt: skip


def _op(summary: str, body: str | None = None, params: list[Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {"200": {"description": "OK"}, "400": _ERROR, "401": _ERROR, "404": _ERROR},
    }
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    if params:
        op["parameters"] = params
    return op


def document() -> dict[str, Any]:
    route_props = {
        "id": {"type": "string"},
        "path": {"type": "string", "example": "/api/products/{id}"},
        "target": {"type": "string", "description": "upstream name"},
        "methods": {"type": "array", "items": {"type": "string"}},
        "mode": {"enum": ["monolith", "shadow", "canary", "service"]},
        "percent": {"type": "number", "minimum": 0, "maximum": 100},
        "header": {"type": ["string", "null"], "example": "X-Beta: 1"},
        "sticky": {"type": "string", "example": "header:X-User-ID"},
        "fallback": {"type": "boolean"},
        "shadow_methods": {"type": "array", "items": {"type": "string"}},
        "hold": {"type": "number", "minimum": 0, "maximum": 60, "description": "handover"},
        "reason": {"type": "string", "description": "why (stored in the history)"},
        "force": {"type": "boolean", "description": "activate an unhealthy target anyway"},
    }
    upstream_props = {
        "urls": {"type": "array", "items": {"type": "string", "format": "uri"}},
        "health_path": {"type": "string"},
        "health_interval": {"type": "number"},
        "health_timeout": {"type": "number"},
        "breaker_failures": {"type": "integer"},
        "breaker_window": {"type": "number"},
        "breaker_cooldown": {"type": "number"},
        "reason": {"type": "string"},
    }
    name = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "strangler router admin API", "version": "1"},
        "security": [{"bearer": []}],
        "paths": {
            "/health": {"get": {**_op("Liveness (no token needed)"), "security": []}},
            "/routes": {
                "get": _op("List routes and the default route"),
                "post": _op("Add a route", "Route"),
            },
            "/routes/{key}": {
                "get": _op("Show a route", params=[_KEY]),
                "patch": _op("Change route fields (mode, percent, ...)", "Route", [_KEY]),
                "delete": _op("Remove a route", params=[_KEY]),
            },
            "/routes/{key}/promote": {
                "post": _op(
                    "monolith→shadow→canary→service; to canary/service only if the promotion "
                    "gate allows (409 promotion_refused names each failing number), or with "
                    "force=true and a reason (recorded)",
                    None,
                    [_KEY],
                )
            },
            "/routes/{key}/gate": {
                "get": _op(
                    "The promotion gate's checks and numbers (?mode=canary|service)", params=[_KEY]
                )
            },
            "/routes/{key}/demote": {"post": _op("One step back toward monolith", None, [_KEY])},
            "/upstreams": {"get": _op("List upstreams with health and breaker state")},
            "/upstreams/{name}": {
                "put": _op("Add or replace an upstream", "Upstream", [name]),
                "delete": _op("Remove an unused upstream", params=[name]),
            },
            "/versions": {"get": _op("Version history, newest first")},
            "/versions/{number}": {"get": _op("One version with its full table")},
            "/rollback": {"post": _op("Make an earlier version current again", "Rollback")},
            "/diff": {"get": _op("Changes between two versions (?from=&to=)")},
            "/table": {"get": _op("The current table (config dump)")},
            "/metrics": {"get": _op("Prometheus metrics (text format)")},
            "/shadow/comparisons": {"get": _op("Recent shadow comparisons (?route=&limit=)")},
            "/shadow/summary": {"get": _op("Match rates by route, dropped mirrors, noise")},
            "/openapi.json": {"get": _op("This document")},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Route": {"type": "object", "properties": route_props},
                "Upstream": {"type": "object", "properties": upstream_props},
                "Rollback": {
                    "type": "object",
                    "required": ["version"],
                    "properties": {"version": {"type": "integer"}, "reason": {"type": "string"}},
                },
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        }
                    },
                },
            },
            "responses": {
                "Error": {
                    "description": "error",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
            },
        },
    }
