"""The composed configuration, validated once and turned once into frozen, typed settings.

`load_settings(config)` takes the plain dict Hydra composes (`hydra_app.plain_config`), reports every
problem at once with the validator's own messages (`crawlspec.spec.validate`), compiles the spec into
its plan (`crawlspec.spec.compile.CompiledSpec`, which carries the stage flags) and returns `Settings`:
one frozen dataclass per config group. Nothing after it reads the config dict again.

`settings_for(config)` gives the settings `load_settings` built from that very dict (so a command that
validated and compiled its config hands it to `crawlspec.cli.run.run` without doing either twice), and
otherwise builds them for a library caller the way `run` always did: the spec compiled (and validated),
the other groups read with their defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from crawlspec.api.fields import DAILY_QUOTA, DAILY_QUOTA_FOLLOW, quota_pool_limits
from crawlspec.errors import SpecError
from crawlspec.spec import compile as spec_compile
from crawlspec.spec.compile import CompiledSpec, StageFlags
from crawlspec.spec.database_url import default_db_url
from crawlspec.spec.schema import with_spec_defaults
from crawlspec.spec.validate import validate_config

__all__ = ["ApiSettings", "DbSettings", "LogSettings", "RetrySettings", "RunSettings", "Settings", "StageFlags",
           "StorageSettings", "load_settings", "settings_for"]

DEFAULT_USER_INFO_MAX_AGE_DAYS = 30
DEFAULT_BASE_URL = "https://open.tiktokapis.com"


def _group(config: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = config.get(name)
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class RetrySettings:
    """`api.retry`: only the keys the config sets (None: the client's own default)."""

    max_tries: int | None = None
    base_wait_s: float | None = None
    max_wait_s: float | None = None
    search_id_tries: int | None = None
    search_id_wait_s: float | None = None
    unparsable_tries: int | None = None
    throttle_wait_s: float | None = None
    throttle_cap_wait_s: float | None = None

    @classmethod
    def from_mapping(cls, retry: Mapping[str, Any] | None) -> RetrySettings:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in (retry or {}).items() if key in known})

    def given(self) -> dict[str, Any]:
        """The keys set, as keyword arguments of `crawlspec.client.RetryPolicy`."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


@dataclass(frozen=True)
class ApiSettings:
    """The `api` group: where requests go, the quota pools, timeouts, retries and pacing."""

    base_url: str | None = DEFAULT_BASE_URL
    credentials_file: str | None = None
    on_quota_exhausted: str = "wait_next_utc_midnight"
    daily_quota: int = DAILY_QUOTA
    daily_quota_follow: int = DAILY_QUOTA_FOLLOW
    index_lag_days: int = 2
    stats_lag_days: int = 10
    timeout_s: float | None = None
    connect_timeout_s: float | None = None
    read_timeout_s: float | None = None
    throttle_max_wait_s: float | None = None
    max_requests_per_minute: float | None = None
    user_info_max_age_days: int = DEFAULT_USER_INFO_MAX_AGE_DAYS
    retry: RetrySettings = field(default_factory=RetrySettings)
    simulator: tuple[tuple[str, Any], ...] | None = None   # api=sim: the embedded simulator's options

    @classmethod
    def from_mapping(cls, api: Mapping[str, Any] | None) -> ApiSettings:
        api = api or {}

        def number(key: str) -> float | None:
            return None if api.get(key) is None else api[key]

        simulator = api.get("simulator")
        return cls(
            base_url=api.get("base_url", DEFAULT_BASE_URL),
            credentials_file=api.get("credentials_file"),
            on_quota_exhausted=str(api.get("on_quota_exhausted") or "wait_next_utc_midnight"),
            daily_quota=int(api.get("daily_quota") or DAILY_QUOTA),
            daily_quota_follow=int(api.get("daily_quota_follow") or DAILY_QUOTA_FOLLOW),
            index_lag_days=int(api.get("index_lag_days", 2)),
            stats_lag_days=int(api.get("stats_lag_days", 10)),
            timeout_s=number("timeout_s"), connect_timeout_s=number("connect_timeout_s"),
            read_timeout_s=number("read_timeout_s"), throttle_max_wait_s=number("throttle_max_wait_s"),
            max_requests_per_minute=number("max_requests_per_minute"),
            user_info_max_age_days=DEFAULT_USER_INFO_MAX_AGE_DAYS if api.get("user_info_max_age_days") is None
            else int(api["user_info_max_age_days"]),
            retry=RetrySettings.from_mapping(api.get("retry")),
            simulator=tuple(simulator.items()) if simulator else None)

    @classmethod
    def coerce(cls, api: ApiSettings | Mapping[str, Any] | None) -> ApiSettings:
        return api if isinstance(api, ApiSettings) else cls.from_mapping(api)

    def quota_limits(self) -> dict[str, int]:
        """The daily limit of each quota pool (the one rule of `crawlspec.api.fields.quota_pool_limits`)."""
        return quota_pool_limits(self.daily_quota, self.daily_quota_follow)

    def simulator_options(self) -> dict[str, Any] | None:
        return None if self.simulator is None else dict(self.simulator)


@dataclass(frozen=True)
class DbSettings:
    url: str   # as given: a relative SQLite path is resolved against the user's directory when opened


@dataclass(frozen=True)
class RunSettings:
    """The `run` group: what the video runner re-fetches and how it treats failing and empty days."""

    refetch: bool = False
    refetch_provisional: bool = False
    retry_failing: bool = False
    failing_retry_max_days: int | None = None   # None: the runner's default spacing
    confirm_empty_after_hours: float = 24.0

    @classmethod
    def from_mapping(cls, run: Mapping[str, Any] | None) -> RunSettings:
        run = run or {}
        return cls(refetch=bool(run.get("refetch", False)),
                   refetch_provisional=bool(run.get("refetch_provisional", False)),
                   retry_failing=bool(run.get("retry_failing", False)),
                   failing_retry_max_days=int(run["failing_retry_max_days"]) if run.get("failing_retry_max_days")
                   else None,
                   confirm_empty_after_hours=float(run.get("confirm_empty_after_hours", 24)))


@dataclass(frozen=True)
class StorageSettings:
    raw_dir: str | None = None


@dataclass(frozen=True)
class LogSettings:
    format: str = "auto"
    level: str = "info"

    @classmethod
    def from_mapping(cls, log: Mapping[str, Any] | None) -> LogSettings:
        log = log or {}
        return cls(format=str(log.get("format", "auto")), level=str(log.get("level", "info")))


@dataclass(frozen=True)
class Settings:
    """Every group of one composed config; `plan` is the compiled spec (None for `crawlspec test`)."""

    api: ApiSettings
    db: DbSettings
    run: RunSettings
    storage: StorageSettings
    log: LogSettings
    plan: CompiledSpec | None
    source: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def spec(self) -> CompiledSpec:
        if self.plan is None:
            raise SpecError("spec: missing; choose a spec with +spec=NAME (./specs/NAME.yaml or a packaged example)")
        return self.plan


def _groups(config: Mapping[str, Any], plan: CompiledSpec | None) -> Settings:
    db = _group(config, "db")
    return Settings(api=ApiSettings.from_mapping(_group(config, "api")),
                    db=DbSettings(url=str(db["url"]) if db.get("url") is not None else default_db_url()),
                    run=RunSettings.from_mapping(_group(config, "run")),
                    storage=StorageSettings(raw_dir=_group(config, "storage").get("raw_dir") or None),
                    log=LogSettings.from_mapping(_group(config, "log")), plan=plan, source=config)


_last: Settings | None = None
"""The settings `load_settings` built last in this process (it holds its source dict, so the dict's
identity cannot be reused while it is remembered); a miss in `settings_for` only costs a compilation."""


def load_settings(config: Mapping[str, Any], *, with_spec: bool = True, today: date | None = None) -> Settings:
    """Validate the whole composed config once (every problem at once, as `SpecError`) and build its
    settings; the spec is compiled without being validated a second time. `with_spec=False` (`crawlspec
    test`) ignores the spec's problems and compiles nothing."""

    global _last
    if with_spec and isinstance(config.get("spec"), Mapping):
        resolved = spec_compile.resolve_interpolations(config["spec"], today=today)
        checked: Mapping[str, Any] = {**config, "spec": with_spec_defaults(resolved)}
    else:
        checked = config
    problems = validate_config(checked)
    if not with_spec:
        problems = [p for p in problems if not p.startswith("spec")]
    if problems:
        raise SpecError(problems)
    plan = spec_compile.compile_spec(checked["spec"], today=today, validated=True) if with_spec else None
    _last = _groups(config, plan)
    return _last


def settings_for(config: Mapping[str, Any], *, with_spec: bool = True) -> Settings:
    """The settings `load_settings` built from this very dict, else (a library caller's config) its spec
    compiled, which validates it, and the other groups with their defaults."""
    if _last is not None and _last.source is config and (_last.plan is not None or not with_spec):
        return _last
    return _groups(config, spec_compile.compile_spec(config["spec"]) if with_spec else None)
