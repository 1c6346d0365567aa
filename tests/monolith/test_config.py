"""12-factor configuration of the monolith."""

import pytest

from monolith.config import load_config
from strangler.settings import ConfigError


def _empty(tmp_path):
    toml = tmp_path / "empty.toml"
    toml.write_text("")
    return toml


def test_plain_twelve_factor_variables_configure_the_app(tmp_path):
    env = {"DATABASE_URL": "sqlite:///x.db", "PORT": "8080", "LOG_LEVEL": "debug"}
    config = load_config(path=_empty(tmp_path), environ=env)
    assert (config.database_url, config.port, config.log_level) == ("sqlite:///x.db", 8080, "debug")


def test_default_database_is_a_sqlite_file_under_var(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(environ={})
    assert config.database_url == f"sqlite:///{tmp_path / 'var' / 'shopco.db'}"
    assert (tmp_path / "var").is_dir()
    assert config.port == 5000 and config.sql_log is None


def test_file_then_prefixed_env_then_plain_env_then_overrides(tmp_path):
    toml = tmp_path / "strangler.toml"
    toml.write_text('[monolith]\nport = 6000\nsql_log = "var/sql.jsonl"\n')
    assert load_config(path=toml, environ={}).port == 6000
    assert load_config(path=toml, environ={"STRANGLER_MONOLITH_PORT": "6001"}).port == 6001
    assert (
        load_config(path=toml, environ={"PORT": "6002", "STRANGLER_MONOLITH_PORT": "6001"}).port
        == 6002
    )
    assert load_config(path=toml, environ={"PORT": "6002"}, overrides={"port": 7000}).port == 7000
    assert load_config(path=toml, environ={}).sql_log == "var/sql.jsonl"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PORT": "eighty"}, "PORT"),
        ({"LOG_LEVEL": "chatty"}, "log_level"),
    ],
)
def test_bad_values_fail_naming_the_setting(tmp_path, env, named):
    with pytest.raises(ConfigError, match=named):
        load_config(path=_empty(tmp_path), environ=env)


def test_unknown_key_in_the_file_fails_naming_it(tmp_path):
    toml = tmp_path / "strangler.toml"
    toml.write_text("[monolith]\ndatabse_url = 'x'\n")
    with pytest.raises(ConfigError, match="databse_url"):
        load_config(path=toml, environ={})
