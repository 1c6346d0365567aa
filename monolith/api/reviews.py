"""Reviews context: product ratings, marked verified when the reviewer bought the product."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import select

from monolith.api.common import as_dict, audit, get_or_404, paginate
from monolith.db import session
from monolith.errors import Conflict, Unprocessable
from monolith.models import Customer, Order, OrderLine, Product, Review
from monolith.validation import Field, query_int, validate_body

bp = Blueprint("reviews", __name__, url_prefix="/api/reviews")

NEW_REVIEW = {
    "product_id": Field(kind=int, required=True),
    "customer_id": Field(kind=int, required=True),
    "rating": Field(kind=int, required=True, min=1, max=5),
    "title": Field(required=True, max_len=200),
    "body": Field(max_len=5000, nullable=True),
}


@bp.get("")
def list_reviews():
    stmt = (
        select(Review, Product.name, Customer.name)
        .join(Product, Product.id == Review.product_id)
        .join(Customer, Customer.id == Review.customer_id)
        .order_by(Review.id.desc())
    )
    if (product_id := query_int("product_id")) is not None:
        stmt = stmt.where(Review.product_id == product_id)
    if (customer_id := query_int("customer_id")) is not None:
        stmt = stmt.where(Review.customer_id == customer_id)
    if (min_rating := query_int("min_rating", min=1, max=5)) is not None:
        stmt = stmt.where(Review.rating >= min_rating)
    return paginate(
        session(),
        stmt,
        lambda row: {**as_dict(row[0]), "product_name": row[1], "customer_name": row[2]},
    )


@bp.post("")
def create_review():
    data = validate_body(NEW_REVIEW)
    db = session()
    for field, model in (("product_id", Product), ("customer_id", Customer)):
        if db.get(model, data[field]) is None:
            raise Unprocessable(
                f"{field} {data[field]} does not exist",
                details=[{"field": field, "message": "does not exist"}],
            )
    duplicate = select(Review.id).where(
        Review.product_id == data["product_id"], Review.customer_id == data["customer_id"]
    )
    if db.scalar(duplicate):
        raise Conflict("this customer already reviewed this product", code="duplicate_review")
    # Verified purchase: reviews reach into orders and order_lines.
    bought = db.scalar(
        select(OrderLine.id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.customer_id == data["customer_id"],
            OrderLine.product_id == data["product_id"],
            Order.status != "cancelled",
        )
        .limit(1)
    )
    review = Review(**data, verified_purchase=bought is not None)
    db.add(review)
    db.flush()
    audit(db, "review.created", "review", review.id)
    db.commit()
    return as_dict(review), 201


@bp.delete("/<int:review_id>")
def delete_review(review_id: int):
    db = session()
    db.delete(get_or_404(db, Review, review_id, "review"))
    audit(db, "review.deleted", "review", review_id)
    db.commit()
    return "", 204
