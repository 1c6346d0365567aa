"""Graphviz output: DOT text for the table graph and the context map, SVG via `dot`.

The only module that imports graphviz; the DOT text itself is built without it.
"""

from __future__ import annotations

from pathlib import Path

from analysis.context_map import dependencies
from analysis.pipeline import Analysis

INSTALL_HINT = "SVGs skipped: graphviz's `dot` is missing (apt-get install graphviz)"
CROSS_EDGE_SHARE = 0.25  # cross-context edges lighter than this share of the heaviest are omitted
_PALETTE = ("#e8f1fb", "#eaf6ea", "#fdf3e1", "#f3e9f7", "#e6f5f5", "#fbe9ec", "#f0f0e4", "#eceff6")


def quote(text: str) -> str:
    """A DOT double-quoted ID."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def tables_dot(analysis: Analysis) -> str:
    """Tables grouped in one cluster per context; shared tables highlighted; weighted edges."""
    split = analysis.split
    lines = [
        "graph tables {",
        '  graph [rankdir=LR, fontname="Helvetica", fontsize=12, compound=true,'
        f" label={quote(_title(analysis, 'tables by suggested context'))}];",
        '  node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica"];',
        '  edge [color="#888888"];',
    ]
    for index, context in enumerate(split.contexts):
        lines.append(f"  subgraph {quote(f'cluster_{index}')} {{")
        lines.append(
            f'    label={quote(context.name)}; style="rounded,filled"; '
            f'fillcolor={quote(_PALETTE[index % len(_PALETTE)])}; color="#5b7083";'
        )
        for table in context.tables:
            info = split.tables[table]
            if info.shared:
                label = f"{table}\n(shared, {_plural(len(info.writers), 'writer')})"
                lines.append(
                    f'    {quote(table)} [label={quote(label)}, fillcolor="#f8d7da", '
                    'color="#c0392b", penwidth=2];'
                )
            else:
                lines.append(f"    {quote(table)};")
        lines.append("  }")
    weights = [d["weight"] for _, _, d in analysis.graph.edges(data=True)] or [1.0]
    top = max(weights)
    hidden = 0
    for a, b, data in sorted(analysis.graph.edges(data=True)):
        cross = split.table_context.get(a) != split.table_context.get(b)
        if cross and data["weight"] < CROSS_EDGE_SHARE * top:
            hidden += 1  # weak cross-context edges would hide the structure
            continue
        width = 0.5 + 3.5 * data["weight"] / top
        style = ', style=dashed, color="#c0392b", constraint=false' if cross else ""
        lines.append(
            f"  {quote(a)} -- {quote(b)} [penwidth={width:.2f}, "
            f"tooltip={quote(_edge_tip(data))}{style}];"
        )
    if hidden:
        note = f"{hidden} weak cross-context edges not drawn (all are in report.json)"
        lines.append(f'  "_note" [shape=plaintext, style="", label={quote(note)}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def contexts_dot(analysis: Analysis) -> str:
    """The context map: contexts as nodes, dependencies labelled with what crosses them."""
    lines = [
        "digraph contexts {",
        '  graph [rankdir=LR, fontname="Helvetica",'
        f" label={quote(_title(analysis, 'context map'))}];",
        '  node [shape=box3d, style=filled, fillcolor="#e8f1fb", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    order = {step.context: i + 1 for i, step in enumerate(analysis.plan)}
    for context in analysis.split.contexts:
        label = (
            f"{context.name}\n{_plural(len(context.tables), 'table')}, "
            f"{_plural(len(context.endpoints), 'endpoint')}"
            f"\nextract #{order.get(context.name, '?')}"
        )
        lines.append(f"  {quote(context.name)} [label={quote(label)}];")
    for dep in dependencies(analysis.model, analysis.split):
        parts = []
        if dep.writes:
            parts.append("writes " + ", ".join(dep.writes))
        if dep.reads:
            parts.append("reads " + ", ".join(dep.reads))
        if dep.joins:
            parts.append(f"{len(dep.joins)} join(s)")
        if dep.foreign_keys:
            parts.append(f"{len(dep.foreign_keys)} FK(s)")
        colour = "#c0392b" if dep.writes else "#5b7083"
        lines.append(
            f"  {quote(dep.source)} -> {quote(dep.target)} [label={quote(chr(10).join(parts))}, "
            f"color={quote(colour)}, penwidth={1 + min(dep.strength, 8) / 2:.1f}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_svg(dot_text: str, target: Path) -> bool:
    """Render DOT text to an SVG file; False when graphviz's `dot` is not installed."""
    import graphviz  # imported here: graph building never needs it

    try:
        svg = graphviz.Source(dot_text).pipe(format="svg")
    except graphviz.ExecutableNotFound:
        return False
    target.write_bytes(svg)
    return True


def _title(analysis: Analysis, what: str) -> str:
    suffix = " (schema only: lower confidence)" if analysis.mode == "schema-only" else ""
    return f"strangler analyze: {what}{suffix}"


def _edge_tip(data: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in sorted(data.items()) if k != "weight")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")
