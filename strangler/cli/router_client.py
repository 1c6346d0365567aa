"""The admin API client used by `strangler routes` and `strangler upstreams`.

The admin URL and token come from, in order: the command's options, the environment
(STRANGLER_ADMIN_URL, STRANGLER_ADMIN_TOKEN), then strangler.toml's [router] section
(`admin = "HOST:PORT"`, and the token stored in `token_file` by `router serve`).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import click

from router.errors import RouterError


class AdminError(RouterError):
    """The admin API refused a call or could not be reached."""


class AdminClient:
    def __init__(self, url: str, token: str, actor: str = "") -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.actor = actor or os.environ.get("USER", "") or "cli"

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("X-Strangler-Actor", self.actor)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise AdminError(_message(exc)) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise AdminError(
                f"cannot reach the admin API at {self.url}: {reason} "
                "(is `strangler router serve` running? set --admin-url or STRANGLER_ADMIN_URL)"
            ) from None
        kind = response.headers.get("Content-Type", "")
        return json.loads(raw) if "json" in kind else raw.decode()


def _message(exc: urllib.error.HTTPError) -> str:
    try:
        error = json.loads(exc.read())["error"]
        return f"{error['message']} ({exc.code} {error['code']})"
    except (ValueError, KeyError, TypeError):
        return f"admin API answered {exc.code} {exc.reason}"


def resolve(url: str | None, token: str | None) -> AdminClient:
    """Build the client from options, environment or strangler.toml."""
    from router.config import load

    url = url or os.environ.get("STRANGLER_ADMIN_URL")
    token = token or os.environ.get("STRANGLER_ADMIN_TOKEN")
    if not url or not token:
        config = load()
        url = url or f"http://{config.admin}"
        if not token:
            path = Path(config.token_file)
            if not path.exists():
                raise AdminError(
                    "no admin token: pass --token, set STRANGLER_ADMIN_TOKEN, or run this where "
                    f"`strangler router serve` stored it ({path})"
                )
            token = path.read_text(encoding="utf-8").strip()
    if "://" not in url:
        url = "http://" + url
    return AdminClient(url, token)


def admin_options(func: Any) -> Any:
    """Add --admin-url and --token to a command."""
    func = click.option(
        "--token",
        envvar="STRANGLER_ADMIN_TOKEN",
        default=None,
        help="Admin API bearer token (default: $STRANGLER_ADMIN_TOKEN or the stored token file).",
    )(func)
    func = click.option(
        "--admin-url",
        envvar="STRANGLER_ADMIN_URL",
        default=None,
        help="Admin API URL (default: $STRANGLER_ADMIN_URL or [router] admin in strangler.toml).",
    )(func)
    return func


def table_rows(rows: list[list[str]], headers: list[str]) -> str:
    """Format rows as aligned columns."""
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=False)).rstrip()
             for row in [headers, *rows]]  # fmt: skip
    return "\n".join(lines)
