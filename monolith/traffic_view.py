"""Terminal presentation of a traffic run: a rich progress bar and summary tables."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from monolith.traffic import TrafficSummary


@contextlib.contextmanager
def progress_reporter(
    requests: int | None, duration: float | None, *, enabled: bool = True
) -> Iterator[Callable[[int, float], None] | None]:
    """Yield an on_progress callback drawing a bar on stderr (None when disabled)."""
    if not enabled:
        yield None
        return
    by_time = duration is not None
    columns = [
        TextColumn("traffic"),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[sent]} requests"),
    ]
    if not by_time:
        columns.insert(2, MofNCompleteColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("traffic", total=duration if by_time else requests, sent=0)

        def update(sent: int, elapsed: float) -> None:
            progress.update(task, completed=elapsed if by_time else sent, sent=sent)

        yield update


def render_summary(summary: TrafficSummary, console: Console | None = None) -> None:
    """Print the totals, the per-status counts and the per-endpoint counts."""
    console = console or Console()
    verdict = "[green]no server errors[/]" if summary.ok else "[red]server errors![/]"
    console.print(
        f"{summary.requests} requests in {summary.seconds:.2f}s "
        f"({summary.requests_per_second} req/s) against {summary.base_url}, "
        f"seed {summary.seed}: {verdict}"
    )
    statuses = Table("status", "count", title="by status")
    for status, count in sorted(summary.per_status.items()):
        statuses.add_row("connection failed" if status == 0 else str(status), str(count))
    console.print(statuses)
    endpoints = Table(
        "endpoint", "count", title=f"by endpoint ({len(summary.per_endpoint)} endpoints)"
    )
    for endpoint, count in sorted(
        summary.per_endpoint.items(), key=lambda kv: kv[0].split(" ", 1)[::-1]
    ):
        endpoints.add_row(endpoint, str(count))
    console.print(endpoints)
    if summary.error_samples:
        console.print(
            f"[red]{summary.server_errors} server errors, "
            f"{summary.transport_errors} transport errors[/]"
        )
        for sample in summary.error_samples:
            console.print(f"  {sample}", markup=False)
