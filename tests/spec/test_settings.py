"""The composed config is validated once and turned once into frozen settings; the plan carries the stage
flags; `crawlspec run` validates and compiles once, whatever path the config takes to the crawl."""

from __future__ import annotations

import dataclasses
import sys
from collections import Counter
from pathlib import Path

import pytest

from crawlspec.api.fields import quota_pool_limits
from crawlspec.errors import SpecError
from crawlspec.spec.compile import StageFlags
from crawlspec.spec.settings import ApiSettings, RunSettings, Settings, load_settings, settings_for


def config(**spec_keys) -> dict:
    spec = {"name": "s", "query": {"regions": ["GB"]},
            "window": {"start": "2024-03-01", "end": "2024-03-04", "days_per_query": 2}, **spec_keys}
    return {"db": {"url": "sqlite:///x.db"},
            "api": {"base_url": "http://127.0.0.1:9", "daily_quota": 500, "user_info_max_age_days": 3,
                    "retry": {"max_tries": 2}},
            "run": {"refetch": True, "failing_retry_max_days": 3}, "log": {"format": "json"}, "spec": spec}


def test_every_group_is_frozen_and_typed():
    settings = load_settings(config(fetch={"comments": True, "comment_replies": True, "playlists": True}))
    for group in (settings, settings.api, settings.api.retry, settings.db, settings.run, settings.storage,
                  settings.log, settings.spec, settings.spec.stages):
        assert dataclasses.is_dataclass(group)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(group, dataclasses.fields(group)[0].name, None)
    assert settings.spec.stages == StageFlags(comments=True, comment_replies=True, user_info=False, playlists=True)
    assert (settings.api.daily_quota, settings.api.user_info_max_age_days, settings.api.retry.given()) == (
        500, 3, {"max_tries": 2})
    assert (settings.run.refetch, settings.run.failing_retry_max_days) == (True, 3)
    assert (settings.log.format, settings.log.level, settings.db.url) == ("json", "info", "sqlite:///x.db")


def test_the_quota_pools_come_from_the_one_rule():
    api = ApiSettings.from_mapping({"daily_quota": 500, "daily_quota_follow": 3000})
    assert api.quota_limits() == quota_pool_limits(500, 3000)
    assert ApiSettings.from_mapping({}).quota_limits() == quota_pool_limits()


def test_problems_are_the_validators_own_messages_all_at_once():
    from crawlspec.spec.validate import validate_config

    bad = config()
    bad["spec"]["window"]["days_per_query"] = 45
    bad["spec"]["query"]["regions"] = ["XX"]
    bad["api"]["daily_quota"] = 0
    with pytest.raises(SpecError) as raised:
        load_settings(bad)
    assert raised.value.problems == validate_config(bad)
    assert len(raised.value.problems) == 3


def test_crawlspec_test_ignores_the_spec():
    settings = load_settings({"db": {"url": "sqlite:///y.db"}, "api": {}}, with_spec=False)
    assert settings.plan is None and settings.db.url == "sqlite:///y.db"
    with pytest.raises(SpecError, match="spec: missing"):
        _ = settings.spec


def test_settings_are_built_once_per_config():
    composed = config()
    settings = load_settings(composed)
    assert settings_for(composed) is settings             # `run` takes what the command built
    library = settings_for(dict(composed))                 # another dict: built (and its spec checked) anew
    assert library is not settings and library == settings


def test_a_library_config_keeps_the_runs_defaults():
    settings = settings_for({"db": {"url": "sqlite:///z.db"}, "spec": config()["spec"]})
    assert settings.api == ApiSettings() and settings.run == RunSettings()
    assert settings.spec.stages == StageFlags()


def test_crawlspec_run_validates_and_compiles_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Through the command's own function, with the embedded simulator: one validation of the config, one
    compilation of the spec, and the spec not validated a second time inside the compiler."""
    from crawlspec.cli import hydra_app
    from crawlspec.spec import compile as spec_compile
    from crawlspec.spec import validate

    calls: Counter[str] = Counter()

    def counted(module, name):
        """Count calls through every module that bound the function (`from x import f` binds it at import)."""
        real = getattr(module, name)

        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)
        for bound in [m for n, m in list(sys.modules.items()) if n.startswith("crawlspec")]:
            if getattr(bound, name, None) is real:
                monkeypatch.setattr(bound, name, wrapper)

    counted(validate, "validate_config")
    counted(spec_compile, "compile_spec")
    counted(spec_compile, "validate_spec")
    monkeypatch.chdir(tmp_path)
    code = hydra_app.main("run", ["+spec=demo", "api=sim", "log=json", f"db.url=sqlite:///{tmp_path / 'c.db'}",
                                  "spec.window.end=2024-03-02", "api.simulator.videos=200"])
    assert code == 0
    assert calls == Counter({"validate_config": 1, "compile_spec": 1})


def test_settings_are_a_plain_value():
    settings = load_settings(config())
    assert isinstance(settings, Settings)
    assert dataclasses.replace(settings, source=None) == settings   # the source dict is not part of the value


@pytest.mark.parametrize("group", ["sim", "tiktok"])
def test_every_api_key_the_schema_accepts_is_in_the_config_group(group: str):
    """A key the schema accepts but `conf/api/*.yaml` lacks is refused by Hydra as `api.KEY=...` (only
    `+api.KEY=...` works), although the docs list it: every key must be in both groups."""
    import yaml

    from crawlspec.spec.schema import CONFIG_SCHEMA

    api_schema = CONFIG_SCHEMA["properties"]["api"]["properties"]
    conf = yaml.safe_load((Path(__file__).parents[2] / "conf" / "api" / f"{group}.yaml").read_text())
    assert set(api_schema) <= set(conf)
    assert set(api_schema["retry"]["properties"]) <= set(conf["retry"])
    if group == "sim":
        assert set(api_schema["simulator"]["properties"]) <= set(conf["simulator"])
