"""The router package's root error and its few specific kinds."""

from __future__ import annotations


class RouterError(Exception):
    """A route table, store or data-plane problem a user can fix; the message says what."""

    code = "router_error"


class ValidationError(RouterError):
    """A route table change breaks an invariant (unknown upstream, bad template, overlap...)."""

    code = "invalid_table"


class NotFound(RouterError):
    """A named route, upstream or version does not exist."""

    code = "not_found"


class Conflict(RouterError):
    """The change conflicts with the current state (e.g. activating an unhealthy target)."""

    code = "conflict"
