"""The context's tables read from DDL, with the analyzer's statement splitter and sqlglot.

The analyzer (analysis/sources/ddl.py) keeps only names and keys; a service needs types,
nullability, unique constraints and indexes too, so this reads the same statements
further. Statements are split and tables named exactly as the analyzer does, so the
table names match the report's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import cast

import sqlalchemy as sa
import sqlglot
from sqlalchemy.types import NullType, TypeEngine
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from analysis.errors import AnalysisError
from analysis.sqltext import resolve_dialect, split_statements
from analysis.statements import table_name
from scaffold.errors import ScaffoldError
from scaffold.schema import ColumnSpec, ForeignKeySpec, IndexSpec, TableSpec, column_spec

_INT = {"TINYINT": sa.SmallInteger, "SMALLINT": sa.SmallInteger, "SMALLSERIAL": sa.SmallInteger,
        "BIGINT": sa.BigInteger, "BIGSERIAL": sa.BigInteger, "UBIGINT": sa.BigInteger}  # fmt: skip
_PLAIN: dict[str, Callable[[], TypeEngine]] = {
    "TEXT": sa.Text, "MEDIUMTEXT": sa.Text, "LONGTEXT": sa.Text, "TINYTEXT": sa.Text,
    "FLOAT": sa.Float, "DOUBLE": sa.Float, "BOOLEAN": sa.Boolean, "BIT": sa.Boolean,
    "DATE": sa.Date, "DATETIME": sa.DateTime, "TIMESTAMP": sa.DateTime,
    "TIMESTAMPNTZ": sa.DateTime, "DATETIME2": sa.DateTime, "TIME": sa.Time,
    "INTERVAL": sa.Interval, "JSON": sa.JSON, "JSONB": sa.JSON, "UUID": sa.Uuid,
    "BLOB": sa.LargeBinary, "LONGBLOB": sa.LargeBinary, "MEDIUMBLOB": sa.LargeBinary,
    "BINARY": sa.LargeBinary, "VARBINARY": sa.LargeBinary,
}  # fmt: skip
_STRINGS = {"VARCHAR", "NVARCHAR", "CHAR", "NCHAR", "BPCHAR"}
_INTS = {"INT", "MEDIUMINT", "SERIAL", "UINT", "UMEDIUMINT", "USMALLINT", "UTINYINT"}


def read_ddl_tables(
    path: Path, wanted: tuple[str, ...], dialect: str | None
) -> dict[str, TableSpec]:
    """Parse the DDL file (or .sql files of a folder); return the wanted tables found."""
    if not path.exists():
        raise ScaffoldError(f"--schema {path}: no such file or folder")
    files = sorted(path.rglob("*.sql")) if path.is_dir() else [path]
    try:
        dialect = resolve_dialect(dialect)
        texts = [(f, f.read_text(encoding="utf-8")) for f in files]
    except AnalysisError as exc:
        raise ScaffoldError(str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScaffoldError(f"--schema {path}: cannot read: {exc}") from None
    return tables_from_ddl(texts, wanted, dialect)


def tables_from_ddl(
    texts: list[tuple[Path, str]], wanted: tuple[str, ...], dialect: str | None
) -> dict[str, TableSpec]:
    """Build the wanted tables from DDL texts (pure); a statement that does not parse
    is an error naming where it is."""
    builder = _Builder()
    for file, text in texts:
        try:
            chunks = split_statements(text, dialect)
        except AnalysisError as exc:
            raise ScaffoldError(f"--schema {file}: {exc}") from None
        for chunk in chunks:
            try:
                parsed = sqlglot.parse_one(chunk.sql, read=dialect)
            except (ParseError, TokenError) as exc:
                reason = str(exc).strip().splitlines()[0]
                raise ScaffoldError(
                    f"--schema {file}:{chunk.line}: cannot parse the statement ({reason}); "
                    "try --dialect"
                ) from None
            builder.take(cast(exp.Expression, parsed))
    return {t: builder.table(t) for t in wanted if t in builder.columns}


class _Builder:
    def __init__(self) -> None:
        self.columns: dict[str, list[ColumnSpec]] = {}
        self.primary: dict[str, list[str]] = {}
        self.fks: dict[str, list[ForeignKeySpec]] = {}
        self.uniques: dict[str, list[tuple[str, ...]]] = {}
        self.indexes: dict[str, list[IndexSpec]] = {}
        self.notes: dict[str, list[str]] = {}

    def take(self, e: exp.Expression) -> None:
        kind = str(e.args.get("kind") or "").upper() if isinstance(e, exp.Create) else ""
        if kind == "TABLE" and isinstance(e.this, exp.Schema):
            table = e.this.this
            if isinstance(table, exp.Table) and table_name(table):
                self._create(table_name(table), e.this)
        elif kind == "INDEX" and isinstance(e.this, exp.Index):
            self._index(e.this, bool(e.args.get("unique")))
        elif isinstance(e, exp.Alter) and isinstance(e.this, exp.Table):
            for fk in e.find_all(exp.ForeignKey):
                self._foreign_key(table_name(e.this), fk)

    def _create(self, name: str, schema: exp.Schema) -> None:
        self.columns[name], self.primary[name] = [], []
        for name_ in ("fks", "uniques", "indexes", "notes"):
            getattr(self, name_)[name] = []
        not_null: set[str] = set()
        for item in schema.expressions:
            if isinstance(item, exp.ColumnDef):
                column = item.name.lower()
                self._column(name, column, item, not_null)
            elif isinstance(item, exp.PrimaryKey):
                self.primary[name].extend(_names(item.expressions))
            elif isinstance(item, exp.ForeignKey):
                self._foreign_key(name, item)
            else:
                self._table_constraint(name, item)
        pk = set(self.primary[name])
        self.columns[name] = [
            ColumnSpec(c.name, c.type, c.python, c.nullable and c.name not in pk | not_null, c.note)
            for c in self.columns[name]
        ]

    def _column(self, table: str, column: str, item: exp.ColumnDef, not_null: set[str]) -> None:
        kind = item.args.get("kind")
        spec = column_spec(column, _sa_type(kind), True)
        if isinstance(kind, exp.DataType) and spec.note:
            spec = ColumnSpec(spec.name, spec.type, spec.python, True, f"was {kind.sql()}")
        self.columns[table].append(spec)
        for constraint in item.args.get("constraints") or []:
            c = constraint.args.get("kind")
            if isinstance(c, exp.NotNullColumnConstraint) and not c.args.get("allow_null"):
                not_null.add(column)
            elif isinstance(c, exp.PrimaryKeyColumnConstraint):
                self.primary[table].append(column)
            elif isinstance(c, exp.UniqueColumnConstraint):
                self.uniques[table].append((column,))
            elif isinstance(c, exp.Reference):
                self._reference(table, (column,), c)

    def _table_constraint(self, table: str, item: exp.Expression) -> None:
        for pk in item.find_all(exp.PrimaryKey):
            self.primary[table].extend(_names(pk.expressions))
        for unique in item.find_all(exp.UniqueColumnConstraint):
            target = unique.this
            if isinstance(target, exp.Schema):
                self.uniques[table].append(tuple(_names(target.expressions)))
        for fk in item.find_all(exp.ForeignKey):
            self._foreign_key(table, fk)

    def _foreign_key(self, table: str, fk: exp.ForeignKey) -> None:
        reference = fk.args.get("reference")
        if isinstance(reference, exp.Reference) and table in self.fks:
            self._reference(table, tuple(_names(fk.expressions)), reference)

    def _reference(self, table: str, columns: tuple[str, ...], ref: exp.Reference) -> None:
        target = ref.this
        ref_table = target.this if isinstance(target, exp.Schema) else target
        if not isinstance(ref_table, exp.Table) or not table_name(ref_table):
            return
        ref_columns = tuple(_names(target.expressions)) if isinstance(target, exp.Schema) else ()
        self.fks[table].append(ForeignKeySpec(columns, table_name(ref_table), ref_columns))

    def _index(self, index: exp.Index, unique: bool) -> None:
        table = index.args.get("table")
        name = table_name(table) if isinstance(table, exp.Table) else ""
        if name not in self.indexes:
            return
        params = index.args.get("params")
        items = params.args.get("columns") or [] if params is not None else []
        columns = [i.this if isinstance(i, exp.Ordered) else i for i in items]
        if not columns or not all(isinstance(c, exp.Column) for c in columns):
            self.notes[name].append(f"expression index {index.name} not generated: add it by hand")
            return
        self.indexes[name].append(IndexSpec(index.name, tuple(_names(columns)), unique))

    def table(self, name: str) -> TableSpec:
        pk = tuple(dict.fromkeys(self.primary[name]))
        fks = tuple(self._resolved(fk) for fk in self.fks[name])
        uniques = tuple(u for u in dict.fromkeys(self.uniques[name]) if u != pk)
        return TableSpec(
            name, tuple(self.columns[name]), pk, fks, uniques, tuple(self.indexes[name]),
            tuple(self.notes[name]),
        )  # fmt: skip

    def _resolved(self, fk: ForeignKeySpec) -> ForeignKeySpec:
        """`REFERENCES t` without columns means t's primary key."""
        if fk.ref_columns:
            return fk
        return ForeignKeySpec(fk.columns, fk.ref_table, tuple(self.primary.get(fk.ref_table, ())))


def _names(items: list[exp.Expression]) -> list[str]:
    return [i.name.lower() for i in items]


def _sa_type(kind: object) -> TypeEngine:
    if not isinstance(kind, exp.DataType):
        return NullType()
    name = kind.this.name
    args = [int(p.this.name) for p in kind.expressions if isinstance(p, exp.DataTypeParam)
            and isinstance(p.this, exp.Literal) and p.this.name.isdigit()]  # fmt: skip
    if name in _INTS:
        return sa.Integer()
    if name in _INT:
        return _INT[name]()
    if name in _STRINGS:
        return sa.String(args[0] if args else None)
    if name in ("DECIMAL", "NUMERIC", "MONEY", "BIGDECIMAL"):
        precision, scale = [*args, None, None][:2]
        return sa.Numeric(precision, scale)
    if name in ("TIMESTAMPTZ", "TIMESTAMPLTZ"):
        return sa.DateTime(timezone=True)
    if name == "TIMETZ":
        return sa.Time(timezone=True)
    if name == "ENUM":
        values = [v.name for v in kind.expressions if isinstance(v, exp.Literal)]
        return sa.Enum(*values) if values else sa.String()
    plain = _PLAIN.get(name)
    return plain() if plain is not None else NullType()
