"""Where `strangler verify` gets its input: recordings, rules, state databases, the router.

Recorded requests come from a file (`--requests`, `--har`, `--capture`) or the router's
stored shadow comparisons; the router's admin API also names upstreams and route
templates. A user mistake in any of them is a `BadInput`: one line, exit status 2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

EXIT_BAD_INPUT = 2


class BadInput(click.ClickException):
    """A user mistake in the arguments or the input files: one line, exit status 2."""

    exit_code = EXIT_BAD_INPUT


def state_databases(opts: dict[str, Any]) -> Any:
    """The two databases of --writes state, or None."""
    names = ("legacy_db", "candidate_db", "mapping")
    if opts["writes"] != "state":
        if any(opts[n] for n in names) or opts["state_ignore"]:
            raise BadInput("--legacy-db, --candidate-db, --mapping go with --writes state")
        return None
    if not all(opts[n] for n in names):
        raise BadInput("--writes state needs --legacy-db URL, --candidate-db URL, --mapping FILE")
    from parity.replay_state import Databases, StateError

    try:
        return Databases(
            opts["legacy_db"], opts["candidate_db"], opts["mapping"], tuple(opts["state_ignore"])
        )
    except StateError as exc:
        raise BadInput(str(exc)) from None


def read_rules(path: str | None) -> Any:
    from parity import Rules, RulesError, load_rules

    if not path:
        return Rules()
    try:
        return load_rules(path)
    except RulesError as exc:
        raise BadInput(str(exc)) from None


Reader = Callable[[], Iterator[Any]]


def reader(opts: dict[str, Any], source: str, admin: Admin) -> Reader:
    from parity import inputs

    if source == "from_shadow":
        rows = admin.shadow_rows(opts["from_shadow"] or None, opts["shadow_limit"])
        return lambda: inputs.from_shadow(rows)
    path = opts[source]
    name = Path(path).name
    if source == "har":
        text = read_text(path)
        return lambda: inputs.read_har(text, name)
    parse = inputs.read_jsonl if source == "requests_file" else inputs.read_capture
    read_text(path, probe=True)

    def lines() -> Iterator[Any]:
        with open(path, encoding="utf-8", errors="replace") as fh:
            yield from parse(fh, name)

    return lines


def only_routes(read: Reader, routes: tuple[str, ...]) -> Reader:
    from parity.replay import template_matches

    if not routes:
        return read
    return lambda: (r for r in read() if any(template_matches(t, r.path) for t in routes))


def read_text(path: str, probe: bool = False) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read(1 if probe else -1)
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path} is not UTF-8 text ({exc.reason})") from None


def validate(read: Reader) -> int:
    """Read the whole input once before sending anything; return the request count."""
    from parity.inputs import InputError

    try:
        return sum(1 for _ in read())
    except InputError as exc:
        raise BadInput(str(exc)) from None


class Admin:
    """The router's admin API, asked only when needed (upstream names, shadow rows)."""

    def __init__(self, url: str | None, token: str | None) -> None:
        self.url, self.token = url, token
        self._client: Any = None

    def client(self, why: str) -> Any:
        from router.errors import RouterError
        from strangler.cli.router_client import resolve

        if self._client is None:
            try:
                self._client = resolve(self.url, self.token)
            except (RouterError, ValueError) as exc:
                raise BadInput(f"{why} needs the router's admin API: {exc}") from None
        return self._client

    def call(self, why: str, path: str) -> Any:
        from router.errors import RouterError

        try:
            return self.client(why).call("GET", path)
        except RouterError as exc:
            raise BadInput(f"{why}: {exc}") from None

    def base_url(self, side: str) -> str:
        if "://" in side:
            return side
        upstreams = self.call(f"upstream name {side!r}", "/upstreams")["upstreams"]
        for u in upstreams:
            if u["name"] == side:
                return str(u["urls"][0])
        known = ", ".join(u["name"] for u in upstreams)
        raise BadInput(f"no upstream named {side!r} (registered: {known}); or give a URL")

    def shadow_rows(self, route: str | None, limit: int) -> list[dict[str, Any]]:
        from urllib.parse import quote

        query = f"?limit={limit}" + (f"&route={quote(route)}" if route else "")
        rows: list[dict[str, Any]] = self.call("--from-shadow", "/shadow/comparisons" + query)[
            "comparisons"
        ]
        if not rows:
            raise BadInput(
                "the router has no stored shadow comparisons"
                + (f" for route {route!r}" if route else "")
            )
        return list(reversed(rows))  # oldest first, as they happened

    def table(self) -> Any:
        """The route table when the admin API answers, else None (group by path)."""
        from router import codec
        from router.errors import RouterError
        from strangler.cli.router_client import resolve

        try:
            client = self._client or resolve(self.url, self.token)
            return codec.table_from_dict(client.call("GET", "/table"))
        except (RouterError, ValueError, OSError):
            return None
