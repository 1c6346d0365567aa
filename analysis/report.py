"""The report document (report.json): a plain dict built from an Analysis. Pure."""

from __future__ import annotations

from typing import Any

from analysis.model import ForeignKey
from analysis.pipeline import Analysis

REPORT_VERSION = 1
SCHEMA_ONLY_NOTE = (
    "no workload was given: contexts come from foreign keys and table names only, with "
    "lower confidence. What "
    "that costs, measured on the analyzer's corpus (bench/analyze_accuracy.py): mean "
    "pairwise F1 0.53 from the schema against 0.85 with a workload, and no ownership, "
    "endpoint routing, verdict or cross-context write findings. Add a query log "
    "(--log, --pg-log, --pg-stat-statements or --sql-dir)"
)


def build_report(analysis: Analysis) -> dict[str, Any]:
    """Return the JSON-ready report (schema documented in docs/report-schema.md)."""
    split, model, workload = analysis.split, analysis.model, analysis.workload
    return {
        "version": REPORT_VERSION,
        "mode": analysis.mode,
        "note": SCHEMA_ONLY_NOTE if analysis.mode == "schema-only" else None,
        "inputs": analysis.inputs,
        "verdict": {
            "kind": analysis.verdict.kind,
            "spanning_write_share": _rounded(analysis.verdict.spanning_write_share),
            "best_split_contexts": analysis.verdict.best_split_contexts,
            "threshold": analysis.verdict.threshold,
            "command_coverage": _rounded(analysis.verdict.command_coverage),
            "coverage_threshold": analysis.verdict.coverage_threshold,
            "reason": analysis.verdict.reason,
        },
        "cross_cutting": [
            {
                "statement": c.fingerprint,
                "tables": list(c.tables),
                "endpoints": list(c.endpoints),
                "executions": c.executions,
            }
            for c in model.cross_cutting
        ],
        "contexts": [
            {"name": c.name, "tables": list(c.tables), "endpoints": list(c.endpoints)}
            for c in split.contexts
        ],
        "tables": {
            name: {
                "context": info.context,
                "owner": info.owner,
                "owner_confidence": info.owner_confidence,
                "owner_basis": info.owner_basis,
                "readers": list(info.readers),
                "writers": list(info.writers),
                "shared": info.shared,
            }
            for name, info in sorted(split.tables.items())
        },
        "endpoints": {
            e: {
                "context": split.endpoint_context.get(e),
                "reads": sorted(model.reads.get(e, {})),
                "writes": sorted(model.writes.get(e, {})),
            }
            for e in model.endpoints
        },
        "findings": [
            {
                "kind": f.kind,
                "severity": f.severity,
                "message": f.message,
                "tables": list(f.tables),
                "endpoints": list(f.endpoints),
                "remedy": f.remedy,
            }
            for f in analysis.findings
        ],
        "metrics": analysis.metrics,
        "extraction_order": [step.context for step in analysis.plan],
        "extraction_plan": [
            {
                "context": s.context,
                "coupling": s.coupling,
                "tables": list(s.tables),
                "endpoints": list(s.endpoints),
                "foreign_keys_to_cut": [fk_dict(fk) for fk in s.foreign_keys_to_cut],
                "joins_to_replace": [list(pair) for pair in s.joins_to_replace],
                "cdc_streams": list(s.cdc_streams),
                "note": s.note or None,
            }
            for s in analysis.plan
        ],
        "statements": {
            "total": workload.total,
            "unique_shapes": len(workload.shapes) + workload.unparsed_shapes,
            "parsed_shapes": len(workload.shapes),
            "unparsed": workload.unparsed_count,
            "unparsed_shapes": workload.unparsed_shapes,
            "unparsed_examples": [
                {"source": u.source, "sql": u.sql, "reason": u.reason} for u in workload.unparsed
            ],
            "malformed_lines": workload.lines_malformed,
            "malformed_examples": list(workload.malformed_examples),
            "ddl_statements": analysis.schema.statements,
            "ddl_unparsed": len(analysis.schema.unparsed),
            "ddl_unparsed_examples": [
                {"source": u.source, "sql": u.sql, "reason": u.reason}
                for u in analysis.schema.unparsed[:5]
            ],
        },
        "graph": {
            "edges": [
                {"a": a, "b": b, **{k: round(v, 4) for k, v in sorted(data.items())}}
                for a, b, data in sorted(analysis.graph.edges(data=True))
            ],
            "foreign_keys": [fk_dict(fk) for fk in model.foreign_keys],
        },
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def fk_dict(fk: ForeignKey) -> dict[str, Any]:
    """A foreign key as a JSON object."""
    return {
        "table": fk.table,
        "columns": list(fk.columns),
        "ref_table": fk.ref_table,
        "ref_columns": list(fk.ref_columns),
    }
