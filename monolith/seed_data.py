"""Deterministic ShopCo data: plain row dicts per table, from one seeded RNG.

Pure: no database access. The same (scale, seed) always yields the same rows, so two
seeded databases compare equal row by row.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

Rows = dict[str, list[dict[str, Any]]]

EPOCH = datetime(2025, 1, 1)
FIRST = (
    "Ada",
    "Bram",
    "Chen",
    "Daan",
    "Eva",
    "Femke",
    "Gus",
    "Hana",
    "Ines",
    "Joris",
    "Kai",
    "Lena",
    "Milan",
    "Noor",
    "Omar",
    "Pia",
    "Quinn",
    "Ravi",
    "Sara",
    "Tom",
)
LAST = (
    "Jansen",
    "de Vries",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "Mulder",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "Dekker",
    "Brouwer",
    "Kok",
    "Wong",
    "Garcia",
    "Novak",
    "Ito",
)
CITIES = (
    ("Amsterdam", "NL"),
    ("Rotterdam", "NL"),
    ("Utrecht", "NL"),
    ("Antwerp", "BE"),
    ("Berlin", "DE"),
    ("Lyon", "FR"),
    ("Porto", "PT"),
    ("Gent", "BE"),
)
CATEGORIES = (
    ("Books", None),
    ("Fiction", 1),
    ("Non-fiction", 1),
    ("Electronics", None),
    ("Audio", 4),
    ("Computers", 4),
    ("Home", None),
    ("Kitchen", 7),
    ("Garden", 7),
    ("Toys", None),
    ("Sports", None),
    ("Clothing", None),
)
WAREHOUSES = (
    ("AMS", "Amsterdam Hub"),
    ("RTM", "Rotterdam Port"),
    ("BER", "Berlin East"),
    ("LYS", "Lyon South"),
)
ADJECTIVES = ("Classic", "Compact", "Deluxe", "Eco", "Essential", "Pro", "Smart", "Vintage")
NOUNS = (
    "Lamp",
    "Novel",
    "Speaker",
    "Kettle",
    "Backpack",
    "Keyboard",
    "Planter",
    "Puzzle",
    "Jacket",
    "Racket",
    "Headphones",
    "Atlas",
    "Mug",
    "Drone",
    "Tent",
)
CARRIERS = ("dhl", "ups", "dpd", "postnl")
METHODS = ("card", "card", "card", "paypal", "invoice")
ORDER_STATUSES = ("paid",) * 3 + ("shipped",) * 2 + ("delivered",) * 4 + ("cancelled",)


def _at(rng: random.Random, days: int = 365) -> datetime:
    return EPOCH + timedelta(seconds=rng.randrange(days * 86400))


def generate(scale: int = 1, seed: int = 42) -> Rows:
    """Return every table's rows for `scale` (1 = a few hundred customers and orders)."""
    if scale < 1:
        raise ValueError(f"scale must be at least 1, got {scale}")
    rng = random.Random(seed)
    rows: Rows = defaultdict(list)
    _reference_data(rows)
    _customers(rng, rows, 300 * scale)
    _products(rng, rows, 200 * scale)
    _orders(rng, rows, 400 * scale)
    _carts(rng, rows, 60 * scale)
    _reviews(rng, rows, 300 * scale)
    for number, mail in enumerate(rows["notifications"], 1):
        mail["id"] = number
    return dict(rows)


def _reference_data(rows: Rows) -> None:
    for i, (name, parent) in enumerate(CATEGORIES, 1):
        slug = name.lower().replace(" ", "-")
        rows["categories"].append({"id": i, "name": name, "slug": slug, "parent_id": parent})
    for i, (code, name) in enumerate(WAREHOUSES, 1):
        rows["warehouses"].append({"id": i, "code": code, "name": name, "city": name.split()[0]})


def _customers(rng: random.Random, rows: Rows, count: int) -> None:
    for cid in range(1, count + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        created = _at(rng)
        email = f"{first}.{last.replace(' ', '')}{cid}@example.com".lower()
        rows["customers"].append(
            {
                "id": cid,
                "email": email,
                "name": f"{first} {last}",
                "status": "active",
                "phone": f"+31 6 {rng.randrange(10**8):08d}",
                "created_at": created,
            }
        )
        for n in range(rng.choice((1, 1, 2))):
            city, country = rng.choice(CITIES)
            rows["addresses"].append(
                {
                    "id": len(rows["addresses"]) + 1,
                    "customer_id": cid,
                    "kind": "shipping" if n == 0 else "billing",
                    "line1": f"{rng.randrange(1, 300)} Main St",
                    "line2": None,
                    "city": city,
                    "postcode": f"{rng.randrange(1000, 9999)}",
                    "country": country,
                    "is_default": n == 0,
                }
            )
        rows["notifications"].append(
            _mail(cid, email, "welcome", "Welcome to ShopCo", created, True)
        )


def _products(rng: random.Random, rows: Rows, count: int) -> None:
    for pid in range(1, count + 1):
        created = _at(rng, 30)
        rows["products"].append(
            {
                "id": pid,
                "sku": f"SKU-{pid:07d}",
                "name": f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {pid}",
                "description": "A ShopCo best seller.",
                "category_id": rng.randrange(1, len(CATEGORIES) + 1),
                "active": rng.random() > 0.03,
                "created_at": created,
            }
        )
        amount = rng.randrange(299, 49999)
        if rng.random() < 0.3:  # an old price, superseded on day 60
            changed = EPOCH + timedelta(days=60)
            rows["prices"].append(_price(rows, pid, amount + 500, created, changed))
            created = changed
        rows["prices"].append(_price(rows, pid, amount, created, None))
        for wid in sorted(rng.sample(range(1, len(WAREHOUSES) + 1), rng.choice((1, 2, 3)))):
            quantity = rng.randrange(50, 400)
            rows["stock_levels"].append(
                {
                    "id": len(rows["stock_levels"]) + 1,
                    "product_id": pid,
                    "warehouse_id": wid,
                    "quantity": quantity,
                    "updated_at": created,
                }
            )
            _movement(rows, pid, wid, quantity, "initial", None, created)


def _orders(rng: random.Random, rows: Rows, count: int) -> None:
    customers, products = rows["customers"], rows["products"]
    current = {p["product_id"]: p["amount_cents"] for p in rows["prices"] if p["valid_to"] is None}
    levels = defaultdict(list)
    for level in rows["stock_levels"]:
        levels[level["product_id"]].append(level)
    addresses = {a["customer_id"]: a["id"] for a in rows["addresses"] if a["is_default"]}
    for oid in range(1, count + 1):
        customer = rng.choice(customers)
        created = _at(rng)
        status = rng.choice(ORDER_STATUSES)
        total = 0
        for product in rng.sample(products, rng.choice((1, 1, 2, 3, 4))):
            quantity, unit = rng.choice((1, 1, 1, 2, 3)), current[product["id"]]
            total += unit * quantity
            rows["order_lines"].append(
                {
                    "id": len(rows["order_lines"]) + 1,
                    "order_id": oid,
                    "product_id": product["id"],
                    "quantity": quantity,
                    "unit_price_cents": unit,
                    "line_total_cents": unit * quantity,
                }
            )
            level = max(levels[product["id"]], key=lambda lv: lv["quantity"])
            level["quantity"] -= quantity
            _movement(rows, product["id"], level["warehouse_id"], -quantity, "sale", oid, created)
            if status == "cancelled":
                level["quantity"] += quantity
                _movement(
                    rows,
                    product["id"],
                    level["warehouse_id"],
                    quantity,
                    "cancellation",
                    oid,
                    created,
                )
        rows["orders"].append(
            {
                "id": oid,
                "customer_id": customer["id"],
                "shipping_address_id": addresses[customer["id"]],
                "cart_id": None,
                "status": status,
                "currency": "EUR",
                "total_cents": total,
                "created_at": created,
            }
        )
        rows["payments"].append(
            {
                "id": oid,
                "order_id": oid,
                "method": rng.choice(METHODS),
                "amount_cents": total,
                "status": "refunded" if status == "cancelled" else "captured",
                "currency": "EUR",
                "reference": f"PAY-{oid:08d}",
                "created_at": created,
            }
        )
        rows["notifications"].append(
            _mail(
                customer["id"],
                customer["email"],
                "order_confirmation",
                f"Your ShopCo order {oid}",
                created,
                True,
            )
        )
        if status in ("shipped", "delivered"):
            carrier = rng.choice(CARRIERS)
            rows["shipments"].append(
                {
                    "id": len(rows["shipments"]) + 1,
                    "order_id": oid,
                    "warehouse_id": rng.randrange(1, 5),
                    "carrier": carrier,
                    "tracking_number": f"{carrier.upper()}{oid:09d}1",
                    "status": "delivered" if status == "delivered" else "in_transit",
                    "shipped_at": created + timedelta(days=1),
                    "delivered_at": created + timedelta(days=3) if status == "delivered" else None,
                }
            )
        rows["audit_log"].append(
            {
                "id": len(rows["audit_log"]) + 1,
                "actor": "seed",
                "action": "order.placed",
                "entity": "order",
                "entity_id": oid,
                "details": None,
                "created_at": created,
            }
        )


def _carts(rng: random.Random, rows: Rows, count: int) -> None:
    active = [p["id"] for p in rows["products"] if p["active"]]
    for cart_id in range(1, count + 1):
        created = _at(rng)
        rows["carts"].append(
            {
                "id": cart_id,
                "customer_id": rng.choice(rows["customers"])["id"],
                "status": "open",
                "created_at": created,
                "updated_at": created,
            }
        )
        for pid in rng.sample(active, rng.choice((1, 2, 3))):
            rows["cart_items"].append(
                {
                    "id": len(rows["cart_items"]) + 1,
                    "cart_id": cart_id,
                    "product_id": pid,
                    "quantity": rng.choice((1, 1, 2)),
                }
            )


def _reviews(rng: random.Random, rows: Rows, count: int) -> None:
    buyer = {o["id"]: o["customer_id"] for o in rows["orders"]}
    bought = {(buyer[line["order_id"]], line["product_id"]) for line in rows["order_lines"]}
    seen: set[tuple[int, int]] = set()
    while len(seen) < count:
        customer = rng.choice(rows["customers"])["id"]
        product = rng.choice(rows["products"])["id"]
        if (customer, product) in seen:
            continue
        seen.add((customer, product))
        rating = rng.choice((1, 2, 3, 4, 4, 5, 5, 5))
        rows["reviews"].append(
            {
                "id": len(rows["reviews"]) + 1,
                "product_id": product,
                "customer_id": customer,
                "rating": rating,
                "title": ("Meh", "Okay", "Good", "Great", "Superb")[rating - 1],
                "body": None,
                "verified_purchase": (customer, product) in bought,
                "created_at": _at(rng),
            }
        )


def _price(
    rows: Rows, pid: int, amount: int, start: datetime, end: datetime | None
) -> dict[str, Any]:
    return {
        "id": len(rows["prices"]) + 1,
        "product_id": pid,
        "currency": "EUR",
        "amount_cents": amount,
        "valid_from": start,
        "valid_to": end,
    }


def _movement(
    rows: Rows, pid: int, wid: int, delta: int, reason: str, oid: int | None, at: datetime
) -> None:
    rows["stock_movements"].append(
        {
            "id": len(rows["stock_movements"]) + 1,
            "product_id": pid,
            "warehouse_id": wid,
            "delta": delta,
            "reason": reason,
            "order_id": oid,
            "created_at": at,
        }
    )


def _mail(
    cid: int, email: str, kind: str, subject: str, at: datetime, sent: bool
) -> dict[str, Any]:
    return {
        "customer_id": cid,
        "kind": kind,
        "recipient": email,
        "subject": subject,
        "body": subject + ".",
        "status": "sent" if sent else "queued",
        "created_at": at,
        "sent_at": at if sent else None,
    }
