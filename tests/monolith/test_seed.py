"""Deterministic seed data."""

import pytest
from sqlalchemy import select

from monolith.models import Base
from monolith.seed import SeedError, seed
from monolith.seed_data import generate


def _dump(engine):
    with engine.connect() as conn:
        return {
            table.name: [tuple(row) for row in conn.execute(select(table).order_by(table.c.id))]
            for table in Base.metadata.sorted_tables
        }


def test_same_seed_gives_identical_databases(engine, scratch_engine):
    seed(engine, scale=1, seed=7)
    seed(scratch_engine, scale=1, seed=7)
    assert _dump(engine) == _dump(scratch_engine)


def test_different_seeds_give_different_data():
    assert generate(1, seed=1)["customers"] != generate(1, seed=2)["customers"]


def test_scale_one_has_a_few_hundred_customers_products_and_orders(engine):
    report = seed(engine, scale=1)
    assert 200 <= report.rows["customers"] <= 1000
    assert 100 <= report.rows["products"] <= 1000
    assert 200 <= report.rows["orders"] <= 1000
    assert len(report.rows) == len(Base.metadata.tables)
    assert all(count > 0 for count in report.rows.values())


def test_seeded_database_serves_the_api_and_accepts_new_rows(engine, client):
    report = seed(engine, scale=1)
    orders = client.get("/api/orders?per_page=5").get_json()
    assert orders["total"] == report.rows["orders"]
    created = client.post("/api/customers", json={"email": "new@example.com", "name": "New"})
    assert created.status_code == 201
    assert created.get_json()["id"] == report.rows["customers"] + 1
    stock = client.get("/api/inventory?below=0").get_json()
    assert stock["total"] == 0  # seeded sales never drive stock negative


def test_seeding_twice_is_refused_with_a_clear_error(engine):
    seed(engine, scale=1)
    with pytest.raises(SeedError, match="already seeded"):
        seed(engine, scale=1)


def test_seeding_an_unmigrated_database_says_to_migrate(tmp_path):
    from monolith.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'blank.db'}")
    with pytest.raises(SeedError, match="strangler monolith migrate"):
        seed(engine)
    with pytest.raises(ValueError, match="scale"):
        seed(engine, scale=0)
