from analysis.access import build_access, canonical_names
from analysis.findings import find_all
from analysis.overrides import Overrides
from analysis.plan import extraction_plan
from analysis.sources.ddl import schema_from_text

from .helpers import SHOP, SHOP_DDL, model_of, split_of


def _by_table(split):
    return {c.name: set(c.tables) for c in split.contexts}


def test_shop_workload_splits_into_its_four_contexts():
    split = split_of(model_of(SHOP, SHOP_DDL))
    groups = sorted(sorted(tables) for tables in _by_table(split).values())
    assert ["addresses", "customers"] in groups
    assert ["categories", "products"] in groups
    assert ["order_lines", "orders"] in groups
    assert ["stock_levels", "stock_movements", "warehouses"] in groups


def test_the_same_input_gives_the_same_split_every_time():
    first = split_of(model_of(SHOP, SHOP_DDL))
    for _ in range(3):
        assert split_of(model_of(SHOP, SHOP_DDL)) == first


def test_a_table_written_by_two_contexts_is_shared_and_owned_by_the_main_writer():
    split = split_of(model_of(SHOP, SHOP_DDL))
    stock = split.tables["stock_levels"]
    assert stock.shared
    assert stock.owner == split.table_context["stock_levels"]
    assert stock.owner_basis == "updates"  # both writers change existing rows
    assert 0.5 <= stock.owner_confidence < 1.0
    assert set(stock.writers) == {"POST /checkout", "POST /stock/<id>/receive"}
    assert not split.tables["orders"].shared


def test_endpoints_go_to_the_context_owning_what_they_write_or_else_read():
    split = split_of(model_of(SHOP, SHOP_DDL))
    tc, ec = split.table_context, split.endpoint_context
    assert ec["POST /checkout"] == tc["orders"]  # writes orders and order_lines most
    assert ec["GET /products"] == tc["products"]  # reads only


def test_a_tie_on_written_tables_goes_to_the_context_the_url_acts_on():
    pairs = [
        ("GET /orders/<id>", "SELECT * FROM orders o JOIN payments p ON p.order_id = o.id"),
        ("POST /orders", "INSERT INTO orders (id) VALUES (?)"),
        ("POST /orders", "INSERT INTO payments (order_id) VALUES (?)"),
        ("GET /stock", "SELECT * FROM stock_levels s JOIN stock_movements m ON m.stock_id = s.id"),
        ("POST /stock", "UPDATE stock_levels SET qty = ? WHERE id = ?"),
        ("POST /stock", "INSERT INTO stock_movements (qty) VALUES (?)"),
        # two tables of each context: the URL says it is an order command
        ("POST /orders/<id>/cancel", "UPDATE orders SET status = ? WHERE id = ?"),
        ("POST /orders/<id>/cancel", "UPDATE payments SET status = ? WHERE order_id = ?"),
        ("POST /orders/<id>/cancel", "UPDATE stock_levels SET qty = qty + ? WHERE id = ?"),
        ("POST /orders/<id>/cancel", "INSERT INTO stock_movements (qty) VALUES (?)"),
        ("POST /orders/<id>/cancel", "INSERT INTO stock_movements (qty) VALUES (?)"),
    ]
    split = split_of(model_of(pairs))
    assert split.table_context["orders"] != split.table_context["stock_levels"]
    assert split.endpoint_context["POST /orders/<id>/cancel"] == split.table_context["orders"]


def test_an_outbox_is_owned_by_the_context_that_updates_its_rows_not_its_appenders():
    pairs = [
        ("POST /orders", "INSERT INTO orders (id) VALUES (?)"),
        ("POST /orders", "INSERT INTO outbox (kind) VALUES (?)"),
        ("POST /orders/<id>/pay", "UPDATE orders SET paid = ? WHERE id = ?"),
        ("POST /orders/<id>/pay", "INSERT INTO outbox (kind) VALUES (?)"),
        ("GET /orders", "SELECT * FROM orders o JOIN order_lines l ON l.order_id = o.id"),
        ("POST /outbox/dispatch", "SELECT * FROM outbox WHERE sent = ?"),
        ("POST /outbox/dispatch", "UPDATE outbox SET sent = ? WHERE id = ?"),
        ("GET /outbox", "SELECT * FROM outbox"),
    ]
    pins = {"outbox": "mail", "orders": "sales", "order_lines": "sales"}
    split = split_of(model_of(pairs), Overrides(pin=pins))
    outbox = split.tables["outbox"]
    assert (outbox.owner, outbox.owner_basis) == ("mail", "updates")
    assert outbox.shared  # the appenders still write it: the shared_table finding stays
    assert 0.5 <= outbox.owner_confidence < 1.0  # tempered by the other writers


def test_findings_name_the_shared_table_checkout_joins_and_foreign_keys():
    model = model_of(SHOP, SHOP_DDL)
    findings = find_all(model, split_of(model))
    kinds = {(f.kind, f.tables) for f in findings}
    assert ("shared_table", ("stock_levels",)) in kinds
    multi = [f for f in findings if f.kind == "multi_context_write"]
    assert [f.endpoints for f in multi] == [("POST /checkout",)]
    assert "saga" in multi[0].remedy
    assert ("cross_context_join", ("customers", "products")) in kinds
    assert ("cross_context_fk", ("order_lines", "products")) in kinds
    unused = [f for f in findings if f.kind == "unused_table"]
    assert unused[0].tables == ("legacy_flags",)
    assert all(f.remedy and f.message for f in findings)


def test_extraction_plan_starts_with_the_least_coupled_context():
    model = model_of(SHOP, SHOP_DDL)
    split = split_of(model)
    plan = extraction_plan(model, split)
    routed = [s for s in plan if s.endpoints]
    assert [s.coupling for s in routed] == sorted(s.coupling for s in routed)
    # a context no endpoint is routed to comes after those with endpoints, and says why
    idle = [s for s in plan if not s.endpoints]
    assert plan == routed + idle
    assert all("no endpoint is routed to it" in s.note for s in idle)
    orders = next(s for s in plan if "orders" in s.tables)
    assert ("order_lines", "products") in {
        (fk.table, fk.ref_table) for fk in orders.foreign_keys_to_cut
    }
    catalog = next(s for s in plan if "products" in s.tables)
    assert "products" in catalog.cdc_streams  # checkout still reads it from orders


def test_pins_names_ignores_and_a_context_count_are_obeyed():
    overrides = Overrides(
        pin={"stock_levels": "ordering"},
        names={"customers": "crm"},
        ignore=("legacy_flags",),
        contexts=3,
    )
    model = model_of(SHOP, SHOP_DDL, overrides)
    assert "legacy_flags" not in model.tables
    split = split_of(model, overrides)
    assert split.table_context["stock_levels"] == "ordering"
    assert split.table_context["customers"] == "crm"
    assert len({c for t, c in split.table_context.items() if t != "stock_levels"}) <= 3


def test_ignored_endpoints_do_not_count():
    pairs = [*SHOP, ("cli seed", "INSERT INTO customers (id) VALUES (?)")]
    model = model_of(pairs, SHOP_DDL, Overrides(ignore_endpoints=("cli *",)))
    assert "cli seed" not in model.endpoints


def test_schema_only_contexts_come_from_foreign_keys_and_names():
    model = model_of([], SHOP_DDL)
    assert not model.has_workload
    split = split_of(model)
    tc = split.table_context
    assert tc["order_lines"] == tc["orders"]
    assert tc["addresses"] == tc["customers"]
    assert all(info.owner_basis == "schema" for info in split.tables.values())
    assert all(info.owner_confidence <= 0.5 for info in split.tables.values())


def test_table_names_drop_default_schemas_unless_two_schemas_share_a_name():
    names = canonical_names({"public.orders", "orders", "sales.items", "billing.items", "x"})
    assert names["public.orders"] == "orders"
    assert names["orders"] == "orders"
    assert names["sales.items"] == "sales.items"
    assert names["billing.items"] == "billing.items"
    schema = schema_from_text("CREATE TABLE public.orders (id int);", "postgres")
    model = build_access(schema, None)
    assert model.tables == ("orders",)
