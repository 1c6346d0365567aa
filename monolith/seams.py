"""Branch by abstraction: where ShopCo code that stays in the monolith writes a table an
extracted service owns, a switch makes it call the service's API instead.

`reviews_service_url` (`[monolith]`, STRANGLER_MONOLITH_REVIEWS_SERVICE_URL) on: deleting a
customer or a product removes their reviews through the reviews service
(`DELETE /api/reviews/{id}`), so the service, which owns `reviews` after its handover,
stays the owner. The monolith then deletes the same rows from its copy (its foreign keys
need them gone now); the deletions reverse sync brings back later find nothing to do.
`strangler extract handover` asks `through_service` which writers are switched.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from monolith.config import MonolithConfig
from monolith.errors import ApiError

# context -> (monolith endpoints that write its tables, the switch that routes them)
SWITCHES: dict[str, tuple[tuple[str, ...], str]] = {
    "reviews": (
        ("DELETE /api/customers/<int:customer_id>", "DELETE /api/products/<int:product_id>"),
        "reviews_service_url",
    ),
}


class ServiceUnavailable(ApiError):
    status = 503


def through_service(context: str, config: MonolithConfig) -> tuple[str, ...]:
    """The endpoints whose writes of `context`'s tables go through its service now."""
    endpoints, switch = SWITCHES.get(context, ((), ""))
    return endpoints if switch and getattr(config, switch) else ()


def delete_reviews(base_url: str, **owner: int) -> None:
    """Delete every review of a customer or product through the reviews service."""
    ((field, value),) = owner.items()
    while True:
        page = _call(base_url, "GET", f"/api/reviews?{field}={value}&per_page=100")
        items = page.get("items") or []
        for review in items:
            _call(base_url, "DELETE", f"/api/reviews/{review['id']}")
        if len(items) < 100:
            return


def _call(base_url: str, method: str, path: str) -> Any:
    request = urllib.request.Request(base_url.rstrip("/") + path, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        if method == "DELETE" and exc.code == 404:  # deleted meanwhile: the goal holds
            return None
        raise _unavailable(f"{method} {path} answered {exc.code}") from None
    except OSError as exc:
        raise _unavailable(f"{method} {path}: {exc}") from None
    return json.loads(raw) if raw else None


def _unavailable(message: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"the reviews service could not delete the reviews ({message}); nothing else was deleted",
        code="reviews_service_unavailable",
    )
