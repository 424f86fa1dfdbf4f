"""Credentials: environment precedence and secrets-file errors that name the file and key, never a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawlspec.client import Credentials, load_credentials
from crawlspec.errors import CredentialsFileError
from crawlspec.logs import redact_text

SECRET = "file-secret-never-printed-9f3a"
ENV = {"CRAWLSPEC_CLIENT_KEY": "env-key-1234", "CRAWLSPEC_CLIENT_SECRET": "env-secret-never-printed-77"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "secrets.yaml"
    path.write_text(text)
    return path


def test_file_with_sample_layout_is_read_with_absolute_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, f"client_id: 123\nclient_secret: {SECRET}\nclient_key: abc-key\n")
    monkeypatch.chdir(tmp_path)
    creds = load_credentials("secrets.yaml", environ={})
    assert (creds.client_key, creds.client_secret) == ("abc-key", SECRET)
    assert creds.source == f"file {tmp_path.resolve() / 'secrets.yaml'}"
    assert SECRET not in repr(creds)


def test_both_env_vars_win_over_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, f"client_secret: {SECRET}\nclient_key: abc-key\n")
    creds = load_credentials(path, environ=ENV)
    assert creds == Credentials("env-key-1234", "env-secret-never-printed-77", "environment")


def test_env_vars_work_without_any_file() -> None:
    assert load_credentials(None, environ=ENV).source == "environment"
    assert load_credentials("/nonexistent/secrets.yaml", environ=ENV).client_key == "env-key-1234"


def test_one_env_var_alone_falls_back_to_the_file_and_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "absent.yaml"
    with pytest.raises(CredentialsFileError) as info:
        load_credentials(missing, environ={"CRAWLSPEC_CLIENT_KEY": "only-key"})
    message = str(info.value)
    assert str(missing) in message and "CRAWLSPEC_CLIENT_SECRET is not" in message


def test_one_env_var_alone_beside_a_good_file_is_a_warning(tmp_path: Path) -> None:
    from structlog.testing import capture_logs

    path = tmp_path / "secrets.yaml"
    path.write_text("client_key: file-key\nclient_secret: file-secret-77\n")
    with capture_logs() as logs:
        credentials = load_credentials(path, environ={"CRAWLSPEC_CLIENT_SECRET": "lonely-secret-99"})
    assert credentials.client_key == "file-key"
    [warning] = [entry for entry in logs if entry["event"] == "credentials_environment_ignored"]
    assert warning["log_level"] == "warning" and warning["secrets_file"] == str(path.resolve())
    assert "CRAWLSPEC_CLIENT_SECRET is set but CRAWLSPEC_CLIENT_KEY is not" in warning["note"]
    assert "lonely-secret-99" not in str(logs) and "file-secret-77" not in str(logs)


def test_a_command_line_option_is_named_as_one(tmp_path: Path) -> None:
    with pytest.raises(CredentialsFileError, match="pass --credentials-file PATH"):
        load_credentials(tmp_path / "absent.yaml", environ={}, file_setting="--credentials-file")


def test_missing_file_names_absolute_path_and_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CredentialsFileError) as info:
        load_credentials("nope.yaml", environ={})
    message = str(info.value)
    assert f"{tmp_path.resolve() / 'nope.yaml'} does not exist" in message
    assert "client_key:" in message and "CRAWLSPEC_CLIENT_KEY" in message
    assert info.value.exit_code == 2


def test_no_file_and_no_env_is_a_clear_error() -> None:
    with pytest.raises(CredentialsFileError, match="No API credentials"):
        load_credentials(None, environ={})


def test_malformed_yaml_names_file_and_line_but_not_the_secret(tmp_path: Path) -> None:
    path = write(tmp_path, f"client_key: abc\nclient_secret: [{SECRET}\n")
    with pytest.raises(CredentialsFileError) as info:
        load_credentials(path, environ={})
    message = str(info.value)
    assert str(path) in message and "not valid YAML" in message
    assert SECRET not in message


@pytest.mark.parametrize("text", [f"- {SECRET}\n", f"just-a-string-{SECRET}\n", ""], ids=["list", "scalar", "empty"])
def test_not_a_mapping(tmp_path: Path, text: str) -> None:
    with pytest.raises(CredentialsFileError) as info:
        load_credentials(write(tmp_path, text), environ={})
    assert "must be a YAML mapping" in str(info.value) and SECRET not in str(info.value)


@pytest.mark.parametrize("text,key", [
    (f"client_secret: {SECRET}\n", "client_key"),
    ("client_key: abc\n", "client_secret"),
    ("client_key: abc\nclient_secret:\n", "client_secret"),
])
def test_missing_key_is_named(tmp_path: Path, text: str, key: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(CredentialsFileError) as info:
        load_credentials(path, environ={})
    message = str(info.value)
    assert str(path) in message and f"`{key}`" in message and SECRET not in message


def test_empty_and_non_string_values(tmp_path: Path) -> None:
    with pytest.raises(CredentialsFileError, match="`client_key` is empty"):
        load_credentials(write(tmp_path, f"client_key: '  '\nclient_secret: {SECRET}\n"), environ={})
    with pytest.raises(CredentialsFileError) as info:
        load_credentials(write(tmp_path, "client_key: abc\nclient_secret: 123456789\n"), environ={})
    assert "`client_secret` must be a string" in str(info.value) and "123456789" not in str(info.value)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(CredentialsFileError, match="not a regular file"):
        load_credentials(tmp_path, environ={})


def test_loaded_values_are_registered_for_redaction(tmp_path: Path) -> None:
    load_credentials(write(tmp_path, f"client_key: key-redact-me\nclient_secret: {SECRET}\n"), environ={})
    assert redact_text(f"x {SECRET} y key-redact-me") == "x *** y ***"


def test_a_file_without_the_key_and_one_env_var_says_the_environment_was_ignored(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text("client_key: file-key\n")
    with pytest.raises(CredentialsFileError, match="has no `client_secret` key") as info:
        load_credentials(path, environ={"CRAWLSPEC_CLIENT_SECRET": "lonely-secret-99"})
    assert "CRAWLSPEC_CLIENT_SECRET is set but CRAWLSPEC_CLIENT_KEY is not" in str(info.value)
    assert "lonely-secret-99" not in str(info.value)
