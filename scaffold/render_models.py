"""SQLAlchemy models and the initial alembic migration, rendered from TableSpecs (pure).

Both are rendered from the same values, so the migration creates exactly the models.
"""

from __future__ import annotations

import json
import keyword
import textwrap

from scaffold.schema import ColumnSpec, ForeignKeySpec, IndexSpec, TableSpec

# annotation -> (module, name imported from it; "" for `import module`)
_IMPORTS = {
    "Decimal": ("decimal", "Decimal"),
    "date": ("datetime", "date"),
    "datetime": ("datetime", "datetime"),
    "time": ("datetime", "time"),
    "timedelta": ("datetime", "timedelta"),
    "Any": ("typing", "Any"),
    "uuid.UUID": ("uuid", ""),
}
_RESERVED = {"metadata", "registry", "query"}  # attributes the declarative base owns


def py(value: str) -> str:
    """A double-quoted Python string literal (as ruff format writes them)."""
    return json.dumps(value, ensure_ascii=False)


def py_list(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(map(py, values)) + "]"


def py_args(values: tuple[str, ...]) -> str:
    return ", ".join(map(py, values))


def docstring(summary: str, *body: str, indent: str = "") -> list[str]:
    """A docstring: the summary wrapped to fit 100 columns, then the body lines."""
    lines = [f"{indent}{line}" for line in textwrap.wrap(summary, 92 - len(indent))]
    lines[0] = lines[0].replace(indent, f'{indent}"""', 1) if indent else f'"""{lines[0]}'
    if not body and len(lines) == 1:
        return [f'{lines[0]}"""']
    return [*lines, *(["", *body] if body else []), f'{indent}"""']


def _import_lines(annotations: set[str]) -> list[str]:
    modules: dict[str, set[str]] = {}
    for annotation in annotations:
        if annotation in _IMPORTS:
            module, name = _IMPORTS[annotation]
            modules.setdefault(module, set()).add(name)
    plain = [f"import {m}" for m, names in sorted(modules.items()) if "" in names]
    froms = [f"from {m} import {', '.join(sorted(n for n in names if n))}"
             for m, names in sorted(modules.items()) if names - {""}]  # fmt: skip
    return plain + froms  # isort: plain imports first


def creation_order(tables: tuple[TableSpec, ...]) -> tuple[TableSpec, ...]:
    """Referenced tables first (foreign keys within the context); a cycle keeps input order."""
    by_name = {t.name: t for t in tables}
    done: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in done or name in visiting:
            return
        visiting.add(name)
        for fk in by_name[name].foreign_keys:
            if fk.ref_table in by_name and fk.ref_table != name:
                visit(fk.ref_table)
        visiting.discard(name)
        done.append(name)

    for table in tables:
        visit(table.name)
    return tuple(by_name[n] for n in done)


def class_name(table: str) -> str:
    name = "".join(p[:1].upper() + p[1:] for p in table.replace(".", "_").split("_") if p)
    return name if name.isidentifier() and not name[0].isdigit() else f"T{name}"


def attribute(column: str) -> str:
    name = column if column.isidentifier() else "".join(c if c.isalnum() else "_" for c in column)
    if name[:1].isdigit():
        name = f"c_{name}"
    return f"{name}_" if keyword.iskeyword(name) or name in _RESERVED else name


def bare(table: str) -> str:
    """The table's name in the service's own database (no schema: SQLite has none)."""
    return table.rpartition(".")[2]


def _type(column: ColumnSpec, table: TableSpec) -> str:
    # SQLite auto-increments only INTEGER PRIMARY KEY, not BIGINT.
    if column.type == "sa.BigInteger()" and table.primary_key == (column.name,):
        return 'sa.BigInteger().with_variant(sa.Integer(), "sqlite")'
    return column.type


# (table, key) pairs whose key refers to a table created after it
Later = frozenset[tuple[str, ForeignKeySpec]]


def later_keys(tables: tuple[TableSpec, ...]) -> Later:
    """Foreign keys to a table created later: a cycle, so they are added after the tables."""
    position = {t.name: i for i, t in enumerate(creation_order(tables))}
    return frozenset(
        (t.name, fk)
        for t in tables
        for fk in t.foreign_keys
        if position.get(fk.ref_table, -1) > position[t.name]
    )


def key_name(table: str, fk: ForeignKeySpec) -> str:
    return f"fk_{bare(table)}_{'_'.join(fk.columns)}_{bare(fk.ref_table)}"[:63]


def _refs(fk: ForeignKeySpec) -> list[str]:
    return [f"{bare(fk.ref_table)}.{c}" for c in fk.ref_columns]


def _constraints(
    table: TableSpec, indent: str, later: Later = frozenset(), skip: bool = False
) -> list[str]:
    """Table-level constraints; keys in `later` get `use_alter` (models) or are skipped."""
    lines = []
    for fk in table.foreign_keys:
        args = f"{py_list(fk.columns)}, {py_list(_refs(fk))}"
        if (table.name, fk) in later:
            if skip:
                continue
            args += f", name={py(key_name(table.name, fk))}, use_alter=True"
        lines.append(f"{indent}sa.ForeignKeyConstraint({args}),")
    for unique in table.uniques:
        lines.append(f"{indent}sa.UniqueConstraint({py_args(unique)}),")
    return lines


def render_models(service: str, context: str, source: str, tables: tuple[TableSpec, ...]) -> str:
    """models.py: one declarative class per table with a primary key, a Table otherwise."""
    mapped = [t for t in tables if t.primary_key]
    imports = _import_lines({c.python for t in mapped for c in t.columns})
    orm = ", ".join(["DeclarativeBase", *(["Mapped", "mapped_column"] if mapped else [])])
    out = [
        *docstring(
            f"SQLAlchemy models of the {service} service: the {context} context's tables, "
            f"read from {source}.",
            "Types are portable SQLAlchemy types, so the service runs on SQLite and PostgreSQL;",
            "comments say where the legacy schema had to change. Foreign keys to tables of other",
            "contexts are cut: those columns keep their ids, without a constraint.",
        ),
        "",
        "from __future__ import annotations",
        "",
        *imports,
        *([""] if imports else []),
        "import sqlalchemy as sa",
        f"from sqlalchemy.orm import {orm}",
        "",
        "",
        "class Base(DeclarativeBase):",
        "    pass",
    ]
    later = later_keys(tables)
    for table in creation_order(tables):
        out += ["", ""] + (_mapped(table, later) if table.primary_key else _core(table, later))
    return "\n".join(out) + "\n"


def _notes(table: TableSpec, indent: str) -> list[str]:
    return [f"{indent}# {note}" for note in table.notes]


def _mapped(table: TableSpec, later: Later) -> list[str]:
    lines = [f"class {class_name(table.name)}(Base):", *_notes(table, "    ")]
    lines.append(f"    __tablename__ = {py(bare(table.name))}")
    table_args = _constraints(table, "        ", later) + [
        _index(ix, "        ") for ix in table.indexes
    ]
    if table_args:
        lines += ["    __table_args__ = (", *table_args, "    )"]
    lines.append("")
    for column in table.columns:
        if column.note:
            lines.append(f"    # {column.name}: {column.note}")
        python = f"{column.python} | None" if column.nullable else column.python
        name = attribute(column.name)
        first = f"{py(column.name)}, " if name != column.name else ""
        pk = ", primary_key=True" if column.name in table.primary_key else ""
        args = f"{first}{_type(column, table)}{pk}, nullable={column.nullable}"
        head = f"    {name}: Mapped[{python}] = mapped_column("
        line = f"{head}{args})"
        lines.append(line if len(line) <= 100 else f"{head}\n        {args}\n    )")
    return lines


def _index(ix: IndexSpec, indent: str) -> str:
    unique = ", unique=True" if ix.unique else ""
    return f"{indent}sa.Index({py(ix.name)}, {py_args(ix.columns)}{unique}),"


def _core(table: TableSpec, later: Later) -> list[str]:
    var = attribute(bare(table.name))
    lines = [
        f"# {table.name} has no primary key, so it is a plain Table (the ORM cannot map it,",
        "# and CDC needs a key for each row: give it one before syncing).",
        *_notes(table, ""),
        f"{var} = sa.Table(",
        f"    {py(bare(table.name))},",
        "    Base.metadata,",
    ]
    lines += [_column(c, table, "    ") for c in table.columns]
    lines += _constraints(table, "    ", later)
    lines += [_index(ix, "    ") for ix in table.indexes]
    return [*lines, ")"]


def _column(column: ColumnSpec, table: TableSpec, indent: str) -> str:
    return (
        f"{indent}sa.Column({py(column.name)}, {_type(column, table)}, nullable={column.nullable}),"
    )


def render_migration(service: str, context: str, tables: tuple[TableSpec, ...]) -> str:
    """versions/0001_initial.py: create every table, its keys, constraints and indexes."""
    ordered = creation_order(tables)
    later = later_keys(tables)
    up: list[str] = []
    for table in ordered:
        up.append(f"    op.create_table(\n        {py(bare(table.name))},")
        up += [_column(c, table, "        ") for c in table.columns]
        if table.primary_key:
            up.append(f"        sa.PrimaryKeyConstraint({py_args(table.primary_key)}),")
        up += _constraints(table, "        ", later, skip=True)
        up.append("    )")
        for ix in table.indexes:
            up.append(
                f"    op.create_index(\n        {py(ix.name)}, {py(bare(table.name))}, "
                f"{py_list(ix.columns)}, unique={ix.unique}\n    )"
            )
    # keys closing a cycle, once both tables exist (batch: SQLite rebuilds the table)
    cycle = sorted(later, key=lambda k: (k[0], key_name(*k)))
    for name, fk in cycle:
        up += [
            f"    with op.batch_alter_table({py(bare(name))}) as batch:",
            f"        batch.create_foreign_key(\n            {py(key_name(name, fk))}, "
            f"{py(bare(fk.ref_table))}, {py_list(fk.columns)}, "
            f"{py_list(fk.ref_columns)}\n        )",
        ]
    down: list[str] = []
    for name, fk in cycle:
        down += [
            f"    with op.batch_alter_table({py(bare(name))}) as batch:",
            f'        batch.drop_constraint({py(key_name(name, fk))}, type_="foreignkey")',
        ]
    for table in reversed(ordered):
        down += [f"    op.drop_index({py(ix.name)}, table_name={py(bare(table.name))})"
                 for ix in table.indexes]  # fmt: skip
        down.append(f"    op.drop_table({py(bare(table.name))})")
    return "\n".join([
        *docstring(
            f"Initial schema of the {service} service: the {context} context's tables.",
            "Revision ID: 0001",
            "Revises:",
            "Create Date: generated by strangler extract scaffold",
        ),
        "",
        "import sqlalchemy as sa",
        "from alembic import op",
        "",
        'revision = "0001"',
        "down_revision = None",
        "branch_labels = None",
        "depends_on = None",
        "",
        "",
        "def upgrade() -> None:",
        *(up or ["    pass"]),
        "",
        "",
        "def downgrade() -> None:",
        *(down or ["    pass"]),
        "",
    ])  # fmt: skip
