from dataclasses import dataclass
from pathlib import Path

import pytest

from strangler_settings import ConfigError, load


@dataclass(frozen=True)
class Sample:
    port: int = 8000
    debug: bool = False
    name: str = "x"
    hosts: tuple[str, ...] = ()
    path: Path | None = None


def test_defaults_apply_without_file_or_environment(tmp_path):
    cfg = load(Sample, section="s", env_prefix="S_", path=_toml(tmp_path, ""), environ={})
    assert cfg == Sample()


def test_environment_overrides_file_and_overrides_win(tmp_path):
    file = _toml(tmp_path, "[s]\nport = 1\nhosts = ['a', 'b']\n")
    cfg = load(Sample, section="s", env_prefix="S_", path=file, environ={"S_PORT": "2"})
    assert cfg.port == 2 and cfg.hosts == ("a", "b")
    cfg = load(Sample, section="s", env_prefix="S_", path=file, environ={}, overrides={"port": 3})
    assert cfg.port == 3


def test_unknown_key_names_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"\[s\] 'prot'"):
        load(Sample, section="s", env_prefix="S_", path=_toml(tmp_path, "[s]\nprot = 1\n"))


def test_wrong_type_names_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="S_DEBUG must be bool"):
        load(
            Sample,
            section="s",
            env_prefix="S_",
            path=_toml(tmp_path, ""),
            environ={"S_DEBUG": "maybe"},
        )


def test_broken_toml_is_reported(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(Sample, section="s", env_prefix="S_", path=_toml(tmp_path, "[s\n"))


def _toml(tmp_path: Path, text: str) -> Path:
    file = tmp_path / "strangler.toml"
    file.write_text(text)
    return file


def test_the_old_strangler_settings_name_still_imports_the_same_loader():
    from strangler import settings

    assert settings.load is load and settings.ConfigError is ConfigError
