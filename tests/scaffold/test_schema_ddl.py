"""Tables from DDL: types, keys, nullability, unique constraints and indexes."""

from pathlib import Path

import pytest

from scaffold.errors import ScaffoldError
from scaffold.schema import cut_foreign_keys
from scaffold.schema_ddl import read_ddl_tables, tables_from_ddl
from tests.scaffold.helpers import LIBRARY_DDL


@pytest.fixture(scope="module")
def library():
    names = ("branch_log", "copies", "fines", "loans", "members", "reservations", "titles")
    return read_ddl_tables(LIBRARY_DDL, names, "postgres")


def _column(table, name):
    return next(c for c in table.columns if c.name == name)


def test_postgres_types_become_portable_sqlalchemy_types(library) -> None:
    members, copies, fines = library["members"], library["copies"], library["fines"]
    assert (_column(members, "member_no").type, _column(members, "member_no").python) == (
        "sa.Uuid()",
        "uuid.UUID",
    )
    assert _column(members, "preferences").type == "sa.JSON()"
    assert _column(members, "email").type == "sa.String(200)"
    assert _column(copies, "id").type == "sa.BigInteger()"
    assert _column(copies, "acquired_at").type == "sa.DateTime(timezone=True)"
    assert _column(fines, "amount").type == "sa.Numeric(8, 2)"
    assert _column(fines, "id").type == "sa.Integer()"


def test_nullability_and_keys_are_kept(library) -> None:
    members, reservations = library["members"], library["reservations"]
    assert _column(members, "member_no").nullable is False  # primary key
    assert _column(members, "full_name").nullable is False
    assert _column(members, "preferences").nullable is True
    assert reservations.primary_key == ("member_no", "isbn")
    assert library["branch_log"].primary_key == ()


def test_unique_constraints_and_indexes_are_kept(library) -> None:
    assert library["members"].uniques == (("email",),)
    assert library["copies"].uniques == (("branch", "shelf_mark"),)
    loans = {ix.name: ix for ix in library["loans"].indexes}
    assert loans["ix_loans_member"].columns == ("member_no", "lent_at")
    assert loans["ix_loans_open_copy"].unique is True


def test_an_expression_index_is_left_for_the_user_and_said_so(library) -> None:
    titles = library["titles"]
    assert [ix.name for ix in titles.indexes] == ["ix_titles_author"]
    assert any("ix_titles_lower_title" in note for note in titles.notes)


def test_foreign_keys_to_other_contexts_are_cut_and_noted(library) -> None:
    table, cut = cut_foreign_keys(library["loans"], {"loans", "fines"})
    assert table.foreign_keys == ()
    assert cut == ("loans(copy_id) -> copies", "loans(member_no) -> members")
    kept, _ = cut_foreign_keys(library["fines"], {"loans", "fines"})
    assert [fk.ref_table for fk in kept.foreign_keys] == ["loans"]


def test_a_type_without_a_portable_equivalent_is_text_with_a_note() -> None:
    tables = tables_from_ddl([(Path("x.sql"), "CREATE TABLE p (id int PRIMARY KEY, g geometry)")],
                             ("p",), "postgres")  # fmt: skip
    geo = _column(tables["p"], "g")
    assert (geo.type, geo.note) == ("sa.Text()", "was GEOMETRY")


def test_a_statement_that_does_not_parse_is_an_error_naming_where(tmp_path) -> None:
    ddl = tmp_path / "bad.sql"
    ddl.write_text("CREATE TABLE ok (id int);\n\nCREATE TABLE broken (id int;\n")
    with pytest.raises(ScaffoldError, match=r"bad.sql:3: cannot parse the statement") as info:
        read_ddl_tables(ddl, ("ok",), None)
    assert "\n" not in str(info.value)
