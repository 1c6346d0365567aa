"""Compile a route table to an Envoy v3 static bootstrap (JSON, which Envoy reads as YAML).

Tested against a real Envoy 1.40 (tests/router/test_export_envoy.py): the same corpus of
requests reaches the same target and route tag as through the mitmproxy data plane.

- Route selection: one Envoy route per case, in the table's most specific first order
  (Envoy takes the first match); paths are regex matches on the normalised path
  (`normalize_path`, `merge_slashes`), methods and the route header are header matchers.
- Canary: a Lua filter computes the router's own bucketing (MurmurHash2 of
  "<route id>:<sticky key>", the nginx `split_clients` function) and sets an internal
  header per canary route that the routes match on, so each user lands on the same
  side as through the router and the nginx export; the force header pins either side.
  The internal headers are removed before the request goes upstream.
- Fallback: an idempotent request goes to an aggregate cluster `<target>-or-monolith`
  whose retry policy moves to the monolith (the next priority) on a connect failure,
  a reset or a 502/503/504; other methods go to the target alone, as in the router.
  Active health checks and outlier detection (from the upstream's health and breaker
  settings) also fail over the aggregate while the target is down.
- Shadow: `request_mirror_policies` for the route's shadow methods, WITHOUT comparison
  (Envoy cannot compare responses); mirrors carry `X-Strangler-Shadow: 1`.
Limits: upstream URLs must be http://host:port (a path prefix is not expressible here);
the path sent upstream is Envoy's normalised path.
"""

from __future__ import annotations

import json
import re
from typing import Any

from router.bucket import boundary
from router.export.nginx import _path_regex, plain_http
from router.table import FORCE_HEADER, IDEMPOTENT, MONOLITH, Route, RouteTable, Upstream

_TYPE = "type.googleapis.com/envoy."
_HCM = "extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
_BUCKET = "x-strangler-canary-"  # internal header: this canary route's side for the request
_COMMENT = (
    "generated from route table version {version}; shadow is mirrored WITHOUT response "
    "comparison; canary buckets are the router's (MurmurHash2, like nginx split_clients)"
)


def _seconds(value: float) -> str:
    return f"{value:g}s"


def _cluster(u: Upstream) -> dict[str, Any]:
    endpoints = []
    for url in u.urls:
        host, port = plain_http(url, u.name, "envoy")
        address = {"address": host, "port_value": port}
        endpoints.append({"endpoint": {"address": {"socket_address": address}}})
    return {
        "name": u.name,
        "type": "STRICT_DNS",
        "connect_timeout": "2s",
        "load_assignment": {"cluster_name": u.name, "endpoints": [{"lb_endpoints": endpoints}]},
        "health_checks": [{
            "timeout": _seconds(u.health_timeout), "interval": _seconds(u.health_interval),
            "unhealthy_threshold": 1, "healthy_threshold": 1,
            "http_health_check": {"path": u.health_path,
                                  "expected_statuses": [{"start": 100, "end": 500}]},
        }],
        "outlier_detection": {
            "consecutive_5xx": u.breaker_failures, "interval": _seconds(u.breaker_window),
            "base_ejection_time": _seconds(u.breaker_cooldown), "max_ejection_percent": 100,
        },
    }  # fmt: skip


def _aggregate(target: str) -> dict[str, Any]:
    return {
        "name": f"{target}-or-monolith", "connect_timeout": "2s", "lb_policy": "CLUSTER_PROVIDED",
        "cluster_type": {"name": "envoy.clusters.aggregate", "typed_config": {
            "@type": _TYPE + "extensions.clusters.aggregate.v3.ClusterConfig",
            "clusters": [target, MONOLITH]}},
    }  # fmt: skip


def _match(route: Route, methods: tuple[str, ...], extra: list[dict[str, Any]]) -> dict[str, Any]:
    headers: list[dict[str, Any]] = list(extra)
    if methods:
        regex = "^(" + "|".join(methods) + ")$"
        headers.append({"name": ":method", "string_match": {"safe_regex": {"regex": regex}}})
    if route.header_rule:
        name, value = route.header_rule
        if value is None:
            headers.append({"name": name, "present_match": True})
        else:
            headers.append({"name": name, "string_match": {"exact": value}})
    match: dict[str, Any] = {"safe_regex": {"regex": "^" + _path_regex(route) + "$"}}
    if headers:
        match["headers"] = headers
    return match


def _retry() -> dict[str, Any]:
    """Retry once, on the next priority of the aggregate cluster: the monolith."""
    return {
        "retry_on": "connect-failure,reset,gateway-error", "num_retries": 1,
        "retry_priority": {"name": "envoy.retry_priorities.previous_priorities", "typed_config": {
            "@type": _TYPE + "extensions.retry.priority.previous_priorities.v3."
            "PreviousPrioritiesConfig", "update_frequency": 1}},
    }  # fmt: skip


def _only(route: Route, allowed: frozenset[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The route's methods that are in `allowed` (all of `allowed` for any-method routes)."""
    return tuple(m for m in (route.methods or sorted(allowed)) if m in allowed)


def _target_routes(route: Route, extra: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Envoy routes sending this route's requests to its target, with fallback if on."""
    plain = {"match": _match(route, route.methods, extra),
             "route": {"cluster": route.target, "timeout": "10s"}}  # fmt: skip
    idempotent = _only(route, IDEMPOTENT)
    if not route.fallback or route.target == MONOLITH or not idempotent:
        return [plain]
    cluster = f"{route.target}-or-monolith"
    action = {"cluster": cluster, "timeout": "10s", "retry_policy": _retry()}
    return [{"match": _match(route, idempotent, extra), "route": action}, plain]


def _monolith_routes(route: Route, extra: list[dict[str, Any]]) -> list[dict[str, Any]]:
    plain = {"match": _match(route, route.methods, extra),
             "route": {"cluster": MONOLITH, "timeout": "10s"}}  # fmt: skip
    mirrored = _only(route, route.shadow_methods)
    if route.mode != "shadow" or not mirrored:
        return [plain]
    mirror = {"cluster": route.target, "request_headers_mutations": [
        {"append": {"header": {"key": "x-strangler-shadow", "value": "1"}}}]}  # fmt: skip
    action = {"cluster": MONOLITH, "timeout": "10s", "request_mirror_policies": [mirror]}
    return [{"match": _match(route, mirrored, extra), "route": action}, plain]


def _header_is(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "string_match": {"exact": value, "ignore_case": True}}


def _routes(route: Route, n: int) -> list[dict[str, Any]]:
    if route.mode == "service":
        return _target_routes(route, [])
    if route.mode != "canary":
        return _monolith_routes(route, [])
    return [
        *_target_routes(route, [_header_is(FORCE_HEADER, "service")]),
        *_monolith_routes(route, [_header_is(FORCE_HEADER, "monolith")]),
        *_target_routes(route, [_header_is(_BUCKET + str(n), "service")]),
        *_monolith_routes(route, []),
    ]


_LUA = """\
local bit = require("bit")
local band, bor, bxor = bit.band, bit.bor, bit.bxor
local lshift, rshift, tobit = bit.lshift, bit.rshift, bit.tobit
local M = 0x5bd1e995

local function mul(a, b)  -- a * b mod 2^32 without losing bits in doubles
  local lo, hi = band(a, 0xffff), band(rshift(a, 16), 0xffff)
  return tobit(lo * b + lshift(tobit(hi * b), 16))
end

local function murmur2(s)  -- nginx's ngx_murmur_hash2, as router/bucket.py
  local len = #s
  local h, i = tobit(len), 1
  while len - i + 1 >= 4 do
    local b1, b2, b3, b4 = s:byte(i, i + 3)
    local k = bor(b1, lshift(b2, 8), lshift(b3, 16), lshift(b4, 24))
    k = mul(k, M); k = bxor(k, rshift(k, 24)); k = mul(k, M)
    h = bxor(mul(h, M), k)
    i = i + 4
  end
  local rest = len - i + 1
  if rest == 3 then h = bxor(h, lshift(s:byte(i + 2), 16)) end
  if rest >= 2 then h = bxor(h, lshift(s:byte(i + 1), 8)) end
  if rest >= 1 then h = mul(bxor(h, s:byte(i)), M) end
  h = bxor(h, rshift(h, 13)); h = mul(h, M); h = bxor(h, rshift(h, 15))
  if h < 0 then h = h + 4294967296 end
  return h
end

local function cookie(header, name)
  for part in string.gmatch(header or "", "[^;]+") do
    local key, value = part:match("^%s*([^=]-)=(.*)$")
    if key == name then return (value:gsub("%s+$", "")) end
  end
  return nil
end

local CANARIES = {canaries}

function envoy_on_request(handle)
  local headers = handle:headers()
  local addr = handle:streamInfo():downstreamRemoteAddress()
  local client = addr:match("^%[(.*)%]:%d+$") or addr:match("^(.*):%d+$") or addr
  for _, c in ipairs(CANARIES) do
    local key
    if c.header then key = headers:get(c.header)
    elseif c.cookie then key = cookie(headers:get("cookie"), c.cookie) end
    if key == nil or key == "" then key = client end
    local inside = c.all or (not c.none and murmur2(c.id .. ":" .. key) < c.boundary)
    headers:replace(c.out, inside and "service" or "monolith")
  end
  handle:clearRouteCache()
end
"""


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here


def _lua(canaries: list[Route]) -> dict[str, Any]:
    entries = []
    for n, route in enumerate(canaries):
        kind, _, name = route.sticky.partition(":")
        fields = [f"id = {_lua_string(route.id)}", f"out = {_lua_string(_BUCKET + str(n))}",
                  f"boundary = {boundary(route.percent)}",
                  f"all = {'true' if route.percent >= 100 else 'false'}",
                  f"none = {'true' if route.percent <= 0 else 'false'}"]  # fmt: skip
        if kind == "header":
            fields.append(f"header = {_lua_string(name.lower())}")
        elif kind == "cookie":
            fields.append(f"cookie = {_lua_string(name)}")
        entries.append("{" + ", ".join(fields) + "}")
    code = _LUA.replace("{canaries}", "{" + ", ".join(entries) + "}")
    return {"name": "envoy.filters.http.lua", "typed_config": {
        "@type": _TYPE + "extensions.filters.http.lua.v3.Lua",
        "default_source_code": {"inline_string": code}}}  # fmt: skip


def render(table: RouteTable, listen: str = "127.0.0.1:8080") -> str:
    """Return the Envoy bootstrap for `table`, listening on `listen`."""
    host, _, port = listen.rpartition(":")
    clusters = [_cluster(u) for u in table.upstreams]
    canaries = [r for r in table._ordered if r.mode == "canary"]
    canary_no = {r.id: n for n, r in enumerate(canaries)}
    named = {c["name"] for c in clusters}
    routes: list[dict[str, Any]] = []
    for route in table._ordered:
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", route.id)
        tag = {"name": name, "response_headers_to_add": [
            {"header": {"key": "X-Strangler-Route", "value": route.id}}]}  # fmt: skip
        produced = _routes(route, canary_no.get(route.id, -1))
        routes += [{**tag, **r} for r in produced]
        aggregate = f"{route.target}-or-monolith"
        if aggregate not in named and any(r["route"].get("cluster") == aggregate for r in produced):
            named.add(aggregate)
            clusters.append(_aggregate(route.target))
    routes.append({"name": "default", "match": {"prefix": "/"}, "route": {"cluster": MONOLITH},
                   "response_headers_to_add": [
                       {"header": {"key": "X-Strangler-Route", "value": "default"}}]})  # fmt: skip
    filters = [_lua(canaries)] if canaries else []
    filters.append({"name": "envoy.filters.http.router", "typed_config": {
        "@type": _TYPE + "extensions.filters.http.router.v3.Router"}})  # fmt: skip
    internal = [_BUCKET + str(n) for n in range(len(canaries))]
    vhost = {"name": "all", "domains": ["*"], "routes": routes}
    vhost["request_headers_to_remove"] = internal
    hcm = {
        "@type": _TYPE + _HCM, "stat_prefix": "strangler",
        "normalize_path": True, "merge_slashes": True,
        "route_config": {"virtual_hosts": [vhost]}, "http_filters": filters,
    }  # fmt: skip
    listener = {
        "name": "strangler",
        "address": {"socket_address": {"address": host, "port_value": int(port)}},
        "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                                        "typed_config": hcm}]}],
    }  # fmt: skip
    doc = {
        "node": {"id": "strangler", "cluster": "strangler",
                 "metadata": {"comment": _COMMENT.format(version=table.version)}},
        "static_resources": {"listeners": [listener], "clusters": clusters},
    }  # fmt: skip
    return json.dumps(doc, indent=2) + "\n"
