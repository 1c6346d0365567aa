"""Writing the report files into the output folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.errors import AnalysisError
from analysis.pipeline import Analysis


@dataclass(frozen=True)
class Written:
    """The files written, and a note when SVGs could not be rendered."""

    files: tuple[Path, ...]
    note: str | None


def write_outputs(analysis: Analysis, report: dict[str, Any], out: Path) -> Written:
    """Write report.json, report.md, contexts.cml and the DOT (and SVG) graphs to `out`."""
    # imported here: the renderers need the graph library, which `strangler analyze`
    # imports while its log readers run (analysis.pipeline.run)
    from analysis.render_cml import context_map_cml
    from analysis.render_dot import INSTALL_HINT, contexts_dot, tables_dot, write_svg
    from analysis.render_md import report_markdown

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AnalysisError(f"--out {out}: cannot create the folder: {exc.strerror}") from None
    if not out.is_dir():
        raise AnalysisError(f"--out {out}: not a folder")
    files: list[Path] = []

    def put(name: str, text: str) -> Path:
        path = out / name
        path.write_text(text, encoding="utf-8")
        files.append(path)
        return path

    put("report.json", json.dumps(report, indent=2, sort_keys=False) + "\n")
    put("report.md", report_markdown(report))
    put("contexts.cml", context_map_cml(analysis))
    note = None
    for name, text in (("tables", tables_dot(analysis)), ("contexts", contexts_dot(analysis))):
        put(f"{name}.dot", text)
        if note is None and write_svg(text, out / f"{name}.svg"):
            files.append(out / f"{name}.svg")
        else:
            note = INSTALL_HINT
    return Written(tuple(files), note)
