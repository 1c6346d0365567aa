"""Compatibility name: the settings loader lives in the leaf package `strangler_settings`."""

from strangler_settings import (
    CONFIG_FILE_ENV,
    DEFAULT_CONFIG_FILE,
    ConfigError,
    config_path,
    load,
    read_section,
)

__all__ = [
    "CONFIG_FILE_ENV",
    "DEFAULT_CONFIG_FILE",
    "ConfigError",
    "config_path",
    "load",
    "read_section",
]
