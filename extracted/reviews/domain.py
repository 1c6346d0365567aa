"""The reviews rules and the JSON they answer (pure: no Flask, no SQLAlchemy, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from extracted._service.validation import Field

REVIEW_FIELDS = {
    "product_id": Field(kind=int, required=True),
    "customer_id": Field(kind=int, required=True),
    "rating": Field(kind=int, required=True, min=1, max=5),
    "title": Field(required=True, max_len=200),
    "body": Field(max_len=5000, nullable=True),
}


@dataclass(frozen=True)
class Review:
    id: int
    product_id: int
    customer_id: int
    rating: int
    title: str
    body: str | None
    verified_purchase: bool
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "product_id": self.product_id,
            "customer_id": self.customer_id,
            "rating": self.rating,
            "title": self.title,
            "body": self.body,
            "verified_purchase": self.verified_purchase,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class ReviewFilter:
    """The list filters of GET /api/reviews."""

    product_id: int | None = None
    customer_id: int | None = None
    min_rating: int | None = None


def listed_json(review: Review, product_name: str, customer_name: str) -> dict[str, Any]:
    """A review as the list answers it: with the names of its product and customer."""
    return {**review.to_json(), "product_name": product_name, "customer_name": customer_name}
