"""Settings and the JWT secret (security checklist: JWT, secret of at least 32 random bytes)."""

from __future__ import annotations

import os
import stat

import pydantic
import pytest

from textedit_core.infra.config import SECRET_FILE_NAME, Settings, resolve_jwt_secret

SECRET_32 = "s" * 32


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """No TEXTEDIT_* variable or .env file from the developer's machine leaks into a test."""
    for name in list(os.environ):
        if name.startswith("TEXTEDIT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


# --- the configured secret ----------------------------------------------------------------


def test_a_configured_secret_shorter_than_32_bytes_is_refused():
    with pytest.raises(pydantic.ValidationError, match="at least 32 bytes"):
        settings(jwt_secret="s" * 31)


def test_a_secret_shorter_than_32_bytes_in_the_environment_is_refused(monkeypatch):
    monkeypatch.setenv("TEXTEDIT_JWT_SECRET", "s" * 31)
    with pytest.raises(pydantic.ValidationError, match="TEXTEDIT_JWT_SECRET must be at least 32"):
        Settings(_env_file=None)


def test_a_configured_secret_of_32_bytes_is_accepted():
    assert settings(jwt_secret=SECRET_32).jwt_secret == SECRET_32


def test_the_secret_length_is_counted_in_utf8_bytes_not_characters():
    assert settings(jwt_secret="é" * 16).jwt_secret == "é" * 16  # 16 characters, 32 bytes
    with pytest.raises(pydantic.ValidationError):
        settings(jwt_secret="é" * 15 + "x")  # 16 characters, 31 bytes


def test_the_secret_is_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TEXTEDIT_JWT_SECRET", SECRET_32)
    monkeypatch.setenv("TEXTEDIT_DATA_DIR", str(tmp_path / "data"))
    loaded = Settings(_env_file=None)
    assert loaded.jwt_secret == SECRET_32
    assert loaded.data_dir == tmp_path / "data"


def test_a_configured_secret_is_used_as_is_and_no_file_is_written(tmp_path):
    data_dir = tmp_path / "data"
    resolved = resolve_jwt_secret(settings(jwt_secret=SECRET_32, data_dir=data_dir))
    assert resolved == SECRET_32.encode()
    assert not (data_dir / SECRET_FILE_NAME).exists()


# --- the generated secret -----------------------------------------------------------------


def test_without_a_secret_one_is_generated_into_the_data_dir_with_mode_0600(tmp_path):
    data_dir = tmp_path / "nested" / "data"
    secret = resolve_jwt_secret(settings(data_dir=data_dir))
    path = data_dir / SECRET_FILE_NAME
    assert path.read_bytes().strip() == secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(secret) >= 32


def test_the_generated_secret_is_the_same_on_the_next_call(tmp_path):
    config = settings(data_dir=tmp_path)
    assert resolve_jwt_secret(config) == resolve_jwt_secret(config)
    assert resolve_jwt_secret(settings(data_dir=tmp_path)) == resolve_jwt_secret(config)


def test_generating_the_secret_leaves_no_temporary_file(tmp_path):
    resolve_jwt_secret(settings(data_dir=tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == [SECRET_FILE_NAME]


def test_each_data_dir_gets_its_own_random_secret(tmp_path):
    one = resolve_jwt_secret(settings(data_dir=tmp_path / "one"))
    two = resolve_jwt_secret(settings(data_dir=tmp_path / "two"))
    assert one != two


def test_a_secret_file_shorter_than_32_bytes_is_refused(tmp_path):
    (tmp_path / SECRET_FILE_NAME).write_bytes(b"too short\n")
    with pytest.raises(RuntimeError, match="shorter than 32 bytes"):
        resolve_jwt_secret(settings(data_dir=tmp_path))


# --- other settings -----------------------------------------------------------------------


def test_settings_are_read_from_textedit_prefixed_variables(monkeypatch):
    monkeypatch.setenv("TEXTEDIT_DATABASE_URL", "sqlite:///elsewhere.db")
    monkeypatch.setenv("TEXTEDIT_OLLAMA_TIMEOUT", "30")
    loaded = Settings(_env_file=None)
    assert loaded.database_url == "sqlite:///elsewhere.db"
    assert loaded.stale_charge_seconds == 90


@pytest.mark.parametrize("timeout", ["0", "-1", "3601"])
def test_an_out_of_range_model_timeout_is_refused(monkeypatch, timeout):
    monkeypatch.setenv("TEXTEDIT_OLLAMA_TIMEOUT", timeout)
    with pytest.raises(pydantic.ValidationError):
        Settings(_env_file=None)


def test_settings_are_frozen():
    config = settings()
    with pytest.raises(pydantic.ValidationError):
        config.jwt_secret = SECRET_32


def test_a_mail_server_without_a_sender_address_is_refused():
    with pytest.raises(pydantic.ValidationError, match="TEXTEDIT_SMTP_HOST needs TEXTEDIT_SMTP_FROM"):
        settings(smtp_host="smtp.example.com")


def test_the_mail_settings_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("TEXTEDIT_SMTP_HOST", "smtp.example.com")
    monkeypatch.setenv("TEXTEDIT_SMTP_PORT", "2525")
    monkeypatch.setenv("TEXTEDIT_SMTP_FROM", "textedit@example.com")
    monkeypatch.setenv("TEXTEDIT_SMTP_STARTTLS", "false")
    loaded = Settings()
    assert (loaded.smtp_host, loaded.smtp_port, loaded.smtp_from, loaded.smtp_starttls) == (
        "smtp.example.com",
        2525,
        "textedit@example.com",
        False,
    )
