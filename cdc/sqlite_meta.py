"""A captured SQLite table: its columns (with encoding kinds) and primary key (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from cdc import types
from cdc.event import Column


@dataclass(frozen=True)
class TableMeta:
    """A captured table: its columns (with encoding kinds) and primary-key columns."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]

    def json_object(self, alias: str) -> str:
        """Return a json_object(...) expression of a row, blobs as hex (JSON holds no blobs)."""
        parts = []
        for col in self.columns:
            ref = f'{alias}."{col.name}"'
            value = f"hex({ref})" if col.kind == "bytes" else ref
            parts.append(f"'{col.name}', {value}")
        return f"json_object({', '.join(parts)})"

    def encode_row(self, raw: dict[str, Any] | None) -> dict[str, Any] | None:
        """Encode a row read by json_object as Debezium does (see cdc/types.py)."""
        if raw is None:
            return None
        row = {}
        for name, kind, scale, plain in self._encoding:
            value = raw.get(name)
            if value is None or type(value) is plain:  # the common case, kept cheap
                row[name] = value
                continue
            if kind == "bytes" and isinstance(value, str):
                value = bytes.fromhex(value)
            try:
                row[name] = types.encode(kind, value, scale)
            except (ValueError, TypeError, ArithmeticError):
                row[name] = value  # SQLite's loose typing: pass through, the sink decides
        return row

    @cached_property
    def _encoding(self) -> tuple[tuple[str, str, int | None, type | None], ...]:
        """Per column: name, kind, scale and the type a value already has when it is
        written as it is (see types.encode)."""
        return tuple((c.name, c.kind, c.scale, types.passed_through(c.kind)) for c in self.columns)
