"""Schema from DDL files, parsed statement by statement so one bad statement loses nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel, ParseError, TokenError
from sqlglot.tokens import TokenType

from analysis.errors import AnalysisError
from analysis.model import ForeignKey, Schema, Unparsed
from analysis.sqltext import Chunk, split_statements
from analysis.statements import is_bare_expression, table_name


def read_schema_path(path: Path, dialect: str | None) -> Schema:
    """Read a DDL file, or every `.sql` file under a folder, into one Schema."""
    if not path.exists():
        raise AnalysisError(f"--schema {path}: no such file or folder")
    files = sorted(path.rglob("*.sql")) if path.is_dir() else [path]
    if not files:
        raise AnalysisError(f"--schema {path}: the folder holds no .sql files")
    builder = _SchemaBuilder()
    for file in files:
        text = _read_text(file)
        for chunk in split_statements(text, dialect):
            builder.add(chunk, f"{file}:{chunk.line}", dialect)
    schema = builder.build()
    if not schema.tables:
        if schema.statements == 0:
            raise AnalysisError(f"--schema {path}: no SQL statements found (empty input)")
        raise AnalysisError(
            f"--schema {path}: none of its {schema.statements} statements creates a table"
            + (f" (first problem: {schema.unparsed[0].reason})" if schema.unparsed else "")
        )
    return schema


def schema_from_text(text: str, dialect: str | None, source: str = "<ddl>") -> Schema:
    """Parse DDL text (pure: no file access), recovering statement by statement."""
    builder = _SchemaBuilder()
    for chunk in split_statements(text, dialect):
        builder.add(chunk, f"{source}:{chunk.line}", dialect)
    return builder.build()


def _read_text(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise AnalysisError(f"--schema {file}: cannot read: {exc.strerror}") from None


class _SchemaBuilder:
    def __init__(self) -> None:
        self.columns: dict[str, tuple[str, ...]] = {}
        self.primary: dict[str, tuple[str, ...]] = {}
        self.fks: list[ForeignKey] = []
        self.unparsed: list[Unparsed] = []
        self.statements = 0

    def add(self, chunk: Chunk, where: str, dialect: str | None) -> None:
        self.statements += 1
        try:
            expression = cast(exp.Expression, sqlglot.parse_one(chunk.sql, read=dialect))
        except (ParseError, TokenError) as exc:
            reason = str(exc).strip().splitlines()[0]
            recovered = _tolerant(chunk.sql, dialect)
            if recovered is None or not self._take(recovered):
                self.unparsed.append(Unparsed(where, chunk.sql[:200], reason))
            return
        if is_bare_expression(expression):
            self.unparsed.append(Unparsed(where, chunk.sql[:200], "not a SQL statement"))
            return
        if isinstance(expression, exp.Command):
            recovered = _tolerant(chunk.sql, dialect)
            if recovered is None or not self._take(recovered):
                reason = "not understood by the parser (unsupported syntax)"
                self.unparsed.append(Unparsed(where, chunk.sql[:200], reason))
            return
        self._take(expression)

    def _take(self, e: exp.Expression) -> bool:
        if isinstance(e, exp.Create) and (e.args.get("kind") or "").upper() == "TABLE":
            schema = e.this
            table = schema.this if isinstance(schema, exp.Schema) else schema
            if not isinstance(table, exp.Table) or not table_name(table):
                return False
            self._create(table_name(table), schema if isinstance(schema, exp.Schema) else None)
            return True
        if isinstance(e, exp.Alter) and isinstance(e.this, exp.Table):
            for fk in e.find_all(exp.ForeignKey):
                self._foreign_key(table_name(e.this), fk)
            return True
        return False

    def _create(self, name: str, schema: exp.Schema | None) -> None:
        columns: list[str] = []
        primary: list[str] = []
        for item in schema.expressions if schema is not None else []:
            if isinstance(item, exp.ColumnDef):
                columns.append(item.name.lower())
                for constraint in item.args.get("constraints") or []:
                    kind = constraint.args.get("kind")
                    if isinstance(kind, exp.PrimaryKeyColumnConstraint):
                        primary.append(item.name.lower())
                    if isinstance(kind, exp.Reference):
                        self._reference(name, (item.name.lower(),), kind)
            elif isinstance(item, exp.PrimaryKey):
                primary.extend(c.name.lower() for c in item.expressions)
            elif isinstance(item, exp.ForeignKey):
                self._foreign_key(name, item)
            else:
                for fk in item.find_all(exp.ForeignKey):
                    self._foreign_key(name, fk)
        self.columns[name] = tuple(columns)
        self.primary[name] = tuple(primary)

    def _foreign_key(self, table: str, fk: exp.ForeignKey) -> None:
        reference = fk.args.get("reference")
        if isinstance(reference, exp.Reference):
            columns = tuple(c.name.lower() for c in fk.expressions)
            self._reference(table, columns, reference)

    def _reference(self, table: str, columns: tuple[str, ...], ref: exp.Reference) -> None:
        target = ref.this
        ref_table = target.this if isinstance(target, exp.Schema) else target
        if not isinstance(ref_table, exp.Table) or not table_name(ref_table):
            return
        ref_columns = (
            tuple(c.name.lower() for c in target.expressions)
            if isinstance(target, exp.Schema)
            else ()
        )
        self.fks.append(ForeignKey(table, columns, table_name(ref_table), ref_columns))

    def build(self) -> Schema:
        return Schema(
            tables=tuple(sorted(self.columns)),
            columns=dict(self.columns),
            primary_keys=dict(self.primary),
            foreign_keys=tuple(self.fks),
            statements=self.statements,
            unparsed=tuple(self.unparsed),
        )


def _tolerant(sql: str, dialect: str | None) -> exp.Expression | None:
    """Parse with errors ignored, then without trailing table options: recovers the tables
    and keys of dialect-specific DDL."""
    for text in (sql, _head(sql, dialect)):
        if not text:
            continue
        try:
            parsed = sqlglot.parse(text, read=dialect, error_level=ErrorLevel.IGNORE)
        except (ParseError, TokenError):
            continue
        found = next((e for e in parsed if e is not None), None)
        if isinstance(found, exp.Create | exp.Alter):
            return cast(exp.Expression, found)
    return None


def _head(sql: str, dialect: str | None) -> str:
    """`CREATE TABLE name (...)` without what follows the column list."""
    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(sql)
    except TokenError:
        return ""
    depth = 0
    for token in tokens:
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return sql[: token.end + 1]
    return ""
