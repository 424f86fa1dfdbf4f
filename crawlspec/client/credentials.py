"""Client credentials: from CRAWLSPEC_CLIENT_KEY/CRAWLSPEC_CLIENT_SECRET or a YAML secrets file.

Every message here names the file (absolute path) or the variables and the key at fault, and says how to
fix it; none ever contains a secret's value. Both values are registered with the log redactor as soon
as they are read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from crawlspec.errors import CredentialsFileError
from crawlspec.logs import get_logger, register_secret

ENV_CLIENT_KEY = "CRAWLSPEC_CLIENT_KEY"
ENV_CLIENT_SECRET = "CRAWLSPEC_CLIENT_SECRET"
REQUIRED_KEYS: tuple[str, ...] = ("client_key", "client_secret")
SOURCE_ENVIRONMENT = "environment"

_FILE_EXAMPLE = "client_key: YOUR_CLIENT_KEY\nclient_secret: YOUR_CLIENT_SECRET"


@dataclass(frozen=True)
class Credentials:
    """A client key and secret plus where they came from ("file /abs/path" or "environment")."""

    client_key: str
    client_secret: str = field(repr=False)
    source: str

    def describe_source(self) -> str:
        """Human wording of the source for messages (never the values)."""
        if self.source == SOURCE_ENVIRONMENT:
            return f"environment variables {ENV_CLIENT_KEY} / {ENV_CLIENT_SECRET}"
        if self.source.startswith("file "):
            return f"secrets file {self.source.removeprefix('file ')}"
        return f"the {self.source}"   # e.g. "embedded simulator" (api=sim)


def load_credentials(credentials_file: str | Path | None, *, environ: Mapping[str, str] = os.environ,
                     file_setting: str = "api.credentials_file") -> Credentials:
    """Both environment variables set (non-empty) win; otherwise the YAML file is read. `file_setting`:
    how the caller's user names the file (a config key, or a command-line option), for messages."""
    key, secret = environ.get(ENV_CLIENT_KEY, ""), environ.get(ENV_CLIENT_SECRET, "")
    if key and secret:
        return _registered(Credentials(key, secret, SOURCE_ENVIRONMENT))
    hint = _partial_env_hint(bool(key), bool(secret))
    if credentials_file is None:
        raise CredentialsFileError(
            f"No API credentials: set {file_setting} to a YAML file with\n"
            f"{_FILE_EXAMPLE}\nor set both {ENV_CLIENT_KEY} and {ENV_CLIENT_SECRET}." + hint)
    path = Path(credentials_file).expanduser().resolve()
    document = _read_yaml_mapping(path, hint, file_setting)
    values = {name: _required_string(document, name, path, hint) for name in REQUIRED_KEYS}
    if hint:   # the file is used, but the user may believe the one variable they set is
        get_logger("crawlspec.credentials").warning("credentials_environment_ignored", secrets_file=str(path),
                                                    note=hint.strip().strip("()").removeprefix("Note: "))
    return _registered(Credentials(values["client_key"], values["client_secret"], f"file {path}"))


def _registered(credentials: Credentials) -> Credentials:
    register_secret(credentials.client_key)
    register_secret(credentials.client_secret)
    return credentials


def _partial_env_hint(has_key: bool, has_secret: bool) -> str:
    if has_key == has_secret:
        return ""
    present, missing = (ENV_CLIENT_KEY, ENV_CLIENT_SECRET) if has_key else (ENV_CLIENT_SECRET, ENV_CLIENT_KEY)
    return (f"\n(Note: {present} is set but {missing} is not, so the environment was ignored; "
            "set both to use environment variables.)")


def _read_yaml_mapping(path: Path, hint: str, file_setting: str) -> Mapping[object, object]:
    verb, separator = ("pass", " ") if file_setting.startswith("--") else ("set", "=")
    fix = (f"Create it with:\n{_FILE_EXAMPLE}\n(or {verb} {file_setting}{separator}PATH, "
           f"or both {ENV_CLIENT_KEY} and {ENV_CLIENT_SECRET}).")
    if not path.exists():
        raise CredentialsFileError(f"Secrets file {path} does not exist. {fix}{hint}")
    if not path.is_file():
        raise CredentialsFileError(f"Secrets file {path} is not a regular file. {fix}{hint}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CredentialsFileError(
            f"Secrets file {path} cannot be read ({exc.strerror}). Check its permissions.") from None
    except UnicodeDecodeError:
        raise CredentialsFileError(f"Secrets file {path} is not UTF-8 text. Expected:\n{_FILE_EXAMPLE}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        # The parser's own message can quote the offending line (a secret): never include it.
        raise CredentialsFileError(
            f"Secrets file {path} is not valid YAML{where}. Expected:\n{_FILE_EXAMPLE}") from None
    if not isinstance(document, Mapping):
        raise CredentialsFileError(
            f"Secrets file {path} must be a YAML mapping of keys to values, like:\n{_FILE_EXAMPLE}")
    return document


def _required_string(document: Mapping[object, object], name: str, path: Path, hint: str = "") -> str:
    if name not in document or document[name] is None:
        raise CredentialsFileError(f"Secrets file {path} has no `{name}` key. Add a line `{name}: ...` "
                                   f"with your {name} from the TikTok developer portal." + hint)
    value = document[name]
    if not isinstance(value, str):
        raise CredentialsFileError(
            f"Secrets file {path}: `{name}` must be a string, found a {type(value).__name__}. "
            f"Put the value in quotes: {name}: \"...\"")
    if not value.strip():
        raise CredentialsFileError(f"Secrets file {path}: `{name}` is empty. Fill in your {name}.")
    return value.strip()
