"""Generate the accuracy corpus from its compact specs (specs/*.toml), deterministically.

Each spec names a public system, the tables with their foreign keys, the truth split with
its source, and what each endpoint (request handler, message consumer, script) does, as a
list of operations. This script renders, into a folder:

  schema.sql   CREATE TABLE statements with the foreign keys
  workload     an attribution log (workload.jsonl) or a PostgreSQL stderr log (workload.log),
               depending on the spec's `style`: literals differ on every call, calls are
               interleaved as concurrent requests would be
  truth.json   the truth split, {context: [tables]}

Operations (`verb table [table ...]`):
  r a b c   SELECT joining a, b and c (each joined to the one before)
  s a b     SELECT from a WHERE ... IN (SELECT ... FROM b)  (a subquery read)
  c a b ..  a CTE over the later tables, joined to a
  i a       INSERT INTO a          u a      UPDATE a          d a      DELETE FROM a
  u a col   the one statement UPDATE a SET col = now() WHERE id = n (a heartbeat)
  k a       upsert (INSERT ... ON CONFLICT ... DO UPDATE)

Styles: `plain` (hand-written SQL, short aliases), `hibernate` (Hibernate 5 aliases such
as `orders0_` and `id1_3_0_`), `sqlalchemy` (SQLAlchemy's `table_1` aliases, `IN` lists
of varying length, CTEs and `anon_1` subqueries) and `pglog` (plain SQL written to a
PostgreSQL log with `log_line_prefix = '%m [%p] %a '`, application_name = the handler,
some statements on continuation lines, with duration and connection lines mixed in).

    python tests/analysis/corpus/generate.py OUT_DIR [NAME ...]
"""

from __future__ import annotations

import json
import random
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

SPECS = Path(__file__).parent / "specs"
PG_PREFIX = "%m [%p] %a "


@dataclass(frozen=True)
class Spec:
    """One corpus workload as written in specs/NAME.toml."""

    name: str
    system: str
    source: str
    truth_source: str
    style: str
    kind: str  # positive | negative
    calls: int
    truth: dict[str, list[str]]
    tables: dict[str, list[str]]  # table -> tables it references
    endpoints: dict[str, tuple[int, tuple[str, ...]]]  # name -> (weight, operations)
    heartbeat: str = ""  # an operation every request also runs (issue 16's lastseen)

    @property
    def negative(self) -> bool:
        return self.kind == "negative"

    def truth_map(self) -> dict[str, str]:
        return {t: c for c, tables in self.truth.items() for t in tables}


def load(name: str) -> Spec:
    """Read specs/NAME.toml."""
    raw = tomllib.loads((SPECS / f"{name}.toml").read_text(encoding="utf-8"))
    endpoints = {e: (int(v[0]), tuple(str(o) for o in v[1:])) for e, v in raw["endpoints"].items()}
    return Spec(
        name=raw["name"],
        system=raw["system"],
        source=raw["source"],
        truth_source=raw["truth_source"],
        style=raw["style"],
        kind=raw["kind"],
        calls=int(raw["calls"]),
        truth=raw["truth"],
        tables=raw["tables"],
        endpoints=endpoints,
        heartbeat=raw.get("heartbeat", ""),
    )


def names() -> list[str]:
    """Every spec in the corpus, sorted."""
    return sorted(p.stem for p in SPECS.glob("*.toml"))


def fk_column(ref: str) -> str:
    return f"{ref}_id"


def schema_sql(spec: Spec) -> str:
    out = []
    for table, refs in spec.tables.items():
        cols = ["id bigint PRIMARY KEY", "name varchar(80)", "status varchar(20)",
                "amount numeric(12, 2)", "updated_at timestamp"]  # fmt: skip
        cols += [f"{fk_column(r)} bigint REFERENCES {r}(id)" for r in refs]
        out.append(f"CREATE TABLE {table} (\n  " + ",\n  ".join(cols) + "\n);")
    return "\n".join(out) + "\n"


class Renderer:
    """Turns one operation into SQL text in a style, with fresh literals every time."""

    def __init__(self, spec: Spec, rng: random.Random) -> None:
        self.spec, self.rng, self.style = spec, rng, spec.style
        self.column_ids = {t: i for i, t in enumerate(spec.tables)}

    def lit(self) -> str:
        return str(self.rng.randint(1, 99_999))

    def text(self) -> str:
        return (
            f"'{self.rng.choice(['ann', 'bob', 'ohara', 'x-1', 'zed'])}{self.rng.randint(1, 999)}'"
        )

    def ids(self) -> str:
        """An id condition: an `IN` list of varying length in ORM styles, else `= n`."""
        if self.style in ("sqlalchemy", "hibernate") and self.rng.random() < 0.4:
            return "IN (" + ", ".join(self.lit() for _ in range(self.rng.randint(1, 7))) + ")"
        return f"= {self.lit()}"

    def alias(self, table: str, n: int) -> str:
        if self.style == "hibernate":
            return f"{table[:10]}{n}_"
        if self.style == "sqlalchemy":
            return table if n == 0 else f"{table}_{n}"
        return f"t{n}"

    def columns(self, table: str, alias: str, n: int) -> str:
        if self.style == "hibernate":
            k = self.column_ids[table]
            return ", ".join(f"{alias}.{c} as {c}{i}_{k}_{n}_" for i, c in
                             enumerate(("id", "name", "status"), 1))  # fmt: skip
        if self.style == "sqlalchemy":
            return ", ".join(f"{alias}.{c} AS {alias}_{c}" for c in ("id", "name", "status"))
        return f"{alias}.id, {alias}.name, {alias}.status"

    def join_on(self, tables: list[str], i: int, aliases: list[str]) -> str:
        """ON clause joining tables[i] to an earlier table, through a foreign key if any."""
        table = tables[i]
        for j in range(i):
            other = tables[j]
            if other in self.spec.tables.get(table, []):
                return f"{aliases[i]}.{fk_column(other)} = {aliases[j]}.id"
            if table in self.spec.tables.get(other, []):
                return f"{aliases[j]}.{fk_column(table)} = {aliases[i]}.id"
        return f"{aliases[i]}.id = {aliases[i - 1]}.id"

    def select(self, tables: list[str]) -> str:
        aliases = [self.alias(t, n) for n, t in enumerate(tables)]
        cols = ", ".join(
            self.columns(t, a, n) for n, (t, a) in enumerate(zip(tables, aliases, strict=True))
        )
        kw = "inner join" if self.style == "hibernate" else "JOIN"
        if self.rng.random() < 0.3 and self.style != "hibernate":
            kw = "LEFT OUTER JOIN"
        sql = f"SELECT {cols} FROM {self._from(tables[0], aliases[0])}"
        for i in range(1, len(tables)):
            on = self.join_on(tables, i, aliases)
            sql += f" {kw} {self._from(tables[i], aliases[i])} ON {on}"
        sql += f" WHERE {aliases[0]}.id {self.ids()}"
        if self.rng.random() < 0.3:
            sql += f" AND {aliases[0]}.name LIKE {self.text()}"
        if self.rng.random() < 0.3:
            sql += f" ORDER BY {aliases[0]}.updated_at DESC LIMIT {self.rng.randint(5, 50)}"
        if self.style == "sqlalchemy" and self.rng.random() < 0.25:
            # SQLAlchemy's eager loading wraps the main query in a subquery
            return f"SELECT anon_1.* FROM ({sql}) AS anon_1"
        return sql

    def _from(self, table: str, alias: str) -> str:
        if self.style == "sqlalchemy" and alias == table:
            return table
        return f"{table} AS {alias}" if self.style == "sqlalchemy" else f"{table} {alias}"

    def operation(self, op: str) -> str:
        verb, *tables = op.split()
        t = tables[0]
        if verb == "r":
            return self.select(tables)
        if verb == "s":
            inner = tables[1]
            return (f"SELECT {self.columns(t, 'a', 0)} FROM {t} a WHERE a.id IN "
                    f"(SELECT b.{fk_column(t)} FROM {inner} b WHERE b.status = {self.text()}) "
                    f"AND a.amount > {self.lit()}")  # fmt: skip
        if verb == "c":
            rest = tables[1:]
            body = self.select(rest).replace("SELECT anon_1.* FROM (", "SELECT * FROM (")
            head = f"WITH recent AS ({body}) SELECT {self.columns(t, 'x', 0)}, recent.id"
            return (
                f"{head} FROM {t} x JOIN recent ON recent.id = x.id WHERE x.amount > {self.lit()}"
            )
        if verb in ("i", "k"):
            refs = self.spec.tables.get(t, [])
            cols = ["id", "name", "status", "amount", *(fk_column(r) for r in refs)]
            values = [self.lit(), self.text(), "'new'", f"{self.lit()}.50",
                      *(self.lit() for _ in refs)]  # fmt: skip
            rows = 1 if self.style == "hibernate" else self.rng.choice((1, 1, 1, 2, 3))
            many = ", ".join(f"({', '.join(values)})" for _ in range(rows))
            sql = f"INSERT INTO {t} ({', '.join(cols)}) VALUES {many}"
            if verb == "k":
                sql += " ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status"
            return sql
        if verb == "u" and len(tables) == 2:  # `u table column`: always the same statement
            return f"UPDATE {t} SET {tables[1]} = now() WHERE id = {self.lit()}"
        if verb == "u":
            sets = self.rng.choice(("status = 'open'", f"amount = amount + {self.lit()}",
                                    "updated_at = now()", f"name = {self.text()}"))  # fmt: skip
            return f"UPDATE {t} SET {sets}, updated_at = now() WHERE id {self.ids()}"
        if verb == "d":
            return f"DELETE FROM {t} WHERE id {self.ids()}"
        raise ValueError(f"{self.spec.name}: unknown operation {op!r}")


def calls(spec: Spec, rng: random.Random) -> list[tuple[str, list[str]]]:
    """The requests in arrival order: (endpoint, operations), drawn by weight."""
    names_ = list(spec.endpoints)
    weights = [spec.endpoints[e][0] for e in names_]
    picked = names_ + rng.choices(names_, weights=weights, k=max(0, spec.calls - len(names_)))
    rng.shuffle(picked)
    out = []
    for endpoint in picked:
        ops = list(spec.endpoints[endpoint][1])
        if spec.heartbeat:
            ops.insert(0, spec.heartbeat)
        out.append((endpoint, ops))
    return out


def interleaved(spec: Spec, rng: random.Random) -> list[tuple[int, str, str]]:
    """(connection, endpoint, sql) in the order a server would see them: up to four
    requests run at once, their statements interleaved."""
    render = Renderer(spec, rng)
    pending = calls(spec, rng)
    running: list[tuple[int, str, list[str]]] = []
    out: list[tuple[int, str, str]] = []
    conn = 0
    while pending or running:
        while pending and len(running) < 4:
            endpoint, ops = pending.pop(0)
            conn += 1
            running.append((conn, endpoint, ops))
        i = rng.randrange(len(running))
        connection, endpoint, ops = running[i]
        out.append((connection, endpoint, render.operation(ops.pop(0))))
        if not ops:
            running.pop(i)
    return out


def workload_file(spec: Spec, folder: Path) -> Path:
    rng = random.Random(f"{spec.name}-workload")
    statements = interleaved(spec, rng)
    if spec.style == "pglog":
        path = folder / "workload.log"
        with path.open("w", encoding="utf-8") as fh:
            for n, (connection, endpoint, sql) in enumerate(statements):
                ts = f"2026-12-01 10:{n // 6000 % 60:02d}:{n // 100 % 60:02d}.{n % 1000:03d} UTC"
                pid = 4000 + connection % 50
                head = f"{ts} [{pid}] {endpoint} "
                if n % 7 == 3 and " WHERE " in sql:  # a statement written over two lines
                    first, _, rest = sql.partition(" WHERE ")
                    fh.write(f"{head}LOG:  statement: {first}\n\tWHERE {rest}\n")
                else:
                    fh.write(f"{head}LOG:  statement: {sql}\n")
                if n % 5 == 0:
                    fh.write(f"{head}LOG:  duration: {rng.randint(1, 900) / 100} ms\n")
                if n % 97 == 0:
                    fh.write(f"{ts} [{pid}] [unknown] LOG:  connection received: host=10.0.0.9\n")
        return path
    path = folder / "workload.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for n, (_, endpoint, sql) in enumerate(statements):
            fh.write(json.dumps({"ts": n, "endpoint": endpoint, "sql": sql}) + "\n")
    return path


@dataclass(frozen=True)
class Materialised:
    """The files of one generated workload."""

    spec: Spec
    schema: Path
    workload: Path
    truth: Path


def materialise(name: str, out: Path) -> Materialised:
    """Write schema.sql, the workload and truth.json for `name` into out/NAME."""
    spec = load(name)
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    schema = folder / "schema.sql"
    schema.write_text(schema_sql(spec), encoding="utf-8")
    truth = folder / "truth.json"
    truth.write_text(json.dumps(spec.truth, indent=1), encoding="utf-8")
    return Materialised(spec, schema, workload_file(spec, folder), truth)


def main(argv: list[str]) -> None:
    out = Path(argv[0])
    for name in argv[1:] or names():
        made = materialise(name, out)
        print(f"{name}: {made.workload}")


if __name__ == "__main__":
    main(sys.argv[1:])
