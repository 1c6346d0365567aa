"""Compile a route table to an Envoy v3 static bootstrap (JSON, which Envoy reads as YAML).

Routes become regex route matches (plus `:method` and header matchers) in the same most
specific first order; `service` routes a cluster; `canary` uses `weighted_clusters`
(NOT sticky per user: Envoy chooses per request unless a hash policy is added; the
force header is expressed as a higher-priority header-matched route); `shadow` uses
`request_mirror_policies` without comparison; fallback retries idempotent requests
(`retry_on: connect-failure,reset,5xx`) but on the same cluster: a true
per-request fallback to the monolith needs an aggregate cluster, emitted for routes
with fallback on, which fails over only on the target's health, not per request.
This output is not tested against a running Envoy here (no Envoy binary available).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from router.export.nginx import _path_regex
from router.table import FORCE_HEADER, IDEMPOTENT, MONOLITH, Route, RouteTable

_TYPE = "type.googleapis.com/envoy."
_HCM = "extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"


def _cluster(name: str, urls: tuple[str, ...]) -> dict[str, Any]:
    endpoints = []
    for url in urls:
        p = urlsplit(url)
        address = {
            "address": p.hostname,
            "port_value": p.port or (443 if p.scheme == "https" else 80),
        }
        endpoints.append({"endpoint": {"address": {"socket_address": address}}})
    return {
        "name": name,
        "type": "STRICT_DNS",
        "connect_timeout": "2s",
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": endpoints}]},
    }


def _match(route: Route, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    headers: list[dict[str, Any]] = list(extra or [])
    if route.methods:
        regex = "^(" + "|".join(route.methods) + ")$"
        headers.append({"name": ":method", "string_match": {"safe_regex": {"regex": regex}}})
    if route.header_rule:
        name, value = route.header_rule
        if value is None:
            headers.append({"name": name, "present_match": True})
        else:
            headers.append({"name": name, "string_match": {"exact": value}})
    match: dict[str, Any] = {"safe_regex": {"regex": "^" + _path_regex(route) + r"(\?.*)?$"}}
    if headers:
        match["headers"] = headers
    return match


def _action(route: Route, cluster: str) -> dict[str, Any]:
    action: dict[str, Any] = {"cluster": cluster, "timeout": "10s"}
    if route.fallback and any(m in IDEMPOTENT for m in (route.methods or ("GET",))):
        action["retry_policy"] = {"retry_on": "connect-failure,reset,5xx", "num_retries": 1}
    return action


def render(table: RouteTable, listen: str = "127.0.0.1:8080") -> str:
    host, _, port = listen.rpartition(":")
    clusters = [_cluster(u.name, u.urls) for u in table.upstreams]
    routes: list[dict[str, Any]] = []
    for route in table._ordered:
        target = route.target
        if route.fallback and target != MONOLITH and route.mode in ("service", "canary"):
            target = f"{route.target}-or-monolith"
            if not any(c["name"] == target for c in clusters):
                clusters.append({
                    "name": target, "connect_timeout": "2s", "lb_policy": "CLUSTER_PROVIDED",
                    "cluster_type": {"name": "envoy.clusters.aggregate", "typed_config": {
                        "@type": _TYPE + "extensions.clusters.aggregate.v3.ClusterConfig",
                        "clusters": [route.target, MONOLITH]}},
                })  # fmt: skip
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", route.id)
        tag = {"name": name, "response_headers_to_add": [
            {"header": {"key": "X-Strangler-Route", "value": route.id}}]}  # fmt: skip
        if route.mode == "canary":
            for side, cluster in (("service", target), ("monolith", MONOLITH)):
                force = [
                    {"name": FORCE_HEADER, "string_match": {"exact": side, "ignore_case": True}}
                ]
                routes.append(
                    {**tag, "match": _match(route, force), "route": _action(route, cluster)}
                )
            share = round(route.percent * 100)
            pairs = [(target, share), (MONOLITH, 10000 - share)]
            weights = [{"name": n, "weight": w} for n, w in pairs if w > 0]
            action = {"weighted_clusters": {"clusters": weights}}
            routes.append({**tag, "match": _match(route), "route": action})
            continue
        cluster = target if route.mode == "service" else MONOLITH
        plain = _action(route, cluster)
        if route.mode == "shadow":
            plain["request_mirror_policies"] = [{"cluster": route.target}]
        routes.append({**tag, "match": _match(route), "route": plain})
    routes.append({"name": "default", "match": {"prefix": "/"}, "route": {"cluster": MONOLITH}})
    hcm = {
        "@type": _TYPE + _HCM,
        "stat_prefix": "strangler",
        "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": routes}]},
        "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
            "@type": _TYPE + "extensions.filters.http.router.v3.Router"}}],
    }  # fmt: skip
    listener = {
        "name": "strangler",
        "address": {"socket_address": {"address": host, "port_value": int(port)}},
        "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                                        "typed_config": hcm}]}],
    }  # fmt: skip
    doc = {
        "_comment": f"generated from route table version {table.version}; shadow is mirrored "
        "without comparison; canary weights are not sticky per user",
        "static_resources": {"listeners": [listener], "clusters": clusters},
    }
    return json.dumps(doc, indent=2) + "\n"
