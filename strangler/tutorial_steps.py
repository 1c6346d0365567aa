"""The tutorial's one source: docs/tutorial.md is rendered from these steps, and
`strangler tutorial` runs them. Change a step here, then `strangler tutorial --render >
docs/tutorial.md` (a test holds the committed file equal to the rendering).

Each command's expected output uses `<...>` for what varies (ports, ids, timings), as the
doc test (byexample) reads it. Servers start in a subshell with their pid in var/, so
the last step can stop exactly them.
"""

# ruff: noqa: E501  (the commands are shell lines, kept whole as a reader types them)
from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Command:
    text: str
    expect: str = ""


@dataclass(frozen=True)
class Step:
    number: int
    title: str
    pattern: str
    explain: str
    commands: tuple[Command, ...]
    check: str = ""  # what `strangler tutorial --check N` verifies (tutorial_checks.py)


def _bg(name: str, command: str) -> str:
    return f"({command} > var/{name}.log 2>&1 & echo $! > var/{name}.pid)"


def _wait(url: str) -> str:
    return f"curl -sf --retry 60 --retry-all-errors --retry-delay 1 {url}"


STEPS: tuple[Step, ...] = (
    Step(
        0,
        "Set up a working folder",
        "",
        "Everything the tutorial makes goes into the current folder: `strangler.toml` (every "
        "command reads it) and `var/` (databases, logs, pid files). Use an empty folder.",
        (
            Command(
                "strangler tutorial --init",
                "wrote strangler.toml (SQLite, embedded CDC log; ports 5100, 5101, 8180, 8181)",
            ),
        ),
        "strangler.toml is there",
    ),
    Step(
        1,
        "Run the monolith",
        "the legacy monolith (one shared database)",
        "ShopCo is a Flask shop whose every endpoint reads and writes one database. We serve it "
        "with the SQL attribution log on: each statement is written with the endpoint that "
        "issued it, which is what the analysis reads.",
        (
            Command("strangler monolith migrate", "monolith database at revision <...>"),
            Command("strangler monolith seed", "seeded 6396 rows <...>"),
            Command(_bg("monolith", "strangler monolith serve --sql-log var/sql.jsonl")),
            Command(_wait("127.0.0.1:5100/health"), '{"status":"ok"}'),
        ),
        "ShopCo answers on port 5100",
    ),
    Step(
        2,
        "Find the seams",
        "strangler fig: map the monolith before cutting",
        "Drive a repeatable traffic mix at every endpoint, then let the analyzer read the log "
        "with the live schema. It suggests contexts (tables that belong together), who owns each "
        "table and an extraction order. The catalog (categories, products, prices) is the one "
        "we move.",
        (
            Command(
                "strangler monolith traffic --base-url http://127.0.0.1:5100 --requests 200 --json > var/traffic.json"
            ),
            Command(
                'strangler analyze --log var/sql.jsonl --db "$(strangler tutorial --print-db)" --out var/analysis > /dev/null'
            ),
        ),
        "the report suggests a context of categories, prices and products",
    ),
    Step(
        3,
        "Give the catalog its own database",
        "database per service",
        "The catalog service owns its data: its own database, its own migrations. It keeps the "
        "monolith's HTTP contract, so clients cannot tell which one answered.",
        (Command("strangler extract migrate catalog", "catalog database at revision <...>"),),
        "the catalog database is migrated",
    ),
    Step(
        4,
        "Fill it by change data capture",
        "change data capture",
        "The sync worker captures changes to the monolith's catalog tables, takes an initial "
        "snapshot, then streams every commit to the service's database. The service says ready "
        "only once the snapshot is in; the lag is the number of changes not yet applied.",
        (
            Command(_bg("sync", "strangler extract sync catalog --directed")),
            Command(_bg("catalog", "strangler extract serve catalog")),
            Command(
                _wait("127.0.0.1:5101/ready"),
                '{"status":"ready","service":"catalog","database":"<...>"}',
            ),
            Command(
                "strangler tutorial --check 4",
                "step 4 holds: the catalog is ready and the CDC lag is 0 events",
            ),
        ),
        "the catalog is ready and the CDC lag is 0 events",
    ),
    Step(
        5,
        "Put the router in front",
        "strangler fig: the facade",
        "The router takes all traffic and sends each route where its mode says. The catalog's "
        "three routes start in shadow: ShopCo still answers, and every read is also sent to the "
        "service.",
        (
            Command(_bg("router", "strangler router serve")),
            Command(_wait("127.0.0.1:8181/health"), '{"serving_version":1,"status":"ok"}'),
            Command(
                "strangler upstreams add catalog http://127.0.0.1:5101",
                "upstream catalog → http://127.0.0.1:5101 (version 2)",
            ),
            Command(
                "strangler routes add --path /api/categories --target catalog --mode shadow --percent 25 --sticky header:X-Request-ID",
                "added route api-categories (/api/categories → catalog, shadow) as version 3",
            ),
            Command(
                "strangler routes add --path /api/products --target catalog --mode shadow --percent 25 --sticky header:X-Request-ID",
                "added route api-products (/api/products → catalog, shadow) as version 4",
            ),
            Command(
                "strangler routes add --path '/api/products/{id}' --target catalog --mode shadow --percent 25 --sticky header:X-Request-ID",
                "added route api-products-id (/api/products/{id} → catalog, shadow) as version 5",
            ),
        ),
        "the router answers and the catalog routes are in shadow",
    ),
    Step(
        6,
        "Compare old and new",
        "parallel run",
        "Send traffic through the router. Each catalog read is answered by ShopCo and compared "
        "with the service's answer by the parity engine (fields that differ between two ShopCo "
        "answers are learned as noise). Once CDC has caught up, read each catalog route a few "
        "more times; the promotion gate judges the newest comparisons.",
        (
            Command(
                "strangler monolith traffic --base-url http://127.0.0.1:8180 --requests 200 --seed 2 --json > var/traffic-shadow.json"
            ),
            Command(
                "strangler tutorial --check 4",
                "step 4 holds: the catalog is ready and the CDC lag is 0 events",
            ),
            Command(
                'for i in $(seq 20); do for p in /api/categories "/api/products?page=$i" /api/products/$i; do curl -s -o /dev/null "127.0.0.1:8180$p"; done; done'
            ),
            Command(
                "strangler tutorial --check 6",
                "step 6 holds: 20 or more comparisons per catalog route, 0 unexplained mismatches",
            ),
            Command(
                "strangler routes gate api-products-id",
                "<...>route api-products-id → canary: allowed",
            ),
        ),
        "20 or more comparisons per catalog route, 0 unexplained mismatches",
    ),
    Step(
        7,
        "Move the routes",
        "branch by abstraction",
        "The route is the abstraction both implementations sit behind. Promote each route to "
        "canary (a quarter of the requests, by request id) and then to service; the gate checks "
        "its numbers before each step and refuses with them (409) when they fall short.",
        (
            Command(
                "for r in api-categories api-products api-products-id; do strangler routes promote $r; done",
                "route api-categories is now canary (version 6)\nroute api-products is now canary (version 7)\nroute api-products-id is now canary (version 8)",
            ),
            Command(
                "for r in api-categories api-products api-products-id; do strangler routes promote $r; done",
                "route api-categories is now service (version 9)\nroute api-products is now service (version 10)\nroute api-products-id is now service (version 11)",
            ),
            Command(
                "curl -si 127.0.0.1:8180/api/products/1 | grep -i x-strangler-target",
                "X-Strangler-Target: catalog",
            ),
            Command(
                "curl -si 127.0.0.1:8180/api/customers/1 | grep -i x-strangler-target",
                "X-Strangler-Target: monolith",
            ),
        ),
        "every catalog route is served by the catalog service",
    ),
    Step(
        8,
        "Roll back, and forward",
        "rollback",
        "Every change to the route table is a version. Restoring an older one is served by the "
        "next request, and going forward is the same call.",
        (
            Command(
                "strangler routes rollback 5 --reason 'tutorial: back to shadow'",
                "restored version 5 as version 12",
            ),
            Command(
                "curl -si 127.0.0.1:8180/api/products/1 | grep -i x-strangler-target",
                "X-Strangler-Target: monolith",
            ),
            Command(
                "strangler routes rollback 11 --reason 'tutorial: forward again'",
                "restored version 11 as version 13",
            ),
            Command(
                "curl -si 127.0.0.1:8180/api/products/1 | grep -i x-strangler-target",
                "X-Strangler-Target: catalog",
            ),
        ),
        "the catalog routes are in service mode again",
    ),
    Step(
        9,
        "Hand the catalog's writes over",
        "ownership handover",
        "Until now ShopCo was the source of truth and CDC copied its tables to the service. "
        "The handover moves the writes: it holds the catalog's writes at the router, waits until "
        "CDC has applied everything, flips the routes in one version, turns CDC around (the "
        "service's changes now flow back to ShopCo for the code that still reads them) and "
        "releases the writes. Any failure puts everything back. A category created through the "
        "router is then written by the service, and reverse sync brings it to ShopCo.",
        (
            Command(
                "strangler extract handover catalog --report var/analysis/report.json --reason 'catalog owns its data'",
                "handover of catalog done: route table version 16, routes api-categories=service, api-products=service, api-products-id=service, CDC reverse, writes held <...> ms",
            ),
            Command(
                "curl -s -X POST -H 'Content-Type: application/json' -d '{\"name\": \"Tutorial\"}' 127.0.0.1:8180/api/categories -o /dev/null -w '%{http_code}\\n'",
                "201",
            ),
        ),
        "the service owns the catalog's writes and reverse sync brought its new category to ShopCo",
    ),
    Step(
        10,
        "Stop everything",
        "",
        "Stop the four processes the tutorial started (their pids are in var/).",
        (Command("kill $(cat var/*.pid) && rm var/*.pid"),),
        "",
    ),
)


INTRO = """\
# Tutorial: move ShopCo's catalog out of the monolith

<!-- Rendered from strangler/tutorial_steps.py by `strangler tutorial --render`; edit there.
     tests/strangler/test_tutorial.py runs every command below (byexample) and checks
     this file equals the rendering. -->

This tutorial takes one bounded context, ShopCo's catalog, out of a Flask monolith and
into its own service, the way you would do it with a system in production: find the
seam, give the service its own database, keep it in sync by change data capture, put a
router in front, compare old and new on live traffic, move the routes one by one through
a promotion gate, keep the way back open, and hand the writes over. It assumes you know
Flask and SQL, and nothing about splitting monoliths.

`strangler demo` runs the same loop in one command; here you type each step. The same
steps run interactively with `strangler tutorial` (explain, run, check; `--step N`
resumes, `--auto` runs them all). Commands are for bash, from an empty folder; `<...>` in
an expected output stands for what varies (ports, ids, timings).

```
 analyze ──► plan ──► extract ──► sync ──► shadow ──► flip ──► own
```
"""

OUTRO = """\
## The same steps on PostgreSQL and Kafka

The embedded defaults (SQLite, the embedded log) are for a laptop. On real engines only
the set-up changes: the monolith and the service each get a PostgreSQL database (with
`wal_level=logical`, for capture by logical decoding) and CDC goes through Kafka. Start
from an empty folder with:

```
strangler tutorial --init --monolith-db postgresql://USER@HOST/shopco \\
    --catalog-db postgresql://USER@HOST/catalog --kafka HOST:9092
```

then type steps 1 to 10 as they are. In step 9 the handover creates the reverse
pipeline's replication slot on the catalog's database (so that server needs
`wal_level=logical` and a free slot too) and drains forward CDC up to a heartbeat it
writes into ShopCo's WAL. The test suite runs them on its throwaway PostgreSQL cluster
and Kafka broker (tests/strangler/test_tutorial.py); docker-compose.yml starts the same
engines for users with Docker.

## Where next

- [analyze.md](analyze.md): what the analyzer reads and the metrics it reports
- [extract.md](extract.md): the services, their sync and the handover of writes
- [cdc.md](cdc.md): the change events and their guarantees
- [router.md](router.md): routes, modes, the admin API
- [verify.md](verify.md): rules files, replay and the promotion gate
"""


def check_command(step: Step) -> Command:
    """The command that checks a step (the doc test runs it; so can the reader)."""
    return Command(
        f"strangler tutorial --check {step.number}", f"step {step.number} holds: {step.check}"
    )


def commands(step: Step) -> tuple[Command, ...]:
    """The step's commands, ending with its check unless the last one already is it."""
    if not step.check or step.commands[-1] == check_command(step):
        return step.commands
    return (*step.commands, check_command(step))


def on_engines(monolith_db: str, catalog_db: str, kafka: str) -> tuple[Step, ...]:
    """The same steps, set up on PostgreSQL and Kafka (the section at the end of the doc)."""
    init = Command(
        f"strangler tutorial --init --monolith-db {monolith_db} --catalog-db {catalog_db} "
        f"--kafka {kafka}",
        "wrote strangler.toml (PostgreSQL, Kafka at <...>; ports 5100, 5101, 8180, 8181)",
    )
    first = STEPS[0]
    return (replace(first, commands=(init, *first.commands[1:])), *STEPS[1:])


def render(steps: tuple[Step, ...] = STEPS) -> str:
    """docs/tutorial.md (or the same text for other `steps`)."""
    parts = [INTRO]
    for step in steps:
        head = f"## {step.number}. {step.title}\n"
        pattern = f"*Pattern: {step.pattern}.*\n\n" if step.pattern else ""
        block = ["```shell"]
        for command in commands(step):
            block.append(f"$ {command.text}")
            if command.expect:
                block.append(command.expect)
        block.append("```")
        parts.append(f"{head}\n{pattern}{step.explain}\n\n" + "\n".join(block) + "\n")
    parts.append(OUTRO)
    return "\n".join(parts)
