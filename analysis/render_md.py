"""report.md: a human summary of contexts, owners, findings, the plan and the metrics."""

from __future__ import annotations

from typing import Any

_METRIC_HELP = {
    "modularity": "Newman modularity of the split on the weighted table graph (higher is better)",
    "structural_modularity": "SM: cohesion inside minus coupling between contexts (higher)",
    "icp": "inter-call percentage: share of co-access weight crossing contexts (lower)",
    "ifn": "interface number: tables per context used from outside it (lower)",
    "ned": "non-extreme distribution: share of tables in too small/large contexts (lower)",
    "bcp": "business-context purity: mean ln(endpoints per context) (lower)",
    "cross_context_write_pct": "% of writes landing outside the writer's context (lower)",
    "mojofm": "MoJoFM against the reference split, 100 = identical (higher)",
    "c2c_coverage_50": "% of reference contexts matched with c2c >= 0.5 (higher)",
    "pairwise_f1": "F1 of same-context table pairs against the reference (higher)",
}


def report_markdown(report: dict[str, Any]) -> str:
    """Render the report dict as Markdown."""
    out: list[str] = ["# strangler analyze: suggested bounded contexts", ""]
    stats = report["statements"]
    out.append(
        f"Mode: **{report['mode']}**. Statements: {stats['total']} in "
        f"{stats['unique_shapes']} shapes, {stats['unparsed']} unparsed; "
        f"{stats['malformed_lines']} malformed input lines; "
        f"{stats['ddl_statements']} DDL statements ({stats['ddl_unparsed']} unparsed)."
    )
    if report.get("note"):
        out += ["", f"> {report['note']}"]
    verdict = report["verdict"]
    title = "one context" if verdict["kind"] == "one-context" else "split"
    out += ["", f"## Verdict: {title}", "", f"{verdict['reason']}."]
    if verdict["kind"] == "one-context":
        out.append(
            "The contexts below are therefore one; the evidence is the best split the "
            f"clustering found ({verdict['best_split_contexts']} contexts)."
        )
    out += ["", "## Contexts", "", "| context | tables | endpoints |", "|---|---|---|"]
    for c in report["contexts"]:
        out.append(f"| {c['name']} | {', '.join(c['tables'])} | {len(c['endpoints'])} |")
    out += ["", "## Table ownership", ""]
    out += ["| table | context | owner | confidence | basis | writers | readers | shared |"]
    out += ["|---|---|---|---|---|---|---|---|"]
    for name, t in report["tables"].items():
        out.append(
            f"| {name} | {t['context']} | {t['owner']} | {t['owner_confidence']:.2f} | "
            f"{t['owner_basis']} | {len(t['writers'])} | {len(t['readers'])} | "
            f"{'**yes**' if t['shared'] else 'no'} |"
        )
    out += ["", "## Findings", ""]
    if not report["findings"]:
        out.append("None.")
    for f in report["findings"]:
        out.append(f"- **{f['severity']}** `{f['kind']}`: {f['message']}.  ")
        out.append(f"  Remedy: {f['remedy']}.")
    out += ["", "## Extraction plan (least coupled first)", ""]
    for number, step in enumerate(report["extraction_plan"], 1):
        out.append(f"{number}. **{step['context']}** (coupling {step['coupling']})")
        out.append(f"   - tables that move: {_items(step['tables'])}")
        out.append(f"   - endpoints to route: {_items(step['endpoints'])}")
        fks = [f"{fk['table']} -> {fk['ref_table']}" for fk in step["foreign_keys_to_cut"]]
        out.append(f"   - foreign keys to cut: {_items(fks)}")
        joins = [f"{a} ⋈ {b}" for a, b in step["joins_to_replace"]]
        out.append(f"   - joins to replace: {_items(joins)}")
        out.append(f"   - CDC streams needed: {_items(step['cdc_streams'])}")
        if step.get("note"):
            out.append(f"   - note: {step['note']}")
    out += ["", "## Metrics", "", "| metric | value | meaning |", "|---|---|---|"]
    for key, value in report["metrics"].items():
        out.append(f"| {key} | {value} | {_METRIC_HELP.get(key, '')} |")
    if stats["unparsed_examples"]:
        out += ["", "## Unparsed statements (first examples)", ""]
        for u in stats["unparsed_examples"]:
            out.append(f"- `{u['source']}`: {u['reason']}: `{u['sql'][:120]}`")
    return "\n".join(out) + "\n"


def _items(values: list[str]) -> str:
    return ", ".join(f"`{v}`" for v in values) if values else "none"
