"""The reviews HTTP adapter: the monolith's /api/reviews endpoints, same paths and answers."""

from __future__ import annotations

from flask import Blueprint

from extracted._service.database import session
from extracted._service.http_input import page_request, query_int, validate_body
from extracted.reviews import usecases
from extracted.reviews.domain import REVIEW_FIELDS, ReviewFilter
from extracted.reviews.repository import ReviewsRepository

bp = Blueprint("reviews", __name__, url_prefix="/api/reviews")


def _repo() -> ReviewsRepository:
    return ReviewsRepository(session())


@bp.get("")
def list_reviews():
    where = ReviewFilter(
        product_id=query_int("product_id"),
        customer_id=query_int("customer_id"),
        min_rating=query_int("min_rating", min=1, max=5),
    )
    return usecases.list_reviews(_repo(), where, page_request())


@bp.post("")
def create_review():
    return usecases.create_review(_repo(), validate_body(REVIEW_FIELDS)), 201


@bp.delete("/<int:review_id>")
def delete_review(review_id: int):
    usecases.delete_review(_repo(), review_id)
    return "", 204
