"""Secret redaction of texts and of Hydra overrides, whatever their escaping or quoting: a password must
not survive in any form (as typed, as Hydra escapes it in a sweep, as JSON writes it)."""

from __future__ import annotations

import json

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from crawlspec.redaction import REDACTED, names_a_secret, redact, redact_override, register_secret

PASSWORD = "s3cret:pw"  # a ':' that Hydra escapes in a sweep's overrides


def forms(secret: str) -> set[str]:
    """Every spelling under which a secret could leak: as is, Hydra-escaped, inside a JSON string."""
    escaped = "".join("\\" + c if c in "\\()[]{}:=, \t" else c for c in secret)
    return {secret, escaped, json.dumps(secret)[1:-1], json.dumps(escaped)[1:-1], escaped.replace("\\", "")}


def leaked(text: str, secret: str) -> bool:
    return any(form in text for form in forms(secret))


@pytest.mark.parametrize(("override", "kept"), [
    (f"db.url=postgresql://crawler:{PASSWORD}@db:5432/crawls", "db.url=postgresql://crawler:***@db:5432/crawls"),
    ("db.url=postgresql\\://crawler\\:s3cret\\:pw@db\\:5432/crawls",          # how a sweep job records it
     "db.url=postgresql\\://crawler\\:***@db\\:5432/crawls"),
    (f"db.url='postgresql://crawler:{PASSWORD}@db/crawls'", "db.url='postgresql://crawler:***@db/crawls'"),
    (f'db.url="postgresql://crawler:{PASSWORD}@db/crawls"', 'db.url="postgresql://crawler:***@db/crawls"'),
    ("db.url=postgresql://crawler:s3cret\\,pw@db/crawls", "db.url=postgresql://crawler:***@db/crawls"),
    (f"+storage.urls=[postgresql://crawler:{PASSWORD}@db/crawls]", "+storage.urls=[postgresql://crawler:***@db/crawls]"),
    (f"+api.client_secret={PASSWORD}", "+api.client_secret=***"),
    ("+api.client_secret=s3cret\\:pw", "+api.client_secret=***"),
    (f"++db.password='{PASSWORD}'", "++db.password=***"),
    ("+api.access_token=a,b", "+api.access_token=***"),                  # a sweep over two secrets
    ("+api.extra={password:s3cret\\:pw,region:US}", "+api.extra=***"),   # a mapping holding one
    ('db.url="postgresql://crawler:s3cret pw@db/crawls"', "db.url=***"),  # unusual: the whole value goes
])
def test_an_override_keeps_no_secret_in_any_escaping(override, kept):
    masked = redact_override(override)
    assert masked == kept
    assert not leaked(masked, PASSWORD) and not leaked(masked, "s3cret pw")
    OverridesParser.create().parse_override(masked)  # still an override a reader can parse


@pytest.mark.parametrize("override", [
    "db.url=sqlite\\:///data/crawl.db", "db.url=postgresql://crawler@db/crawls", "spec.query.regions=[US],[FR]",
    'spec.window={start:"2024-03-01",end:"2024-03-07"}', "api.credentials_file=secrets.yaml", "+spec=shoes",
    "hydra/launcher=joblib", "api.simulator.token_ttl=60", "spec.window.days_per_query=range(1,3)",
])
def test_an_override_without_a_secret_is_unchanged(override):
    assert redact_override(override) == override


def test_text_masks_escaped_urls_registered_secrets_in_any_form_and_secret_assignments():
    register_secret("tok:en-value-77")
    text = redact("sweep: db.url=postgresql\\://u\\:pw\\,x@h\\:5432/db api.token=abc token tok\\:en-value-77 "
                  "and tok:en-value-77; client_secret=xyz")
    assert text == ("sweep: db.url=postgresql\\://u\\:***@h\\:5432/db api.token=*** token *** and ***; "
                    "client_secret=***")


def test_messages_naming_a_secret_key_keep_their_words():
    message = "api.client_secret: unknown key; remove it (known keys here: base_url, credentials_file)"
    assert redact(message) == message


def test_structures_mask_values_under_secret_keys():
    value = {"db": {"url": "postgresql://u:pw@h/db", "password": "pw"}, "Authorization": "Bearer x",
             "list": ["mysql://u:pw@h/db", 3], "count": 2}
    assert redact(value) == {"db": {"url": "postgresql://u:***@h/db", "password": REDACTED},
                             "Authorization": REDACTED, "list": ["mysql://u:***@h/db", 3], "count": 2}


@pytest.mark.parametrize(("key", "secret"), [
    ("client_secret", True), ("api.client_secret", True), ("db/password", True), ("Authorization", True),
    ("refresh_token", True), ("token", True), ("client_key", True), ("db.url", False), ("token_ttl", False),
    ("credentials_file", False), ("tokens_issued", False), ("max_api_requests", False),
])
def test_which_keys_name_a_secret(key, secret):
    assert names_a_secret(key) is secret
