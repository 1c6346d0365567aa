"""The reviews commands and queries, in the monolith's order of checks."""

from __future__ import annotations

from typing import Any

from extracted._service.errors import Conflict, Unprocessable, not_found
from extracted._service.http_input import PageRequest
from extracted.reviews.domain import ReviewFilter, listed_json
from extracted.reviews.repository import ReviewsRepository


def list_reviews(repo: ReviewsRepository, where: ReviewFilter, page: PageRequest) -> dict[str, Any]:
    found, total = repo.page(where, page.per_page, page.offset)
    return page.answer([listed_json(*entry) for entry in found], total)


def create_review(repo: ReviewsRepository, data: dict[str, Any]) -> dict[str, Any]:
    checks = (("product_id", repo.product_exists), ("customer_id", repo.customer_exists))
    for field, known in checks:
        if not known(data[field]):
            raise Unprocessable(
                f"{field} {data[field]} does not exist",
                details=[{"field": field, "message": "does not exist"}],
            )
    if repo.already_reviewed(data["product_id"], data["customer_id"]):
        raise Conflict("this customer already reviewed this product", code="duplicate_review")
    verified = repo.bought(data["customer_id"], data["product_id"])
    review = repo.add(data, verified)
    repo.commit()
    return review.to_json()


def delete_review(repo: ReviewsRepository, review_id: int) -> None:
    if repo.review(review_id) is None:
        raise not_found("review", review_id)
    repo.delete(review_id)
    repo.commit()
