"""Validator units: messages for YAML's implicit typing, suggestions, non-spec sections, run/test wiring."""

from __future__ import annotations

import sys
import types
from datetime import date

import pytest
from omegaconf import OmegaConf

from crawlspec.cli import hydra_app
from crawlspec.spec.validate import closest_known_key, validate_config, validate_spec

GOOD = {"name": "ok", "query": {"regions": ["US"]}, "window": {"start": "2024-03-01", "end": "2024-03-02"}}


def from_yaml(text: str) -> dict:
    """Load as Hydra does (OmegaConf's YAML loader)."""
    return OmegaConf.to_container(OmegaConf.create(text))


def test_valid_spec_has_no_problems():
    assert validate_spec(GOOD) == []


@pytest.mark.parametrize(("yaml_value", "word"), [("yes", "boolean"), ("on", "boolean"), ("no", "boolean"),
                                                  ("1234", "number"), ("1e3", "number")])
def test_yaml_implicit_typing_is_explained_with_the_fix(yaml_value, word):
    spec = {**GOOD, "query": from_yaml(f"include_any_keywords: [{yaml_value}]")}
    [problem] = validate_spec(spec)
    assert problem.startswith("spec.query.include_any_keywords[0]: expected a string")
    assert f"read as a {word}" in problem and "quote" in problem


def test_unquoted_dates_are_fine_in_the_window_but_not_in_tags():
    import yaml

    spec = yaml.safe_load('name: ok\nquery: {regions: [US]}\nwindow: {start: 2024-03-01, end: 2024-03-02}\n'
                          "tags: [2024-03-01]\n")
    assert isinstance(spec["window"]["start"], date)
    [problem] = validate_spec(spec)
    assert problem.startswith("spec.tags[0]") and "date" in problem and "quote" in problem


def test_unknown_keys_get_the_closest_known_key():
    problems = validate_spec({**GOOD, "limits": {"max_cuont": 5}, "tag": ["x"]})
    assert "spec.limits.max_cuont: unknown key; did you mean spec.limits.max_count?" in problems
    assert "spec.tag: unknown key; did you mean spec.tags?" in problems


def test_closest_known_key_for_overrides():
    assert closest_known_key("spec.qeury.x") == "spec.query"
    assert closest_known_key("api.on_quota_exausted") == "api.on_quota_exhausted"
    assert closest_known_key("zzz.y") is None


def test_non_spec_sections_are_validated_with_suggestions():
    config = {"spec": GOOD, "db": {"url": 5}, "api": {"daily_quota": 0, "simulator": {"fail_rate": 2}},
              "log": {"format": "jsn", "level": "loud"}, "run": {"refetch": "yes"}, "spce": "shoes"}
    problems = "\n".join(validate_config(config))
    for fragment in ("db.url: expected a string", "api.daily_quota: 0 is below the minimum 1",
                     "api.simulator.fail_rate: 2 is outside 0..1", "log.format: 'jsn' is not one of",
                     "did you mean json", "log.level", "run.refetch: expected true or false",
                     "spce: unknown key; did you mean spec?"):
        assert fragment in problems


def test_composed_default_and_sim_configs_are_valid(tmp_path, monkeypatch):
    """The shipped config groups pass the schema (keys and defaults of ARCHITECTURE.md)."""
    from hydra import compose, initialize_config_module

    monkeypatch.chdir(tmp_path)
    hydra_app.register_plugins()
    with initialize_config_module(config_module="crawlspec.conf", version_base="1.3"):
        for overrides in (["+spec=shoes"], ["+spec=demo", "api=sim", "db=postgres", "log=json"]):
            config = OmegaConf.to_container(compose("config", overrides=overrides), resolve=True)
            assert validate_config(config) == []
        monkeypatch.delenv("CRAWLSPEC_DB_URL", raising=False)
        sim = OmegaConf.to_container(compose("config", overrides=["+spec=demo", "api=sim"]), resolve=True)
    assert sim["api"]["simulator"] == {"seed": 42, "videos": 10000, "start": "2024-03-01", "days": 31,
                                       "fail_rate": 0.0, "invalid_search_id_rate": 0.0, "deleted_rate": 0.0,
                                       "latency_ms": 0, "daily_quota": 1000,
                                       "unavailable_rate": 0.0, "failing_days": None, "compliance_polls": 1,
                                       "lowercase_region_rate": 0.0, "oversize_id_rate": 0.0,
                                       "compliance_file_style": "plain",
                                       "burst_limit": None, "playlist_500_ok": False,
                                       "unauthorized_endpoints": None, "hidden_likes_status": 400,
                                       "empty_outage": None, "empty_outage_requests": 0,
                                       "dense_fail_videos": 0, "fault_seed": None}
    assert sim["api"]["base_url"] is None and sim["api"]["credentials_file"] is None
    assert {k: sim[k] for k in ("db", "storage", "run")} == {"db": {"url": "sqlite:///crawlspec.db"},
                                                            "storage": {"raw_dir": None}, "run": {
                                                                "refetch": False, "refetch_provisional": False,
                                                                "retry_failing": False, "failing_retry_max_days": 7,
                                                                "confirm_empty_after_hours": 24}}


class FakeRuntime(types.ModuleType):
    """Stands in for crawlspec.cli.run (another module's job) to test the wiring only."""

    def __init__(self) -> None:
        super().__init__("crawlspec.cli.run")
        self.calls: list[tuple[str, dict, list[str]]] = []

    def run(self, config, *, overrides):
        self.calls.append(("run", config, overrides))
        code = 75 if config["spec"]["window"]["days_per_query"] == 2 else 0
        return types.SimpleNamespace(exit_code=code, videos=10, requests=3, message="")

    def smoke_test(self, config):
        self.calls.append(("test", config, []))
        return types.SimpleNamespace(exit_code=0, videos=1, requests=1, message="smoke test passed")


@pytest.fixture
def fake_runtime(monkeypatch, tmp_path):
    runtime = FakeRuntime()
    monkeypatch.setitem(sys.modules, "crawlspec.cli.run", runtime)
    monkeypatch.setattr("crawlspec.logs.configure_logging", lambda *a, **k: None)
    monkeypatch.chdir(tmp_path)
    return runtime


@pytest.mark.slow
def test_run_sweep_gets_plain_dicts_continues_and_reports_the_worst_code(fake_runtime, capsys):
    code = hydra_app.main("run", ["-m", "+spec=demo", "log=console", "spec.window.days_per_query=1,2,45"])
    err = capsys.readouterr().err
    assert code == 2  # worst of 0, 75, 2
    assert [call[0] for call in fake_runtime.calls] == ["run", "run"]  # the invalid job sent nothing
    _, config, overrides = fake_runtime.calls[0]
    assert type(config) is dict and "hydra" not in config and config["spec"]["name"] == "demo"
    assert overrides == ["+spec=demo", "log=console", "spec.window.days_per_query=1"]
    assert "job  overrides" in err and "exit 75" in err and "exit 2" in err


def test_invalid_run_is_refused_before_anything_is_sent(fake_runtime, capsys):
    assert hydra_app.main("run", ["+spec=demo", "spec.query.regions=[XX]"]) == 2
    assert fake_runtime.calls == []


def test_smoke_test_command(fake_runtime, capsys):
    assert hydra_app.main("test", ["+spec=demo", "log=console"]) == 0   # JSON logging would log it instead
    assert fake_runtime.calls[0][0] == "test"
    assert "smoke test passed" in capsys.readouterr().err


def test_missing_runtime_module_exits_1_with_a_message(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "crawlspec.cli.run", None)  # import raises ImportError
    monkeypatch.chdir(tmp_path)
    assert hydra_app.main("run", ["+spec=demo"]) == 1
    err = capsys.readouterr().err
    assert "not available" in err and "Traceback" not in err


def test_unexpected_error_is_one_line_exit_1(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRAWLSPEC_DEBUG", raising=False)

    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr("crawlspec.spec.compile.compile_spec", boom)
    assert hydra_app.main("compile", ["+spec=demo"]) == 1
    err = capsys.readouterr().err
    assert "RuntimeError: kaboom" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
