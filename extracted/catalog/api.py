"""The catalog's HTTP adapter: the monolith's catalog endpoints, same paths and answers."""

from __future__ import annotations

from flask import Blueprint, request

from extracted._service.database import session
from extracted._service.http_input import page_request, query_choice, query_int, validate_body
from extracted.catalog import usecases
from extracted.catalog.domain import CATEGORY_FIELDS, PRODUCT_FIELDS, ProductFilter
from extracted.catalog.repository import CatalogRepository

bp = Blueprint("catalog", __name__, url_prefix="/api")


def _repo() -> CatalogRepository:
    return CatalogRepository(session())


@bp.get("/categories")
def list_categories():
    return usecases.list_categories(_repo(), page_request())


@bp.post("/categories")
def create_category():
    return usecases.create_category(_repo(), validate_body(CATEGORY_FIELDS)), 201


@bp.get("/products")
def list_products():
    active = query_choice("active", ("true", "false"))
    where = ProductFilter(
        q=request.args.get("q") or None,
        category_id=query_int("category_id"),
        active=None if active is None else active == "true",
        min_price=query_int("min_price"),
        max_price=query_int("max_price"),
    )
    return usecases.list_products(_repo(), where, page_request())


@bp.post("/products")
def create_product():
    return usecases.create_product(_repo(), validate_body(PRODUCT_FIELDS)), 201


@bp.get("/products/<int:product_id>")
def get_product(product_id: int):
    return usecases.get_product(_repo(), product_id)


@bp.patch("/products/<int:product_id>")
def update_product(product_id: int):
    data = validate_body(PRODUCT_FIELDS, partial=True)
    return usecases.update_product(_repo(), product_id, data)


@bp.delete("/products/<int:product_id>")
def delete_product(product_id: int):
    usecases.delete_product(_repo(), product_id)
    return "", 204
