"""The catalog's commands and queries: domain rules applied through a repository.

Each function takes the repository and already-validated input, checks the rules in the
monolith's order (so the same bad request gets the same first error), and returns the
JSON body the endpoint answers.
"""

from __future__ import annotations

from typing import Any

from extracted._service.errors import Conflict, Unprocessable, not_found
from extracted._service.http_input import PageRequest
from extracted.catalog.domain import (
    CURRENCY,
    Product,
    ProductFilter,
    StockEntry,
    parse_stock,
    price_changes,
    product_detail_json,
    product_json,
    slugify,
)
from extracted.catalog.repository import CatalogRepository


def list_categories(repo: CatalogRepository, page: PageRequest) -> dict[str, Any]:
    found, total = repo.categories_page(page.per_page, page.offset)
    items = [{**category.to_json(), "product_count": count} for category, count in found]
    return page.answer(items, total)


def create_category(repo: CatalogRepository, data: dict[str, Any]) -> dict[str, Any]:
    name, parent_id = data["name"], data.get("parent_id")
    slug = slugify(name)
    if repo.category_name_taken(name, slug):
        raise Conflict(f"category {name!r} already exists", code="duplicate_category")
    if parent_id is not None and not repo.category_exists(parent_id):
        raise not_found("category", parent_id)
    category = repo.add_category(name, slug, parent_id)
    repo.commit()
    return category.to_json()


def list_products(
    repo: CatalogRepository, where: ProductFilter, page: PageRequest
) -> dict[str, Any]:
    products, total = repo.products_page(where, page.per_page, page.offset)
    ids = [p.id for p in products]
    prices, stock = repo.current_prices(ids), repo.stock_totals(ids)
    items = [product_json(p, prices.get(p.id), stock.get(p.id)) for p in products]
    return page.answer(items, total)


def get_product(repo: CatalogRepository, product_id: int) -> dict[str, Any]:
    product = _existing(repo, product_id)
    price = repo.current_prices([product_id]).get(product_id)
    stock = repo.stock_totals([product_id]).get(product_id, 0)
    return product_detail_json(product, price, stock, repo.rating(product_id))


def create_product(repo: CatalogRepository, data: dict[str, Any]) -> dict[str, Any]:
    stock = _checked_stock(repo, data.get("stock", []))
    _check_category(repo, data["category_id"])
    if repo.sku_taken(data["sku"]):
        raise Conflict(
            f"a product with sku {data['sku']} already exists",
            code="duplicate_sku",
            details=[{"field": "sku", "message": "is already used"}],
        )
    product = repo.add_product(data)
    price = repo.open_price(product.id, data["price_cents"], CURRENCY)
    repo.set_stock(product.id, stock)
    repo.commit()
    return product_json(product, price, sum(e.quantity for e in stock))


def update_product(
    repo: CatalogRepository, product_id: int, data: dict[str, Any]
) -> dict[str, Any]:
    _existing(repo, product_id)
    if "category_id" in data:
        _check_category(repo, data["category_id"])
    if "sku" in data and repo.sku_taken(data["sku"], other_than=product_id):
        raise Conflict(f"a product with sku {data['sku']} already exists", code="duplicate_sku")
    if "stock" in data:
        repo.set_stock(product_id, _checked_stock(repo, data["stock"]))
    if "price_cents" in data:
        current = repo.current_prices([product_id]).get(product_id)
        if price_changes(current, data["price_cents"]):
            repo.open_price(product_id, data["price_cents"], CURRENCY)
    repo.update_product(product_id, data)
    repo.commit()
    return get_product(repo, product_id)


def delete_product(repo: CatalogRepository, product_id: int) -> None:
    _existing(repo, product_id)
    if repo.was_ordered(product_id):
        raise Conflict(
            f"product {product_id} has been ordered and cannot be deleted; deactivate it instead",
            code="product_has_orders",
        )
    repo.delete_product(product_id)
    repo.commit()


def _existing(repo: CatalogRepository, product_id: int) -> Product:
    product = repo.product(product_id)
    if product is None:
        raise not_found("product", product_id)
    return product


def _check_category(repo: CatalogRepository, category_id: int) -> None:
    if not repo.category_exists(category_id):
        raise Unprocessable(
            f"category {category_id} does not exist",
            details=[{"field": "category_id", "message": "unknown category"}],
        )


def _checked_stock(repo: CatalogRepository, raw: list[Any]) -> list[StockEntry]:
    entries = parse_stock(raw)
    unknown = repo.unknown_warehouses(e.warehouse_id for e in entries)
    if unknown:
        raise Unprocessable(
            f"warehouse {unknown[0]} does not exist",
            details=[{"field": "stock", "message": f"unknown warehouse {unknown[0]}"}],
        )
    return entries
