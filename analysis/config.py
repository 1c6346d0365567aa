"""The analyzer's settings: `[analyze]` in strangler.toml, STRANGLER_ANALYZE_* in the env."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import strangler_settings as settings


@dataclass(frozen=True)
class AnalyzeSettings:
    """Defaults for `strangler analyze`; CLI options and the overrides file win over them."""

    dialect: str = ""
    seed: int = 42
    resolution: float = 1.5
    max_examples: int = 5
    pg_log_prefix: str = "%m [%p] %a "
    pg_attribute_by: str = "a"

    def __post_init__(self) -> None:
        if self.resolution <= 0:
            raise ValueError(f"[analyze] resolution must be positive, got {self.resolution}")
        if self.max_examples < 0:
            raise ValueError(f"[analyze] max_examples must be >= 0, got {self.max_examples}")


def load_settings(**overrides: Any) -> AnalyzeSettings:
    """Read the settings, letting explicit (CLI) values win."""
    return settings.load(
        AnalyzeSettings, section="analyze", env_prefix="STRANGLER_ANALYZE_", overrides=overrides
    )
