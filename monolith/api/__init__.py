"""ShopCo's JSON API: one blueprint module per business context."""

from __future__ import annotations

from flask import Blueprint

from monolith.api import (
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
)
