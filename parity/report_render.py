"""Show a verify report: a terminal summary (rich) and a static HTML page (no scripts)."""

from __future__ import annotations

import html
import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def summary(report: dict[str, Any], console: Console, samples: int = 1) -> None:
    """Print per-route counts, the unexplained fields and a sample diff for each route."""
    t = report["totals"]
    table = Table(
        "route",
        "compared",
        "mismatched",
        "rate",
        "skipped",
        "errors",
        title=escape(f"verify: {report['legacy']} (legacy) vs {report['candidate']} (candidate)"),
    )
    for r in report["routes"]:
        style = "red" if r["mismatched"] or r["errors"] else "green"
        table.add_row(
            escape(r["route"]),
            str(r["compared"]),
            f"[{style}]{r['mismatched']}[/]",
            _pct(r["rate"]),
            str(r["skipped"]),
            str(r["errors"]),
        )
    console.print(table)
    for r in report["routes"]:
        bad = [f for f in r["fields"] if not f["explained"]]
        noise = [f["path"] for f in r["fields"] if f["explained"]]
        if not bad and not r["errors"] and not noise:
            continue
        console.print(f"[bold]{escape(r['route'])}[/]")
        for f in bad:
            _line(
                console, f"  {f['path']}: {f['mismatched']} of {r['compared']} ({_pct(f['rate'])})"
            )
        if noise:
            _line(console, f"  noise (differs between two legacy answers): {', '.join(noise)}")
        for s in r["samples"][:samples] if bad or r["errors"] else ():
            _line(console, f"  {s['request']['method']} {s['request']['path']}")
            _line(console, "    " + (s.get("error") or s.get("diff", "")).replace("\n", "\n    "))
            _line(console, f"    legacy:    {s['curl']['legacy']}")
            _line(console, f"    candidate: {s['curl']['candidate']}")
    bad_total = t["mismatched"] or t["errors"]
    verdict = (
        f"{t['mismatched']} unexplained mismatch(es), {t['errors']} error(s)"
        if bad_total
        else "no unexplained mismatches"
    )
    _line(
        console,
        f"{t['requests']} requests: {t['compared']} compared, {t['skipped']} "
        f"skipped, {t['errors']} errors; {verdict}",
    )


def _line(console: Console, text: str) -> None:
    """Print as is: no markup, no colouring, never wrapped (curl lines stay copyable)."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _pct(rate: float) -> str:
    return f"{rate * 100:.2f} %"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:left}th{background:#f3f3f3}.bad{color:#b00020;font-weight:bold}.ok{color:#1b5e20}
.noise{color:#777}pre{background:#f7f7f7;padding:8px;overflow:auto;white-space:pre-wrap}
details{margin:.3em 0 .8em 1em}code{font-size:12px}.sides{display:flex;gap:1em}
.sides>div{flex:1;min-width:0}
"""


def to_html(report: dict[str, Any]) -> str:
    """The same content as the JSON report, as one self-contained page."""
    t = report["totals"]
    out = [
        "<!doctype html><html><head><meta charset='utf-8'><title>strangler verify</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>strangler verify</h1><p>legacy <code>{_e(report['legacy'])}</code> vs candidate "
        f"<code>{_e(report['candidate'])}</code></p>",
        f"<p class='{'bad' if t['mismatched'] or t['errors'] else 'ok'}'>{t['requests']} requests: "
        f"{t['compared']} compared, {t['mismatched']} with unexplained mismatches "
        f"({_pct(t['mismatch_rate'])}), {t['skipped']} skipped, {t['errors']} errors</p>",
        "<table><tr><th>route</th><th>compared</th><th>mismatched</th><th>rate</th>"
        "<th>skipped</th><th>errors</th></tr>",
    ]
    for r in report["routes"]:
        cls = "bad" if r["mismatched"] or r["errors"] else "ok"
        out.append(
            f"<tr><td><a href='#{_anchor(r['route'])}'>{_e(r['route'])}</a></td>"
            f"<td>{r['compared']}</td><td class='{cls}'>{r['mismatched']}</td>"
            f"<td>{_pct(r['rate'])}</td><td>{r['skipped']}</td><td>{r['errors']}</td></tr>"
        )
    out.append("</table>")
    for r in report["routes"]:
        out.extend(_route_html(r))
    out.append("</body></html>")
    return "\n".join(out)


def _anchor(route: str) -> str:
    return "r-" + "".join(c if c.isalnum() else "-" for c in route)


def _route_html(r: dict[str, Any]) -> list[str]:
    out = [f"<h2 id='{_anchor(r['route'])}'>{_e(r['route'])}</h2>"]
    if r["fields"]:
        out.append(
            "<table><tr><th>field</th><th>mismatched</th><th>rate</th><th>noise "
            "(legacy vs legacy)</th><th>verdict</th></tr>"
        )
        for f in r["fields"]:
            verdict = (
                "<span class='noise'>noise</span>"
                if f["explained"]
                else ("<span class='bad'>unexplained</span>")
            )
            out.append(
                f"<tr><td><code>{_e(f['path'])}</code></td><td>{f['mismatched']}</td>"
                f"<td>{_pct(f['rate'])}</td><td>{f['noise']}</td><td>{verdict}</td></tr>"
            )
        out.append("</table>")
    if r["skip_reasons"]:
        reasons = ", ".join(f"{_e(k)}: {v}" for k, v in r["skip_reasons"].items())
        out.append(f"<p class='noise'>skipped: {reasons}</p>")
    for s in r["samples"]:
        req = s["request"]
        out.append(
            f"<details open><summary><code>{_e(req['method'])} {_e(req['path'])}</code>"
            f"{' — ' + _e(s['error']) if s.get('error') else ''}</summary>"
        )
        if s.get("diff"):
            out.append(f"<pre>{_e(s['diff'])}</pre>")
        out.append("<div class='sides'>")
        for side in ("legacy", "candidate"):
            resp = s.get(side)
            body = _pretty(resp["body"]) if resp else "(no answer)"
            status = resp["status"] if resp else "—"
            out.append(
                f"<div><b>{side}</b> {status}<pre>{_e(body)}</pre>"
                f"<pre>{_e(s['curl'][side])}</pre></div>"
            )
        out.append("</div></details>")
    return out


def _pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body
