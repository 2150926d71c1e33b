"""The Makefile's installer hands pip's package sources to uv (tools/install_requirements.py)."""

from __future__ import annotations

from tools.install_requirements import parse_pip_config, pip_settings, uv_options

# `pip config list` on a machine with a local index and wheel folder (this one's, in short).
LISTED = """global.cert='/etc/ssl/certs/ca-certificates.crt'
global.constraint='/etc/xdg/pip/constraints.txt'
global.extra-index-url='file:///opt/pypi/simple file:///opt/pypi-more/simple'
global.find-links='/opt/wheels'
:env:.default-timeout='180'
:env:.find-links='/srv/wheels'
"""


def test_a_pip_variable_overrides_the_same_setting_in_a_config_file():
    assert parse_pip_config(LISTED)["find-links"] == "/srv/wheels"


def test_the_install_section_overrides_the_global_one():
    listed = "global.index-url='https://a.example/simple'\ninstall.index-url='https://b.example/simple'\n"
    assert parse_pip_config(listed) == {"index-url": "https://b.example/simple"}


def test_the_sections_of_other_pip_commands_are_left_out():
    assert parse_pip_config("download.index-url='https://c.example/simple'\n") == {}


def test_uv_gets_every_index_wheel_folder_and_constraint_and_picks_the_best_version_across_them():
    args, _env = uv_options(parse_pip_config(LISTED))
    assert args == [
        "--index-strategy",
        "unsafe-best-match",
        "--extra-index-url",
        "file:///opt/pypi/simple",
        "--extra-index-url",
        "file:///opt/pypi-more/simple",
        "--find-links",
        "/srv/wheels",
        "--constraint",
        "/etc/xdg/pip/constraints.txt",
    ]


def test_uv_gets_pips_own_index_its_trusted_hosts_and_no_index():
    settings = {"index-url": "http://mirror.lan/simple", "trusted-host": "mirror.lan", "no-index": "yes"}
    args, _env = uv_options(settings)
    assert args == [
        "--index-strategy",
        "unsafe-best-match",
        "--index-url",
        "http://mirror.lan/simple",
        "--allow-insecure-host",
        "mirror.lan",
        "--no-index",
    ]


def test_no_index_set_to_false_is_not_passed_on():
    args, _env = uv_options({"no-index": "false"})
    assert "--no-index" not in args


def test_pips_ca_bundle_and_timeout_reach_uv_through_its_environment():
    _args, env = uv_options(parse_pip_config(LISTED))
    assert env == {"SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt", "UV_HTTP_TIMEOUT": "180"}


def test_pips_settings_are_read_from_its_config_file_and_variables(tmp_path, monkeypatch):
    config = tmp_path / "pip.conf"
    config.write_text("[install]\ntrusted-host = mirror.example\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    monkeypatch.delenv("PIP_TRUSTED_HOST", raising=False)
    monkeypatch.setenv("PIP_INDEX_URL", "https://mirror.example/simple")
    settings = pip_settings()
    assert settings is not None
    assert settings["trusted-host"] == "mirror.example"
    assert settings["index-url"] == "https://mirror.example/simple"
