"""The analyzer's settings: `[analyze]` in strangler.toml, STRANGLER_ANALYZE_* in the env."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import strangler_settings as settings
from analysis.sources.pg_log import DEFAULT_PREFIX
from analysis.verdict import ONE_CONTEXT_COVERAGE, ONE_CONTEXT_SHARE


@dataclass(frozen=True)
class AnalyzeSettings:
    """Defaults for `strangler analyze` (the one source: the pipeline's Inputs take theirs
    from here); CLI options and the overrides file win over them."""

    dialect: str = ""  # SQL dialect (sqlglot name); empty: generic, or the log's own
    seed: int = 42  # seed of the community detection (same input and seed, same contexts)
    # None: the mode's default (analysis.cluster: 1.5 with a workload, 0.25 schema only)
    resolution: float | None = None
    # share of write transactions spanning contexts above which the verdict is one context
    one_context_share: float = ONE_CONTEXT_SHARE
    # mean share of the tables each command touches from which the verdict is one context
    one_context_coverage: float = ONE_CONTEXT_COVERAGE
    max_examples: int = 5  # example statements kept per finding
    jobs: int = 0  # processes reading a large PostgreSQL log; 0: one per CPU core
    # the server's log_line_prefix, to read a PostgreSQL stderr log
    pg_log_prefix: str = DEFAULT_PREFIX
    pg_attribute_by: str = "a"  # prefix escape whose value names the endpoint (a: application_name)

    def __post_init__(self) -> None:
        if self.resolution is not None and self.resolution <= 0:
            raise ValueError(f"[analyze] resolution must be positive, got {self.resolution}")
        if not 0 < self.one_context_share <= 1:
            raise ValueError(
                f"[analyze] one_context_share must be in (0, 1], got {self.one_context_share}"
            )
        if not 0 < self.one_context_coverage <= 1:
            raise ValueError(
                f"[analyze] one_context_coverage must be in (0, 1], got {self.one_context_coverage}"
            )
        if self.jobs < 0:
            raise ValueError(f"[analyze] jobs must be >= 0 (0: every core), got {self.jobs}")
        if self.max_examples < 0:
            raise ValueError(f"[analyze] max_examples must be >= 0, got {self.max_examples}")


def load_settings(**overrides: Any) -> AnalyzeSettings:
    """Read the settings, letting explicit (CLI) values win."""
    return settings.load(
        AnalyzeSettings, section="analyze", env_prefix="STRANGLER_ANALYZE_", overrides=overrides
    )
