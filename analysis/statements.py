"""What one SQL statement does to tables: reads, writes (the DML target) and join pairs.

Pure: text in, a Shape out. CTE names are not tables, subqueries and set operations are
walked, schema-qualified names keep their schema (lower-cased).
"""

from __future__ import annotations

from itertools import combinations
from typing import cast

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from analysis.model import Shape

_WRITE_KINDS = {
    exp.Insert: "insert",
    exp.Update: "update",
    exp.Delete: "delete",
    exp.Merge: "merge",
}
_DDL = (exp.Create, exp.Drop, exp.Alter)


class ShapeError(ValueError):
    """The statement could not be parsed; the message is the parser's reason."""


def describe(sql: str, dialect: str | None = None, fingerprint: str | None = None) -> Shape:
    """Parse `sql` (one or more statements) and return what it reads, writes and joins."""
    try:
        expressions = [e for e in sqlglot.parse(sql, read=dialect) if e is not None]
    except (ParseError, TokenError) as exc:
        raise ShapeError(_first_line(str(exc))) from None
    if not expressions:
        raise ShapeError("empty statement")
    kinds, reads, writes, joins = [], set(), set(), set()
    for expression in expressions:
        if is_bare_expression(expression):
            raise ShapeError(f"not a SQL statement: {_first_line(expression.sql())[:60]}")
        if isinstance(expression, exp.Command):
            raise ShapeError(f"not understood by the parser: {_first_line(expression.sql())[:60]}")
        kind, r, w, j = _describe_one(cast(exp.Expression, expression))
        kinds.append(kind)
        reads |= r
        writes |= w
        joins |= j
    kind = kinds[0] if len(set(kinds)) == 1 else "multi"
    return Shape(fingerprint or sql, kind, frozenset(reads), frozenset(writes), frozenset(joins))


def is_bare_expression(node: object) -> bool:
    """True for text that parses only as an expression (`this IS NOT sql`), not a statement."""
    return isinstance(node, exp.Condition | exp.Alias | exp.Paren | exp.Tuple)


def table_name(table: exp.Table) -> str:
    """Lower-case `schema.name`, or `name` when no schema is given ('' for table functions)."""
    name = table.name
    if not name or not isinstance(table.this, exp.Identifier):
        return ""
    return f"{table.db}.{name}".lower() if table.db else name.lower()


def _describe_one(e: exp.Expression) -> tuple[str, set[str], set[str], set[tuple[str, str]]]:
    ctes = _cte_tables(e)
    if isinstance(e, _DDL):
        return "ddl", set(), set(), set()
    if isinstance(e, exp.TruncateTable):
        return "truncate", set(), {table_name(t) for t in e.expressions if table_name(t)}, set()
    targets: list[exp.Table] = []
    kind = "select" if isinstance(e, exp.Query) else "other"
    for cls, name in _WRITE_KINDS.items():
        if isinstance(e, cls):
            kind = name
            target = e.this.this if isinstance(e.this, exp.Schema) else e.this
            if isinstance(target, exp.Table):
                targets.append(target)
            elif target is not None:
                targets.extend(target.find_all(exp.Table))
    if kind == "insert" and e.args.get("conflict") is not None:
        kind = "upsert"
    target_ids = {id(t) for t in targets}
    writes = {table_name(t) for t in targets} - {""}
    reads = set()
    for table in e.find_all(exp.Table):
        if id(table) in target_ids:
            continue
        reads |= _resolve(table, ctes)
    joins = _joins(e, ctes, targets)
    return kind, reads, writes, joins


def _cte_tables(e: exp.Expression) -> dict[str, set[str]]:
    """Map each CTE name to the real tables its body reads (CTEs may use earlier CTEs)."""
    ctes: dict[str, set[str]] = {}
    for cte in e.find_all(exp.CTE):
        body: set[str] = set()
        for table in cte.this.find_all(exp.Table):
            body |= _resolve(table, ctes)
        ctes[cte.alias_or_name.lower()] = body
    return ctes


def _resolve(table: exp.Table, ctes: dict[str, set[str]]) -> set[str]:
    name = table_name(table)
    if not name:
        return set()
    if not table.db and name in ctes:
        return set(ctes[name])
    return {name}


def _joins(
    e: exp.Expression, ctes: dict[str, set[str]], targets: list[exp.Table]
) -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for select in e.find_all(exp.Select):
        items = [select.args.get("from_") or select.args.get("from")]
        items += [j for j in select.args.get("joins") or []]
        pairs |= _pairs([_item_tables(i, ctes) for i in items if i is not None])
    using = e.args.get("using")
    extra = [e.args.get("from_"), e.args.get("from")]
    extra += using if isinstance(using, list) else [using]
    sources = [_item_tables(i, ctes) for i in extra if isinstance(i, exp.Expression)]
    if targets and sources:
        pairs |= _pairs([{table_name(t) for t in targets} - {""}, *sources])
    return pairs


def _item_tables(item: exp.Expression, ctes: dict[str, set[str]]) -> set[str]:
    if isinstance(item, exp.Table):
        return _resolve(item, ctes)
    found: set[str] = set()
    for table in item.find_all(exp.Table):
        found |= _resolve(table, ctes)
    return found


def _pairs(groups: list[set[str]]) -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for left, right in combinations(groups, 2):
        for a in left:
            for b in right:
                if a != b:
                    pairs.add((a, b) if a < b else (b, a))
    return pairs


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown parser error"
