"""ShopCo's JSON API: one blueprint module per business context."""

from __future__ import annotations

from flask import Blueprint, Flask

from monolith.api import (
    audit,
    carts,
    catalog,
    customers,
    inventory,
    notifications,
    orders,
    payments,
    reports,
    reviews,
    shipments,
)

BLUEPRINTS: tuple[Blueprint, ...] = (
    customers.bp,
    catalog.bp,
    inventory.bp,
    carts.bp,
    orders.bp,
    payments.bp,
    shipments.bp,
    reviews.bp,
    notifications.bp,
    reports.bp,
    audit.bp,
)


def endpoint_contexts(app: Flask) -> dict[str, str]:
    """Map each "METHOD rule" of the API to the context it was designed in (its blueprint)."""
    return {
        f"{method} {rule.rule}": rule.endpoint.split(".")[0]
        for rule in app.url_map.iter_rules()
        if "." in rule.endpoint
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    }
