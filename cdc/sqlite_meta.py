"""A captured SQLite table: its columns (with encoding kinds) and primary key (pure)."""

from __future__ import annotations

from dataclasses import dataclass
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
        for col in self.columns:
            value = raw.get(col.name)
            if col.kind == "bytes" and isinstance(value, str):
                value = bytes.fromhex(value)
            try:
                row[col.name] = types.encode(col.kind, value, col.scale)
            except (ValueError, TypeError, ArithmeticError):
                row[col.name] = value  # SQLite's loose typing: pass through, the sink decides
        return row
