"""The router's settings: `[router]` in strangler.toml, env STRANGLER_ROUTER_*, CLI options."""

from __future__ import annotations

from dataclasses import dataclass

import strangler_settings as settings


@dataclass(frozen=True)
class RouterConfig:
    """Everything the data plane and the admin API need to start."""

    listen: str = "127.0.0.1:8080"  # HOST:PORT of the data plane (the traffic port)
    admin: str = "127.0.0.1:8081"  # HOST:PORT of the admin API and the dashboard
    monolith: str = ""  # base URL of the monolith; registers the 'monolith' upstream
    # route table store: SQLAlchemy URL (SQLite file or PostgreSQL)
    store: str = "sqlite:///var/router.db"
    # admin API bearer token, created on first start if missing
    token_file: str = "var/router-admin-token"
    connect_timeout: float = 2.0  # seconds to connect to an upstream
    read_timeout: float = 10.0  # seconds an upstream may take to answer
    max_body: str = "10m"  # request body limit, streamed or not (mitmproxy size syntax)
    stream_threshold: int = 1048576  # larger (or chunked) request bodies are streamed
    response_stream_threshold: int = 1048576  # larger/chunked/unsized responses stream
    max_header_bytes: int = 65536  # request headers above this many bytes get a 431
    route_header: str = "X-Strangler-Route"  # empty string: don't tag responses
    # response header naming the upstream that answered; empty: none
    target_header: str = "X-Strangler-Target"
    # seconds between store polls (the safety net behind change notices)
    poll_interval: float = 0.02
    shadow_concurrency: int = 16  # mirrors in flight at most; more are dropped and counted
    shadow_timeout: float = 5.0  # seconds a mirrored request may take
    # response headers compared in shadow mode (added to the rules)
    shadow_headers: tuple[str, ...] = ("content-type",)
    # fields ignored in every shadow comparison (name, or dotted path)
    shadow_ignore: tuple[str, ...] = ()
    shadow_rules: str = ""  # parity rules file (TOML) for the shadow comparison; empty: none
    capture_file: str = ""  # JSON lines of requests/responses for replay; empty: off
    capture_body_limit: int = 65536  # bytes of each body kept in the capture file
    # headers replaced by [redacted] in the capture file
    capture_redact: tuple[str, ...] = ("authorization", "cookie", "set-cookie")
    access_log: str = "-"  # "-" for stderr, a file path, or empty for none
    reuse_port: bool = False  # SO_REUSEPORT on the traffic port (set for --workers > 1)

    def __post_init__(self) -> None:
        for key in ("listen", "admin"):
            host_port(getattr(self, key), key)
        if self.connect_timeout <= 0 or self.read_timeout <= 0 or self.shadow_timeout <= 0:
            raise ValueError("connect_timeout, read_timeout and shadow_timeout must be positive")
        if self.shadow_concurrency < 1:
            raise ValueError("shadow_concurrency must be at least 1")
        if self.response_stream_threshold < 0:
            raise ValueError("response_stream_threshold must not be negative")
        if self.poll_interval <= 0:
            raise ValueError("poll_interval must be positive")
        if self.shadow_rules:  # a bad rules file fails at start-up, not in the mirror
            from parity import load_rules

            try:
                load_rules(self.shadow_rules)
            except ValueError as exc:
                raise ValueError(f"shadow_rules: {exc}") from None


def host_port(text: str, key: str = "address") -> tuple[str, int]:
    """Parse HOST:PORT or raise ValueError naming the key."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"{key} must be HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def load(**overrides: object) -> RouterConfig:
    return settings.load(
        RouterConfig, section="router", env_prefix="STRANGLER_ROUTER_", overrides=overrides
    )
