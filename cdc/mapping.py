"""Which topics go to which target tables, and how rows are reshaped on the way (pure).

Without a mapping file every captured table is copied as it is. A mapping file (TOML)
lists the tables to apply; events of any other table are poison (dead-lettered):

    [tables.products]                  # source table name (the event's source.table)
    target = "catalog_products"        # target table name (default: the same)
    topic = "shop.main.products"       # optional: only events of this topic
    rename = { name = "title" }        # source column -> target column
    drop = ["internal_note"]           # source columns not copied
    [tables.products.add]              # columns added to every row
    origin = { value = "monolith" }    # a constant
    price_cents = { expr = "round(price * 100)", type = "integer" }  # computed

Expressions see the row's decoded source columns by name and allow + - * / // %,
comparisons, `x if c else y`, literals and lower, upper, concat, coalesce, round, abs,
str, int, float, len. Nothing else (no attributes, no imports) is evaluated.
"""

from __future__ import annotations

import ast
import operator
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from cdc.errors import CdcError, PoisonEvent

ADDED_TYPES = ("text", "integer", "float", "boolean", "numeric")


@dataclass(frozen=True)
class Added:
    """A column added by the mapping: a constant `value` or a computed `expr`."""

    name: str
    value: Any = None
    expr: str | None = None
    type: str = "text"

    def compute(self, row: Mapping[str, Any]) -> Any:
        return self.value if self.expr is None else evaluate(self.expr, row)


@dataclass(frozen=True)
class TableMapping:
    source: str
    target: str
    topic: str | None = None
    rename: tuple[tuple[str, str], ...] = ()
    drop: tuple[str, ...] = ()
    add: tuple[Added, ...] = ()

    @cached_property
    def renames(self) -> dict[str, str]:
        return dict(self.rename)

    def target_column(self, name: str) -> str:
        return self.renames.get(name, name)

    def add_columns(self, row: dict[str, Any], values: Mapping[str, Any]) -> None:
        """Set each added column in `row`, computed from the source-named `values`."""
        for added in self.add:
            try:
                row[added.name] = added.compute(values)
            except PoisonEvent:
                raise
            except Exception as exc:  # a user expression failing on this row's values
                raise PoisonEvent(f"mapping column {added.name!r} failed: {exc}") from None


@dataclass(frozen=True)
class SinkMapping:
    """All table mappings; `strict` (a file was given) makes unmapped tables poison."""

    tables: tuple[TableMapping, ...] = ()
    strict: bool = False
    by_source: dict[str, TableMapping] = field(default_factory=dict, compare=False)
    copies: dict[str, TableMapping] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.by_source.update({t.source: t for t in self.tables})

    def for_table(self, table: str, topic: str) -> TableMapping:
        found = self.by_source.get(table)
        if found is not None and (found.topic is None or found.topic == topic):
            return found
        if self.strict:
            raise PoisonEvent(f"no mapping for table {table!r} (topic {topic!r})")
        copy = self.copies.get(table)
        if copy is None:
            copy = self.copies[table] = TableMapping(source=table, target=table)
        return copy


def load_mapping(path: str | Path | None) -> SinkMapping:
    """Read a mapping file; None gives the copy-everything mapping."""
    if path is None:
        return SinkMapping()
    try:
        with Path(path).open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise CdcError(f"mapping file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise CdcError(f"mapping file {path} is not valid TOML: {exc}") from None
    return parse_mapping(data, str(path))


def parse_mapping(data: Mapping[str, Any], where: str = "mapping") -> SinkMapping:
    unknown = set(data) - {"tables"}
    if unknown:
        raise CdcError(f"{where}: unknown key(s) {sorted(unknown)} (only [tables.NAME] is allowed)")
    tables = data.get("tables", {})
    if not isinstance(tables, dict) or not tables:
        raise CdcError(f"{where}: needs at least one [tables.NAME] section")
    return SinkMapping(tuple(_table(name, spec, where) for name, spec in tables.items()), True)


def _table(name: str, spec: Any, where: str) -> TableMapping:
    here = f"{where}: [tables.{name}]"
    if not isinstance(spec, dict):
        raise CdcError(f"{here} must be a table")
    allowed = {"target", "topic", "rename", "drop", "add"}
    unknown = set(spec) - allowed
    if unknown:
        raise CdcError(f"{here}: unknown key(s) {sorted(unknown)} (known: {sorted(allowed)})")
    rename = spec.get("rename", {})
    drop = spec.get("drop", [])
    if not isinstance(rename, dict) or not all(isinstance(v, str) for v in rename.values()):
        raise CdcError(f"{here}: rename must map column names to new names")
    if not isinstance(drop, list) or not all(isinstance(v, str) for v in drop):
        raise CdcError(f"{here}: drop must be a list of column names")
    adds = []
    for col, rule in spec.get("add", {}).items():
        if not isinstance(rule, dict) or len({"value", "expr"} & set(rule)) != 1:
            raise CdcError(f"{here}: add.{col} needs exactly one of value = ... or expr = ...")
        kind = rule.get("type", _type_of(rule.get("value")))
        if kind not in ADDED_TYPES:
            raise CdcError(f"{here}: add.{col}.type must be one of {ADDED_TYPES}, got {kind!r}")
        if "expr" in rule:
            _check_expr(str(rule["expr"]), f"{here}: add.{col}.expr")
        adds.append(Added(col, rule.get("value"), rule.get("expr"), kind))
    return TableMapping(
        source=name,
        target=str(spec.get("target", name)),
        topic=spec.get("topic"),
        rename=tuple(rename.items()),
        drop=tuple(drop),
        add=tuple(adds),
    )


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    return "text"


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}  # fmt: skip
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
    ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
}  # fmt: skip
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "lower": lambda s: None if s is None else str(s).lower(),
    "upper": lambda s: None if s is None else str(s).upper(),
    "concat": lambda *p: "".join("" if x is None else str(x) for x in p),
    "coalesce": lambda *p: next((x for x in p if x is not None), None),
    "round": round, "abs": abs, "str": str, "int": int, "float": float, "len": len,
}  # fmt: skip


def _check_expr(text: str, where: str) -> None:
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise CdcError(f"{where}: not an expression: {exc.msg}") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
        ):
            raise CdcError(f"{where}: only {sorted(_FUNCTIONS)} may be called")
        if isinstance(node, ast.Attribute | ast.Subscript | ast.Lambda | ast.NamedExpr):
            raise CdcError(f"{where}: {type(node).__name__} is not allowed")


def evaluate(text: str, row: Mapping[str, Any]) -> Any:
    """Evaluate a mapping expression over a row (see the module doc for what is allowed)."""
    return _eval(ast.parse(text, mode="eval").body, row)


def _eval(node: ast.AST, row: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in row:
            raise PoisonEvent(f"expression uses {node.id!r}, which the row does not have")
        return row[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_eval(node.left, row), _eval(node.right, row))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.Not):
        value = _eval(node.operand, row)
        return -value if isinstance(node.op, ast.USub) else not value
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
        left, right = _eval(node.left, row), _eval(node.comparators[0], row)
        return _COMPARE[type(node.ops[0])](left, right)
    if isinstance(node, ast.IfExp):
        return _eval(node.body if _eval(node.test, row) else node.orelse, row)
    if isinstance(node, ast.BoolOp):
        values = [_eval(v, row) for v in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        function = _FUNCTIONS.get(node.func.id)
        if function is not None:
            return function(*(_eval(a, row) for a in node.args))
    raise PoisonEvent(f"unsupported expression element {type(node).__name__}")
